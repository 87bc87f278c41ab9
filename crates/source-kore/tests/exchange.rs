//! Exact request/response exchanges against wiremock.

use std::sync::Arc;

use campaign_core::{
    CampaignQuery, CampaignSource, Channel, DialingMode, ErrorKind, Scope, Sort, SortField,
    StaticToken, Status,
};
use futures::TryStreamExt;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use source_kore::{KoreConfig, KoreJwtMinter, KoreSource};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "67777ce93e25326494e00001";
const IID: &str = "st-0603182c-7ffb-53c3-b307-47ca14b00001";
const STREAM: &str = "st-stream-0001";
const TOKEN: &str = "jwt-token-value-0001";
const ENDPOINT: &str = "/campaign/api/v2/public/st-stream-0001/campaign/getAllCampaignDetails";

fn data(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn raw(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn config(server: &MockServer, channels: Vec<Channel>) -> KoreConfig {
    let mut c = KoreConfig::new("kore-main", server.uri(), STREAM, ACCOUNT);
    c.iid = Some(IID.into());
    c.channels = channels;
    c.rate_limit = None;
    c.http.retry = campaign_http::RetryPolicy::none();
    c
}

fn source(server: &MockServer, channels: Vec<Channel>) -> Arc<KoreSource> {
    Arc::new(KoreSource::new(config(server, channels), Arc::new(StaticToken::new(TOKEN))).unwrap())
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn assert_no_secret(text: &str) {
    for secret in [ACCOUNT, IID, TOKEN] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
}

/// Only the documented headers plus transport ones reach the server.
async fn assert_documented_headers(server: &MockServer) {
    for request in server.received_requests().await.unwrap() {
        for name in request.headers.keys() {
            assert!(
                [
                    "auth",
                    "iid",
                    "accountid",
                    "content-type",
                    "accept",
                    "user-agent",
                    "content-length",
                    "host"
                ]
                .contains(&name.as_str()),
                "undocumented header {name}"
            );
        }
    }
}

/// The spec's sample request without its date window: the client never
/// sends `startDate`/`endDate` (the spec does not say what they filter, and
/// its own voice sample shows it is not the creation time).
fn without_dates(name: &str) -> Value {
    let mut body = data(name);
    let fields = body.as_object_mut().unwrap();
    fields.remove("startDate");
    fields.remove("endDate");
    body
}

#[tokio::test]
async fn voice_sample_request_is_sent_exactly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(query_param("accountId", ACCOUNT))
        .and(header("auth", TOKEN))
        .and(header("iid", IID))
        .and(header("accountId", ACCOUNT))
        .and(header("content-type", "application/json"))
        .and(body_json(without_dates("voice-request.json")))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("voice-response.json")))
        .expect(2)
        .mount(&server)
        .await;
    let query = CampaignQuery::builder()
        .statuses([Status::Ready, Status::Stopped])
        .priority(5)
        .dialing_modes([DialingMode::Progressive, DialingMode::Preview])
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(50)
        .build()
        .unwrap();
    // Both channels configured: the dialing-mode filter leaves only voice.
    let source = source(&server, vec![Channel::Voice, Channel::Sms]);
    let got: Vec<_> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    let sample = data("voice-response.json");
    let expected: Vec<&str> = sample["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().unwrap())
        .collect();
    let ids: Vec<&str> = got.iter().map(|c| c.id.native.as_str()).collect();
    assert_eq!(ids, expected, "the sample response, in its order");
    assert_documented_headers(&server).await;

    // A created range is applied here, never sent as the date window.
    let windowed = query
        .to_builder()
        .created_from(at("2025-12-08T00:00:00Z"))
        .build()
        .unwrap();
    let got: Vec<_> = source.stream(&windowed).try_collect().await.unwrap();
    assert_eq!(got.len(), 3, "the three created on Dec 8");
}

#[tokio::test]
async fn sms_sample_request_is_sent_exactly_and_no_dialing_mode_for_sms() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("auth", TOKEN))
        .and(body_json(without_dates("sms-request.json")))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("sms-response.json")))
        .expect(1)
        .mount(&server)
        .await;
    let query = CampaignQuery::builder()
        .channel(Channel::Sms)
        .statuses([Status::Ready, Status::Stopped])
        .priority(5)
        .sort(Sort::desc(SortField::CreatedAt))
        .build()
        .unwrap();
    let got: Vec<_> = source(&server, vec![Channel::Voice, Channel::Sms])
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 7);
}

#[tokio::test]
async fn both_samples_decode_verbatim() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_json(
            serde_json::json!({"limit": 50, "skip": 0, "page": 1, "type": "voice"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("voice-response.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_json(
            serde_json::json!({"limit": 50, "skip": 0, "page": 1, "type": "sms"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("sms-response.json")))
        .mount(&server)
        .await;
    let source = source(&server, vec![Channel::Voice, Channel::Sms]);
    let voice_query = CampaignQuery::builder()
        .channel(Channel::Voice)
        .build()
        .unwrap();
    let page = source.fetch_page(&voice_query, None).await.unwrap();
    assert_eq!(page.next, None);
    assert_eq!(page.total_hint, Some(5));
    let sample = data("voice-response.json");
    let records = sample["data"]["results"].as_array().unwrap();
    assert_eq!(page.items.len(), 5);
    for (c, record) in page.items.iter().zip(records) {
        assert_eq!(c.id.native, record["_id"].as_str().unwrap());
        assert_eq!(&*c.id.source, "kore-main");
        assert_eq!(c.provider, "kore");
        assert_eq!(c.channel, Channel::Voice);
        assert_eq!(c.priority, Some(5));
        assert_eq!(c.status, Some(Status::Ready));
        assert_eq!(c.raw.as_ref().unwrap().to_value(), *record);
        assert_eq!(c.contact_lists[0].name, "CL Only 2020 Dec 4");
        assert_eq!(
            c.dnc_lists[0].id.as_deref(),
            Some("cl-68b802a-2b99-4245-8eea-6d322a8xxxxx")
        );
        assert_eq!(c.schedule.unwrap().scheduling_enabled, Some(false));
        let Scope::Account { account, stream } = &c.scope else {
            panic!("scope {:?}", c.scope)
        };
        assert_no_secret(account);
        assert!(!stream.contains(STREAM));
    }
    assert_eq!(page.items[0].dialing_mode, Some(DialingMode::Preview));
    assert_eq!(page.items[1].dialing_mode, Some(DialingMode::Progressive));
    assert_eq!(
        page.items[0].created_at,
        Some(at("2025-12-08T09:17:21.090Z"))
    );
    assert_eq!(
        page.items[1].schedule.unwrap().recurrence_enabled,
        Some(false)
    );

    let sms_query = CampaignQuery::builder()
        .channel(Channel::Sms)
        .build()
        .unwrap();
    let page = source.fetch_page(&sms_query, None).await.unwrap();
    let sample = data("sms-response.json");
    let records = sample["data"]["results"].as_array().unwrap();
    assert_eq!(page.items.len(), 7);
    for (c, record) in page.items.iter().zip(records) {
        assert_eq!(c.id.native, record["id"].as_str().unwrap());
        assert_eq!(c.channel, Channel::Sms);
        assert_eq!(c.dialing_mode, None);
        assert_eq!(c.raw.as_ref().unwrap().to_value(), *record);
    }
    // Cut-off base64 never fails the page; it just yields no text.
    assert_eq!(page.items[0].message, None);
    assert_eq!(page.items[1].dnc_lists, []);
    assert_eq!(page.items[0].dnc_lists[0].name, "DNC CL Dec 4");
    assert_eq!(page.items[4].status, Some(Status::Stopped));
}

#[tokio::test]
async fn stream_id_is_one_encoded_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/campaign/api/v2/public/..%2Fx/campaign/getAllCampaignDetails",
        ))
        .and(header("iid", "../x"))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("voice-response.json")))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server, vec![Channel::Voice]);
    c.stream_id = "../x".into();
    c.iid = None;
    let source = Arc::new(KoreSource::new(c, Arc::new(StaticToken::new(TOKEN))).unwrap());
    let got: Vec<_> = source
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
}

#[tokio::test]
async fn control_characters_fail_before_any_request() {
    let server = MockServer::start().await;
    let tokens = || Arc::new(StaticToken::new(TOKEN));
    for change in [
        |c: &mut KoreConfig| c.stream_id = "st\r\nInjected: 1".into(),
        |c: &mut KoreConfig| c.account_id = "acc\ninjected".into(),
        |c: &mut KoreConfig| c.iid = Some("iid\r\n".into()),
    ] {
        let mut c = config(&server, vec![Channel::Voice]);
        change(&mut c);
        let e = KoreSource::new(c, tokens()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    }
    let bad_token = Arc::new(StaticToken::new("tok\r\nInjected: 1"));
    let source =
        Arc::new(KoreSource::new(config(&server, vec![Channel::Voice]), bad_token).unwrap());
    let e = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(!e.to_string().contains("Injected"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A bad record is skipped and reported (request, index, id, cause, the
/// channel), the page's others listed; strict, it fails the page.
#[tokio::test]
async fn bad_records_are_skipped_or_fail_the_page_when_strict() {
    let body =
        raw("voice-response.json").replacen("\"priority\": \"5\"", "\"priority\": {\"x\": 1}", 1);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let page = source(&server, vec![Channel::Voice])
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
    let warning = &page.warnings[0];
    let skipped = warning.skipped.as_ref().unwrap();
    assert_eq!(skipped.index, 0);
    assert_eq!(
        skipped.id.as_deref(),
        Some("cd-c1b940c-7012-4e7d-98d9-4707177xxxxx")
    );
    assert_eq!(warning.partition.as_deref(), Some("channel=voice"));
    assert!(warning.request.as_deref().unwrap().contains("type voice"));
    assert!(warning.message.contains("priority"), "{warning}");

    let mut strict = config(&server, vec![Channel::Voice]);
    strict.strict = true;
    let e = Arc::new(KoreSource::new(strict, Arc::new(StaticToken::new(TOKEN))).unwrap())
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(e.partition(), Some("channel=voice"));
    assert_no_secret(&format!("{e} {e:?}"));
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_naming_source_and_request() {
    let bodies = [
        "<html><body>502 Bad Gateway</body></html>".to_owned(),
        raw("voice-response.json")[..900].to_owned(),
    ];
    for body in bodies {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let e = source(&server, vec![Channel::Voice])
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
        assert_eq!(e.source_id(), "kore-main");
        let request = e.request().unwrap();
        assert!(
            request.contains("getAllCampaignDetails") && request.contains("voice"),
            "{request}"
        );
        assert_no_secret(&format!("{e} {e:?}"));
    }
}

#[tokio::test]
async fn http_errors_carry_status_and_message_without_secrets() {
    for (status, kind) in [
        (401, ErrorKind::Unauthorized),
        (403, ErrorKind::Forbidden),
        (429, ErrorKind::RateLimited),
        (503, ErrorKind::Server),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("retry-after", "0")
                    .set_body_string(r#"{"status":"error","message":"Nope from Kore"}"#),
            )
            .mount(&server)
            .await;
        let e = source(&server, vec![Channel::Voice])
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(e.status(), Some(status));
        assert!(e.to_string().contains("Nope from Kore"), "{e}");
        assert_no_secret(&format!("{e} {e:?}"));
    }
}

#[tokio::test]
async fn redirects_are_refused_and_credentials_stay_home() {
    let other = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{}/steal", other.uri())),
        )
        .mount(&server)
        .await;
    let e = source(&server, vec![Channel::Voice])
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(other.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn minted_jwts_carry_app_id_and_renew_after_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(r#"{"status":"error","message":"expired"}"#),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(raw("voice-response.json")))
        .mount(&server)
        .await;
    let minter = Arc::new(KoreJwtMinter::new(
        "cs-app-7",
        campaign_core::Secret::new("client-secret-7"),
    ));
    let source = Arc::new(KoreSource::new(config(&server, vec![Channel::Voice]), minter).unwrap());
    let got: Vec<_> = Arc::clone(&source)
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let tokens: Vec<String> = requests
        .iter()
        .map(|r| r.headers.get("auth").unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_ne!(tokens[0], tokens[1], "a fresh token after the 401");
    for token in tokens {
        let claims: Value = jsonwebtoken::decode(
            &token,
            &DecodingKey::from_secret(b"client-secret-7"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap()
        .claims;
        assert_eq!(claims["appId"], "cs-app-7");
        assert!(claims["sub"].is_string() && claims["iat"].is_u64() && claims["exp"].is_u64());
    }
    assert!(!format!("{source:?}").contains("client-secret-7"));
}

#[tokio::test]
async fn foreign_tokens_are_invalid_cursors() {
    let server = MockServer::start().await;
    let e = source(&server, vec![Channel::Voice, Channel::Sms])
        .fetch_page(
            &CampaignQuery::all(),
            Some(campaign_core::PageToken::new("bogus")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCursor);
}
