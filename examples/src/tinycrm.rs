//! TinyCRM: the worked example of a third provider, written the way
//! `docs/PROVIDERS.md` describes, used by this package's examples.
//!
//! - The TinyCRM API ([`serve_tinycrm`]): what a vendor would run, here only
//!   so the examples are self-contained.
//! - [`TinySource`]: the `CampaignSource` a plugin author writes.
//! - [`TinyConfig`]: its `[[sources]]` keys and how to build it, so the
//!   `campaigns` command line (`examples/campaigns_tinycrm.rs`) uses it like
//!   a built-in provider.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Filter,
    Page, PageToken, RawRecord, Secret, Sort, SortField, SourceError, StaticToken, Status,
    TokenProvider,
};
use campaign_http::header::{HeaderName, HeaderValue};
use campaign_http::{check_base_url, ApiRequest, Auth, HttpClient, HttpConfig, ProviderError, Url};
use campaign_registry::{ConfigError, ConfigKey, Env, ProviderConfig, SourceSettings};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `provider = "..."` value of TinyCRM sources.
pub const PROVIDER: &str = "tinycrm";
/// The API key [`serve_tinycrm`] accepts.
pub const API_KEY: &str = "tiny-demo-key";
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
pub async fn serve_tinycrm(campaigns: Vec<Campaign>) -> std::io::Result<Url> {
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
pub struct TinySource {
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
    /// A source named `id` over the TinyCRM at `base_url`, its API key from `tokens`.
    pub fn new(
        id: &str,
        base_url: &str,
        tokens: Arc<dyn TokenProvider>,
        http: HttpConfig,
    ) -> Result<Self, SourceError> {
        let base = check_base_url(id, base_url, http.allow_insecure_http)?;
        let http = HttpClient::new(id, http, tiny_error_body)?;
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
        let request = ApiRequest::get(url, description.clone());
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
// Its config: what makes it a plugin of the `campaigns` command line.
// ---------------------------------------------------------------------------

/// The keys of a `[[sources]]` table with `provider = "tinycrm"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TinyConfig {
    /// Where TinyCRM answers.
    pub base_url: String,
    /// The environment variable holding the API key.
    pub api_key_env: String,
}

impl ProviderConfig for TinyConfig {
    const PROVIDER: &'static str = PROVIDER;
    const DESCRIPTION: &'static str = "TinyCRM, the worked example of a plugin provider";
    const KEYS: &'static [ConfigKey] = &[
        ConfigKey::required("base_url", "where TinyCRM answers"),
        ConfigKey::required("api_key_env", "variable holding the API key"),
    ];

    fn build(
        self,
        settings: SourceSettings,
        env: &Env<'_>,
    ) -> Result<Arc<dyn CampaignSource>, ConfigError> {
        let key = env.secret("api_key_env", &self.api_key_env)?;
        let source = TinySource::new(
            &settings.name,
            &self.base_url,
            Arc::new(StaticToken::new(key)),
            settings.http,
        )?;
        Ok(Arc::new(source))
    }
}
