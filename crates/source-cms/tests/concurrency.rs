//! Several contact centers are fetched concurrently, never beyond the bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use campaign_core::StaticToken;
use serde_json::{json, Value};
use source_cms::{CmsConfig, CmsSource};

#[derive(Default)]
struct Load {
    now: AtomicUsize,
    max: AtomicUsize,
}

async fn campaigns(
    State(load): State<Arc<Load>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let now = load.now.fetch_add(1, Ordering::SeqCst) + 1;
    load.max.fetch_max(now, Ordering::SeqCst);
    // Long enough that requests sent together overlap at the server.
    tokio::time::sleep(Duration::from_millis(150)).await;
    load.now.fetch_sub(1, Ordering::SeqCst);
    let center: i64 = q["contactCenterId"].parse().unwrap();
    Json(
        json!([{"campaignContextId": center * 10, "campaignContextName": format!("cc {center}"), "contactCenterId": center}]),
    )
}

async fn most_in_flight(concurrency: usize) -> usize {
    let load = Arc::new(Load::default());
    let app = Router::new()
        .route("/configuration/hierarchyconfig/campaign", get(campaigns))
        .with_state(Arc::clone(&load));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = CmsConfig::new("cms", base, vec![1, 2, 3, 4, 5]);
    config.concurrency = concurrency;
    let source = CmsSource::new(config, Arc::new(StaticToken::new("t"))).unwrap();
    let all = source.fetch_all().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.native.as_str()).collect();
    assert_eq!(
        ids,
        ["10", "20", "30", "40", "50"],
        "configuration order is kept"
    );
    server.abort();
    load.max.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_centers_are_fetched_concurrently_within_the_bound() {
    assert_eq!(most_in_flight(1).await, 1);
    let bounded = most_in_flight(3).await;
    assert!(
        (2..=3).contains(&bounded),
        "{bounded} requests were in flight at once"
    );
}
