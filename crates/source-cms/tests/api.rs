//! Precise exchanges with the CMS API, against wiremock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Channel, DialingMode, ErrorKind, PageToken, Scope,
    Secret, Sort, SortField, StaticToken, TokenProvider,
};
use campaign_http::{HttpConfig, RetryPolicy};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use source_cms::{CmsConfig, CmsSource};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PATH: &str = "/configuration/hierarchyconfig/campaign";
const TOKEN: &str = "tok-SECRET-123";

/// The spec's sample response, byte for byte.
const SAMPLE: &str = r#"[
{
"campaignContextId": 1,
"campaignContextName": "Mumbai Sales Dept",
"campaignContextType": "Interaction Campaign",
"contactCenterId": 1,
"processId": 1,
"description": "Campaign related to Sales Management",
"dateAdded": "2026-03-24T12:28:52.354Z",
"dateModified": "2026-03-24T12:28:52.354Z",
"ref": 0,
"version": 0
}
]"#;

const ERROR_404: &str = r#"{
"statusCode": 404,
"status": "Not Found",
"errorCode": "CONF-1001",
"errorMessage": "Object doesn't exist"
}"#;

fn fast_http() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        ..HttpConfig::default()
    }
}

fn config(server: &MockServer, centers: Vec<i64>) -> CmsConfig {
    let mut config = CmsConfig::new("cms-test", server.uri(), centers);
    config.http = fast_http();
    config
}

fn source(config: CmsConfig) -> Arc<CmsSource> {
    Arc::new(CmsSource::new(config, Arc::new(StaticToken::new(TOKEN))).unwrap())
}

fn record(id: i64, name: &str, kind: &str, center: i64, added: &str) -> Value {
    json!({
        "campaignContextId": id,
        "campaignContextName": name,
        "campaignContextType": kind,
        "contactCenterId": center,
        "processId": 10 + center,
        "description": format!("about {name}"),
        "dateAdded": added,
        "dateModified": added,
        "ref": 0,
        "version": 1
    })
}

async fn mount_center(server: &MockServer, center: i64, body: Value) {
    Mock::given(method("GET"))
        .and(path(PATH))
        .and(query_param("contactCenterId", center.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

async fn first_error(source: &Arc<CmsSource>) -> campaign_core::SourceError {
    source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .expect_err("the request should fail")
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
}

#[tokio::test]
async fn spec_sample_request_and_response_verbatim() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .and(query_param("contactCenterId", "1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(SAMPLE, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = source(config(&server, vec![1]));
    let page = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
    let c = &page.items[0];
    assert_eq!(c.id.to_string(), "cms-test:1");
    assert_eq!(c.provider, "cms");
    assert_eq!(c.name, "Mumbai Sales Dept");
    assert_eq!(
        c.description.as_deref(),
        Some("Campaign related to Sales Management")
    );
    assert_eq!(c.channel, Channel::Interaction);
    assert_eq!(c.dialing_mode, None);
    assert_eq!(c.status, None);
    assert_eq!(c.priority, None);
    let at = "2026-03-24T12:28:52.354Z".parse().unwrap();
    assert_eq!((c.created_at, c.updated_at), (Some(at), Some(at)));
    assert_eq!(c.version, Some(0));
    assert_eq!(
        c.scope,
        Scope::ContactCenter {
            contact_center_id: 1,
            process_id: Some(1)
        }
    );
    // The raw record is the sample's object, byte for byte.
    let raw = c.raw.as_ref().unwrap().get();
    let start = SAMPLE.find('{').unwrap();
    let end = SAMPLE.rfind('}').unwrap() + 1;
    assert_eq!(raw, &SAMPLE[start..end]);
    // The one request has exactly the sample's query.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("contactCenterId=1"));
}

#[tokio::test]
async fn documented_error_statuses_map_to_kinds_with_code_and_request() {
    let cases = [
        (400, ErrorKind::BadRequest, 1),
        (401, ErrorKind::Unauthorized, 2), // one renewal attempt with a fresh token
        (403, ErrorKind::Forbidden, 1),
        (404, ErrorKind::NotFound, 1),
        (500, ErrorKind::Server, 3), // the first attempt and two retries
    ];
    for (status, kind, attempts) in cases {
        let server = MockServer::start().await;
        let body = ERROR_404.replace("404", &status.to_string());
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .expect(attempts)
            .mount(&server)
            .await;
        let source = source(config(&server, vec![9]));
        let e = first_error(&source).await;
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert_eq!(e.status(), Some(status));
        assert_eq!(e.code(), Some("CONF-1001"), "{e}");
        assert_eq!(e.source_id(), "cms-test");
        assert_eq!(e.request(), Some("GET campaigns contactCenterId=9"));
        assert!(e.message().contains("Object doesn't exist"), "{e}");
        assert_no_token(&e.to_string());
        assert_no_token(&format!("{e:?}"));
        server.verify().await;
    }
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_with_a_snippet() {
    let cases: [(&str, &str); 5] = [
        (
            "<html><body>Gateway maintenance</body></html>",
            "Gateway maintenance",
        ),
        (
            r#"[{"campaignContextId": 1, "campaignContextName": "Trunc"#,
            "Trunc",
        ),
        (r#"{"campaigns": []}"#, "campaigns"),
        (
            r#"[{"campaignContextName": "No id"}]"#,
            "campaignContextId is missing",
        ),
        (
            r#"[{"campaignContextId": 2, "dateAdded": "last tuesday"}]"#,
            "last tuesday",
        ),
    ];
    for (body, quoted) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .expect(1) // a decode error is not retried
            .mount(&server)
            .await;
        // Strict: a bad record fails its contact center like a bad body.
        let mut strict = config(&server, vec![4]);
        strict.strict = true;
        let e = first_error(&source(strict)).await;
        assert_eq!(e.kind(), ErrorKind::Decode, "{body}: {e}");
        assert_eq!(e.request(), Some("GET campaigns contactCenterId=4"));
        assert_eq!(e.partition(), Some("contact_center=4"));
        assert!(e.to_string().contains(quoted), "{e}");
    }
}

/// By default a record that is not a usable campaign (a field of the wrong
/// type, no id, an unreadable creation time) is skipped and reported with
/// the request, its index, its id and the cause; the others are listed.
#[tokio::test]
async fn bad_records_are_skipped_with_a_warning_and_the_rest_listed() {
    let server = MockServer::start().await;
    let body = json!([
        record(1, "Kept", "Chat", 4, "2026-01-01T00:00:00Z"),
        {"campaignContextId": 2, "processId": "x"},
        {"campaignContextName": "No id"},
        {"campaignContextId": 3, "dateAdded": "last tuesday"},
        record(5, "Also kept", "Chat", 4, "2026-01-02T00:00:00Z"),
    ]);
    mount_center(&server, 4, body).await;
    let page = source(config(&server, vec![4]))
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    let ids: Vec<&str> = page.items.iter().map(|c| c.id.native.as_str()).collect();
    assert_eq!(ids, ["1", "5"]);
    let skipped: Vec<(usize, Option<&str>)> = page
        .warnings
        .iter()
        .map(|w| {
            let s = w.skipped.as_ref().expect("a skipped-record warning");
            (s.index, s.id.as_deref())
        })
        .collect();
    assert_eq!(skipped, [(1, Some("2")), (2, None), (3, Some("3"))]);
    for (warning, cause) in
        page.warnings
            .iter()
            .zip(["processId", "campaignContextId is missing", "last tuesday"])
    {
        assert_eq!(
            warning.request.as_deref(),
            Some("GET campaigns contactCenterId=4")
        );
        assert_eq!(warning.partition.as_deref(), Some("contact_center=4"));
        assert!(warning.message.contains(cause), "{warning}");
    }
}

/// Each contact center is a partition: an unknown one (404 CONF-1001) fails
/// alone, naming its partition, and the others are listed complete, in order.
#[tokio::test]
async fn a_failing_contact_center_keeps_the_others() {
    let server = MockServer::start().await;
    mount_center(
        &server,
        1,
        json!([
            record(11, "B", "Chat", 1, "2026-01-01T00:00:00Z"),
            record(12, "D", "Chat", 1, "2026-01-01T00:00:00Z")
        ]),
    )
    .await;
    mount_center(
        &server,
        2,
        json!([
            record(21, "A", "Chat", 2, "2026-01-01T00:00:00Z"),
            record(22, "C", "Chat", 2, "2026-01-01T00:00:00Z")
        ]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .and(query_param("contactCenterId", "7"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(ERROR_404, "application/json"))
        .mount(&server)
        .await;
    let source = source(config(&server, vec![1, 2, 7]));
    let query = CampaignQuery::builder()
        .sort(campaign_core::Sort::asc(campaign_core::SortField::Name))
        .page_size(1)
        .build()
        .unwrap();
    let parts = source.partitions(&query);
    let labels: Vec<Option<String>> = parts.iter().map(|p| p.partition()).collect();
    assert_eq!(
        labels,
        ["contact_center=1", "contact_center=2", "contact_center=7"].map(|l| Some(l.to_owned()))
    );
    let listed: Vec<Result<String, campaign_core::SourceError>> = Arc::clone(&source)
        .stream(&query)
        .map(|item| item.map(|c| c.name))
        .collect()
        .await;
    let names: Vec<&str> = listed
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    let errors: Vec<&campaign_core::SourceError> =
        listed.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0];
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.code(), Some("CONF-1001"));
    assert_eq!(e.partition(), Some("contact_center=7"));
    assert_eq!(e.source_id(), "cms-test");
    // The source's own pages list every contact center together, so they fail.
    let whole = first_error(&source).await;
    assert_eq!(whole.partition(), Some("contact_center=7"));
}

#[tokio::test]
async fn extra_and_missing_optional_fields_are_tolerated() {
    let server = MockServer::start().await;
    mount_center(
        &server,
        5,
        json!([
            {"campaignContextId": "77", "campaignContextName": "Minimal"},
            {"campaignContextId": 78, "campaignContextName": "Extras", "campaignContextType": "Voice Blast",
             "contactCenterId": 5, "processId": null, "brandNewField": {"x": [1, 2]},
             "dateAdded": "2026-01-02T03:04:05+0000", "version": "3"},
            {"campaignContextId": 79, "campaignContextName": "Odd type", "campaignContextType": "Email Campaign"}
        ]),
    )
    .await;
    let all = source(config(&server, vec![5])).fetch_all().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].channel, Channel::Other("unknown".into()));
    assert_eq!(
        all[0].scope,
        Scope::ContactCenter {
            contact_center_id: 5,
            process_id: None
        }
    );
    assert_eq!(all[0].created_at, None);
    assert_eq!(all[1].channel, Channel::Voice);
    assert_eq!(all[1].dialing_mode, Some(DialingMode::Agentless));
    assert_eq!(all[1].version, Some(3));
    assert_eq!(
        all[1].created_at,
        Some("2026-01-02T03:04:05Z".parse().unwrap())
    );
    assert!(all[1].raw.as_ref().unwrap().get().contains("brandNewField"));
    assert_eq!(all[2].channel, Channel::Other("Email Campaign".into()));
}

#[tokio::test]
async fn several_contact_centers_are_merged_sorted_and_paged_with_one_download_each() {
    let server = MockServer::start().await;
    let kinds = [
        "Outbound Voice Campaign",
        "Chat Campaign",
        "Parallel Predictive Voice Campaign",
    ];
    let mut expected_ids = Vec::new();
    for center in [1, 2, 3] {
        let records: Vec<Value> = (0..4)
            .map(|i| {
                let id = center * 100 + i;
                expected_ids.push(id.to_string());
                let day = 10 + (id % 17);
                record(
                    id,
                    &format!("Campaign {:02}", (id * 7) % 31),
                    kinds[(i % 3) as usize],
                    center,
                    &format!("2026-02-{day}T00:00:00Z"),
                )
            })
            .collect();
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(query_param("contactCenterId", center.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(records)))
            .mount(&server)
            .await;
    }
    let source = source(config(&server, vec![1, 2, 3]));
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(5)
        .build()
        .unwrap();
    // Walk by tokens: 12 campaigns, pages of 5, one download per center.
    let mut pages = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = source.fetch_page(&query, token.clone()).await.unwrap();
        assert_eq!(page.total_hint, Some(12));
        let next = page.next.clone();
        pages.push((token, page.items));
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(),
        [5, 5, 2]
    );
    let walked: Vec<Campaign> = pages.iter().flat_map(|(_, p)| p.clone()).collect();
    let mut sorted = walked.clone();
    sorted.sort_by(|a, b| query.compare(a, b));
    assert_eq!(walked, sorted, "pages come in query order");
    let mut ids: Vec<String> = walked.iter().map(|c| c.id.native.clone()).collect();
    ids.sort();
    expected_ids.sort();
    assert_eq!(ids, expected_ids, "no gap, no repeat");
    for c in &walked {
        let center: i64 = c.id.native.parse::<i64>().unwrap() / 100;
        assert_eq!(
            c.scope,
            Scope::ContactCenter {
                contact_center_id: center,
                process_id: Some(10 + center)
            }
        );
    }
    // Resuming from the second page's token gives the same third page.
    let (second_token, _) = &pages[2];
    let again = source
        .fetch_page(&query, second_token.clone())
        .await
        .unwrap();
    assert_eq!(again.items, pages[2].1);
    let downloads = server.received_requests().await.unwrap();
    assert_eq!(
        downloads.len(),
        3,
        "one download per center for the whole walk"
    );

    // A new walk (first page) downloads afresh.
    // The walker sees the same, and filters locally on the same semantics.
    let voice = CampaignQuery::builder()
        .channel(Channel::Voice)
        .name_contains("campaign 1")
        .sort(Sort::asc(SortField::Name))
        .page_size(2)
        .build()
        .unwrap();
    let streamed: Vec<Campaign> = Arc::clone(&source)
        .stream(&voice)
        .try_collect()
        .await
        .unwrap();
    let mut expected: Vec<Campaign> = walked
        .iter()
        .filter(|c| voice.matches(c))
        .cloned()
        .collect();
    expected.sort_by(|a, b| voice.compare(a, b));
    assert!(!expected.is_empty());
    assert_eq!(streamed, expected);
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}

#[tokio::test]
async fn tokens_from_another_query_or_garbage_are_invalid_cursors() {
    let server = MockServer::start().await;
    let records: Vec<Value> = (1..=4)
        .map(|i| record(i, &format!("C{i}"), "Chat", 1, "2026-01-01T00:00:00Z"))
        .collect();
    mount_center(&server, 1, Value::Array(records)).await;
    let source = source(config(&server, vec![1]));
    let by_name = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(1)
        .build()
        .unwrap();
    let page = source.fetch_page(&by_name, None).await.unwrap();
    let token = page.next.unwrap();
    let other = CampaignQuery::builder()
        .channel(Channel::Chat)
        .page_size(1)
        .build()
        .unwrap();
    let e = source
        .fetch_page(&other, Some(token.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCursor);
    assert_eq!(e.source_id(), "cms-test");
    let e = source
        .fetch_page(&by_name, Some(PageToken::new("garbage")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCursor);
    // A different page size is the same query: the token still works.
    let bigger = by_name.to_builder().page_size(10).build().unwrap();
    let rest = source.fetch_page(&bigger, Some(token)).await.unwrap();
    let names: Vec<&str> = rest.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["C2", "C3", "C4"]);
}

#[tokio::test]
async fn a_token_resumes_after_its_key_even_when_the_listing_changed() {
    let server = MockServer::start().await;
    let names = ["A", "C", "E", "G"];
    let records: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| record(i as i64 + 1, n, "Chat", 1, "2026-01-01T00:00:00Z"))
        .collect();
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(records)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // The second download: "A" deleted, "B" and "D" added.
    let changed: Vec<Value> = [(2, "C"), (3, "E"), (4, "G"), (5, "B"), (6, "D")]
        .iter()
        .map(|(i, n)| record(*i, n, "Chat", 1, "2026-01-01T00:00:00Z"))
        .collect();
    mount_center(&server, 1, Value::Array(changed)).await;
    let mut config = config(&server, vec![1]);
    config.snapshot_ttl = Duration::ZERO; // every page downloads
    let source = source(config);
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(2)
        .build()
        .unwrap();
    let first = source.fetch_page(&query, None).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["A", "C"]
    );
    let second = source.fetch_page(&query, first.next).await.unwrap();
    // Continues right after "C": "B" is new but sorts before the token, "A" is gone.
    assert_eq!(
        second
            .items
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["D", "E"]
    );
}

#[tokio::test]
async fn duplicate_ids_across_centers_are_kept_once_with_a_warning() {
    let server = MockServer::start().await;
    mount_center(
        &server,
        1,
        json!([record(5, "Shared", "Chat", 1, "2026-01-01T00:00:00Z")]),
    )
    .await;
    mount_center(
        &server,
        2,
        json!([record(5, "Shared", "Chat", 2, "2026-01-01T00:00:00Z")]),
    )
    .await;
    let page = source(config(&server, vec![1, 2]))
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.warnings.len(), 1);
    assert!(
        page.warnings[0].to_string().contains("contact_center=2"),
        "{:?}",
        page.warnings
    );
}

#[tokio::test]
async fn retries_503_and_429_with_retry_after_then_succeeds() {
    for status in [503, 429] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", "0"))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        mount_center(&server, 1, serde_json::from_str(SAMPLE).unwrap()).await;
        let page = source(config(&server, vec![1]))
            .fetch_page(&CampaignQuery::all(), None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "{status}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_day_long_retry_after_fails_fast_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "86400"))
        .expect(1)
        .mount(&server)
        .await;
    let e = first_error(&source(config(&server, vec![1]))).await;
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86400)));
}

#[tokio::test]
async fn bodies_above_the_size_limit_are_refused() {
    let server = MockServer::start().await;
    let records: Vec<Value> = (1..=50)
        .map(|i| record(i, "Padded name", "Chat", 1, "2026-01-01T00:00:00Z"))
        .collect();
    mount_center(&server, 1, Value::Array(records)).await;
    let mut config = config(&server, vec![1]);
    config.http.max_body_bytes = 1024;
    let e = first_error(&source(config)).await;
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("limit of 1024 bytes"), "{e}");
}

#[tokio::test]
async fn a_cross_host_redirect_is_refused_and_the_token_never_leaves() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    // "localhost" vs "127.0.0.1": another host, as far as the client can tell.
    let target = elsewhere.uri().replace("127.0.0.1", "localhost");
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{target}{PATH}?contactCenterId=1")),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw("[]", "application/json"))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let e = first_error(&source(config(&server, vec![1]))).await;
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.to_string().contains("redirect"), "{e}");
    assert_no_token(&e.to_string());
    elsewhere.verify().await;
}

#[tokio::test]
async fn the_source_debug_shows_no_token() {
    let server = MockServer::start().await;
    let source = source(config(&server, vec![1, 2]));
    let debug = format!("{source:?} {source:#?}");
    assert_no_token(&debug);
    assert!(
        debug.contains("cms-test") && debug.contains("contact_center_ids"),
        "{debug}"
    );
}

#[tokio::test]
async fn capabilities_match_what_fetch_page_does() {
    let server = MockServer::start().await;
    let records: Vec<Value> = [
        (1, "Zed", "Chat Campaign", "2026-01-03T00:00:00Z"),
        (2, "Alpha", "Voice Blast Campaign", "2026-01-01T00:00:00Z"),
        (3, "Mid", "Chat Campaign", "2026-01-02T00:00:00Z"),
    ]
    .iter()
    .map(|(i, n, k, d)| record(*i, n, k, 1, d))
    .collect();
    mount_center(&server, 1, Value::Array(records)).await;
    let source = source(config(&server, vec![1]));
    let caps = source.capabilities();
    assert!(!caps.server_paging);
    let query = CampaignQuery::builder()
        .channel(Channel::Chat)
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let plan = caps.split(&query);
    assert!(plan.residual.has_no_filter() && !plan.local_sort);
    // Since nothing is left to the walker, fetch_page itself filters and sorts.
    let page = source.fetch_page(&query, None).await.unwrap();
    let names: Vec<&str> = page.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Mid", "Zed"]);
}

/// Counts the token requests begun, and those dropped unfinished.
#[derive(Debug, Default)]
struct NeverAnswers {
    begun: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

/// Counts a drop in its counter.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl TokenProvider for NeverAnswers {
    async fn token(&self) -> Result<Secret, campaign_core::SourceError> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        let _dropped = CountDrop(Arc::clone(&self.dropped));
        std::future::pending().await
    }

    async fn invalidate(&self, _rejected: &Secret) {}
}

/// Each contact center downloads in a task of its own; dropping the
/// listing must stop those tasks, not leave them running for nobody.
#[tokio::test]
async fn dropping_a_listing_stops_its_downloads() {
    let server = MockServer::start().await;
    let tokens = Arc::new(NeverAnswers::default());
    let source = CmsSource::new(config(&server, vec![1, 2, 3]), tokens.clone()).unwrap();
    let listing = tokio::time::timeout(Duration::from_millis(50), source.fetch_all()).await;
    assert!(listing.is_err(), "no token ever comes");
    assert_eq!(tokens.begun.load(Ordering::SeqCst), 3);
    // Aborted tasks are dropped when the runtime next gets to them.
    for _ in 0..5_000 {
        if tokens.dropped.load(Ordering::SeqCst) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(tokens.dropped.load(Ordering::SeqCst), 3);
    assert!(server.received_requests().await.unwrap().is_empty());
}
