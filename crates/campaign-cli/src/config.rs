//! The TOML config file: parsing, validation and secret resolution.
//!
//! Parsing is two-phase so every error names the file, the source and the
//! key: the `[[sources]]` tables are read as plain tables first, then each is
//! decoded into its provider's shape with unknown keys rejected.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use campaign_core::{Channel, Secret};

use crate::args::MAX_PAGE_SIZE;
use serde::Deserialize;

/// Where a config error was found and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file (or `<embedded>` for the built-in sandbox config).
    pub file: PathBuf,
    /// The `name` of the source the error is in, when it is in one.
    pub source_name: Option<String>,
    /// The key at fault, when one is.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn new(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            source_name: None,
            key: None,
            message: message.into(),
        }
    }

    fn in_source(mut self, name: &str) -> Self {
        self.source_name = Some(name.to_owned());
        self
    }

    fn at_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config error in {}", self.file.display())?;
        if let Some(name) = &self.source_name {
            write!(f, ", source \"{name}\"")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Settings shared by every source unless the source overrides them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Per-request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// Retries per request after the first attempt.
    pub max_retries: Option<u32>,
    /// Sources queried at once by the aggregate.
    pub concurrency: Option<usize>,
    /// Page size for `list --limit`-less paging and for provider requests.
    pub page_size: Option<u32>,
}

/// Settings every source accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonSettings {
    /// Unique source name; campaign ids are `<name>:<native id>`.
    pub name: String,
    /// Base URL as written (validated by the provider).
    pub base_url: String,
    /// Accept `http://` for a non-loopback host.
    pub allow_insecure_http: bool,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Retries per request.
    pub max_retries: Option<u32>,
    /// A record the source cannot use fails its page (or contact center)
    /// instead of being skipped with a warning. Key `strict`, default false.
    pub strict: bool,
}

/// How a source gets its credential.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSpec {
    /// A ready token (Bearer for CMS, JWT for Kore.ai).
    Token(Secret),
    /// CMS: the vendor's basic-auth token endpoint.
    CmsBasicAuth {
        /// Account SID in the token endpoint's path.
        account_sid: String,
        /// API key (the basic-auth user).
        api_key: String,
        /// API token (the basic-auth password).
        api_token: Secret,
        /// Base URL of the token endpoint, when it differs from the API's.
        token_url: Option<String>,
    },
    /// Kore.ai: mint JWTs from the app's client id and secret.
    KoreClient {
        /// The app's client id (`appId` claim).
        client_id: String,
        /// The app's client secret (HS256 key).
        client_secret: Secret,
        /// JWT lifetime.
        lifetime: Option<Duration>,
    },
}

impl fmt::Debug for CredentialSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets redact themselves; the client id is shown so misconfigurations
        // can be diagnosed. The account SID is part of the token URL, so hidden.
        match self {
            CredentialSpec::Token(_) => f.write_str("Token([REDACTED])"),
            CredentialSpec::CmsBasicAuth { token_url, .. } => f
                .debug_struct("CmsBasicAuth")
                .field("account_sid", &"[REDACTED]")
                .field("api_key", &"[REDACTED]")
                .field("token_url", token_url)
                .finish_non_exhaustive(),
            CredentialSpec::KoreClient {
                client_id,
                lifetime,
                ..
            } => f
                .debug_struct("KoreClient")
                .field("client_id", client_id)
                .field("lifetime", lifetime)
                .finish_non_exhaustive(),
        }
    }
}

/// One configured source, validated and with its secrets resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A CMS source.
    Cms {
        /// Shared settings.
        common: CommonSettings,
        /// Contact centers this source covers.
        contact_center_ids: Vec<i64>,
        /// Contact centers fetched at once.
        concurrency: Option<usize>,
        /// How to authenticate.
        credential: CredentialSpec,
    },
    /// A Kore.ai source.
    Kore {
        /// Shared settings.
        common: CommonSettings,
        /// The bot's stream id (also the `iid` header unless `iid` is set,
        /// so treated as a credential).
        stream_id: Secret,
        /// The account id.
        account_id: Secret,
        /// The `iid` header; defaults to the stream id.
        iid: Option<Secret>,
        /// Channels covered.
        channels: Vec<Channel>,
        /// Records per request.
        page_size: Option<u32>,
        /// Page requests in flight per channel.
        prefetch: Option<usize>,
        /// Client-side limit in requests per minute; `Some(0)` turns it off.
        rate_limit_per_minute: Option<u32>,
        /// How to authenticate.
        credential: CredentialSpec,
    },
}

impl SourceSpec {
    /// The shared settings.
    pub fn common(&self) -> &CommonSettings {
        match self {
            SourceSpec::Cms { common, .. } | SourceSpec::Kore { common, .. } => common,
        }
    }

    fn common_mut(&mut self) -> &mut CommonSettings {
        match self {
            SourceSpec::Cms { common, .. } | SourceSpec::Kore { common, .. } => common,
        }
    }

    /// The provider's name as written in the config.
    pub fn provider(&self) -> &'static str {
        match self {
            SourceSpec::Cms { .. } => "cms",
            SourceSpec::Kore { .. } => "kore",
        }
    }
}

/// A whole validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// Shared defaults.
    pub defaults: Defaults,
    /// Sources in file order.
    pub sources: Vec<SourceSpec>,
    /// The `[store]` section.
    pub store: StoreSettings,
}

/// The `[store]` section: where `campaigns sync` keeps its copy, and how
/// often it reads sources whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://PATH` or `postgres://...`; `--store` and `CAMPAIGNS_STORE`
    /// take precedence. A password belongs in the environment
    /// (`CAMPAIGNS_STORE`), not in the file.
    pub url: Option<String>,
    /// How far an incremental read looks back before the last change it
    /// saw, e.g. `"5m"` (the default).
    #[serde(default, deserialize_with = "duration")]
    pub overlap: Option<Duration>,
    /// How old a source's last full read may get before a sync reads it
    /// whole again, e.g. `"24h"` (the default).
    #[serde(default, deserialize_with = "duration")]
    pub full_refresh_every: Option<Duration>,
}

/// A duration written as text (`"30s"`, `"5m"`, `"24h"`).
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(text.trim())
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("not a duration like 30s, 5m or 24h ({e})")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    sources: Vec<toml::Table>,
    #[serde(default)]
    store: StoreSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCms {
    name: String,
    #[allow(dead_code)]
    provider: String,
    base_url: String,
    #[serde(default)]
    allow_insecure_http: bool,
    timeout_secs: Option<u64>,
    max_retries: Option<u32>,
    #[serde(default)]
    strict: bool,
    contact_center_ids: Vec<i64>,
    concurrency: Option<usize>,
    token: Option<String>,
    token_env: Option<String>,
    account_sid: Option<String>,
    api_key: Option<String>,
    api_token_env: Option<String>,
    token_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKore {
    name: String,
    #[allow(dead_code)]
    provider: String,
    base_url: String,
    #[serde(default)]
    allow_insecure_http: bool,
    timeout_secs: Option<u64>,
    max_retries: Option<u32>,
    #[serde(default)]
    strict: bool,
    stream_id: String,
    account_id: String,
    iid: Option<String>,
    channels: Option<Vec<String>>,
    page_size: Option<u32>,
    prefetch: Option<usize>,
    rate_limit_per_minute: Option<u32>,
    token: Option<String>,
    token_env: Option<String>,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    jwt_lifetime_secs: Option<u64>,
}

/// Reads a variable from the environment (or a test's map).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Config {
    /// Makes every source strict (`--strict`): a record a source cannot use
    /// fails its page instead of being skipped with a warning.
    pub fn make_strict(&mut self) {
        for source in &mut self.sources {
            source.common_mut().strict = true;
        }
    }

    /// Reads and validates `path`, resolving `*_env` keys from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, format!("cannot read the file: {e}")))?;
        Config::parse(path, &text, &|name| std::env::var(name).ok())
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        // Sources are read as tables here and checked one by one below; a
        // wrongly typed `[defaults]` value is named by its key path.
        let raw: RawFile = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| keyed_error(path, None, &e))?;
        validate_defaults(path, &raw.defaults)?;
        if raw.sources.is_empty() {
            return Err(ConfigError::new(path, "no [[sources]] configured").at_key("sources"));
        }
        let mut names = BTreeSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for (index, table) in raw.sources.into_iter().enumerate() {
            let spec = parse_source(path, index, table, env)?;
            let name = spec.common().name.clone();
            if !names.insert(name.clone()) {
                return Err(ConfigError::new(path, "duplicate source name")
                    .in_source(&name)
                    .at_key("name"));
            }
            sources.push(spec);
        }
        Ok(Config {
            file: path.to_path_buf(),
            defaults: raw.defaults,
            sources,
            store: raw.store,
        })
    }
}

/// A `ConfigError` for `error`, at `key` when it is known.
fn toml_error(
    path: &Path,
    source: Option<&str>,
    key: Option<String>,
    error: &toml::de::Error,
) -> ConfigError {
    let message = without_values(error.message().trim());
    let mut err = ConfigError::new(path, message);
    if let Some(name) = source {
        err = err.in_source(name);
    }
    if let Some(key) = key.or_else(|| unknown_or_missing_key(error.message())) {
        err = err.at_key(&key);
    }
    err
}

/// Deserializes one source's table, naming the key at fault in errors.
fn source_table<T: serde::de::DeserializeOwned>(
    path: &Path,
    label: &str,
    table: toml::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(table).map_err(|e| keyed_error(path, Some(label), &e))
}

/// A `ConfigError` at the key `error`'s path names.
fn keyed_error(
    path: &Path,
    source: Option<&str>,
    error: &serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    // The table itself (`.`) is where unknown and missing fields are reported.
    let key = error.path().to_string();
    toml_error(path, source, (key != ".").then_some(key), error.inner())
}

/// serde's messages quote the key in backticks: "unknown field `x`", "missing field `y`".
fn unknown_or_missing_key(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// serde's "invalid type: integer `677771933253`, expected a string" quotes
/// the value, which may be a credential: keep its kind only ("invalid type:
/// integer, expected a string").
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        // The expectation is the deserializer's own text; the value comes before it.
        if let Some((found, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            let kind = found
                .split(['`', '"'])
                .next()
                .unwrap_or_default()
                .trim_end();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

fn validate_defaults(path: &Path, defaults: &Defaults) -> Result<(), ConfigError> {
    let zero = |key: &str| {
        ConfigError::new(path, "must be greater than zero").at_key(&format!("defaults.{key}"))
    };
    if defaults.timeout_secs == Some(0) {
        return Err(zero("timeout_secs"));
    }
    if defaults.concurrency == Some(0) {
        return Err(zero("concurrency"));
    }
    if defaults
        .page_size
        .is_some_and(|size| !(1..=MAX_PAGE_SIZE).contains(&size))
    {
        return Err(ConfigError::new(
            path,
            format!("must be between 1 and {MAX_PAGE_SIZE}, like --limit"),
        )
        .at_key("defaults.page_size"));
    }
    Ok(())
}

fn parse_source(
    path: &Path,
    index: usize,
    table: toml::Table,
    env: EnvLookup<'_>,
) -> Result<SourceSpec, ConfigError> {
    let label = match table.get("name") {
        Some(toml::Value::String(name)) => name.clone(),
        Some(_) => {
            return Err(ConfigError::new(path, "must be a string")
                .in_source(&format!("#{}", index + 1))
                .at_key("name"))
        }
        None => {
            return Err(ConfigError::new(path, "missing field `name`")
                .in_source(&format!("#{}", index + 1))
                .at_key("name"))
        }
    };
    let bad = |key: &str, message: String| {
        ConfigError::new(path, message)
            .in_source(&label)
            .at_key(key)
    };
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(bad(
            "name",
            "must be non-empty and use only letters, digits, '-', '_' or '.'".into(),
        ));
    }
    let provider = match table.get("provider") {
        Some(toml::Value::String(p)) => p.clone(),
        Some(_) => return Err(bad("provider", "must be a string".into())),
        None => return Err(bad("provider", "missing field `provider`".into())),
    };
    let value = toml::Value::Table(table);
    match provider.as_str() {
        "cms" => cms_spec(source_table(path, &label, value)?, env, &bad),
        "kore" => kore_spec(source_table(path, &label, value)?, env, &bad),
        other => Err(bad(
            "provider",
            format!("unknown provider \"{other}\" (expected \"cms\" or \"kore\")"),
        )),
    }
}

type Bad<'a> = &'a dyn Fn(&str, String) -> ConfigError;

fn common(
    name: String,
    base_url: String,
    allow_insecure_http: bool,
    timeout_secs: Option<u64>,
    max_retries: Option<u32>,
    strict: bool,
    bad: Bad<'_>,
) -> Result<CommonSettings, ConfigError> {
    if timeout_secs == Some(0) {
        return Err(bad("timeout_secs", "must be greater than zero".into()));
    }
    if base_url.trim().is_empty() {
        return Err(bad("base_url", "must not be empty".into()));
    }
    Ok(CommonSettings {
        name,
        base_url,
        allow_insecure_http,
        timeout: timeout_secs.map(Duration::from_secs),
        max_retries,
        strict,
    })
}

/// Reads a secret from the variable named under `key`; never echoes its value.
fn secret_from_env(
    key: &str,
    variable: &str,
    env: EnvLookup<'_>,
    bad: Bad<'_>,
) -> Result<Secret, ConfigError> {
    match env(variable) {
        Some(value) if !value.is_empty() => check_header_safe(key, Secret::from(value), bad),
        Some(_) => Err(bad(
            key,
            format!("environment variable {variable} is empty"),
        )),
        None => Err(bad(
            key,
            format!("environment variable {variable} is not set"),
        )),
    }
}

/// A CR or LF in a header value would let a config inject headers: refuse before any request.
fn check_header_safe(key: &str, secret: Secret, bad: Bad<'_>) -> Result<Secret, ConfigError> {
    if secret.has_control_chars() {
        return Err(bad(key, "contains control characters (CR/LF)".into()));
    }
    Ok(secret)
}

fn check_plain_header_safe(key: &str, value: &str, bad: Bad<'_>) -> Result<(), ConfigError> {
    if value.chars().any(char::is_control) {
        return Err(bad(key, "contains control characters (CR/LF)".into()));
    }
    if value.trim().is_empty() {
        return Err(bad(key, "must not be empty".into()));
    }
    Ok(())
}

fn inline_token(key: &str, value: String, bad: Bad<'_>) -> Result<Secret, ConfigError> {
    if value.is_empty() {
        return Err(bad(key, "must not be empty".into()));
    }
    check_header_safe(key, Secret::from(value), bad)
}

/// A source's credential: an inline `token`, a `token_env`, or the
/// provider's own way (`other`, given when any of its keys is set; its keys
/// are `other_keys` in errors). Exactly one of the three.
fn credential(
    token: Option<String>,
    token_env: Option<String>,
    other: Option<impl FnOnce() -> Result<CredentialSpec, ConfigError>>,
    other_keys: &str,
    env: EnvLookup<'_>,
    bad: Bad<'_>,
) -> Result<CredentialSpec, ConfigError> {
    match (token, token_env, other) {
        (Some(token), None, None) => Ok(CredentialSpec::Token(inline_token("token", token, bad)?)),
        (None, Some(variable), None) => Ok(CredentialSpec::Token(secret_from_env(
            "token_env",
            &variable,
            env,
            bad,
        )?)),
        (None, None, Some(other)) => other(),
        (None, None, None) => Err(bad(
            "token_env",
            format!("no credential: set token_env (or token), or {other_keys}"),
        )),
        _ => Err(bad(
            "token",
            format!("give exactly one of token, token_env, or {other_keys}"),
        )),
    }
}

fn cms_spec(raw: RawCms, env: EnvLookup<'_>, bad: Bad<'_>) -> Result<SourceSpec, ConfigError> {
    let common = common(
        raw.name,
        raw.base_url,
        raw.allow_insecure_http,
        raw.timeout_secs,
        raw.max_retries,
        raw.strict,
        bad,
    )?;
    if raw.contact_center_ids.is_empty() {
        return Err(bad(
            "contact_center_ids",
            "must list at least one id".into(),
        ));
    }
    let unique: BTreeSet<_> = raw.contact_center_ids.iter().collect();
    if unique.len() != raw.contact_center_ids.len() {
        return Err(bad("contact_center_ids", "lists an id twice".into()));
    }
    if raw.concurrency == Some(0) {
        return Err(bad("concurrency", "must be greater than zero".into()));
    }
    let basic_auth =
        raw.account_sid.is_some() || raw.api_key.is_some() || raw.api_token_env.is_some();
    let basic_auth = basic_auth.then_some(|| {
        let account_sid = raw
            .account_sid
            .ok_or_else(|| bad("account_sid", "required with api_key/api_token_env".into()))?;
        check_plain_header_safe("account_sid", &account_sid, bad)?;
        let api_key = raw
            .api_key
            .ok_or_else(|| bad("api_key", "required with account_sid".into()))?;
        check_plain_header_safe("api_key", &api_key, bad)?;
        let variable = raw
            .api_token_env
            .ok_or_else(|| bad("api_token_env", "required with account_sid".into()))?;
        Ok(CredentialSpec::CmsBasicAuth {
            account_sid,
            api_key,
            api_token: secret_from_env("api_token_env", &variable, env, bad)?,
            token_url: raw.token_url,
        })
    });
    let credential = credential(
        raw.token,
        raw.token_env,
        basic_auth,
        "account_sid + api_key + api_token_env",
        env,
        bad,
    )?;
    Ok(SourceSpec::Cms {
        common,
        contact_center_ids: raw.contact_center_ids,
        concurrency: raw.concurrency,
        credential,
    })
}

fn kore_spec(raw: RawKore, env: EnvLookup<'_>, bad: Bad<'_>) -> Result<SourceSpec, ConfigError> {
    let common = common(
        raw.name,
        raw.base_url,
        raw.allow_insecure_http,
        raw.timeout_secs,
        raw.max_retries,
        raw.strict,
        bad,
    )?;
    check_plain_header_safe("stream_id", &raw.stream_id, bad)?;
    check_plain_header_safe("account_id", &raw.account_id, bad)?;
    if let Some(iid) = &raw.iid {
        check_plain_header_safe("iid", iid, bad)?;
    }
    let channels = match raw.channels {
        None => vec![Channel::Voice, Channel::Sms],
        Some(names) => {
            let mut channels = Vec::new();
            for name in names {
                let channel = match name.to_ascii_lowercase().as_str() {
                    "voice" => Channel::Voice,
                    "sms" => Channel::Sms,
                    _ => {
                        return Err(bad(
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
                return Err(bad("channels", "must list at least one channel".into()));
            }
            channels
        }
    };
    if raw.page_size == Some(0) {
        return Err(bad("page_size", "must be greater than zero".into()));
    }
    if raw.prefetch == Some(0) {
        return Err(bad("prefetch", "must be greater than zero".into()));
    }
    if raw.jwt_lifetime_secs == Some(0) {
        return Err(bad("jwt_lifetime_secs", "must be greater than zero".into()));
    }
    let minting = raw.client_id.is_some() || raw.client_secret_env.is_some();
    let minting = minting.then_some(|| {
        let client_id = raw
            .client_id
            .ok_or_else(|| bad("client_id", "required with client_secret_env".into()))?;
        check_plain_header_safe("client_id", &client_id, bad)?;
        let variable = raw
            .client_secret_env
            .ok_or_else(|| bad("client_secret_env", "required with client_id".into()))?;
        Ok(CredentialSpec::KoreClient {
            client_id,
            client_secret: secret_from_env("client_secret_env", &variable, env, bad)?,
            lifetime: raw.jwt_lifetime_secs.map(Duration::from_secs),
        })
    });
    let credential = credential(
        raw.token,
        raw.token_env,
        minting,
        "client_id + client_secret_env",
        env,
        bad,
    )?;
    Ok(SourceSpec::Kore {
        common,
        stream_id: Secret::from(raw.stream_id),
        account_id: Secret::from(raw.account_id),
        iid: raw.iid.map(Secret::from),
        channels,
        page_size: raw.page_size,
        prefetch: raw.prefetch,
        rate_limit_per_minute: raw.rate_limit_per_minute,
        credential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[defaults]
timeout_secs = 10
max_retries = 2
concurrency = 4
page_size = 25

[[sources]]
name = "cc-main"
provider = "cms"
base_url = "https://cms.example.com:443"
token_env = "CMS_TOKEN"
contact_center_ids = [1, 2]

[[sources]]
name = "kore"
provider = "kore"
base_url = "https://platform.kore.ai"
stream_id = "st-1"
account_id = "acc-1"
client_id = "cs-1"
client_secret_env = "KORE_SECRET"
channels = ["voice"]
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "CMS_TOKEN" => Some("cms-token-value".into()),
            "KORE_SECRET" => Some("kore-secret-value".into()),
            "BAD" => Some("a\r\nX-Injected: 1".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("campaigns.toml"), text, &env)
    }

    #[test]
    fn the_documented_example_parses() {
        let config = parse(FULL).unwrap();
        assert_eq!(config.defaults.page_size, Some(25));
        assert_eq!(config.sources.len(), 2);
        match &config.sources[0] {
            SourceSpec::Cms {
                common,
                contact_center_ids,
                credential,
                ..
            } => {
                assert_eq!(common.name, "cc-main");
                assert_eq!(contact_center_ids, &[1, 2]);
                assert!(
                    matches!(credential, CredentialSpec::Token(t) if t.expose() == "cms-token-value")
                );
            }
            other => panic!("expected cms, got {other:?}"),
        }
        match &config.sources[1] {
            SourceSpec::Kore {
                channels,
                credential,
                iid,
                ..
            } => {
                assert_eq!(channels, &[Channel::Voice]);
                assert!(iid.is_none());
                assert!(
                    matches!(credential, CredentialSpec::KoreClient { client_id, .. } if client_id == "cs-1")
                );
            }
            other => panic!("expected kore, got {other:?}"),
        }
    }

    #[test]
    fn debug_output_redacts_resolved_secrets() {
        let shown = format!("{:?}", parse(FULL).unwrap());
        assert!(!shown.contains("cms-token-value"), "{shown}");
        assert!(!shown.contains("kore-secret-value"), "{shown}");
        assert!(!shown.contains("acc-1"), "{shown}");
        assert!(
            !shown.contains("st-1"),
            "the stream id doubles as iid: {shown}"
        );
        let basic = FULL.replace(
            "token_env = \"CMS_TOKEN\"",
            "account_sid = \"AC-sid-1\"\napi_key = \"key-1\"\napi_token_env = \"CMS_TOKEN\"",
        );
        let shown = format!("{:?}", parse(&basic).unwrap());
        for secret in ["AC-sid-1", "key-1", "cms-token-value"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
    }

    /// A value of the wrong type names its key, never the value (which may
    /// be a credential).
    #[test]
    fn a_wrongly_typed_value_names_its_key_not_the_value() {
        let text = FULL.replace("account_id = \"acc-1\"", "account_id = 677771933253");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.source_name.as_deref(), Some("kore"));
        assert_eq!(err.key.as_deref(), Some("account_id"));
        let shown = err.to_string();
        assert!(shown.contains("invalid type: integer, expected"), "{shown}");
        assert!(!shown.contains("677771933253"), "{shown}");
        let text = FULL.replace("token_env = \"CMS_TOKEN\"", "token = true");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token"));
        let text = FULL.replace("channels = [\"voice\"]", "channels = \"voice, secret\"");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("channels"));
        assert!(!err.to_string().contains("secret"), "{err}");
        let text = FULL.replace("page_size = 25", "page_size = \"25\"");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("defaults.page_size"));
        let text = FULL.replace("page_size = 25", "page_size = 4294967295");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("defaults.page_size"));
        assert!(err.to_string().contains("10000"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_file_source_and_key() {
        let text = FULL.replace(
            "contact_center_ids = [1, 2]",
            "contact_center_ids = [1]\ncolour = 1",
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.source_name.as_deref(), Some("cc-main"));
        assert_eq!(err.key.as_deref(), Some("colour"));
        let shown = err.to_string();
        assert!(
            shown.contains("campaigns.toml")
                && shown.contains("cc-main")
                && shown.contains("colour"),
            "{shown}"
        );
    }

    #[test]
    fn missing_fields_unset_variables_and_duplicates_are_errors() {
        let err = parse(&FULL.replace("contact_center_ids = [1, 2]", "")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("contact_center_ids"));

        let err = parse(&FULL.replace("CMS_TOKEN", "UNSET_VARIABLE")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_env"));
        assert!(err.message.contains("UNSET_VARIABLE is not set"));

        let err = parse(&FULL.replace("name = \"kore\"", "name = \"cc-main\"")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("name"));
        assert!(err.message.contains("duplicate"));

        let err = parse(&FULL.replace("[defaults]", "[defaults]\nretries = 1")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("defaults.retries"));

        let err =
            parse(&FULL.replace("provider = \"kore\"", "provider = \"genesys\"")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("provider"));
    }

    #[test]
    fn control_characters_in_secrets_or_ids_are_refused() {
        let err = parse(&FULL.replace("CMS_TOKEN", "BAD")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_env"));
        assert!(!err.to_string().contains("X-Injected"));

        let err =
            parse(&FULL.replace("stream_id = \"st-1\"", "stream_id = \"st\\r\\n1\"")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("stream_id"));
    }

    #[test]
    fn conflicting_or_missing_credentials_are_errors() {
        let both = FULL.replace(
            "token_env = \"CMS_TOKEN\"",
            "token_env = \"CMS_TOKEN\"\ntoken = \"x\"",
        );
        let err = parse(&both).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token"));
        assert!(err.to_string().contains("account_sid + api_key"), "{err}");
        let none = FULL.replace("token_env = \"CMS_TOKEN\"", "");
        let err = parse(&none).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_env"));
        assert!(err.to_string().contains("no credential"), "{err}");
        let basic_and_token = FULL.replace(
            "token_env = \"CMS_TOKEN\"",
            "token_env = \"CMS_TOKEN\"\naccount_sid = \"AC1\"",
        );
        let err = parse(&basic_and_token).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token"));
        let half_basic = FULL.replace("token_env = \"CMS_TOKEN\"", "account_sid = \"AC1\"");
        assert_eq!(
            parse(&half_basic).unwrap_err().key.as_deref(),
            Some("api_key")
        );

        let kore_both = FULL.replace(
            "client_id = \"cs-1\"",
            "client_id = \"cs-1\"\ntoken_env = \"CMS_TOKEN\"",
        );
        let err = parse(&kore_both).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token"));
        assert!(
            err.to_string().contains("client_id + client_secret_env"),
            "{err}"
        );
        let kore_none = FULL
            .replace("client_id = \"cs-1\"\n", "")
            .replace("client_secret_env = \"KORE_SECRET\"\n", "");
        let err = parse(&kore_none).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("token_env"));
        assert!(
            err.to_string().contains("client_id + client_secret_env"),
            "{err}"
        );
        let kore_half = FULL.replace("client_id = \"cs-1\"\n", "");
        assert_eq!(
            parse(&kore_half).unwrap_err().key.as_deref(),
            Some("client_id")
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn mutated_configs_never_panic(cut in 0usize..600, insert in "[\\[\\]=\"a-z0-9 \n]{0,12}") {
            let mut text = FULL.to_owned();
            let at = cut.min(text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, &insert);
            }
            let _ = parse(&text);
        }
    }
}
