//! A small in-test Kore.ai endpoint: pages by skip/limit, sorts like the
//! docs describe, logs every request and can misbehave on purpose.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;

use campaign_core::{Campaign, CampaignQuery, CampaignSource, Channel, PageToken, StaticToken};
use futures::TryStreamExt;
use source_kore::{KoreConfig, KoreSource};

/// A source of `channels` over `fake` (started here): no rate limit, no
/// retries, `prefetch` pages at once.
pub async fn source_over(
    fake: &Arc<Fake>,
    prefetch: usize,
    channels: Vec<Channel>,
) -> Arc<KoreSource> {
    let base = fake.start().await;
    let mut c = KoreConfig::new("kore-main", base, "st-1", "acc-1");
    c.channels = channels;
    c.prefetch = prefetch;
    c.rate_limit = None;
    c.http.retry = campaign_http::RetryPolicy::none();
    Arc::new(KoreSource::new(c, Arc::new(StaticToken::new("t"))).unwrap())
}

pub fn ids(items: &[Campaign]) -> Vec<String> {
    items.iter().map(|c| c.id.native.clone()).collect()
}

/// The whole listing of `query` as one stream.
pub async fn streamed(source: &Arc<KoreSource>, query: &CampaignQuery) -> Vec<Campaign> {
    Arc::clone(source)
        .stream(query)
        .try_collect()
        .await
        .unwrap()
}

/// A walk by page tokens from `from`: each page's token and campaigns.
pub async fn walk(
    source: &Arc<KoreSource>,
    query: &CampaignQuery,
    from: Option<PageToken>,
) -> Vec<(Option<PageToken>, Vec<Campaign>)> {
    let mut pages = Vec::new();
    let mut token = from;
    for _ in 0..1000 {
        let page = source.fetch_page(query, token.clone()).await.unwrap();
        let next = page.next.clone();
        pages.push((token, page.items));
        match next {
            Some(next) => token = Some(next),
            None => return pages,
        }
    }
    panic!("no end");
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub kind: String,
    pub skip: u64,
    pub limit: u64,
    pub body: Value,
    pub auth: String,
}

#[derive(Default)]
pub struct Fake {
    pub voice: Vec<Value>,
    pub sms: Vec<Value>,
    pub log: Mutex<Vec<Logged>>,
    pub ignore_skip: std::sync::atomic::AtomicBool,
    pub total_delta: AtomicI64,
    /// Answer this many requests with 429 (Retry-After: 1) first.
    pub rate_limited: AtomicUsize,
    /// Hold the answer at skip .0 until a request for skip .1 arrived.
    pub hold: Mutex<Option<(u64, u64)>>,
    /// The most records a page holds whatever the limit asked (0: no cap).
    pub cap: AtomicU64,
    /// With a cap, echo the capped size as `limit` (else the limit asked).
    pub echo_cap: AtomicBool,
    /// Leave `hasMore` out of every page (then only `totalResults` tells).
    pub omit_has_more: AtomicBool,
    /// Answer a `sortBy` without `name` with HTTP 200 and `"status": "error"`.
    pub refuse_sort_without_name: AtomicBool,
    seen: Mutex<HashSet<u64>>,
    arrived: Notify,
}

pub fn voice_records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "_id": format!("cd-v{i:04}"),
                "name": format!("Voice {i}"),
                "priority": format!("{}", i % 5 + 1),
                "dialingMode": if i % 2 == 0 { "Preview" } else { "Progressive" },
                "status": "Ready",
                "createdAt": created(i * 2),
                "updatedAt": created(i * 2 + 1),
                "contactLists": ["CL"],
            })
        })
        .collect()
}

pub fn sms_records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "name": format!("Sms {i}"),
                "status": "Stopped",
                "priority": "3",
                "createdAt": created(i * 2 + 1),
                "id": format!("cd-s{i:04}"),
                "format": "simple",
            })
        })
        .collect()
}

fn created(minutes: usize) -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2025-12-01T00:00:00.000Z").unwrap()
        + chrono::TimeDelta::minutes(minutes as i64);
    at.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn id_of(v: &Value) -> String {
    v.get("_id")
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Fake {
    pub fn new(voice: Vec<Value>, sms: Vec<Value>) -> Arc<Self> {
        Arc::new(Self {
            voice,
            sms,
            ..Self::default()
        })
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    /// Starts serving; returns the base URL.
    pub async fn start(self: &Arc<Self>) -> String {
        let app = Router::new()
            .route("/{*rest}", post(handle))
            .with_state(Arc::clone(self));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
}

async fn handle(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let kind = body["type"].as_str().unwrap_or_default().to_owned();
    let skip = body["skip"].as_u64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(50);
    fake.log.lock().unwrap().push(Logged {
        kind: kind.clone(),
        skip,
        limit,
        body: body.clone(),
        auth: headers
            .get("auth")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    });
    fake.seen.lock().unwrap().insert(skip);
    fake.arrived.notify_waiters();
    if fake
        .rate_limited
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            r#"{"status":"error","message":"You've exceeded the per-minute rate limit."}"#,
        )
            .into_response();
    }
    let hold = *fake.hold.lock().unwrap();
    if let Some((held, awaited)) = hold.filter(|(held, _)| *held == skip) {
        let _ = held;
        let wait = async {
            loop {
                let notified = fake.arrived.notified();
                if fake.seen.lock().unwrap().contains(&awaited) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "never saw the awaited page",
            )
                .into_response();
        }
    }
    let lacks_name = body["sortBy"]
        .as_object()
        .is_some_and(|sort| !sort.contains_key("name"));
    if fake.refuse_sort_without_name.load(Ordering::SeqCst) && lacks_name {
        return (
            StatusCode::OK,
            r#"{"status":"error","message":"sortBy.name must be included if any sort field is used"}"#,
        )
            .into_response();
    }
    let mut records: Vec<Value> = match kind.as_str() {
        "voice" => fake.voice.clone(),
        "sms" => fake.sms.clone(),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                r#"{"status":"error","message":"bad type"}"#,
            )
                .into_response()
        }
    };
    let sort = body["sortBy"].as_object().and_then(|m| {
        m.iter()
            .next()
            .map(|(k, v)| (k.clone(), v.as_str() == Some("desc")))
    });
    records.sort_by(|a, b| {
        let by = match &sort {
            Some((field, desc)) => {
                let o = a[field.as_str()].as_str().cmp(&b[field.as_str()].as_str());
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            }
            None => std::cmp::Ordering::Equal,
        };
        by.then_with(|| id_of(a).cmp(&id_of(b)))
    });
    let total = records.len() as u64;
    let start = if fake.ignore_skip.load(Ordering::SeqCst) {
        0
    } else {
        skip.min(total)
    };
    let cap = fake.cap.load(Ordering::SeqCst);
    let size = if cap > 0 { limit.min(cap) } else { limit };
    let end = (start + size).min(total);
    let results: Vec<Value> = records[start as usize..end as usize].to_vec();
    let reported = (total as i64 + fake.total_delta.load(Ordering::SeqCst)).max(0) as u64;
    let echoed = if fake.echo_cap.load(Ordering::SeqCst) {
        size
    } else {
        limit
    };
    let mut json = json!({
        "status": "success",
        "message": "Campaign  retrieved successfully",
        "data": {
            "results": results,
            "skip": skip,
            "limit": echoed,
            "hasMore": skip + size < total,
            "totalPages": reported.div_ceil(size.max(1)),
            "totalResults": reported,
        }
    });
    if fake.omit_has_more.load(Ordering::SeqCst) {
        json["data"].as_object_mut().unwrap().remove("hasMore");
    }
    (StatusCode::OK, json.to_string()).into_response()
}
