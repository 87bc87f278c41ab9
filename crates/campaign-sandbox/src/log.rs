//! The request log shared by the three servers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Response, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;

use crate::sandbox::lock;

/// Which sandbox server received a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// The CMS emulator.
    Cms,
    /// The Kore.ai emulator.
    Kore,
    /// The Genesys Cloud emulator (API and login host paths).
    Genesys,
    /// The "other host" that redirect faults point to.
    OtherHost,
}

/// Headers whose values are credentials and are logged as `***`.
const SECRET_HEADERS: [&str; 4] = ["authorization", "auth", "iid", "accountid"];

/// Largest request body the sandbox accepts (and logs).
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// One request as a sandbox server received it, with credentials masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The server that received it.
    pub server: Server,
    /// The HTTP method, e.g. `"GET"`.
    pub method: String,
    /// The path, without the query, with the credential segments of the
    /// provider routes replaced by `***`: the Kore stream id
    /// (`/campaign/api/v2/public/***/...`) and the CMS account SID
    /// (`/v2/accounts/***/...`).
    pub path: String,
    /// The raw query string, if any, with the values of `accountId` (a Kore
    /// credential), `client_secret` and `access_token` replaced by `***`.
    pub query: Option<String>,
    /// Every header (names lowercase) in arrival order; the values of
    /// `authorization`, `auth`, `iid` and `accountid` are replaced by `***`.
    pub headers: Vec<(String, String)>,
    /// The body as (lossy) UTF-8 text, if non-empty; in a form-encoded body
    /// (a Genesys token request) the value of `client_secret` is `***`, and
    /// any other body that mentions `client_secret` is `***` whole.
    pub body: Option<String>,
    /// When it arrived.
    pub at: SystemTime,
    /// Whether any of `authorization`, `auth`, `iid`, `accountid` was present.
    pub had_credentials: bool,
}

impl LoggedRequest {
    /// The (masked) value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The append-only log of one server's requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog(Arc<Mutex<Vec<LoggedRequest>>>);

impl RequestLog {
    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        lock(&self.0).clone()
    }

    pub(crate) fn clear(&self) {
        lock(&self.0).clear();
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).len()
    }

    fn push(&self, entry: LoggedRequest) {
        lock(&self.0).push(entry);
    }
}

/// The delay added to every request: `base` plus a uniformly random part
/// of up to `jitter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Latency {
    pub(crate) base: Duration,
    pub(crate) jitter: Duration,
}

impl Latency {
    fn sample(self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let extra =
            rand::Rng::gen_range(&mut rand::thread_rng(), 0..=self.jitter.as_micros() as u64);
        self.base + Duration::from_micros(extra)
    }
}

/// Axum middleware state: which server this is, where to log, and the
/// latency to add to every request.
#[derive(Debug, Clone)]
pub(crate) struct LogLayerState {
    pub(crate) server: Server,
    pub(crate) log: RequestLog,
    pub(crate) latency: Arc<Mutex<Latency>>,
}

/// Query or form parameters whose values are credentials.
const SECRET_PARAMS: [&str; 3] = ["accountid", "client_secret", "access_token"];

/// Masks the value of every credential parameter of a query or form body.
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if SECRET_PARAMS
                    .iter()
                    .any(|secret| name.eq_ignore_ascii_case(secret)) =>
            {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The logged text of a body: form bodies (OAuth token requests) get their
/// credential parameters masked; any other body that mentions
/// `client_secret` (a mistyped token request) is replaced by `***` whole,
/// as its format is unknown; anything else is kept.
fn body_text(headers: &axum::http::HeaderMap, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if form {
        mask_query(&text)
    } else if text.to_ascii_lowercase().contains("client_secret") {
        "***".to_owned()
    } else {
        text.into_owned()
    }
}

/// Path segments that come right before a credential segment, per the
/// emulators' routes: Kore's `/campaign/api/v2/public/{stream_id}/...` (the
/// stream id is also the default `iid`) and CMS's
/// `/v2/accounts/{account_sid}/configuration/basicauth`.
const SECRET_SEGMENT_PREFIXES: [&[&str]; 2] = [&["api", "v2", "public"], &["v2", "accounts"]];

/// Masks the stream id and account SID segments of a path. Matched anywhere
/// in the path, so a base URL with a path prefix, a mistyped route tail or a
/// redirected request (the other host gets the same path) is masked too.
fn mask_path(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    for i in 0..segments.len() {
        let secret = SECRET_SEGMENT_PREFIXES.iter().any(|prefix| {
            i >= prefix.len()
                && segments[i - prefix.len()..i]
                    .iter()
                    .zip(prefix.iter())
                    .all(|(segment, expected)| segment.eq_ignore_ascii_case(expected))
        });
        if secret && !segments[i].is_empty() {
            segments[i] = "***";
        }
    }
    segments.join("/")
}

/// Logs the request (buffering its body), waits the configured latency, then
/// passes it on.
pub(crate) async fn log_requests(
    State(state): State<LogLayerState>,
    request: Request,
    next: Next,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let mut had_credentials = false;
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                had_credentials = true;
                "***".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect();
    state.log.push(LoggedRequest {
        server: state.server,
        method: parts.method.to_string(),
        path: mask_path(parts.uri.path()),
        query: parts.uri.query().map(mask_query),
        headers,
        body: (!bytes.is_empty()).then(|| body_text(&parts.headers, &bytes)),
        at: SystemTime::now(),
        had_credentials,
    });
    let latency = lock(&state.latency).sample();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_is_masked_in_queries() {
        assert_eq!(mask_query("accountId=abc&x=1"), "accountId=***&x=1");
        assert_eq!(mask_query("contactCenterId=1"), "contactCenterId=1");
        assert_eq!(
            mask_query("grant_type=client_credentials&client_id=i&client_secret=s"),
            "grant_type=client_credentials&client_id=i&client_secret=***"
        );
    }

    #[test]
    fn only_form_bodies_are_masked() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(body_text(&headers, b"{\"client_secret\":\"s\"}"), "***");
        assert_eq!(
            body_text(&headers, b"{\"type\":\"voice\"}"),
            "{\"type\":\"voice\"}"
        );
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(body_text(&headers, b"client_secret=s"), "client_secret=***");
    }

    #[test]
    fn stream_id_and_account_sid_are_masked_in_paths() {
        assert_eq!(
            mask_path("/campaign/api/v2/public/st-abc/campaign/getAllCampaignDetails"),
            "/campaign/api/v2/public/***/campaign/getAllCampaignDetails"
        );
        assert_eq!(
            mask_path("/v2/accounts/sandbox12/configuration/basicauth"),
            "/v2/accounts/***/configuration/basicauth"
        );
        // Behind a base-URL prefix, with a wrong tail, or the id alone.
        assert_eq!(
            mask_path("/prefix/campaign/api/v2/public/st-abc/wrong"),
            "/prefix/campaign/api/v2/public/***/wrong"
        );
        assert_eq!(mask_path("/V2/Accounts/sid"), "/V2/Accounts/***");
        // Nothing to hide: unchanged.
        for path in [
            "/configuration/hierarchyconfig/campaign",
            "/v2/accounts/",
            "/",
            "",
        ] {
            assert_eq!(mask_path(path), path);
        }
    }
}
