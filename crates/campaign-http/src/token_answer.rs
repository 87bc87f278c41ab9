//! What every provider that fetches its own tokens does the same way: send
//! client credentials as HTTP Basic, and read the token endpoint's answer
//! without ever quoting it (the body holds the token).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use campaign_core::{ErrorKind, Secret, SourceError};
use serde_json::Value;

use crate::token_cache::DEFAULT_MAX_REUSE;

/// The `Authorization` value `Basic base64(user:password)` of a pair of
/// client credentials (an OAuth client id and secret, an API key and
/// token). The caller refuses a `user` holding `:`, the separator.
///
/// ```
/// let basic = campaign_http::basic_credentials("Aladdin", "open sesame");
/// assert_eq!(basic.expose(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic_credentials(user: &str, password: &str) -> Secret {
    Secret::new(format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{password}"))
    ))
}

/// Reads a token endpoint's JSON answer, OAuth-style: an `access_token`
/// string, an optional `token_type` (Bearer, in any case) and an optional
/// `expires_in` in seconds (a number or a numeric string).
///
/// Errors are `Decode` errors of the source and request that never quote
/// the answer: serde's messages can quote values, so only a syntax error's
/// position is kept.
///
/// ```
/// use std::time::Duration;
/// use campaign_http::TokenAnswer;
///
/// let answer = TokenAnswer::new("demo", "POST oauth/token", Duration::from_secs(3600));
/// let body = br#"{"access_token":"t0ken","token_type":"bearer","expires_in":"60"}"#;
/// let (token, lifetime) = answer.bearer(&answer.json(body)?)?;
/// assert_eq!((token.expose(), lifetime), ("t0ken", Duration::from_secs(60)));
/// let e = answer.json(b"<html>t0ken</html>").unwrap_err();
/// assert!(!e.to_string().contains("t0ken"));
/// # Ok::<(), campaign_core::SourceError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TokenAnswer<'a> {
    /// The source the token is for.
    pub source_id: &'a str,
    /// What errors call the token request, e.g. `POST oauth/token`.
    pub request: &'a str,
    /// The lifetime of a token whose answer has no `expires_in`.
    pub default_lifetime: Duration,
}

impl<'a> TokenAnswer<'a> {
    /// The reader of `source_id`'s answers to `request`.
    pub const fn new(source_id: &'a str, request: &'a str, default_lifetime: Duration) -> Self {
        Self {
            source_id,
            request,
            default_lifetime,
        }
    }

    /// The `Decode` error "token answer {why}".
    pub fn error(&self, why: &str) -> SourceError {
        SourceError::new(
            ErrorKind::Decode,
            self.source_id,
            format!("token answer {why}"),
        )
        .with_request(self.request)
    }

    /// The answer `body` as JSON.
    pub fn json(&self, body: &[u8]) -> Result<Value, SourceError> {
        serde_json::from_slice(body).map_err(|e| {
            self.error(&format!(
                "is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// The token and its lifetime out of `fields` (the answer's object, or
    /// the object within it that holds them). A lifetime past
    /// [`DEFAULT_MAX_REUSE`] is capped there: an absurd `expires_in` only
    /// means the token is renewed then, or at its first 401.
    pub fn bearer(&self, fields: &Value) -> Result<(Secret, Duration), SourceError> {
        let token = fields
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.error("has no access_token string"))?;
        let token = Secret::new(token);
        if token.has_control_chars() {
            return Err(self.error("holds a token with control characters"));
        }
        // Servers send "bearer" in either case: compared case-insensitively.
        match fields.get("token_type") {
            None | Some(Value::Null) => {}
            Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => {}
            Some(_) => return Err(self.error("has a token_type other than Bearer")),
        }
        let invalid = || self.error("has an invalid expires_in");
        // Seconds, whole or not (`86400.0`), in whole seconds (the cast
        // saturates: a huge count is capped below); a negative or NaN count
        // is no lifetime.
        let seconds = |n: f64| (n >= 0.0).then(|| Duration::from_secs(n as u64));
        let lifetime = match fields.get("expires_in") {
            None | Some(Value::Null) => self.default_lifetime,
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Duration::from_secs)
                .or_else(|| n.as_f64().and_then(seconds))
                .ok_or_else(invalid)?,
            Some(Value::String(s)) => s
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .ok()
                .or_else(|| s.trim().parse().ok().and_then(seconds))
                .ok_or_else(invalid)?,
            Some(_) => return Err(invalid()),
        };
        Ok((token, lifetime.min(DEFAULT_MAX_REUSE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_tolerantly_and_never_quoted() {
        let answer = TokenAnswer::new("s", "POST token", Duration::from_secs(7));
        let read = |body: &[u8]| answer.json(body).and_then(|v| answer.bearer(&v));
        let (token, lifetime) = read(br#"{"access_token":"tok-123"}"#).unwrap();
        assert_eq!(
            (token.expose(), lifetime),
            ("tok-123", Duration::from_secs(7))
        );
        for (body, secs) in [
            (
                &br#"{"access_token":"t","expires_in":60,"token_type":"Bearer"}"#[..],
                60,
            ),
            (
                br#"{"access_token":"t","expires_in":" 60 ","token_type":"bearer"}"#,
                60,
            ),
            (
                br#"{"access_token":"t","expires_in":99999999999999}"#,
                30 * 86_400,
            ),
            (br#"{"access_token":"t","expires_in":86400.0}"#, 86_400),
            (br#"{"access_token":"t","expires_in":"59.9"}"#, 59),
            (br#"{"access_token":"t","expires_in":1e300}"#, 30 * 86_400),
        ] {
            assert_eq!(read(body).unwrap().1, Duration::from_secs(secs));
        }
        for bad in [
            &br#"{"access_token":"tok-123","token_type":"mac"}"#[..],
            br#"{"access_token":"tok-123","token_type":1}"#,
            br#"{"access_token":"tok-123","expires_in":"tok-123"}"#,
            br#"{"access_token":"tok-123","expires_in":-1}"#,
            br#"{"access_token":"tok-123","expires_in":-0.5}"#,
            br#"{"access_token":"tok-123","expires_in":[1]}"#,
            br#"{"access_token":"tok-123\n"}"#,
            br#"{"access_token":""}"#,
            br#"["tok-123"]"#,
            br#"{"access_token":"tok-123"#,
            b"<html>tok-123</html>",
        ] {
            let e = read(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode);
            assert!(!format!("{e} {e:?}").contains("tok-123"), "{e}");
        }
    }
}
