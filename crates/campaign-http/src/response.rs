//! Turning response bytes into values or typed errors.

use std::time::{Duration, SystemTime};

use campaign_core::{ErrorKind, SourceError};
use serde::Deserialize;

/// Longest piece of a bad body quoted in an error.
const SNIPPET_CHARS: usize = 120;

/// What a provider's error body says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderError {
    /// The provider's error code (e.g. `CONF-1001`).
    pub code: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
    /// The body says the caller is being rate limited, whatever the HTTP
    /// status (a provider may not document which status carries its
    /// rate-limit message): the request is then retried with backoff like
    /// a 429.
    pub rate_limited: bool,
}

impl ProviderError {
    /// An error body with this code and message, not a rate limit.
    pub fn new(code: Option<String>, message: Option<String>) -> Self {
        Self {
            code,
            message,
            rate_limited: false,
        }
    }
}

/// Reads a provider's error body; `None` when the body is not in its format.
pub type ErrorBodyParser = fn(&[u8]) -> Option<ProviderError>;

/// A short, printable start of a body for error messages: control characters
/// replaced, cut at 120 characters.
pub fn snippet(body: &[u8]) -> String {
    clean(&String::from_utf8_lossy(body))
}

/// [`snippet`] of text already decoded.
pub(crate) fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > SNIPPET_CHARS {
        out.push('…');
    }
    out
}

/// Decodes a JSON body, turning failure into a `Decode` error that names the
/// source, the request, serde's reason and the start of the body.
pub fn decode_json<'body, T: Deserialize<'body>>(
    source_id: &str,
    request: &str,
    body: &'body [u8],
) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|e| {
        SourceError::new(
            ErrorKind::Decode,
            source_id,
            format!(
                "response is not the documented JSON ({e}); body starts: {:?}",
                snippet(body)
            ),
        )
        .with_request(request)
        .with_cause(e)
    })
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn decode_errors_quote_a_short_clean_snippet() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let e = decode_json::<serde_json::Value>("kore", "POST /x", body.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        let text = e.to_string();
        assert!(text.contains("<html> <body>"), "{text}");
        assert!(text.contains('…'));
        assert!(text.len() < 400, "{text}");
        assert_eq!(e.request(), Some("POST /x"));
    }
}
