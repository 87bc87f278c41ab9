//! The keys of a `[[sources]]` table with `provider = "kore"`: how a host
//! (the `campaigns` CLI, a service, a plugin host) configures a Kore.ai source.

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{CampaignSource, Channel, Secret, StaticToken, TokenProvider};
use campaign_registry::{
    client_credentials, credential, nonzero, page_size, plain_header_value, ConfigError, ConfigKey,
    Credential, Env, ProviderConfig, SourceSettings,
};
use serde::Deserialize;

use crate::{KoreConfig, KoreJwtMinter, KoreSource, RateLimit, MAX_PAGE_SIZE, PROVIDER};

/// A Kore.ai source's own keys (the host's common keys aside); unknown keys
/// are refused. The stream id, account id and `iid` are [`Secret`]s: they
/// travel in headers and identify the account.
///
/// The credential is exactly one of: `token`, `token_env` (a ready JWT), or
/// `client_id` + `client_secret_env` (JWTs minted from the app's client
/// credentials, renewed before they expire).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KoreSettings {
    /// The host, e.g. `https://platform.kore.ai`.
    pub base_url: String,
    /// The bot's stream id (also the `iid` header unless `iid` is set).
    pub stream_id: Secret,
    /// The account id.
    pub account_id: Secret,
    /// The `iid` header, when it differs from the stream id.
    pub iid: Option<Secret>,
    /// `["voice"]`, `["sms"]` or both (the default).
    pub channels: Option<Vec<String>>,
    /// Records per request, 1 to 100 (default: the host's page size, else 50).
    pub page_size: Option<u32>,
    /// Page requests in flight per channel (default 4).
    pub prefetch: Option<usize>,
    /// The quota the client keeps to: at most this many requests in any
    /// minute (default 60, Kore.ai's quota; see [`RateLimit::for_quota`]);
    /// 0 turns it off.
    pub rate_limit_per_minute: Option<u32>,
    /// A ready JWT, inline (prefer `token_env`).
    pub token: Option<Secret>,
    /// The environment variable holding a ready JWT.
    pub token_env: Option<String>,
    /// The app's client id (the JWT's `appId`).
    pub client_id: Option<String>,
    /// The environment variable holding the app's client secret.
    pub client_secret_env: Option<String>,
    /// Lifetime of a minted JWT in seconds.
    pub jwt_lifetime_secs: Option<u64>,
}

impl ProviderConfig for KoreSettings {
    const PROVIDER: &'static str = PROVIDER;
    const DESCRIPTION: &'static str = "Kore.ai SmartAssist: the voice and SMS campaigns of a bot";
    const KEYS: &'static [ConfigKey] = &[
        ConfigKey::required("base_url", "the host, e.g. https://platform.kore.ai"),
        ConfigKey::required("stream_id", "the bot's stream id"),
        ConfigKey::required("account_id", "the account id"),
        ConfigKey::optional("iid", "the iid header (default stream_id)"),
        ConfigKey::optional("channels", "[\"voice\"], [\"sms\"] or both (default)"),
        ConfigKey::optional("page_size", "records per request, 1-100"),
        ConfigKey::optional(
            "prefetch",
            "page requests in flight per channel (default 4)",
        ),
        ConfigKey::optional(
            "rate_limit_per_minute",
            "client-side quota: most requests in any minute (default 60); 0 turns it off",
        ),
        ConfigKey::optional("token_env", "variable holding a ready JWT"),
        ConfigKey::optional("token", "a ready JWT, inline (prefer token_env)"),
        ConfigKey::optional("client_id", "JWT minting: the app's client id"),
        ConfigKey::optional(
            "client_secret_env",
            "JWT minting: variable holding the client secret",
        ),
        ConfigKey::optional("jwt_lifetime_secs", "JWT minting: lifetime in seconds"),
    ];

    fn build(
        self,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        plain_header_value("stream_id", self.stream_id.expose())?;
        plain_header_value("account_id", self.account_id.expose())?;
        if let Some(iid) = &self.iid {
            plain_header_value("iid", iid.expose())?;
        }
        let channels = match &self.channels {
            None => vec![Channel::Voice, Channel::Sms],
            Some(names) => channels(names)?,
        };
        let page_size = page_size(self.page_size, settings.page_size, MAX_PAGE_SIZE)?;
        nonzero("prefetch", self.prefetch)?;
        nonzero("jwt_lifetime_secs", self.jwt_lifetime_secs)?;
        // The client id is the JWT's `appId`, not an HTTP Basic user.
        let minting = client_credentials(self.client_id, self.client_secret_env, false, env);
        let credential = credential(
            self.token,
            self.token_env,
            minting,
            "client_id + client_secret_env",
            env,
        )?;
        let tokens: Arc<dyn TokenProvider> = match credential {
            Credential::Token(token) => Arc::new(StaticToken::new(token)),
            Credential::Own((client_id, client_secret)) => {
                let mut minter = KoreJwtMinter::new(client_id, client_secret);
                if let Some(secs) = self.jwt_lifetime_secs {
                    minter = minter.with_lifetime(Duration::from_secs(secs));
                }
                Arc::new(minter)
            }
        };
        let mut config = KoreConfig::new(
            settings.name,
            self.base_url,
            self.stream_id.expose(),
            self.account_id,
        );
        config.http = settings.http;
        config.strict = settings.strict;
        config.iid = self.iid;
        config.channels = channels;
        if let Some(size) = page_size {
            config.page_size = size;
        }
        if let Some(n) = self.prefetch {
            config.prefetch = n;
        }
        config.rate_limit = match self.rate_limit_per_minute {
            Some(0) => None,
            Some(n) => Some(RateLimit::for_quota(n)),
            None => config.rate_limit,
        };
        Ok(Arc::new(KoreSource::new(config, tokens)?))
    }
}

/// The `channels` key's names as channels, each once.
fn channels(names: &[String]) -> Result<Vec<Channel>, ConfigError> {
    let mut channels = Vec::new();
    for name in names {
        let channel = match name.to_ascii_lowercase().as_str() {
            "voice" => Channel::Voice,
            "sms" => Channel::Sms,
            _ => {
                return Err(ConfigError::at(
                    "channels",
                    format!("unknown channel \"{name}\" (expected \"voice\" or \"sms\")"),
                ))
            }
        };
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    if channels.is_empty() {
        return Err(ConfigError::at(
            "channels",
            "must list at least one channel",
        ));
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configured quota goes through [`RateLimit::for_quota`], not a
    /// burst of the whole quota on top of it.
    #[test]
    fn the_quota_key_keeps_every_minute_within_it() {
        for (key, shown) in [
            (Some(60), "RateLimit { per_minute: 50, burst: 10 }"),
            (Some(12), "RateLimit { per_minute: 10, burst: 2 }"),
            (None, "RateLimit { per_minute: 50, burst: 10 }"),
        ] {
            let settings: KoreSettings = serde_json::from_value(serde_json::json!({
                "base_url": "https://platform.kore.ai",
                "stream_id": "st-1",
                "account_id": "acc-1",
                "token": "t",
                "rate_limit_per_minute": key,
            }))
            .unwrap();
            let source = settings
                .build(SourceSettings::named("kore-main"), &Env::none())
                .unwrap();
            let debug = format!("{source:?}");
            assert!(debug.contains(shown), "{key:?}: {debug}");
        }
    }
}
