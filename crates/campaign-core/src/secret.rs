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

/// A credential-sized id (an account id, a stream id, an OAuth client id)
/// shown as a label that cannot be used as the id: its last four characters
/// after an ellipsis, or `****` when it is too short (under 12 characters)
/// for four to leave it unguessable.
///
/// ```
/// assert_eq!(campaign_core::mask("67777ce93e25326494e12345"), "…2345");
/// assert_eq!(campaign_core::mask("short"), "****");
/// ```
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
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

    #[test]
    fn masks_keep_only_a_short_tail() {
        assert_eq!(mask("67777ce93e25326494e12345"), "…2345");
        assert_eq!(mask("short"), "****");
    }
}
