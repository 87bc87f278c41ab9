//! Bearer tokens from the vendor's token-generation endpoint.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{Secret, SourceError, TokenProvider};
use campaign_http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use campaign_http::{
    basic_credentials, check_base_url, join_segments, ApiRequest, Auth, HttpClient, HttpConfig,
    Method, TokenAnswer, TokenCache, Url,
};

use crate::wire::parse_error_body;

/// Token lifetime assumed when the answer has no `expires_in` (the vendor's default).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// The longest lifetime an answer is believed ([`TokenAnswer::bearer`]
/// caps it): a longer (or absurd) `expires_in` only means the token is
/// renewed after this, or at its first 401.
#[cfg(test)]
const MAX_TOKEN_LIFETIME: Duration = campaign_http::DEFAULT_MAX_REUSE;

/// How long before expiry a token is renewed, at most (see [`CmsBasicAuthToken::renew_before`]).
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(300);

const REQUEST: &str = "POST token (configuration/basicauth)";

/// A [`TokenProvider`] for the CMS token-generation endpoint:
/// `POST /v2/accounts/{account_sid}/configuration/basicauth` with
/// `Authorization: Basic base64(api_key:api_token)`.
///
/// It caches the token in a [`TokenCache`], renews it shortly before it
/// expires (by [`DEFAULT_RENEW_BEFORE`] or half its lifetime, whichever is
/// shorter) and after a 401 reported through [`TokenProvider::invalidate`];
/// concurrent callers wait for the same renewal instead of starting their
/// own. Debug output and errors never show the account SID, the key, the
/// secret or a token.
pub struct CmsBasicAuthToken {
    source_id: String,
    url: Url,
    basic: Secret,
    client: HttpClient,
    cache: TokenCache,
}

impl fmt::Debug for CmsBasicAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsBasicAuthToken")
            .field("source_id", &self.source_id)
            .field("host", &self.url.host_str().unwrap_or("?"))
            .field("credentials", &"[REDACTED]")
            .field("renew_before", &self.cache.renew_before())
            .finish_non_exhaustive()
    }
}

impl CmsBasicAuthToken {
    /// A provider for the endpoint under `base_url` (same https rule as the
    /// source). Fails with a `Config` error on an invalid URL or empty or
    /// header-unsafe credentials; nothing is sent until the first
    /// [`token`](TokenProvider::token) call.
    pub fn new(
        source_id: impl Into<String>,
        base_url: &str,
        account_sid: impl Into<String>,
        api_key: impl Into<String>,
        api_token: Secret,
        http: HttpConfig,
    ) -> Result<Self, SourceError> {
        let source_id = source_id.into();
        let (account_sid, api_key) = (Secret::new(account_sid.into()), Secret::new(api_key.into()));
        let base = check_base_url(&source_id, base_url, http.allow_insecure_http)?;
        for (name, value) in [
            ("account_sid", &account_sid),
            ("api_key", &api_key),
            ("api_token", &api_token),
        ] {
            if value.is_empty() || value.has_control_chars() {
                return Err(SourceError::config(
                    &source_id,
                    format!("{name} must be non-empty and free of control characters"),
                ));
            }
        }
        if api_key.expose().contains(':') {
            return Err(SourceError::config(
                &source_id,
                "api_key must not contain ':' (Basic auth separator)",
            ));
        }
        let url = join_segments(
            &source_id,
            &base,
            [
                "v2",
                "accounts",
                account_sid.expose(),
                "configuration",
                "basicauth",
            ],
        )?;
        let basic = basic_credentials(api_key.expose(), api_token.expose());
        let client = HttpClient::new(&source_id, http, parse_error_body)?;
        Ok(Self {
            source_id,
            url,
            basic,
            client,
            // Half the lifetime is the cache's default margin cap.
            cache: TokenCache::new(DEFAULT_RENEW_BEFORE),
        })
    }

    /// Renews a token once less than `margin` of its lifetime remains
    /// (capped at half the lifetime). Default [`DEFAULT_RENEW_BEFORE`].
    pub fn renew_before(mut self, margin: Duration) -> Self {
        self.cache = self.cache.with_renew_before(margin);
        self
    }

    async fn fetch(&self) -> Result<(Secret, Duration), SourceError> {
        let mut value = HeaderValue::from_str(self.basic.expose()).map_err(|_| {
            SourceError::config(&self.source_id, "credentials are not a valid header value")
        })?;
        value.set_sensitive(true);
        let request = ApiRequest {
            method: Method::POST,
            url: self.url.clone(),
            headers: HeaderMap::from_iter([(AUTHORIZATION, value)]),
            json_body: None,
            description: REQUEST.to_owned(),
        };
        let body = self.client.execute(&request, Auth::None).await?;
        let (token, lifetime) = parse_token(&self.source_id, &body)?;
        tracing::debug!(source = %self.source_id, lifetime_s = lifetime.as_secs(), "renewed the CMS token");
        Ok((token, lifetime))
    }
}

/// Reads the token answer (the fields in `response.data`) without ever
/// quoting it: the body holds the token.
fn parse_token(source_id: &str, body: &[u8]) -> Result<(Secret, Duration), SourceError> {
    let answer = TokenAnswer::new(source_id, REQUEST, DEFAULT_TOKEN_LIFETIME);
    let value = answer.json(body)?;
    let data = value
        .pointer("/response/data")
        .filter(|d| d.is_object())
        .ok_or_else(|| answer.error("has no response.data object"))?;
    answer.bearer(data)
}

#[async_trait]
impl TokenProvider for CmsBasicAuthToken {
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
    use campaign_core::ErrorKind;
    use tokio::time::Instant;

    #[test]
    fn token_answers_are_read_tolerantly_and_never_quoted() {
        let ok = br#"{"request_id":"r","method":"POST","http_code":200,
            "response":{"code":200,"status":"success","data":{"access_token":"tok-123","token_type":"Bearer","expires_in":"3600"}}}"#;
        let (token, lifetime) = parse_token("cms", ok).unwrap();
        assert_eq!(token.expose(), "tok-123");
        assert_eq!(lifetime, Duration::from_secs(3600));
        let no_expiry = br#"{"response":{"data":{"access_token":"tok-123"}}}"#;
        assert_eq!(
            parse_token("cms", no_expiry).unwrap().1,
            DEFAULT_TOKEN_LIFETIME
        );
        // A lifetime past any clock's range is capped, not added to `Instant::now()` as is.
        for huge in [r#"10000000000000000000"#, r#""18446744073709551615""#] {
            let body =
                format!(r#"{{"response":{{"data":{{"access_token":"t","expires_in":{huge}}}}}}}"#);
            let (_, lifetime) = parse_token("cms", body.as_bytes()).unwrap();
            assert_eq!(lifetime, MAX_TOKEN_LIFETIME);
            assert!(Instant::now().checked_add(lifetime).is_some());
        }
        for bad in [
            &br#"{"response":{"data":"tok-123"}}"#[..],
            br#"{"response":{"data":{"access_token":"tok-123","token_type":"MAC"}}}"#,
            br#"{"response":{"data":{"access_token":"tok-123","expires_in":"tok-123"}}}"#,
            br#"{"response":{"data":{"access_token":"tok-123","expires_in":-1}}}"#,
            br#"{"response":{"data":{"access_token":"tok-123\n"}}}"#,
            br#"{"response":{"data":{"access_token":"tok-123"#,
            b"<html>tok-123</html>",
        ] {
            let e = parse_token("cms", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode);
            assert!(!e.to_string().contains("tok-123"), "{e}");
            assert!(!format!("{e:?}").contains("tok-123"), "{e:?}");
        }
    }

    #[test]
    fn config_errors_and_debug_hide_credentials() {
        let make = |sid: &str, key: &str, secret: &str| {
            CmsBasicAuthToken::new(
                "cms",
                "https://cms.example.com",
                sid,
                key,
                Secret::new(secret),
                HttpConfig::default(),
            )
        };
        let provider = make("AC-sid-1", "key-1", "secret-1").unwrap();
        let debug = format!("{provider:?}");
        for hidden in ["AC-sid-1", "key-1", "secret-1"] {
            assert!(!debug.contains(hidden), "{debug}");
        }
        assert!(make("", "k", "s").is_err());
        assert!(make("sid", "k:x", "s").is_err());
        assert!(make("sid", "k", "s\r\nX: y").is_err());
        let e = make("sid", "k", "").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
