//! The shared client against scripted servers (wiremock on 127.0.0.1:0).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{ErrorKind, RetryBudget, Secret, SourceError, TokenProvider};
use campaign_http::header::{HeaderMap, HeaderValue};
use campaign_http::{
    token_header, ApiRequest, Auth, AuthHeaders, HttpClient, HttpConfig, Method, ProviderError,
    RateLimiter, RetryPolicy, Url,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

fn parse_error(body: &[u8]) -> Option<ProviderError> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(ProviderError {
        code: v
            .get("errorCode")
            .and_then(|c| c.as_str())
            .map(str::to_owned),
        message: v
            .get("errorMessage")
            .and_then(|c| c.as_str())
            .map(str::to_owned),
        rate_limited: false,
    })
}

fn fast_config() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(3),
        },
        ..HttpConfig::default()
    }
}

fn client(config: HttpConfig) -> HttpClient {
    HttpClient::new("test-src", config, parse_error).unwrap()
}

fn get(server: &MockServer, p: &str) -> ApiRequest {
    ApiRequest {
        method: Method::GET,
        url: Url::parse(&format!("{}{p}", server.uri())).unwrap(),
        headers: HeaderMap::new(),
        json_body: None,
        description: format!("GET {p}"),
    }
}

/// Hands out "token-1", "token-2", ... and counts invalidations.
#[derive(Debug, Default)]
struct Rotating {
    current: AtomicUsize,
    invalidated: AtomicUsize,
}

#[async_trait]
impl TokenProvider for Rotating {
    async fn token(&self) -> campaign_core::Result<Secret> {
        Ok(Secret::new(format!(
            "token-{}",
            self.current.load(Ordering::SeqCst) + 1
        )))
    }
    async fn invalidate(&self, _rejected: &Secret) {
        self.invalidated.fetch_add(1, Ordering::SeqCst);
        self.current.fetch_add(1, Ordering::SeqCst);
    }
}

fn bearer(token: &Secret) -> Result<HeaderMap, SourceError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| SourceError::config("test-src", "bad token"))?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert("authorization", value);
    Ok(headers)
}

/// A server that fails the test if `p` is ever requested.
async fn never_called(p: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(p))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// `Auth::Token` with `tokens` placed by `headers`.
fn token_auth<'a>(tokens: &'a dyn TokenProvider, headers: &'a AuthHeaders) -> Auth<'a> {
    Auth::Token { tokens, headers }
}

/// Answers from a script, then repeats its last entry.
struct Script(Vec<ResponseTemplate>, AtomicUsize);

impl Respond for Script {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, Ordering::SeqCst).min(self.0.len() - 1);
        self.0[i].clone()
    }
}

fn script(responses: Vec<ResponseTemplate>) -> Script {
    Script(responses, AtomicUsize::new(0))
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/c"))
        .respond_with(script(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(502),
            ResponseTemplate::new(200).set_body_string("[1]"),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    let body = client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap();
    assert_eq!(&body[..], b"[1]");
}

#[tokio::test]
async fn honours_retry_after_on_429_and_caps_long_ones() {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(script(vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_body_string("ok"),
        ]))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );

    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "86400"))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86400)));
}

/// A `Retry-After` above `max_retry_after` fails its request at once and
/// pauses the shared limiter only for the cap: the next request gets through
/// well within its deadline instead of timing out (or, for `u64::MAX`
/// seconds, the clock overflowing).
#[tokio::test]
async fn a_huge_retry_after_neither_panics_nor_stalls_the_next_request() {
    for retry_after in [u64::MAX.to_string(), "3600".to_owned()] {
        let server = MockServer::start().await;
        Mock::given(path("/c"))
            .respond_with(script(vec![
                ResponseTemplate::new(429).insert_header("Retry-After", retry_after.as_str()),
                ResponseTemplate::new(200).set_body_string("ok"),
            ]))
            .expect(2)
            .mount(&server)
            .await;
        let mut config = fast_config();
        config.retry.max_retry_after = Duration::from_millis(50);
        config.retry.deadline = Duration::from_secs(10);
        let c = client(config).with_rate_limiter(Arc::new(RateLimiter::per_minute(6000, 10)));
        let e = c
            .execute(&get(&server, "/c"), Auth::None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
        let body = c
            .execute(&get(&server, "/c"), Auth::None)
            .await
            .unwrap_or_else(|e| panic!("Retry-After {retry_after}: {e}"));
        assert_eq!(&body[..], b"ok");
    }
}

#[tokio::test]
async fn gives_up_after_the_retry_bound_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "statusCode": 500, "status": "Internal Server Error", "errorCode": "X-1", "errorMessage": "kaput"
        })))
        .expect(4)
        .mount(&server)
        .await;
    let e = client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.code(), Some("X-1"));
    let text = e.to_string();
    assert!(
        text.contains("kaput") && text.contains("after 4 attempts"),
        "{text}"
    );
    assert!(text.contains("GET /c"), "{text}");
}

#[tokio::test]
async fn client_errors_do_not_retry() {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "statusCode": 404, "status": "Not Found", "errorCode": "CONF-1001", "errorMessage": "Object doesn't exist"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::NotFound, Some("CONF-1001"))
    );
}

#[tokio::test]
async fn a_401_renews_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("fresh"))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let tokens = Rotating::default();
    let body = client(fast_config())
        .execute(&get(&server, "/c"), token_auth(&tokens, &bearer))
        .await
        .unwrap();
    assert_eq!(&body[..], b"fresh");
    assert_eq!(tokens.invalidated.load(Ordering::SeqCst), 1);

    // A token that stays rejected fails as Unauthorized after one renewal.
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let tokens = Rotating::default();
    let e = client(fast_config())
        .execute(&get(&server, "/c"), token_auth(&tokens, &bearer))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(
        !format!("{e:?}{e}").contains("token-"),
        "no token in errors"
    );
}

#[tokio::test]
async fn html_and_oversized_bodies_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/html"))
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><h1>Bad Gateway</h1></html>"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = fast_config();
    config.retry = RetryPolicy::none();
    config.max_body_bytes = 1024;
    let c = client(config);
    let e = c
        .execute(&get(&server, "/html"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.to_string().contains("Bad Gateway"), "{e}");
    let e = c
        .execute(&get(&server, "/big"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("limit of 1024 bytes"), "{e}");
}

#[tokio::test]
async fn redirects_to_another_host_are_refused_and_get_no_credentials() {
    let other = never_called("/c").await;
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/c", other.uri())),
        )
        .mount(&server)
        .await;
    let tokens = Rotating::default();
    let e = client(fast_config())
        .execute(&get(&server, "/c"), token_auth(&tokens, &bearer))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.to_string().contains("redirect"), "{e}");
}

#[tokio::test]
async fn slow_answers_time_out_and_the_deadline_bounds_the_loop() {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut config = fast_config();
    config.timeout = Duration::from_millis(200);
    config.retry.deadline = Duration::from_millis(700);
    config.retry.max_retries = 50;
    let started = std::time::Instant::now();
    let e = client(config)
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_empty_retry_budget_stops_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = fast_config();
    config.retry_budget = Some(Arc::new(RetryBudget::new(4)));
    let e = client(config)
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("retry budget exhausted"), "{e}");
}

/// Answers `status` with the request's credentials echoed back, as a proxy or
/// a misbehaving endpoint might: in a JSON `errorMessage`, or as plain text.
struct Echo {
    status: u16,
    json: bool,
}

impl Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let url = &request.url;
        let echo = format!(
            "echo {} {} {} {}?{}",
            header("authorization"),
            header("iid"),
            header("accountid"),
            url.path(),
            url.query().unwrap_or("")
        );
        let template = ResponseTemplate::new(self.status);
        if self.json {
            template.set_body_json(serde_json::json!({ "errorMessage": echo }))
        } else {
            template.set_body_string(echo)
        }
    }
}

const SECRETS: [&str; 6] = [
    "tok-1",
    "iid-secret-1",
    "acct-secret-2",
    "st-stream-3",
    "acc-query-4",
    "acc%2Dquery",
];

fn echoed_request(server: &MockServer, p: &str) -> ApiRequest {
    echoed_request_at(&format!("{}{p}", server.uri()), &format!("GET {p}"))
}

#[tokio::test]
async fn error_bodies_that_echo_the_request_leak_no_credential() {
    let server = MockServer::start().await;
    for (p, status, json) in [("/json", 400, true), ("/text", 500, false)] {
        Mock::given(path(format!("{p}/st-stream-3/campaigns")))
            .respond_with(Echo { status, json })
            .mount(&server)
            .await;
    }
    let tokens = campaign_core::StaticToken::new("tok-1");
    let mut config = fast_config();
    config.retry = RetryPolicy::none();
    let c = client(config);
    for p in ["/json", "/text"] {
        let e = c
            .execute(&echoed_request(&server, p), token_auth(&tokens, &bearer))
            .await
            .unwrap_err();
        let text = format!("{e} {e:?}");
        // The echo is still quoted, with the credentials masked.
        assert!(text.contains("echo *** *** *** /"), "{text}");
        assert!(text.contains("limit=5"), "{text}");
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[tokio::test]
async fn provider_messages_are_cut_and_cannot_fake_lines() {
    let server = MockServer::start().await;
    let message = format!("bad\nERROR forged line\r{}", "y".repeat(500));
    Mock::given(path("/c"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({ "errorMessage": message })),
        )
        .mount(&server)
        .await;
    let e = client(fast_config())
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("bad ERROR forged line"), "{text}");
    assert!(!text.contains(['\n', '\r']), "{text}");
    assert!(text.contains('…') && text.len() < 400, "{text}");
}

#[test]
fn request_debug_shows_no_url_path_query_or_header_value() {
    let mut request = echoed_request_at("https://api.example.com:8443/base", "GET /base");
    request.json_body = Some(bytes::Bytes::from_static(b"{\"secret\":1}"));
    let debug = format!("{request:?}");
    assert!(debug.contains("https://api.example.com:8443"), "{debug}");
    assert!(
        debug.contains("\"iid\"") && debug.contains("accountid"),
        "{debug}"
    );
    assert!(
        debug.contains("GET /base") && debug.contains("12 bytes"),
        "{debug}"
    );
    for secret in SECRETS.into_iter().chain(["secret\"", "limit"]) {
        assert!(!debug.contains(secret), "{secret}: {debug}");
    }
}

/// A request carrying credentials in headers, path and query.
fn echoed_request_at(base: &str, description: &str) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert("iid", HeaderValue::from_static("iid-secret-1"));
    headers.insert("accountid", HeaderValue::from_static("acct-secret-2"));
    ApiRequest {
        method: Method::GET,
        url: Url::parse(&format!(
            "{base}/st-stream-3/campaigns?accountId=acc%2Dquery-4&limit=5"
        ))
        .unwrap(),
        headers,
        json_body: None,
        description: description.into(),
    }
}

/// A token provider that cannot produce a token.
#[derive(Debug)]
struct Broken;

#[async_trait]
impl TokenProvider for Broken {
    async fn token(&self) -> campaign_core::Result<Secret> {
        // Named after its provider, as the Kore minter names its errors.
        Err(SourceError::new(
            ErrorKind::Unauthorized,
            "some-provider",
            "token endpoint refused",
        ))
    }
    async fn invalidate(&self, _rejected: &Secret) {}
}

#[tokio::test]
async fn token_and_credential_errors_name_the_request() {
    let server = never_called("/c").await;
    let c = client(fast_config());
    let e = c
        .execute(&get(&server, "/c"), token_auth(&Broken, &bearer))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.request(), e.source_id()),
        (ErrorKind::Unauthorized, Some("GET /c"), "test-src")
    );

    let bad = campaign_core::StaticToken::new("line\nbreak");
    let header = token_header(
        "test-src",
        campaign_http::header::AUTHORIZATION,
        "Bearer ",
        "token is not a valid header value",
    );
    let e = c
        .execute(&get(&server, "/c"), token_auth(&bad, &*header))
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.request()), (ErrorKind::Config, Some("GET /c")));
    assert!(!format!("{e}{e:?}").contains("break"), "{e:?}");
}

/// With the default policy, a rate limit that asks for one minute's window
/// to pass (Genesys's documented sample says 61 s) is waited out, with the
/// attempts around the wait inside the deadline. (The wait itself cannot
/// run here on a paused clock: reqwest's timeouts would fire on it.)
#[test]
fn the_default_policy_waits_out_a_minute_long_rate_limit() {
    let config = HttpConfig::default();
    let policy = &config.retry;
    assert!(policy.max_retry_after >= Duration::from_secs(61));
    assert!(policy.deadline >= policy.max_retry_after + 2 * config.timeout);
}

/// How long `client` took to get "ok" from a server that answers `first`,
/// then "ok".
async fn answered_after(first: ResponseTemplate, client: HttpClient) -> Duration {
    let server = MockServer::start().await;
    Mock::given(path("/c"))
        .respond_with(script(vec![
            first,
            ResponseTemplate::new(200).set_body_string("ok"),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let body = client
        .execute(&get(&server, "/c"), Auth::None)
        .await
        .unwrap();
    assert_eq!(&body[..], b"ok");
    started.elapsed()
}

/// A 429 without `Retry-After` waits the configured rate-limit wait, not
/// the ordinary backoff of milliseconds.
#[tokio::test]
async fn a_rate_limit_without_retry_after_waits_the_configured_wait() {
    let wait = Duration::from_millis(400);
    let client = client(fast_config()).with_rate_limit_wait(wait);
    let waited = answered_after(ResponseTemplate::new(429), client).await;
    assert!(waited >= wait, "{waited:?}");
}

/// The configured wait is a guess, not the server's word: above the cap it
/// waits the cap and retries, where a `Retry-After` that long fails at once.
#[tokio::test]
async fn a_configured_rate_limit_wait_above_the_cap_waits_the_cap() {
    let mut config = fast_config();
    config.retry.max_retry_after = Duration::from_millis(200);
    let client = client(config).with_rate_limit_wait(Duration::from_secs(60));
    let waited = answered_after(ResponseTemplate::new(429), client).await;
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
}

/// A provider's rate-limit message in a 2xx body (as Kore may send it) waits
/// the configured wait too, not the ordinary backoff.
#[tokio::test]
async fn a_rate_limit_message_in_a_200_waits_the_configured_wait() {
    fn rate_limit_message(body: &[u8]) -> Option<ProviderError> {
        let text = std::str::from_utf8(body).ok()?;
        text.contains("rate limit").then(|| ProviderError {
            code: None,
            message: Some(text.to_owned()),
            rate_limited: true,
        })
    }
    let wait = Duration::from_millis(400);
    let client = HttpClient::new("test-src", fast_config(), rate_limit_message)
        .unwrap()
        .with_rate_limit_wait(wait);
    let message = ResponseTemplate::new(200).set_body_string(r#"{"message":"rate limit"}"#);
    let waited = answered_after(message, client).await;
    assert!(waited >= wait, "{waited:?}");
}
