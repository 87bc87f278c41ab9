//! Credentials in provider configs: inline, or named by a `*_env` key and
//! read from the environment; checked before any request, never echoed.

use std::fmt;

use campaign_core::Secret;

use crate::error::ConfigError;

/// Where `*_env` keys are read: the process environment, or a test's map.
pub struct Env<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn nothing(_: &str) -> Option<String> {
    None
}

impl<'a> Env<'a> {
    /// Variables looked up with `lookup`.
    pub fn new(lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync)) -> Self {
        Self { lookup }
    }

    /// The process environment.
    pub fn process() -> Env<'static> {
        Env { lookup: &process }
    }

    /// No variables at all.
    pub fn none() -> Env<'static> {
        Env { lookup: &nothing }
    }

    /// The secret in `variable`, named by config key `key`: an error (naming
    /// the key and the variable, never a value) when it is unset, empty, or
    /// holds control characters (which would let a config inject headers).
    pub fn secret(&self, key: &str, variable: &str) -> Result<Secret, ConfigError> {
        match (self.lookup)(variable) {
            Some(value) if !value.is_empty() => header_safe(key, Secret::from(value)),
            Some(_) => Err(ConfigError::at(
                key,
                format!("environment variable {variable} is empty"),
            )),
            None => Err(ConfigError::at(
                key,
                format!("environment variable {variable} is not set"),
            )),
        }
    }
}

fn header_safe(key: &str, secret: Secret) -> Result<Secret, ConfigError> {
    if secret.has_control_chars() {
        return Err(ConfigError::at(key, "contains control characters (CR/LF)"));
    }
    Ok(secret)
}

/// Checks a plain value that goes into a header or a path: non-empty,
/// without control characters.
pub fn plain_header_value(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.chars().any(char::is_control) {
        return Err(ConfigError::at(key, "contains control characters (CR/LF)"));
    }
    if value.trim().is_empty() {
        return Err(ConfigError::at(key, "must not be empty"));
    }
    Ok(())
}

/// A source's credential: a ready token, or the provider's own way.
#[derive(Debug, Clone)]
pub enum Credential<T> {
    /// A ready token (`token` inline or `token_env`).
    Token(Secret),
    /// The provider's own way (client credentials, an API key exchange, ...).
    Own(T),
}

/// The credential of a source whose config offers `token`, `token_env`, or
/// the provider's own keys (`own`, given when any of them is set; named
/// `own_keys` in errors): exactly one of the three.
pub fn credential<T>(
    token: Option<Secret>,
    token_env: Option<String>,
    own: Option<impl FnOnce() -> Result<T, ConfigError>>,
    own_keys: &str,
    env: &Env<'_>,
) -> Result<Credential<T>, ConfigError> {
    match (token, token_env, own) {
        (Some(token), None, None) => {
            if token.is_empty() {
                return Err(ConfigError::at("token", "must not be empty"));
            }
            Ok(Credential::Token(header_safe("token", token)?))
        }
        (None, Some(variable), None) => Ok(Credential::Token(env.secret("token_env", &variable)?)),
        (None, None, Some(own)) => Ok(Credential::Own(own()?)),
        (None, None, None) => Err(ConfigError::at(
            "token_env",
            format!("no credential: set token_env (or token), or {own_keys}"),
        )),
        _ => Err(ConfigError::at(
            "token",
            format!("give exactly one of token, token_env, or {own_keys}"),
        )),
    }
}
