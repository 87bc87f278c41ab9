//! Checks of the keys many providers' tables share, written once so every
//! provider words the same mistake the same way.

use campaign_core::Secret;

use crate::env::{plain_header_value, Env};
use crate::error::ConfigError;

/// The page size of a source whose requests carry at most `max` campaigns:
/// its own `page_size` key, which must be 1 to `max`, else the host's
/// default page size (a default for every provider) kept within 1 to `max`.
/// `None` when neither is set: the provider's own default applies.
///
/// ```
/// use campaign_registry::page_size;
///
/// assert_eq!(page_size(Some(20), Some(500), 100)?, Some(20));
/// assert_eq!(page_size(None, Some(500), 100)?, Some(100));
/// assert_eq!(page_size(None, None, 100)?, None);
/// assert_eq!(page_size(Some(101), None, 100).unwrap_err().key.as_deref(), Some("page_size"));
/// # Ok::<(), campaign_registry::ConfigError>(())
/// ```
pub fn page_size(
    own: Option<u32>,
    host_default: Option<u32>,
    max: u32,
) -> Result<Option<u32>, ConfigError> {
    if own.is_some_and(|size| !(1..=max).contains(&size)) {
        return Err(ConfigError::at(
            "page_size",
            format!("must be between 1 and {max}"),
        ));
    }
    Ok(own.or(host_default.map(|size| size.clamp(1, max))))
}

/// Checks a count that must not be zero when set (`prefetch`,
/// `concurrency`, a lifetime).
pub fn nonzero<T: Default + PartialEq>(key: &str, value: Option<T>) -> Result<(), ConfigError> {
    if value == Some(T::default()) {
        return Err(ConfigError::at(key, "must be greater than zero"));
    }
    Ok(())
}

/// The `client_id` + `client_secret_env` pair of keys, when either is set,
/// as [`credential`](crate::credential)'s `own`: the client id (a plain
/// header value, without `:` when it is the user of HTTP `basic_auth`, whose
/// separator that is) and the secret read from the variable named by
/// `client_secret_env`. Each key is required with the other.
pub fn client_credentials<'e>(
    client_id: Option<String>,
    client_secret_env: Option<String>,
    basic_auth: bool,
    env: &'e Env<'_>,
) -> Option<impl FnOnce() -> Result<(String, Secret), ConfigError> + 'e> {
    let given = client_id.is_some() || client_secret_env.is_some();
    given.then_some(move || {
        let client_id = client_id
            .ok_or_else(|| ConfigError::at("client_id", "required with client_secret_env"))?;
        plain_header_value("client_id", &client_id)?;
        if basic_auth && client_id.contains(':') {
            return Err(ConfigError::at(
                "client_id",
                "must not contain ':' (the Basic auth separator)",
            ));
        }
        let variable = client_secret_env
            .ok_or_else(|| ConfigError::at("client_secret_env", "required with client_id"))?;
        Ok((client_id, env.secret("client_secret_env", &variable)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_client_credentials_are_checked_key_by_key() {
        assert!(nonzero("prefetch", Some(0usize)).is_err());
        assert!(nonzero("prefetch", Some(1usize)).is_ok());
        assert!(nonzero::<u64>("jwt_lifetime_secs", None).is_ok());
        let lookup = |name: &str| (name == "SECRET").then(|| "s3cret".to_owned());
        let env = Env::new(&lookup);
        let read = |id: Option<&str>, var: Option<&str>, basic: bool| {
            client_credentials(id.map(Into::into), var.map(Into::into), basic, &env).map(|f| f())
        };
        assert!(read(None, None, true).is_none());
        let (id, secret) = read(Some("app"), Some("SECRET"), true).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.expose()), ("app", "s3cret"));
        let key = |r: Option<Result<(String, Secret), ConfigError>>| r.unwrap().unwrap_err().key;
        assert_eq!(
            key(read(Some("app"), None, true)).as_deref(),
            Some("client_secret_env")
        );
        assert_eq!(
            key(read(None, Some("SECRET"), true)).as_deref(),
            Some("client_id")
        );
        assert_eq!(
            key(read(Some("a:b"), Some("SECRET"), true)).as_deref(),
            Some("client_id")
        );
        assert!(read(Some("a:b"), Some("SECRET"), false).unwrap().is_ok());
    }
}
