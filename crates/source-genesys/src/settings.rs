//! The keys of a `[[sources]]` table with `provider = "genesys"`: how a host
//! (the `campaigns` CLI, a service, a plugin host) configures a Genesys
//! Cloud source.

use std::sync::Arc;

use campaign_core::{CampaignSource, Secret};
use campaign_http::check_base_url;
use campaign_registry::{
    client_credentials, credential, nonzero, page_size, plain_header_value, ConfigError, ConfigKey,
    Credential, Env, ProviderConfig, SourceSettings,
};
use serde::Deserialize;

use crate::{
    api_base_url, GenesysConfig, GenesysCredentials, GenesysSource, MAX_PAGE_SIZE, PROVIDER,
};

/// A Genesys Cloud source's own keys (the host's common keys aside);
/// unknown keys are refused. The inline token is a [`Secret`]; the client
/// secret is only ever read from the environment (`client_secret_env`).
///
/// The credential is exactly one of: `token`, `token_env` (a ready bearer
/// token), or `client_id` + `client_secret_env` (OAuth client credentials,
/// tokens requested from the login host and renewed before they expire).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GenesysSettings {
    /// The region: its API base URL, e.g. `https://api.mypurecloud.com`, or
    /// its domain, e.g. `mypurecloud.com` (see [`api_base_url`]).
    pub base_url: String,
    /// The region's login host; default: `base_url` with `api.` replaced by
    /// `login.`, or `base_url` itself when its host does not start with `api.`.
    pub login_url: Option<String>,
    /// The OAuth client id.
    pub client_id: Option<String>,
    /// The environment variable holding the OAuth client secret.
    pub client_secret_env: Option<String>,
    /// A ready bearer token, inline (prefer `token_env`).
    pub token: Option<Secret>,
    /// The environment variable holding a ready bearer token.
    pub token_env: Option<String>,
    /// Only these divisions (default: every division the client may view).
    pub division_ids: Option<Vec<String>>,
    /// Campaigns per request, 1 to 100 (default: the host's page size, else 100).
    pub page_size: Option<u32>,
    /// Page requests in flight (default 4).
    pub prefetch: Option<usize>,
    /// Client-side requests per minute (default 300, the documented quota); 0 turns it off.
    pub rate_limit_per_minute: Option<u32>,
}

impl ProviderConfig for GenesysSettings {
    const PROVIDER: &'static str = PROVIDER;
    const DESCRIPTION: &'static str =
        "Genesys Cloud: the outbound dialer campaigns of an organization";
    const KEYS: &'static [ConfigKey] = &[
        ConfigKey::required(
            "base_url",
            "the region's API host, e.g. https://api.mypurecloud.com, or its domain, e.g. mypurecloud.ie",
        ),
        ConfigKey::optional(
            "login_url",
            "the login host (default: base_url with api. replaced by login.)",
        ),
        ConfigKey::optional("client_id", "OAuth client credentials: the client id"),
        ConfigKey::optional(
            "client_secret_env",
            "OAuth client credentials: variable holding the client secret",
        ),
        ConfigKey::optional("token_env", "variable holding a ready bearer token"),
        ConfigKey::optional("token", "a ready bearer token, inline (prefer token_env)"),
        ConfigKey::optional("division_ids", "only these divisions, e.g. [\"...\"]"),
        ConfigKey::optional("page_size", "campaigns per request, 1-100"),
        ConfigKey::optional("prefetch", "page requests in flight (default 4)"),
        ConfigKey::optional(
            "rate_limit_per_minute",
            "client-side quota (default 300); 0 turns it off",
        ),
    ];

    fn build(
        self,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        let insecure = settings.http.allow_insecure_http;
        let base_url = api_base_url(&self.base_url);
        for (key, value) in [
            ("base_url", Some(base_url.as_ref())),
            ("login_url", self.login_url.as_deref()),
        ] {
            if let Some(value) = value {
                check_base_url(&settings.name, value, insecure).map_err(|e| {
                    let mut why = e.message().trim_start_matches("base_url: ").to_owned();
                    // The message names the host; a config error names no value.
                    if let Some(at) = why.find(" (got host ") {
                        let end = why[at..].find(')').map_or(why.len(), |e| at + e + 1);
                        why.replace_range(at..end, "");
                    }
                    ConfigError::at(key, why)
                })?;
            }
        }
        let division_ids = self.division_ids.unwrap_or_default();
        for (i, division) in division_ids.iter().enumerate() {
            let key = format!("division_ids[{i}]");
            plain_header_value(&key, division)?;
            if division_ids[..i].contains(division) {
                return Err(ConfigError::at(key, "repeats an earlier division"));
            }
        }
        let page_size = page_size(self.page_size, settings.page_size, MAX_PAGE_SIZE)?;
        nonzero("prefetch", self.prefetch)?;
        // OAuth client credentials travel as HTTP Basic.
        let oauth = client_credentials(self.client_id, self.client_secret_env, true, env);
        let credentials = match credential(
            self.token,
            self.token_env,
            oauth,
            "client_id + client_secret_env",
            env,
        )? {
            Credential::Token(token) => GenesysCredentials::Token(token),
            Credential::Own((client_id, client_secret)) => GenesysCredentials::ClientCredentials {
                client_id,
                client_secret,
            },
        };
        let mut config = GenesysConfig::new(settings.name, self.base_url);
        config.login_url = self.login_url;
        config.division_ids = division_ids;
        config.http = settings.http;
        config.strict = settings.strict;
        if let Some(size) = page_size {
            config.page_size = size;
        }
        if let Some(n) = self.prefetch {
            config.prefetch = n;
        }
        match self.rate_limit_per_minute {
            Some(0) => config.rate_limit = None,
            Some(n) => config.rate_limit = Some(n),
            None => {}
        }
        Ok(Arc::new(GenesysSource::new(config, credentials)?))
    }
}
