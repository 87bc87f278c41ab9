//! Providers as plugins: each provider owns its config type and says how to
//! build a source from it; a [`Registry`] maps the `provider = "..."` value
//! of a config file to that provider's factory.
//!
//! The built-in providers (CMS, Kore.ai, Genesys Cloud) register themselves
//! through this same API, so a plugin author's provider is used exactly as
//! theirs are: in `campaigns list`, `sources`, `sync` and `serve`.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use campaign_core::{Campaign, CampaignId, CampaignSource, Channel};
//! use campaign_registry::{ConfigError, ConfigKey, Env, ProviderConfig, Registry, SourceSettings};
//! use campaign_testkit::InMemorySource;
//! use serde::Deserialize;
//!
//! /// The keys of a `[[sources]]` table with `provider = "static"`.
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct StaticConfig {
//!     names: Vec<String>,
//! }
//!
//! impl ProviderConfig for StaticConfig {
//!     const PROVIDER: &'static str = "static";
//!     const DESCRIPTION: &'static str = "campaigns listed in the config itself";
//!     const KEYS: &'static [ConfigKey] = &[ConfigKey::required("names", "the campaigns' names")];
//!
//!     fn build(self, settings: SourceSettings, _env: &Env<'_>) -> Result<Arc<dyn CampaignSource>, ConfigError> {
//!         if self.names.is_empty() {
//!             return Err(ConfigError::at("names", "must name at least one campaign"));
//!         }
//!         let campaigns = self.names.iter().enumerate().map(|(i, name)| {
//!             Campaign::new(CampaignId::new(settings.name.as_str(), i.to_string()), "static", name.as_str(), Channel::Voice)
//!         }).collect();
//!         Ok(Arc::new(InMemorySource::new(settings.name, campaigns)))
//!     }
//! }
//!
//! let mut registry = Registry::new();
//! registry.register::<StaticConfig>()?;
//! let keys = serde_json::json!({"names": ["Renewals", "Billing"]});
//! let env = Env::none();
//! let source = registry.build("static", keys, SourceSettings::named("promo"), &env)?;
//! assert_eq!(source.id(), "promo");
//! let unknown = serde_json::json!({"names": [], "colour": "red"});
//! let e = registry.build("static", unknown, SourceSettings::named("promo"), &env).err().unwrap();
//! assert_eq!(e.key.as_deref(), Some("colour"));
//! # Ok::<(), ConfigError>(())
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod env;
mod error;
mod keys;

use std::fmt;
use std::sync::Arc;

use campaign_core::CampaignSource;
use campaign_http::HttpConfig;
use serde::de::DeserializeOwned;

pub use env::{credential, plain_header_value, Credential, Env};
pub use error::ConfigError;
pub use keys::{client_credentials, nonzero, page_size};

/// What a host (the CLI, a service) knows of every source, whatever its
/// provider: read from the common keys of a `[[sources]]` table (`name`,
/// `timeout_secs`, `max_retries`, `allow_insecure_http`, `strict`) and the
/// config's `[defaults]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SourceSettings {
    /// The source's name: the `source` part of its campaign ids.
    pub name: String,
    /// Timeouts, retries (the retry budget shared across the host's
    /// sources included) and the insecure-http switch.
    pub http: HttpConfig,
    /// A record the source cannot use fails its page instead of being
    /// skipped with a warning.
    pub strict: bool,
    /// The host's default page size, for a provider whose own key is unset.
    pub page_size: Option<u32>,
}

impl SourceSettings {
    /// Settings for a source named `name`, with every default.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            http: HttpConfig::default(),
            strict: false,
            page_size: None,
        }
    }
}

/// One key a provider's config accepts, for help output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigKey {
    /// The key.
    pub name: &'static str,
    /// Whether a source of this provider must set it.
    pub required: bool,
    /// What it is, in one line.
    pub description: &'static str,
}

impl ConfigKey {
    /// A key every source of the provider sets.
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            required: true,
            description,
        }
    }

    /// A key with a default, or one of several ways (credentials).
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            required: false,
            description,
        }
    }
}

/// A provider's config type: the keys of a `[[sources]]` table with
/// `provider = PROVIDER` (the common keys aside), deserialized with unknown
/// keys rejected, and how to build a source from them.
pub trait ProviderConfig: DeserializeOwned + 'static {
    /// The `provider = "..."` value.
    const PROVIDER: &'static str;
    /// What the provider is, in one line.
    const DESCRIPTION: &'static str;
    /// The keys it accepts (the common keys aside).
    const KEYS: &'static [ConfigKey];

    /// Builds the source: every setting checked (an invalid one is a
    /// [`ConfigError`] naming its key, never its value), secrets named by
    /// `*_env` keys read from `env`. Nothing is sent yet.
    fn build(
        self,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError>;
}

type Build =
    fn(serde_json::Value, SourceSettings, &Env<'_>) -> Result<Arc<dyn CampaignSource>, ConfigError>;

/// A registered provider: its name, keys and build function.
#[derive(Clone)]
pub struct ProviderFactory {
    provider: &'static str,
    description: &'static str,
    keys: &'static [ConfigKey],
    build: Build,
}

impl fmt::Debug for ProviderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderFactory")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl ProviderFactory {
    /// The factory of config type `C`.
    pub fn of<C: ProviderConfig>() -> Self {
        fn build<C: ProviderConfig>(
            keys: serde_json::Value,
            settings: SourceSettings,
            env: &Env<'_>,
        ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
            let config: C =
                serde_path_to_error::deserialize(keys).map_err(|e| ConfigError::from_serde(&e))?;
            config.build(settings, env)
        }
        Self {
            provider: C::PROVIDER,
            description: C::DESCRIPTION,
            keys: C::KEYS,
            build: build::<C>,
        }
    }

    /// The `provider = "..."` value.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// What the provider is, in one line.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The keys its config accepts (the common keys aside).
    pub fn keys(&self) -> &'static [ConfigKey] {
        self.keys
    }

    /// Builds a source from `keys` (a JSON object of the provider's keys).
    pub fn build(
        &self,
        keys: serde_json::Value,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        (self.build)(keys, settings, env)
    }
}

/// The providers a host knows, by name, in registration order.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    factories: Vec<ProviderFactory>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers config type `C`'s provider.
    ///
    /// # Errors
    /// A provider of that name is already registered.
    pub fn register<C: ProviderConfig>(&mut self) -> Result<&mut Self, ConfigError> {
        self.add(ProviderFactory::of::<C>())
    }

    /// Registers `factory`.
    ///
    /// # Errors
    /// A provider of that name is already registered.
    pub fn add(&mut self, factory: ProviderFactory) -> Result<&mut Self, ConfigError> {
        if self.get(factory.provider).is_some() {
            return Err(ConfigError::at(
                "provider",
                format!("provider \"{}\" is registered twice", factory.provider),
            ));
        }
        self.factories.push(factory);
        Ok(self)
    }

    /// The factory of `provider`.
    pub fn get(&self, provider: &str) -> Option<&ProviderFactory> {
        self.factories.iter().find(|f| f.provider == provider)
    }

    /// Every registered provider.
    pub fn providers(&self) -> &[ProviderFactory] {
        &self.factories
    }

    /// Builds a source of `provider` from its keys.
    ///
    /// # Errors
    /// An unknown provider (naming the known ones), or the provider's own
    /// [`ConfigError`].
    pub fn build(
        &self,
        provider: &str,
        keys: serde_json::Value,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        let factory = self.get(provider).ok_or_else(|| {
            let known: Vec<String> = self
                .factories
                .iter()
                .map(|f| format!("\"{}\"", f.provider))
                .collect();
            ConfigError::at(
                "provider",
                format!(
                    "unknown provider \"{provider}\" (expected {})",
                    known.join(", ")
                ),
            )
        })?;
        factory.build(keys, settings, env)
    }
}
