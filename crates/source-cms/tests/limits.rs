//! What the CMS API's unpaged listings and undocumented rate limits ask of
//! the client: a body limit sized for whole contact centers, configurable,
//! and a real wait after a rate-limited answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use campaign_core::{CampaignQuery, CampaignSource};
use campaign_http::HttpConfig;
use campaign_registry::{Env, ProviderFactory, SourceSettings};
use futures::TryStreamExt;
use serde_json::{json, Value};
use source_cms::{CmsConfig, CmsSettings, DEFAULT_MAX_BODY_BYTES};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PATH: &str = "/configuration/hierarchyconfig/campaign";

/// Contact center 1 as `count` campaigns of about 400 bytes each.
fn listing(count: i64) -> Value {
    let records: Vec<Value> = (1..=count)
        .map(|id| {
            json!({
                "campaignContextId": id,
                "campaignContextName": format!("Campaign {id} {}", "x".repeat(250)),
                "campaignContextType": "Interaction Campaign",
                "contactCenterId": 1,
                "processId": 1,
                "description": "Campaign related to Sales Management",
                "dateAdded": "2026-03-24T12:28:52.354Z",
                "dateModified": "2026-03-24T12:28:52.354Z",
                "ref": 0,
                "version": 0
            })
        })
        .collect();
    Value::Array(records)
}

/// A CMS source built from a `[[sources]]` table's keys (plus `extra`), as
/// the `campaigns` CLI builds it.
fn from_keys(server: &MockServer, extra: Value) -> Arc<dyn CampaignSource> {
    let mut keys = json!({
        "base_url": server.uri(),
        "token": "tok",
        "contact_center_ids": [1],
    });
    if let (Some(keys), Value::Object(extra)) = (keys.as_object_mut(), extra) {
        keys.extend(extra);
    }
    ProviderFactory::of::<CmsSettings>()
        .build(keys, SourceSettings::named("cms"), &Env::new(&|_| None))
        .unwrap()
}

async fn listed(source: Arc<dyn CampaignSource>) -> campaign_core::Result<usize> {
    let campaigns: Vec<_> = source.stream(&CampaignQuery::all()).try_collect().await?;
    Ok(campaigns.len())
}

#[tokio::test]
async fn whole_contact_centers_fit_the_body_limit_which_a_key_can_lower() {
    assert!(DEFAULT_MAX_BODY_BYTES > HttpConfig::default().max_body_bytes);
    let config = CmsConfig::new("cms", "https://cms.example.com", vec![1]);
    assert_eq!(config.http.max_body_bytes, DEFAULT_MAX_BODY_BYTES);

    let server = MockServer::start().await;
    let body = listing(4_000);
    let size = serde_json::to_vec(&body).unwrap().len();
    assert!(size > 1024 * 1024, "{size} bytes");
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    assert_eq!(listed(from_keys(&server, json!({}))).await.unwrap(), 4_000);
    let limited = from_keys(&server, json!({"max_body_mib": 1}));
    let error = listed(limited).await.unwrap_err();
    assert!(error.to_string().contains("exceeds the limit"), "{error}");
}

#[tokio::test]
async fn a_rate_limited_answer_without_retry_after_waits_before_its_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(listing(3)))
        .mount(&server)
        .await;
    let started = Instant::now();
    assert_eq!(listed(from_keys(&server, json!({}))).await.unwrap(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
