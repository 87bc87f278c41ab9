//! The TOML config file: the host's keys, each `[[sources]]` table handed to
//! its provider's config type through the [`Registry`].
//!
//! The CLI knows only the keys every source has (`name`, `provider`,
//! `timeout_secs`, `max_retries`, `allow_insecure_http`, `strict`) and its
//! own sections (`[defaults]`, `[store]`, `[serve]`); the rest of a source's table goes
//! to the provider registered under its `provider` value, which refuses
//! unknown keys and checks every value. Every error names the file, the
//! source and the key, never a value.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use campaign_aggregate::{Aggregator, AggregatorBuilder};
use campaign_core::{CampaignSource, RetryBudget, SourceError};
use campaign_http::HttpConfig;
use campaign_registry::{Env, Registry, SourceSettings};
use serde::Deserialize;

use crate::args::MAX_PAGE_SIZE;

/// The aggregate's id: campaign ids carry the source names, not this.
pub const AGGREGATE_ID: &str = "campaigns";

/// Where a config error was found and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file (or `<embedded sandbox>` for the built-in one).
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

    /// A provider's (or the registry's) error, placed in `file` and `source`.
    fn from_registry(file: &Path, source: &str, error: campaign_registry::ConfigError) -> Self {
        Self {
            file: file.to_path_buf(),
            source_name: Some(source.to_owned()),
            key: error.key,
            message: error.message,
        }
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

/// The `[serve]` section: how `campaigns serve` guards its HTTP API. Both
/// keys name environment variables, so the secrets stay out of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// The variable holding the API keys, comma-separated: each request
    /// (but `/healthz`) must then send one as `Authorization: Bearer KEY`.
    pub api_keys_env: Option<String>,
    /// The variable holding the key that signs the cursors handed to HTTP
    /// clients; without it a random key is drawn at each start, so cursors
    /// do not survive a restart.
    pub cursor_key_env: Option<String>,
}

/// A duration written as text (`"30s"`, `"5m"`, `"24h"`).
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(text.trim())
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("not a duration like 30s, 5m or 24h ({e})")))
}

/// One configured source, built by its provider (nothing sent yet).
#[derive(Debug, Clone)]
pub struct ConfiguredSource {
    /// Its `name`: the `source` part of its campaign ids.
    pub name: String,
    /// Its `provider` value.
    pub provider: String,
    /// The source.
    pub source: Arc<dyn CampaignSource>,
}

/// A whole validated config, its sources built.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// Shared defaults.
    pub defaults: Defaults,
    /// Sources in file order.
    pub sources: Vec<ConfiguredSource>,
    /// The `[store]` section.
    pub store: StoreSettings,
    /// The `[serve]` section.
    pub serve: ServeSettings,
    /// The retry budget every source's requests share.
    pub retry_budget: Arc<RetryBudget>,
}

impl Config {
    /// Reads and validates `path` with the built-in providers, resolving
    /// `*_env` keys from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Loader::new(&crate::providers::builtin()).load(path)
    }

    /// Parses and validates config text with the built-in providers,
    /// reading `*_env` variables with `env`; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        Loader::new(&crate::providers::builtin())
            .env(Env::new(env))
            .parse(path, text)
    }

    /// The source named `name`.
    pub fn source(&self, name: &str) -> Option<&ConfiguredSource> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The aggregate over every source, sharing the retry budget.
    pub fn aggregate(&self) -> Result<Aggregator, SourceError> {
        self.aggregate_builder().build()
    }

    /// [`Config::aggregate`]'s builder, for a host that sets more (a deadline).
    pub fn aggregate_builder(&self) -> AggregatorBuilder {
        let mut builder = Aggregator::builder(AGGREGATE_ID)
            .sources(self.sources.iter().map(|s| Arc::clone(&s.source)))
            .retry_budget(Arc::clone(&self.retry_budget));
        if let Some(n) = self.defaults.concurrency {
            builder = builder.concurrency(n);
        }
        builder
    }
}

/// Reads a variable from the environment (or a test's map).
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

/// Reads config files with a registry of providers: the built-in one, or a
/// plugin host's.
#[derive(Debug)]
pub struct Loader<'a> {
    registry: &'a Registry,
    env: Env<'a>,
    strict: bool,
}

impl<'a> Loader<'a> {
    /// A loader of `registry`'s providers, reading the process environment.
    pub fn new(registry: &'a Registry) -> Self {
        Self {
            registry,
            env: Env::process(),
            strict: false,
        }
    }

    /// Reads `*_env` variables from `env` instead.
    pub fn env(mut self, env: Env<'a>) -> Self {
        self.env = env;
        self
    }

    /// Makes every source strict (`--strict`): a record a source cannot use
    /// fails its page instead of being skipped with a warning.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Reads and validates `path`.
    pub fn load(&self, path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, format!("cannot read the file: {e}")))?;
        self.parse(path, &text)
    }

    /// Parses and validates config text, building every source (nothing is
    /// sent); `path` is only used in messages.
    pub fn parse(&self, path: &Path, text: &str) -> Result<Config, ConfigError> {
        // Sources are read as tables here and handed to their providers
        // below; a wrongly typed `[defaults]` value is named by its key path.
        let raw: RawFile = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| keyed_error(path, None, &e))?;
        validate_defaults(path, &raw.defaults)?;
        if raw.sources.is_empty() {
            return Err(ConfigError::new(path, "no [[sources]] configured").at_key("sources"));
        }
        let budget = Arc::new(RetryBudget::default());
        let mut names = BTreeSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for (index, table) in raw.sources.into_iter().enumerate() {
            let source = self.source(path, index, table, &raw.defaults, &budget)?;
            if !names.insert(source.name.clone()) {
                return Err(ConfigError::new(path, "duplicate source name")
                    .in_source(&source.name)
                    .at_key("name"));
            }
            sources.push(source);
        }
        Ok(Config {
            file: path.to_path_buf(),
            defaults: raw.defaults,
            sources,
            store: raw.store,
            serve: raw.serve,
            retry_budget: budget,
        })
    }

    fn source(
        &self,
        path: &Path,
        index: usize,
        mut table: toml::Table,
        defaults: &Defaults,
        budget: &Arc<RetryBudget>,
    ) -> Result<ConfiguredSource, ConfigError> {
        let label = match table.get("name") {
            Some(toml::Value::String(name)) => name.clone(),
            _ => format!("#{}", index + 1),
        };
        // The host's keys come out of the table; the rest is the provider's.
        let mut common = toml::Table::new();
        for key in COMMON_KEYS {
            if let Some(value) = table.remove(key) {
                common.insert(key.to_owned(), value);
            }
        }
        let common: CommonKeys = serde_path_to_error::deserialize(toml::Value::Table(common))
            .map_err(|e| keyed_error(path, Some(&label), &e))?;
        let bad = |key: &str, message: &str| {
            ConfigError::new(path, message)
                .in_source(&label)
                .at_key(key)
        };
        if common.name.is_empty()
            || !common
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(bad(
                "name",
                "must be non-empty and use only letters, digits, '-', '_' or '.'",
            ));
        }
        if common.timeout_secs == Some(0) {
            return Err(bad("timeout_secs", "must be greater than zero"));
        }
        let mut http = HttpConfig {
            allow_insecure_http: common.allow_insecure_http,
            retry_budget: Some(Arc::clone(budget)),
            ..HttpConfig::default()
        };
        if let Some(secs) = common.timeout_secs.or(defaults.timeout_secs) {
            http.timeout = Duration::from_secs(secs);
        }
        if let Some(retries) = common.max_retries.or(defaults.max_retries) {
            http.retry.max_retries = retries as usize;
        }
        let mut settings = SourceSettings::named(common.name.as_str());
        settings.http = http;
        settings.strict = common.strict || self.strict;
        settings.page_size = defaults.page_size;
        let keys = serde_json::to_value(&table)
            .map_err(|e| bad("provider", &format!("cannot read the table: {e}")))?;
        let source = self
            .registry
            .build(&common.provider, keys, settings, &self.env)
            .map_err(|e| ConfigError::from_registry(path, &common.name, e))?;
        Ok(ConfiguredSource {
            name: common.name,
            provider: common.provider,
            source,
        })
    }
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
    #[serde(default)]
    serve: ServeSettings,
}

/// The keys every `[[sources]]` table may have, whatever its provider.
const COMMON_KEYS: [&str; 6] = [
    "name",
    "provider",
    "allow_insecure_http",
    "timeout_secs",
    "max_retries",
    "strict",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    name: String,
    provider: String,
    #[serde(default)]
    allow_insecure_http: bool,
    timeout_secs: Option<u64>,
    max_retries: Option<u32>,
    #[serde(default)]
    strict: bool,
}

/// A `ConfigError` at the key `error`'s path names, without any value.
fn keyed_error(
    path: &Path,
    source: Option<&str>,
    error: &serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let found = campaign_registry::ConfigError::deserializing(
        &error.path().to_string(),
        error.inner().message(),
    );
    let mut err = ConfigError::new(path, found.message);
    err.key = found.key;
    if let Some(name) = source {
        err = err.in_source(name);
    }
    err
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
        let built: Vec<(&str, &str, &str)> = config
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.provider.as_str(), s.source.id()))
            .collect();
        assert_eq!(
            built,
            [("cc-main", "cms", "cc-main"), ("kore", "kore", "kore")]
        );
        assert_eq!(config.sources[1].source.provider(), "kore");
        assert!(config.source("kore").is_some() && config.source("nope").is_none());
        let aggregate = config.aggregate().unwrap();
        assert_eq!(aggregate.sources().len(), 2);
    }

    #[test]
    fn strict_and_defaults_reach_the_sources() {
        let registry = crate::providers::builtin();
        let config = Loader::new(&registry)
            .env(Env::new(&env))
            .strict(true)
            .parse(Path::new("campaigns.toml"), FULL)
            .unwrap();
        let shown = format!("{:?}", config.sources[0].source);
        assert!(shown.contains("strict: true"), "{shown}");
        // `[defaults] page_size = 25` is Kore's page size (its own key unset).
        let shown = format!("{:?}", config.sources[1].source);
        assert!(shown.contains("page_size: 25"), "{shown}");
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
            parse(&FULL.replace("provider = \"kore\"", "provider = \"zendesk\"")).unwrap_err();
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
