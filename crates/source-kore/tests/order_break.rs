//! What a walk reports when the server's order breaks under it, against
//! exact answers from wiremock: campaigns are counted as listed late only
//! when they sort before the last campaign listed, and a page's skipped
//! records are reported once.

use std::sync::Arc;

use campaign_core::{
    CampaignQuery, CampaignSource, Channel, PageToken, Sort, SortField, StaticToken, Warning,
};
use serde_json::{json, Value};
use source_kore::{KoreConfig, KoreSource};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn source(server: &MockServer) -> Arc<KoreSource> {
    let mut c = KoreConfig::new("kore", server.uri(), "st-1", "acc-1");
    c.channels = vec![Channel::Voice];
    c.rate_limit = None;
    c.http.retry = campaign_http::RetryPolicy::none();
    Arc::new(KoreSource::new(c, Arc::new(StaticToken::new("t"))).unwrap())
}

fn campaign(id: &str, name: &str) -> Value {
    json!({"_id": id, "name": name, "status": "Ready"})
}

/// Answers the request whose body holds `request` with `results`.
async fn answer(server: &MockServer, request: Value, results: Vec<Value>, total: u64, more: bool) {
    let body = json!({
        "status": "success",
        "data": {"results": results, "hasMore": more, "totalResults": total},
    });
    Mock::given(method("POST"))
        .and(body_partial_json(request))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Every page of a walk: the names listed and the warnings reported.
async fn walk(source: &KoreSource, query: &CampaignQuery) -> (Vec<String>, Vec<Warning>) {
    let (mut names, mut warnings) = (Vec::new(), Vec::new());
    let mut token: Option<PageToken> = None;
    for _ in 0..10 {
        let page = source.fetch_page(query, token).await.unwrap();
        names.extend(page.items.into_iter().map(|c| c.name));
        warnings.extend(page.warnings);
        token = page.next;
        if token.is_none() {
            return (names, warnings);
        }
    }
    panic!("no end");
}

fn by_name() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(2)
        .build()
        .unwrap()
}

/// Page one `a`, `b` (sorted); page two `e`, then `hidden` out of order.
/// `b` ends page one, so it is held back for page two; only `a` is listed
/// when the order breaks.
async fn broken_after_one_page(hidden: &str) -> (Vec<String>, Vec<Warning>) {
    let server = MockServer::start().await;
    let first = vec![campaign("v1", "a"), campaign("v2", "b")];
    answer(&server, json!({"skip": 0, "limit": 2}), first, 4, true).await;
    // The reversed probe: a server that sorts.
    let probe = json!({"skip": 0, "limit": 1, "sortBy": {"name": "desc"}});
    answer(&server, probe, vec![campaign("v5", "e")], 4, true).await;
    let second = vec![campaign("v5", "e"), campaign("v3", hidden)];
    answer(&server, json!({"skip": 2, "limit": 2}), second, 4, false).await;
    walk(&source(&server), &by_name()).await
}

fn late(warnings: &[Warning]) -> Vec<&str> {
    warnings
        .iter()
        .filter(|w| w.message.contains("listed late"))
        .map(|w| w.message.as_str())
        .collect()
}

#[tokio::test]
async fn a_campaign_after_the_last_listed_one_is_not_late() {
    // `ab` sorts after `a` (the last listed) and before `b` (held back):
    // listed right after `a`, in order.
    let (names, warnings) = broken_after_one_page("ab").await;
    assert_eq!(names, ["a", "ab", "b", "e"]);
    assert!(warnings.iter().any(|w| w.sorted_locally), "{warnings:?}");
    assert_eq!(late(&warnings), Vec::<&str>::new(), "{warnings:?}");
}

#[tokio::test]
async fn a_campaign_before_the_last_listed_one_is_late() {
    // `0a` sorts before `a`, which is listed already.
    let (names, warnings) = broken_after_one_page("0a").await;
    assert_eq!(names, ["a", "0a", "b", "e"]);
    let late = late(&warnings);
    assert_eq!(late.len(), 1, "{warnings:?}");
    assert!(late[0].starts_with("1 campaign(s)"), "{late:?}");
}

#[tokio::test]
async fn a_skipped_record_is_reported_once_when_the_order_breaks_on_its_page() {
    let server = MockServer::start().await;
    let page = vec![
        campaign("v2", "b"),
        campaign("v1", "a"),
        json!({"_id": "v9", "priority": {"x": 1}}),
    ];
    answer(&server, json!({"skip": 0, "limit": 3}), page, 3, false).await;
    let query = by_name().to_builder().page_size(3).build().unwrap();
    let (names, warnings) = walk(&source(&server), &query).await;
    assert_eq!(names, ["a", "b"]);
    assert!(warnings.iter().any(|w| w.sorted_locally), "{warnings:?}");
    let skipped: Vec<_> = warnings.iter().filter(|w| w.skipped.is_some()).collect();
    assert_eq!(skipped.len(), 1, "{warnings:?}");
}
