//! Credentials that never print.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// A credential (token, client secret, API key). `Debug` and `Display` print
/// `[REDACTED]`; the value is reachable only through [`Secret::expose`], and the
/// memory is zeroed on drop (via the `secrecy` crate).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The credential itself; call only where it is sent.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Whether the value holds a character that cannot go into an HTTP header
    /// (CR, LF or another control character), which would allow header injection.
    pub fn has_control_chars(&self) -> bool {
        self.expose().chars().any(char::is_control)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(s.to_string(), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([REDACTED]))");
        assert_eq!(s.expose(), "hunter2-token");
        assert!(Secret::new("a\r\nInjected: x").has_control_chars());
        assert!(!s.has_control_chars());
    }
}
