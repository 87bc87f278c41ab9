//! A config error that names the key at fault, never its value.

use std::fmt;

use campaign_core::SourceError;

/// A setting a provider refused: the key at fault (when one is) and what is
/// wrong with it. Never holds the value, which may be a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key at fault (`page_size`, `division_ids[2]`), when one is.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// An error not tied to one key.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            key: None,
            message: message.into(),
        }
    }

    /// A deserialization error, at the key its path names, without the value.
    pub(crate) fn from_serde(error: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        Self::deserializing(&error.path().to_string(), &error.inner().to_string())
    }

    /// The error serde reported at `path` (as `serde_path_to_error` writes
    /// it; `.` for the table itself) while reading a config in any format:
    /// at the key at fault, with any quoted value removed (it may be a
    /// credential).
    pub fn deserializing(path: &str, message: &str) -> Self {
        let message = without_values(message.trim());
        // The table itself (`.`) is where unknown and missing fields are reported.
        let key = (path != ".")
            .then(|| path.to_owned())
            .or_else(|| unknown_or_missing_key(&message));
        Self { key, message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "key \"{key}\": {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A source's own `Config` error (raised while building it): not tied to a
/// key this crate can name.
impl From<SourceError> for ConfigError {
    fn from(error: SourceError) -> Self {
        Self::general(error.message().to_owned())
    }
}

/// serde's messages quote the key in backticks: "unknown field `x`", "missing field `y`".
fn unknown_or_missing_key(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// serde's "invalid type: string \"6777\", expected a sequence" quotes the
/// value, which may be a credential: keep its kind only ("invalid type:
/// string, expected a sequence"). serde_json also appends a position, which
/// means nothing for a table read from another format: dropped.
pub(crate) fn without_values(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_reach_the_message() {
        assert_eq!(
            without_values("invalid type: string \"s3cr3t\", expected u32 at line 1 column 9"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            without_values("invalid value: integer `-4`, expected u32"),
            "invalid value: integer, expected u32"
        );
        assert_eq!(
            unknown_or_missing_key("unknown field `colour`, expected one of"),
            Some("colour".into())
        );
    }
}
