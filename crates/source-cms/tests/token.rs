//! The token endpoint: request shape, caching, renewal, single flight, 401s.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use campaign_core::{CampaignQuery, CampaignSource, ErrorKind, Secret, TokenProvider};
use campaign_http::{HttpConfig, RetryPolicy};
use serde_json::json;
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_PATH: &str = "/v2/accounts/sid-42/configuration/basicauth";
const CAMPAIGNS: &str = "/configuration/hierarchyconfig/campaign";
const API_KEY: &str = "key-abc";
const API_TOKEN: &str = "apitoken-SECRET";

fn answer(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "request_id": "req-1",
        "method": "POST",
        "http_code": 200,
        "response": {
            "code": 200,
            "status": "success",
            "data": {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
        }
    }))
}

fn http() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        },
        ..HttpConfig::default()
    }
}

fn provider(server: &MockServer) -> CmsBasicAuthToken {
    CmsBasicAuthToken::new(
        "cms-test",
        &server.uri(),
        "sid-42",
        API_KEY,
        Secret::new(API_TOKEN),
        http(),
    )
    .unwrap()
}

#[tokio::test]
async fn posts_basic_credentials_and_caches_the_token() {
    let server = MockServer::start().await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{API_KEY}:{API_TOKEN}"))
    );
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("authorization", basic.as_str()))
        .respond_with(answer("bearer-1", 86_400))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = provider(&server);
    for _ in 0..5 {
        assert_eq!(tokens.token().await.unwrap().expose(), "bearer-1");
    }
    let debug = format!("{tokens:?}");
    for hidden in ["sid-42", API_KEY, API_TOKEN, "bearer-1"] {
        assert!(!debug.contains(hidden), "{debug}");
    }
    server.verify().await;
}

#[tokio::test]
async fn a_token_inside_its_renewal_margin_is_renewed() {
    let server = MockServer::start().await;
    // A zero lifetime is always inside the margin: every call renews.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("short-lived", 0))
        .expect(3)
        .mount(&server)
        .await;
    let tokens = provider(&server).renew_before(Duration::from_secs(3600));
    for _ in 0..3 {
        tokens.token().await.unwrap();
    }
    server.verify().await;
}

#[tokio::test]
async fn concurrent_callers_share_one_renewal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("shared", 3600).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = Arc::new(provider(&server));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let tokens = Arc::clone(&tokens);
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().expose(), "shared");
    }
    server.verify().await;
}

#[tokio::test]
async fn invalidate_drops_only_the_rejected_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("first", 3600))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("second", 3600))
        .mount(&server)
        .await;
    let tokens = provider(&server);
    let first = tokens.token().await.unwrap();
    tokens.invalidate(&Secret::new("some-older-token")).await;
    assert_eq!(
        tokens.token().await.unwrap(),
        first,
        "a stale report keeps the current token"
    );
    tokens.invalidate(&first).await;
    assert_eq!(tokens.token().await.unwrap().expose(), "second");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_401_from_the_campaigns_api_renews_the_token_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("expired-one", 3600))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer("fresh-one", 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CAMPAIGNS))
        .and(header("authorization", "Bearer expired-one"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CAMPAIGNS))
        .and(header("authorization", "Bearer fresh-one"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"campaignContextId": 1, "campaignContextName": "x"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut config = CmsConfig::new("cms-test", server.uri(), vec![1]);
    config.http = http();
    let source = CmsSource::new(config, Arc::new(provider(&server))).unwrap();
    let page = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    server.verify().await;
}

#[tokio::test]
async fn token_endpoint_errors_are_typed_and_secret_free() {
    for (status, kind) in [(401, ErrorKind::Unauthorized), (403, ErrorKind::Forbidden)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "http_code": status,
                "response": {"code": status, "status": "failure",
                             "error_data": {"code": 1010, "message": "Authentication failed"}}
            })))
            .mount(&server)
            .await;
        let e = provider(&server).token().await.unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(e.code(), Some("1010"));
        assert_eq!(e.request(), Some("POST token (configuration/basicauth)"));
        let text = format!("{e} {e:?}");
        for hidden in ["sid-42", API_KEY, API_TOKEN] {
            assert!(!text.contains(hidden), "{text}");
        }
    }
}

#[tokio::test]
async fn a_malformed_token_answer_is_a_decode_error_without_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"response":{"data":{"access_token":"leaky-tok"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let e = provider(&server).token().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(!format!("{e} {e:?}").contains("leaky-tok"), "{e}");
}
