//! The keys of a `[[sources]]` table with `provider = "cms"`: how a host
//! (the `campaigns` CLI, a service, a plugin host) configures a CMS source.

use std::sync::Arc;

use campaign_core::{CampaignSource, Secret, StaticToken, TokenProvider};
use campaign_http::HttpConfig;
use campaign_registry::{
    credential, nonzero, plain_header_value, ConfigError, ConfigKey, Credential, Env,
    ProviderConfig, SourceSettings,
};
use serde::Deserialize;

use crate::{CmsBasicAuthToken, CmsConfig, CmsSource, PROVIDER};

/// A CMS source's own keys (the host's common keys aside); unknown keys
/// are refused. Secrets are [`Secret`]s, or named by `*_env` keys and read
/// from the environment when the source is built.
///
/// The credential is exactly one of: `token`, `token_env` (a ready bearer
/// token), or `account_sid` + `api_key` + `api_token_env` (the vendor's
/// basic-auth token endpoint, renewed before it expires).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CmsSettings {
    /// The CMS base URL, e.g. `https://cms.x.cc.exotel.com:443`.
    pub base_url: String,
    /// The contact centers to list: at least one, no duplicates.
    pub contact_center_ids: Vec<i64>,
    /// Contact centers fetched at once (default 4).
    pub concurrency: Option<usize>,
    /// The largest contact-center listing accepted, in MiB (default 256).
    pub max_body_mib: Option<usize>,
    /// A ready bearer token, inline (prefer `token_env`).
    pub token: Option<Secret>,
    /// The environment variable holding a ready bearer token.
    pub token_env: Option<String>,
    /// The account SID of the token endpoint's path.
    pub account_sid: Option<Secret>,
    /// The API key (the basic-auth user).
    pub api_key: Option<Secret>,
    /// The environment variable holding the API token (the basic-auth password).
    pub api_token_env: Option<String>,
    /// The token endpoint's base URL, when it differs from `base_url`.
    pub token_url: Option<String>,
}

impl ProviderConfig for CmsSettings {
    const PROVIDER: &'static str = PROVIDER;
    const DESCRIPTION: &'static str =
        "CMS (Exotel contact-center CMS, formerly Ameyo): campaigns of each contact center";
    const KEYS: &'static [ConfigKey] = &[
        ConfigKey::required("base_url", "the CMS base URL (https)"),
        ConfigKey::required(
            "contact_center_ids",
            "the contact centers to list, e.g. [1, 2]",
        ),
        ConfigKey::optional("concurrency", "contact centers fetched at once (default 4)"),
        ConfigKey::optional(
            "max_body_mib",
            "largest contact-center listing accepted, in MiB (default 256)",
        ),
        ConfigKey::optional("token_env", "variable holding a ready bearer token"),
        ConfigKey::optional("token", "a ready bearer token, inline (prefer token_env)"),
        ConfigKey::optional("account_sid", "token endpoint: the account SID"),
        ConfigKey::optional("api_key", "token endpoint: the API key"),
        ConfigKey::optional(
            "api_token_env",
            "token endpoint: variable holding the API token",
        ),
        ConfigKey::optional("token_url", "token endpoint base URL (default base_url)"),
    ];

    fn build(
        self,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        if self.contact_center_ids.is_empty() {
            return Err(ConfigError::at(
                "contact_center_ids",
                "must list at least one id",
            ));
        }
        nonzero("concurrency", self.concurrency)?;
        nonzero("max_body_mib", self.max_body_mib)?;
        let basic_auth =
            self.account_sid.is_some() || self.api_key.is_some() || self.api_token_env.is_some();
        let (account_sid, api_key, api_token_env) =
            (self.account_sid, self.api_key, self.api_token_env);
        let basic_auth = basic_auth.then_some(|| {
            let account_sid = account_sid
                .ok_or_else(|| ConfigError::at("account_sid", "required with api_key"))?;
            plain_header_value("account_sid", account_sid.expose())?;
            let api_key =
                api_key.ok_or_else(|| ConfigError::at("api_key", "required with account_sid"))?;
            plain_header_value("api_key", api_key.expose())?;
            let variable = api_token_env
                .ok_or_else(|| ConfigError::at("api_token_env", "required with account_sid"))?;
            Ok((
                account_sid,
                api_key,
                env.secret("api_token_env", &variable)?,
            ))
        });
        let credential = credential(
            self.token,
            self.token_env,
            basic_auth,
            "account_sid + api_key + api_token_env",
            env,
        )?;
        let tokens: Arc<dyn TokenProvider> = match credential {
            Credential::Token(token) => Arc::new(StaticToken::new(token)),
            Credential::Own((account_sid, api_key, api_token)) => Arc::new(CmsBasicAuthToken::new(
                settings.name.clone(),
                self.token_url.as_deref().unwrap_or(&self.base_url),
                account_sid.expose(),
                api_key.expose(),
                api_token,
                settings.http.clone(),
            )?),
        };
        let mut config = CmsConfig::new(settings.name, self.base_url, self.contact_center_ids);
        config.http = HttpConfig {
            max_body_bytes: self.max_body_mib.map_or(config.http.max_body_bytes, |mib| {
                mib.saturating_mul(1024 * 1024)
            }),
            ..settings.http
        };
        config.strict = settings.strict;
        if let Some(n) = self.concurrency {
            config.concurrency = n;
        }
        Ok(Arc::new(CmsSource::new(config, tokens)?))
    }
}
