//! The Genesys login host's `POST /oauth/token` (client credentials, spec
//! §1.2) and the per-token rate limit of the API (§5.3).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Response};
use base64::Engine as _;
use bytes::Bytes;

use super::GenesysState;
use crate::faults;
use crate::sandbox::lock;

/// An OAuth-style error (§1.2), not the Platform `ErrorBody`.
fn oauth_error(status: u16, error: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({
        "error": error,
        "description": description,
        "error_description": description,
    });
    no_store(faults::json(faults::status_code(status), body.to_string()))
}

/// Token answers must not be cached (RFC 6749 §5.1).
fn no_store(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The `user:password` of an `Authorization: Basic` header, if well formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let (scheme, encoded) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim()
        .split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /oauth/token`. Checks, in order: client authentication (Basic, or
/// `client_id`/`client_secret` form fields when there is no `Authorization`
/// header): 401 `invalid_client`; a form-encoded body: 400
/// `invalid_request`; `grant_type` present: 400 `invalid_request`, and
/// `client_credentials`: 400 `unsupported_grant_type`.
pub(crate) async fn issue_token(
    State(state): State<Arc<GenesysState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let form_ok = is_form(&headers);
    let fields: HashMap<String, String> = if form_ok {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        HashMap::new()
    };
    let client = if headers.contains_key(header::AUTHORIZATION) {
        basic_credentials(&headers)
    } else {
        fields
            .get("client_id")
            .zip(fields.get("client_secret"))
            .map(|(id, secret)| (id.clone(), secret.clone()))
    };
    let Some((id, secret)) = client else {
        return oauth_error(401, "invalid_client", "Client authentication is required.");
    };
    if id != state.client_id || secret != state.client_secret.expose() {
        return oauth_error(401, "invalid_client", "Invalid client credentials.");
    }
    if !form_ok {
        return oauth_error(
            400,
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        );
    }
    match fields.get("grant_type").map(String::as_str) {
        None | Some("") => {
            return oauth_error(400, "invalid_request", "Missing grant_type parameter.")
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "Only the client_credentials grant is supported.",
            )
        }
    }
    let mut tokens = lock(&state.tokens);
    let access_token = tokens.issue();
    let body = serde_json::json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": tokens.lifetime().as_secs(),
    });
    no_store(faults::json(axum::http::StatusCode::OK, body.to_string()))
}

/// One token's fixed one-minute window.
#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

/// The `inin-ratelimit-*` values of one admitted or refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateState {
    pub(crate) admitted: bool,
    pub(crate) count: u32,
    pub(crate) allowed: u32,
    /// Seconds until the window resets (at least 1).
    pub(crate) reset: u64,
}

/// Per-token request counts for the optional rate limit. `Debug` shows no
/// tokens (they key the map).
pub(crate) struct RateWindows {
    pub(crate) per_minute: u32,
    windows: HashMap<String, Window>,
}

impl fmt::Debug for RateWindows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateWindows")
            .field("per_minute", &self.per_minute)
            .field("tokens", &self.windows.len())
            .finish()
    }
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateWindows {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: HashMap::new(),
        }
    }

    /// Counts a request of `token` unless its window is full.
    pub(crate) fn admit(&mut self, token: &str) -> RateState {
        let now = Instant::now();
        // Forget finished windows so revoked tokens do not pile up.
        self.windows
            .retain(|_, w| now.duration_since(w.started) < WINDOW);
        let window = self.windows.entry(token.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        let admitted = window.count < self.per_minute;
        if admitted {
            window.count += 1;
        }
        let elapsed = now.duration_since(window.started);
        RateState {
            admitted,
            count: window.count,
            allowed: self.per_minute,
            reset: WINDOW.saturating_sub(elapsed).as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_per_token() {
        let mut windows = RateWindows::new(2);
        assert!(windows.admit("a").admitted && windows.admit("a").admitted);
        let refused = windows.admit("a");
        assert!(!refused.admitted);
        assert_eq!((refused.count, refused.allowed), (2, 2));
        assert!((1..=60).contains(&refused.reset));
        assert!(windows.admit("b").admitted);
        windows.admit("secret-token");
        let debug = format!("{windows:?}");
        assert!(
            !debug.contains("secret-token") && debug.contains("tokens: 3"),
            "{debug}"
        );
        windows.clear();
        assert!(windows.admit("a").admitted);
    }

    #[test]
    fn basic_credentials_decode() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("id:se:cret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("id".to_owned(), "se:cret".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic_credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic_credentials(&headers), None);
    }
}
