//! Turning a validated [`Config`] into sources and an aggregate.

use std::sync::Arc;
use std::time::Duration;

use campaign_aggregate::Aggregator;
use campaign_core::{CampaignSource, RetryBudget, SourceError, StaticToken, TokenProvider};
use campaign_http::HttpConfig;
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};
use source_kore::{KoreConfig, KoreJwtMinter, KoreSource, RateLimit};

use crate::config::{CommonSettings, Config, CredentialSpec, Defaults, SourceSpec};

/// The aggregate's id: campaign ids carry the source names, not this.
pub const AGGREGATE_ID: &str = "campaigns";

/// Builds every configured source, sharing one retry budget, and the aggregate over them.
pub fn aggregate(config: &Config) -> Result<Aggregator, SourceError> {
    let budget = Arc::new(RetryBudget::default());
    let sources = config
        .sources
        .iter()
        .map(|spec| source(spec, &config.defaults, &budget))
        .collect::<Result<Vec<_>, _>>()?;
    let mut builder = Aggregator::builder(AGGREGATE_ID)
        .sources(sources)
        .retry_budget(budget);
    if let Some(n) = config.defaults.concurrency {
        builder = builder.concurrency(n);
    }
    builder.build()
}

fn http_config(
    common: &CommonSettings,
    defaults: &Defaults,
    budget: &Arc<RetryBudget>,
) -> HttpConfig {
    let mut http = HttpConfig {
        allow_insecure_http: common.allow_insecure_http,
        retry_budget: Some(Arc::clone(budget)),
        ..HttpConfig::default()
    };
    if let Some(timeout) = common
        .timeout
        .or(defaults.timeout_secs.map(Duration::from_secs))
    {
        http.timeout = timeout;
    }
    if let Some(retries) = common.max_retries.or(defaults.max_retries) {
        http.retry.max_retries = retries as usize;
    }
    http
}

/// Builds one source from its spec.
pub fn source(
    spec: &SourceSpec,
    defaults: &Defaults,
    budget: &Arc<RetryBudget>,
) -> Result<Arc<dyn CampaignSource>, SourceError> {
    let common = spec.common();
    let http = http_config(common, defaults, budget);
    match spec {
        SourceSpec::Cms {
            contact_center_ids,
            concurrency,
            credential,
            ..
        } => {
            let tokens: Arc<dyn TokenProvider> = match credential {
                CredentialSpec::Token(token) => Arc::new(StaticToken::new(token.clone())),
                CredentialSpec::CmsBasicAuth {
                    account_sid,
                    api_key,
                    api_token,
                    token_url,
                } => Arc::new(CmsBasicAuthToken::new(
                    common.name.clone(),
                    token_url.as_deref().unwrap_or(&common.base_url),
                    account_sid.clone(),
                    api_key.clone(),
                    api_token.clone(),
                    http.clone(),
                )?),
                CredentialSpec::KoreClient { .. } => {
                    return Err(SourceError::config(
                        &common.name,
                        "a CMS source cannot use Kore.ai client credentials",
                    ))
                }
            };
            let mut config = CmsConfig::new(
                common.name.clone(),
                common.base_url.clone(),
                contact_center_ids.clone(),
            );
            config.http = http;
            config.strict = common.strict;
            if let Some(n) = concurrency {
                config.concurrency = *n;
            }
            Ok(Arc::new(CmsSource::new(config, tokens)?))
        }
        SourceSpec::Kore {
            stream_id,
            account_id,
            iid,
            channels,
            page_size,
            prefetch,
            rate_limit_per_minute,
            credential,
            ..
        } => {
            let tokens: Arc<dyn TokenProvider> = match credential {
                CredentialSpec::Token(token) => Arc::new(StaticToken::new(token.clone())),
                CredentialSpec::KoreClient {
                    client_id,
                    client_secret,
                    lifetime,
                } => {
                    let mut minter = KoreJwtMinter::new(client_id.clone(), client_secret.clone());
                    if let Some(lifetime) = lifetime {
                        minter = minter.with_lifetime(*lifetime);
                    }
                    Arc::new(minter)
                }
                CredentialSpec::CmsBasicAuth { .. } => {
                    return Err(SourceError::config(
                        &common.name,
                        "a Kore.ai source cannot use the CMS token endpoint",
                    ))
                }
            };
            let mut config = KoreConfig::new(
                common.name.clone(),
                common.base_url.clone(),
                stream_id.expose(),
                account_id.clone(),
            );
            config.http = http;
            config.strict = common.strict;
            config.iid = iid.clone();
            config.channels = channels.clone();
            if let Some(size) = page_size.or(defaults.page_size) {
                config.page_size = size;
            }
            if let Some(n) = prefetch {
                config.prefetch = *n;
            }
            match rate_limit_per_minute {
                Some(0) => config.rate_limit = None,
                Some(n) => {
                    config.rate_limit = Some(RateLimit {
                        per_minute: *n,
                        burst: *n,
                    })
                }
                None => {}
            }
            Ok(Arc::new(KoreSource::new(config, tokens)?))
        }
    }
}
