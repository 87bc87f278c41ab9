//! OAuth client credentials (spec §1.2): `POST {login}/oauth/token` with
//! `Authorization: Basic base64(client_id:client_secret)` and the form body
//! `grant_type=client_credentials`, the answer cached until shortly before
//! `expires_in`.
//!
//! The request goes out through a `reqwest` client of its own, configured as
//! `campaign_http::HttpClient` configures its (no redirects, the same
//! timeouts and user agent): `HttpClient` sends JSON bodies only, and this
//! body is form-encoded. It makes one attempt; a retryable failure (429,
//! 5xx, a transport error) is retried by the listing request that asked for
//! the token, whose retry loop covers fetching it.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use campaign_core::{mask, ErrorKind, Secret, SourceError, TokenProvider};
use campaign_http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use campaign_http::{
    basic_credentials, check_base_url, join_segments, parse_retry_after, snippet, HttpConfig,
    TokenAnswer, TokenCache, Url,
};
use serde_json::Value;

use crate::config::login_url_for;

/// Token lifetime assumed when the answer has no `expires_in` (the
/// documented default for client-credentials clients, 24 h).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// How long before expiry a token is renewed, at most (and at most half its
/// lifetime, so a short-lived token is still reused for a while).
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The one field of the form body.
const GRANT: &str = "grant_type=client_credentials";

/// A token answer or OAuth error is a few hundred bytes; more is refused.
const MAX_TOKEN_BODY: usize = 64 * 1024;

const REQUEST: &str = "POST oauth/token (client credentials)";

/// A [`TokenProvider`] for Genesys Cloud OAuth client credentials.
///
/// Tokens are cached in a [`TokenCache`] and renewed
/// [`DEFAULT_RENEW_BEFORE`] before `expires_in` runs out (at most half the
/// lifetime early), and after the API rejects one
/// ([`TokenProvider::invalidate`], which the HTTP client calls on a 401);
/// concurrent callers share one renewal. The answer's errors (the OAuth
/// shape `{"error", "error_description"}`, not `ErrorBody`) become typed
/// errors: 401 `invalid_client` is `Unauthorized`, 429 `RateLimited` with
/// its `Retry-After`. Debug output and errors never show the secret or a
/// token, and show the client id masked.
pub struct GenesysOAuth {
    source_id: String,
    token_url: Url,
    client_id: String,
    /// `Basic base64(client_id:client_secret)`.
    basic: Secret,
    secret: Secret,
    client: reqwest::Client,
    cache: TokenCache,
}

impl fmt::Debug for GenesysOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysOAuth")
            .field("source_id", &self.source_id)
            .field("login_host", &self.token_url.host_str().unwrap_or("?"))
            .field("client_id", &mask(&self.client_id))
            .field("client_secret", &"[REDACTED]")
            .field("renew_before", &self.cache.renew_before())
            .finish_non_exhaustive()
    }
}

impl GenesysOAuth {
    /// A provider asking `login_url` (the login host, e.g.
    /// `https://login.mypurecloud.com`; same https rule as the source) for
    /// tokens of `client_id`. Fails with a `Config` error on an invalid URL
    /// or an empty or header-unsafe client id or secret (a client id must
    /// not contain `:`, the Basic auth separator); nothing is sent until the
    /// first [`token`](TokenProvider::token) call.
    pub fn new(
        source_id: impl Into<String>,
        login_url: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
        http: &HttpConfig,
    ) -> Result<Self, SourceError> {
        let source_id = source_id.into();
        let login =
            check_base_url(&source_id, login_url, http.allow_insecure_http).map_err(|e| {
                SourceError::config(&source_id, e.message().replacen("base_url", "login_url", 1))
            })?;
        let token_url = join_segments(&source_id, &login, ["oauth", "token"])?;
        Self::at(source_id, token_url, client_id.into(), client_secret, http)
    }

    /// A provider for the login host [`login_url_for`] derives from the API
    /// host `base_url`.
    pub fn for_api_host(
        source_id: impl Into<String>,
        base_url: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
        http: &HttpConfig,
    ) -> Result<Self, SourceError> {
        let source_id = source_id.into();
        let base = check_base_url(&source_id, base_url, http.allow_insecure_http)?;
        let login = login_url_for(&base);
        Self::new(source_id, login.as_str(), client_id, client_secret, http)
    }

    /// Renews a token once less than `margin` of its lifetime remains
    /// (capped at half the lifetime). Default [`DEFAULT_RENEW_BEFORE`].
    pub fn renew_before(mut self, margin: Duration) -> Self {
        self.cache = self.cache.with_renew_before(margin);
        self
    }

    pub(crate) fn at(
        source_id: String,
        token_url: Url,
        client_id: String,
        client_secret: Secret,
        http: &HttpConfig,
    ) -> Result<Self, SourceError> {
        let config = |message: &str| SourceError::config(&source_id, message);
        if client_id.trim().is_empty() || client_id.chars().any(char::is_control) {
            return Err(config(
                "client_id must be non-empty without control characters",
            ));
        }
        if client_id.contains(':') {
            return Err(config(
                "client_id must not contain ':' (the Basic auth separator)",
            ));
        }
        if client_secret.is_empty() || client_secret.has_control_chars() {
            return Err(config(
                "client_secret must be non-empty without control characters",
            ));
        }
        let basic = basic_credentials(&client_id, client_secret.expose());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(http.timeout)
            .connect_timeout(http.connect_timeout)
            .user_agent(http.user_agent.clone())
            .build()
            .map_err(|e| config("could not build the HTTP client").with_cause(e.without_url()))?;
        Ok(Self {
            source_id,
            token_url,
            client_id,
            basic,
            secret: client_secret,
            client,
            cache: TokenCache::new(DEFAULT_RENEW_BEFORE),
        })
    }

    /// The OAuth client id (for the quota the client's tokens share).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> SourceError {
        SourceError::new(kind, &self.source_id, message).with_request(REQUEST)
    }

    /// Asks for a token: one attempt.
    async fn fetch(&self) -> Result<(Secret, Duration), SourceError> {
        let mut authorization = HeaderValue::from_str(self.basic.expose()).map_err(|_| {
            SourceError::config(
                &self.source_id,
                "client credentials are not a valid header value",
            )
        })?;
        authorization.set_sensitive(true);
        let mut response = self
            .client
            .post(self.token_url.clone())
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(GRANT)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        if response
            .content_length()
            .is_some_and(|n| n > MAX_TOKEN_BODY as u64)
        {
            return Err(self
                .error(ErrorKind::Decode, "token answer too large; refused")
                .with_status(status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > MAX_TOKEN_BODY {
                return Err(self
                    .error(ErrorKind::Decode, "token answer too large; refused")
                    .with_status(status.as_u16()));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            let (token, lifetime) = parse_token(&self.source_id, &body)?;
            tracing::debug!(source = %self.source_id, lifetime_s = lifetime.as_secs(), "got a Genesys token");
            return Ok((token, lifetime));
        }
        let kind = if status.is_redirection() {
            ErrorKind::Transport
        } else {
            ErrorKind::from_status(status.as_u16())
        };
        let mut error = self
            .error(
                kind,
                status.canonical_reason().unwrap_or("unexpected status"),
            )
            .with_status(status.as_u16());
        match oauth_error(&body) {
            Some((code, description)) => {
                error = error.with_code(self.scrub(&code));
                if let Some(description) = description {
                    error = error.with_context(self.scrub(&description));
                }
            }
            None if status.is_redirection() => {
                error = error
                    .with_context("refused to follow a redirect; credentials are never forwarded");
            }
            None if !body.is_empty() => {
                error =
                    error.with_context(format!("body starts: {:?}", self.scrub(&snippet(&body))));
            }
            None => {}
        }
        if let Some(wait) = retry_after {
            error = error.with_retry_after(wait);
        }
        Err(error)
    }

    /// `text` with the client secret and the Basic credential masked, in
    /// case the server echoes the request.
    fn scrub(&self, text: &str) -> String {
        let mut text = snippet(text.as_bytes());
        for secret in [
            self.secret.expose(),
            self.basic.expose().trim_start_matches("Basic "),
        ] {
            if !secret.is_empty() {
                text = text.replace(secret, "***");
            }
        }
        text
    }

    fn transport(&self, error: reqwest::Error) -> SourceError {
        let (kind, what) = if error.is_timeout() {
            (
                ErrorKind::Timeout,
                "no complete token answer within the timeout",
            )
        } else if error.is_connect() {
            (ErrorKind::Transport, "could not connect to the login host")
        } else {
            (ErrorKind::Transport, "the token request failed")
        };
        self.error(kind, what).with_cause(error.without_url())
    }
}

/// The OAuth error code and description of an error answer.
fn oauth_error(body: &[u8]) -> Option<(String, Option<String>)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let code = text("error")?.to_owned();
    let description = text("error_description").or_else(|| text("description"));
    Some((code, description.map(str::to_owned)))
}

/// Reads the token answer (`{access_token, token_type, expires_in}` at its
/// top level) without ever quoting it: the body holds the token.
fn parse_token(source_id: &str, body: &[u8]) -> Result<(Secret, Duration), SourceError> {
    let answer = TokenAnswer::new(source_id, REQUEST, DEFAULT_TOKEN_LIFETIME);
    answer.bearer(&answer.json(body)?)
}

#[async_trait]
impl TokenProvider for GenesysOAuth {
    async fn token(&self) -> Result<Secret, SourceError> {
        self.cache.token(|| self.fetch()).await
    }

    async fn invalidate(&self, rejected: &Secret) {
        self.cache.invalidate(rejected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_and_never_quoted() {
        let sample = br#"{"access_token":"tok-123","token_type":"bearer","expires_in":86399}"#;
        let (token, lifetime) = parse_token("g", sample).unwrap();
        assert_eq!(token.expose(), "tok-123");
        assert_eq!(lifetime, Duration::from_secs(86_399));
        let upper = br#"{"access_token":"tok-123","token_type":"Bearer"}"#;
        assert_eq!(parse_token("g", upper).unwrap().1, DEFAULT_TOKEN_LIFETIME);
        for bad in [
            &br#"{"access_token":"tok-123","token_type":"mac"}"#[..],
            br#"{"access_token":"tok-123","expires_in":"tok-123"}"#,
            br#"{"access_token":"tok-123","expires_in":-1}"#,
            br#"{"access_token":"tok-123\n"}"#,
            br#"{"token":"tok-123"}"#,
            br#"{"access_token":"tok-123"#,
            b"<html>tok-123</html>",
        ] {
            let e = parse_token("g", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode);
            assert!(!format!("{e} {e:?}").contains("tok-123"), "{e}");
        }
    }

    #[test]
    fn oauth_errors_read_code_and_description() {
        let body = br#"{"error":"invalid_client","description":"d","error_description":"Invalid client credentials."}"#;
        assert_eq!(
            oauth_error(body),
            Some((
                "invalid_client".into(),
                Some("Invalid client credentials.".into())
            ))
        );
        assert_eq!(oauth_error(b"{\"message\":\"x\"}"), None);
    }

    #[test]
    fn config_errors_and_debug_hide_credentials() {
        let http = HttpConfig::default();
        let make = |id: &str, secret: &str| {
            GenesysOAuth::new(
                "g",
                "https://login.mypurecloud.com",
                id,
                Secret::new(secret),
                &http,
            )
        };
        let provider = make("client-0123456789abcdef", "s3cret-value").unwrap();
        let shown = format!("{provider:?}");
        assert!(
            !shown.contains("s3cret-value") && !shown.contains("client-0123456789abcdef"),
            "{shown}"
        );
        assert!(make("", "s").is_err());
        assert!(make("a:b", "s").is_err());
        assert!(make("a", "").is_err());
        let e = make("a", "s\r\nX: y").unwrap_err();
        assert!(!e.to_string().contains("X: y"));
        let derived = GenesysOAuth::for_api_host(
            "g",
            "https://api.mypurecloud.de",
            "a",
            Secret::new("s"),
            &http,
        )
        .unwrap();
        assert_eq!(
            derived.token_url.as_str(),
            "https://login.mypurecloud.de/oauth/token"
        );
    }
}
