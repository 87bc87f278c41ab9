//! A third provider, written the way `docs/PROVIDERS.md` describes: a
//! `CampaignSource` over "TinyCRM", a small REST API that this example serves
//! itself on 127.0.0.1. The example proves the source with the conformance
//! suite, then lists it together with the CMS and Kore.ai sources (over the
//! embedded sandbox) in one aggregate.
//!
//! Run it with `cargo run -p examples --example custom_provider`.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use campaign_aggregate::Aggregator;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Filter,
    Page, PageToken, RawRecord, Secret, Sort, SortField, SourceError, StaticToken, Status,
    TokenProvider,
};
use campaign_http::header::{HeaderName, HeaderValue};
use campaign_http::{
    check_base_url, ApiRequest, Auth, HttpClient, HttpConfig, Method, ProviderError, Url,
};
use campaign_testkit::{fixture_campaigns, Conformance, SourceFactory};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

const PROVIDER: &str = "tinycrm";
const API_KEY: &str = "tiny-demo-key";
const MAX_PAGE: usize = 100;

// ---------------------------------------------------------------------------
// The TinyCRM API: what a vendor would run. It is here only so the example is
// self-contained; a real provider talks to someone else's server.
// ---------------------------------------------------------------------------

/// TinyCRM's wire record: its own names for everything.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TinyRecord {
    key: String,
    title: String,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TinyPage {
    items: Vec<Box<serde_json::value::RawValue>>,
    next_offset: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct TinyParams {
    offset: Option<usize>,
    limit: Option<usize>,
    state: Option<String>,
    sort: Option<String>,
}

async fn list_campaigns(
    State(records): State<Arc<Vec<Campaign>>>,
    headers: HeaderMap,
    Query(params): Query<TinyParams>,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "bad api key"})),
        )
            .into_response();
    }
    // The server's own sort reuses the core ordering so this demo stays short.
    let mut query = CampaignQuery::builder();
    if let Some(sort) = &params.sort {
        match sort.parse::<Sort>() {
            Ok(sort) => query = query.sort(sort),
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(serde_json::json!({"error": "bad sort"})),
                )
                    .into_response()
            }
        }
    }
    if let Some(states) = &params.state {
        query = query.statuses(states.split(',').map(Status::parse));
    }
    let Ok(query) = query.build() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut matching: Vec<&Campaign> = records.iter().filter(|c| query.matches(c)).collect();
    if query.sort().is_some() {
        matching.sort_by(|a, b| query.compare(a, b));
    }
    let offset = params.offset.unwrap_or(0);
    let limit = params.limit.unwrap_or(20).clamp(1, MAX_PAGE);
    let items = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| {
            let record = TinyRecord {
                key: c.id.native.clone(),
                title: c.name.clone(),
                kind: c.channel.as_str().to_owned(),
                state: c.status.as_ref().map(|s| s.as_str().to_owned()),
                created: c.created_at,
                modified: c.updated_at,
            };
            serde_json::value::to_raw_value(&record).expect("plain record serializes")
        })
        .collect();
    let next_offset = (offset + limit < matching.len()).then_some(offset + limit);
    Json(TinyPage { items, next_offset }).into_response()
}

/// Serves TinyCRM over `campaigns` on 127.0.0.1; returns its base URL.
async fn serve_tinycrm(campaigns: Vec<Campaign>) -> std::io::Result<Url> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/api/campaigns", get(list_campaigns))
        .with_state(Arc::new(campaigns));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Url::parse(&format!("http://{address}/")).expect("a socket address makes a valid URL"))
}

// ---------------------------------------------------------------------------
// The provider: everything a plugin author writes.
// ---------------------------------------------------------------------------

/// A `CampaignSource` over TinyCRM.
#[derive(Debug)]
struct TinySource {
    id: String,
    base: Url,
    http: HttpClient,
    tokens: Arc<dyn TokenProvider>,
}

/// TinyCRM's error body, for the error's message.
fn tiny_error_body(body: &[u8]) -> Option<ProviderError> {
    #[derive(Deserialize)]
    struct Body {
        error: String,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    Some(ProviderError::new(None, Some(body.error)))
}

fn api_key_header(token: &Secret) -> Result<campaign_http::header::HeaderMap, SourceError> {
    let mut value = HeaderValue::from_str(token.expose())
        .map_err(|_| SourceError::config(PROVIDER, "the API key is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(campaign_http::header::HeaderMap::from_iter([(
        HeaderName::from_static("x-api-key"),
        value,
    )]))
}

impl TinySource {
    fn new(id: &str, base_url: &str, tokens: Arc<dyn TokenProvider>) -> Result<Self, SourceError> {
        let base = check_base_url(id, base_url, false)?;
        let http = HttpClient::new(id, HttpConfig::default(), tiny_error_body)?;
        Ok(Self {
            id: id.to_owned(),
            base,
            http,
            tokens,
        })
    }

    /// Wire record to the normalized model; the original is kept in `raw`.
    fn normalize(&self, raw: &serde_json::value::RawValue) -> Result<Campaign, serde_json::Error> {
        let record: TinyRecord = serde_json::from_str(raw.get())?;
        let mut campaign = Campaign::new(
            CampaignId::new(self.id.as_str(), record.key),
            PROVIDER,
            record.title,
            Channel::parse(&record.kind),
        );
        campaign.status = record.state.as_deref().map(Status::parse);
        campaign.created_at = record.created;
        campaign.updated_at = record.modified;
        campaign.raw = Some(RawRecord::new(raw.to_owned()));
        Ok(campaign)
    }
}

#[async_trait]
impl CampaignSource for TinySource {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            filters: BTreeSet::from([Filter::Status]),
            sorts: BTreeSet::from([SortField::Name, SortField::CreatedAt, SortField::UpdatedAt]),
            max_page_size: Some(MAX_PAGE as u32),
            server_paging: true,
        }
    }

    async fn fetch_page(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page, SourceError> {
        let offset = match &token {
            None => 0,
            Some(token) => token.as_str().parse::<usize>().map_err(|_| {
                SourceError::new(
                    ErrorKind::InvalidCursor,
                    &self.id,
                    "page token is not an offset",
                )
            })?,
        };
        let limit = query.page_size().unwrap_or(20).min(MAX_PAGE as u32);
        let mut url = self
            .base
            .join("api/campaigns")
            .map_err(|e| SourceError::config(&self.id, e.to_string()))?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("offset", &offset.to_string());
            pairs.append_pair("limit", &limit.to_string());
            if !query.statuses().is_empty() {
                let states: Vec<&str> = query.statuses().iter().map(|s| s.as_str()).collect();
                pairs.append_pair("state", &states.join(","));
            }
            if let Some(sort) = query.sort() {
                pairs.append_pair("sort", &sort.to_string());
            }
        }
        let description = format!("GET campaigns offset={offset} limit={limit}");
        let request = ApiRequest {
            method: Method::GET,
            url,
            headers: Default::default(),
            json_body: None,
            description: description.clone(),
        };
        let body = self
            .http
            .execute(
                &request,
                Auth::Token {
                    tokens: &*self.tokens,
                    headers: &api_key_header,
                },
            )
            .await?;
        let page: TinyPage = campaign_http::decode_json(&self.id, &description, &body)?;
        let items = page
            .items
            .iter()
            .map(|raw| {
                self.normalize(raw).map_err(|e| {
                    SourceError::new(ErrorKind::Decode, &self.id, "malformed campaign record")
                        .with_request(&description)
                        .with_cause(e)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = page.next_offset.map(|n| PageToken::new(n.to_string()));
        Ok(Page::new(items, next))
    }
}

// ---------------------------------------------------------------------------
// Proving it: the conformance suite, then one aggregate with CMS and Kore.ai.
// ---------------------------------------------------------------------------

struct TinyFactory {
    base: Url,
}

#[async_trait]
impl SourceFactory for TinyFactory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        Arc::new(
            TinySource::new(
                "tiny",
                self.base.as_str(),
                Arc::new(StaticToken::new(API_KEY)),
            )
            .expect("valid config"),
        )
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        let source = TinySource::new(
            "tiny",
            self.base.as_str(),
            Arc::new(StaticToken::new("wrong-key")),
        );
        Some(Arc::new(source.expect("valid config")))
    }

    fn expected(&self) -> Vec<Campaign> {
        fixture_campaigns("tiny")
    }

    fn secrets(&self) -> Vec<String> {
        vec![API_KEY.to_owned()]
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tiny_url = serve_tinycrm(fixture_campaigns("tiny")).await?;
    println!("TinyCRM serving the kit's fixture at {tiny_url}");

    let report = Conformance::new(TinyFactory {
        base: tiny_url.clone(),
    })
    .run()
    .await;
    for result in &report.results {
        println!("  conformance: {result}");
    }
    report.assert_passed();

    let sandbox = campaign_sandbox::Sandbox::start_default().await?;
    let credentials = sandbox.credentials();
    let cms = source_cms::CmsSource::new(
        source_cms::CmsConfig::new(
            "cms",
            sandbox.cms_url().as_str(),
            sandbox.cms_contact_center_ids(),
        ),
        Arc::new(StaticToken::new(credentials.cms_token.clone())),
    )?;
    let mut kore_config = source_kore::KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        credentials.kore_stream_id.clone(),
        credentials.kore_account_id.clone(),
    );
    kore_config.rate_limit = None;
    let kore = source_kore::KoreSource::new(
        kore_config,
        Arc::new(StaticToken::new(credentials.kore_jwt.clone())),
    )?;
    let tiny = TinySource::new(
        "tiny",
        tiny_url.as_str(),
        Arc::new(StaticToken::new(API_KEY)),
    )?;

    let aggregate = Aggregator::builder("all")
        .source(Arc::new(cms))
        .source(Arc::new(kore))
        .source(Arc::new(tiny))
        .build()?;
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(10)
        .build()?;
    let page = aggregate.page(&query, None).await?;
    println!("\nFirst page of the unified view (newest first):");
    for campaign in &page.items {
        let created = campaign
            .created_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        println!(
            "  {:<28} {:<10} {:<26} {}",
            campaign.id.to_string(),
            campaign.provider,
            created,
            campaign.name
        );
    }
    for count in &page.per_source {
        println!(
            "  from {:<5} {:>2} items (done: {})",
            count.source, count.items, count.done
        );
    }
    assert!(
        page.failures.is_empty(),
        "no source failed: {:?}",
        page.failures
    );
    sandbox.shutdown().await;
    Ok(())
}
