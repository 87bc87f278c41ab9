//! The handlers: thin, each parses its parameters, calls the same library
//! code as the CLI and answers JSON (or an [`ApiError`]). What they read
//! (a page, a campaign, the sources) comes from [`list_page`],
//! [`find_campaign`] and [`source_list`], which the web page calls too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use campaign_aggregate::{Aggregator, Cursor, SourceWarning};
use campaign_core::{Campaign, CampaignQuery, CampaignSource, ErrorKind};
use campaign_store::{SourceReport, Store, StoreSource};
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ConfiguredSource;
use crate::output::ErrorRecord;
use crate::run::{exit_code, SourceCapabilities, Tally, EXIT_FAILED};
use crate::store_cmd::ChangeLine;

use super::cursor::CursorSigner;
use super::error::{ApiError, ErrorBody};
use super::live::Coalescer;
use super::metrics::Metrics;
use super::params::{flag, known, pairs, CampaignsParams, ListRequest, MAX_LIMIT};

/// Where the answers come from.
#[derive(Debug)]
pub(crate) enum Backend {
    /// Live from the sources.
    Live { aggregate: Arc<Aggregator> },
    /// From a store (kept fresh by the background sync).
    Store {
        current: Arc<Aggregator>,
        with_deleted: Arc<Aggregator>,
        store: Store,
    },
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) backend: Backend,
    /// Identical page requests in flight at once share one read (live: one
    /// provider walk; store: one query).
    pub(crate) inflight: Arc<Coalescer<Arc<Listing>>>,
    pub(crate) sources: Vec<ConfiguredSource>,
    pub(crate) signer: CursorSigner,
    pub(crate) metrics: Metrics,
    pub(crate) health: Mutex<BTreeMap<String, Health>>,
    pub(crate) last_sync: Mutex<BTreeMap<String, LastSync>>,
}

/// A source's last observed state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `failing` or `unknown` (not read since the server started).
    pub status: &'static str,
    /// When it was last read (RFC 3339).
    pub checked_at: Option<String>,
    /// The last failure, when failing.
    pub error: Option<String>,
}

/// A source's last background sync.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastSync {
    /// The run's number in the store's run log.
    pub run: i64,
    /// When it finished (RFC 3339).
    pub at: String,
    pub added: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
    /// Provider requests it made.
    pub requests: u64,
    /// Whether the source was read whole.
    pub full: bool,
    pub error: Option<String>,
    /// Who else was syncing the source, when it was skipped.
    pub busy: Option<String>,
}

/// One source of `GET /v1/sources`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceEntry {
    pub name: String,
    pub provider: String,
    #[schema(value_type = Object)]
    pub capabilities: SourceCapabilities,
    /// With a store: its last sync by this server; null before the first.
    pub last_sync: Option<LastSync>,
    pub health: Health,
}

/// The document of `GET /v1/sources`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    /// Whether the server answers from a store.
    pub store: bool,
    pub sources: Vec<SourceEntry>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl AppState {
    fn note_health(&self, source: &str, error: Option<String>) {
        let health = Health {
            status: if error.is_some() { "failing" } else { "ok" },
            checked_at: Some(now()),
            error,
        };
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(source.to_owned(), health);
    }

    /// Records a source's sync report for `/v1/sources` and `/metrics`.
    pub(crate) fn note_sync(&self, run: i64, report: &SourceReport) {
        self.metrics.sync(report);
        self.note_health(&report.source, report.error.clone());
        let entry = LastSync {
            run,
            at: now(),
            added: report.added,
            updated: report.updated,
            deleted: report.deleted,
            unchanged: report.unchanged,
            requests: report.requests,
            full: report.full,
            error: report.error.clone(),
            busy: report.busy.clone(),
        };
        self.last_sync
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(report.source.clone(), entry);
    }
}

fn json(body: impl Into<Bytes>) -> Response {
    let mut response = body.into().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn to_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    serde_json::to_vec(value)
        .map(json)
        .map_err(|_| ApiError::internal())
}

/// One page of campaigns.
#[utoipa::path(
    get,
    path = "/v1/campaigns",
    params(CampaignsParams),
    responses(
        (status = 200, description = "One page; a partial failure fills `errors`", body = super::openapi::CampaignList),
        (status = 400, description = "A bad parameter or cursor", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 503, description = "No source could be read", body = ErrorBody),
    ),
    tag = "campaigns"
)]
pub(crate) async fn list_campaigns(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let request = ListRequest::parse(raw.as_deref().unwrap_or(""))?;
    let listing = list_page(&state, &request).await?;
    Ok(json(listing.json()?))
}

/// One page of campaigns as the API and the web page both show it.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// In the query's order; `raw` kept only when the request asked.
    pub(crate) campaigns: Vec<Campaign>,
    /// The next page's cursor, signed; `None` on the last page.
    pub(crate) next_cursor: Option<String>,
    /// The sources (or partitions) that failed on this page.
    pub(crate) errors: Vec<ErrorRecord>,
    /// What the sources reported without failing.
    pub(crate) warnings: Vec<SourceWarning>,
    /// The API's JSON document of this page, made once however many
    /// requests share the page.
    json: OnceLock<Bytes>,
}

impl Listing {
    /// `list --format json`'s document of this page.
    fn json(&self) -> Result<Bytes, ApiError> {
        if let Some(body) = self.json.get() {
            return Ok(body.clone());
        }
        let mut body = Vec::new();
        crate::output::write_json_document(
            &mut body,
            &self.campaigns,
            self.next_cursor.as_deref(),
            &self.errors,
            &self.warnings,
        )
        .map_err(|_| ApiError::internal())?;
        Ok(self.json.get_or_init(|| Bytes::from(body)).clone())
    }
}

/// The page `request` asks for, from the store or live (identical live
/// requests in flight sharing one walk): the one path from a parsed
/// request to a page, for `GET /v1/campaigns` and the web page alike.
pub(crate) async fn list_page(
    state: &Arc<AppState>,
    request: &ListRequest,
) -> Result<Arc<Listing>, ApiError> {
    let query = request.query()?;
    let cursor = match &request.cursor {
        None => None,
        Some(signed) => {
            let inner = state
                .signer
                .open(signed)
                .map_err(|e| ApiError::invalid_cursor(e.to_string()))?;
            Some(Cursor::parse(inner).map_err(|e| ApiError::invalid_cursor(e.to_string()))?)
        }
    };
    let keep_raw = request.raw;
    let (aggregate, live) = match &state.backend {
        Backend::Live { .. } if request.include_deleted => {
            return Err(ApiError::bad_parameter(
                "include_deleted",
                "only a server with a store keeps deleted campaigns",
            ));
        }
        Backend::Live { aggregate } => (aggregate, true),
        Backend::Store { with_deleted, .. } if request.include_deleted => (with_deleted, false),
        Backend::Store { current, .. } => (current, false),
    };
    let key = format!(
        "{}|{}|{keep_raw}|{}",
        serde_json::to_string(&query).map_err(|_| ApiError::internal())?,
        cursor.as_ref().map_or("", Cursor::as_str),
        request.include_deleted
    );
    let (shared, aggregate) = (Arc::clone(state), Arc::clone(aggregate));
    state
        .inflight
        .run(key, move || {
            read_page(shared, aggregate, query, cursor, keep_raw, live).boxed()
        })
        .await
}

/// Reads one page, its next cursor signed; live, notes each source's health.
async fn read_page(
    state: Arc<AppState>,
    aggregate: Arc<Aggregator>,
    query: CampaignQuery,
    cursor: Option<Cursor>,
    keep_raw: bool,
    live: bool,
) -> Result<Arc<Listing>, ApiError> {
    let mut page = aggregate
        .page(&query, cursor.as_ref())
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidCursor => ApiError::invalid_cursor(e.to_string()),
            _ => ApiError::unavailable(e.to_string()),
        })?;
    let mut campaigns = std::mem::take(&mut page.items);
    let warnings = std::mem::take(&mut page.warnings);
    let tally = Tally::of_page(campaigns.len(), &page.failures, warnings);
    if live {
        for source in aggregate.sources() {
            let error = tally
                .errors
                .iter()
                .find(|e| e.source == source.id())
                .map(|e| e.message.clone());
            state.note_health(source.id(), error);
        }
    }
    if exit_code(&tally, aggregate.sources().len()) == EXIT_FAILED {
        let failed: Vec<String> = tally
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect();
        return Err(ApiError::unavailable(format!(
            "no source could be read ({})",
            failed.join("; ")
        )));
    }
    if !keep_raw {
        for campaign in &mut campaigns {
            campaign.raw = None;
        }
    }
    Ok(Arc::new(Listing {
        campaigns,
        next_cursor: page.next.as_ref().map(|c| state.signer.sign(c.as_str())),
        errors: tally.errors,
        warnings: tally.warnings,
        json: OnceLock::new(),
    }))
}

/// The longest campaign id looked up; longer ones are refused unread.
const MAX_ID_LEN: usize = 512;

/// One campaign by id (`source:native_id`).
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    params(
        ("id" = String, Path, description = "The campaign's id, `source:native_id`"),
        ("raw" = Option<bool>, Query, description = "Include the provider's original record"),
    ),
    responses(
        (status = 200, description = "The campaign", body = super::openapi::CampaignDoc),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 503, description = "Its source could not be read", body = ErrorBody),
    ),
    tag = "campaigns"
)]
pub(crate) async fn get_campaign(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::bad_parameter("id", "the id is not UTF-8 text"))?;
    let mut keep_raw = false;
    for (name, value) in pairs(raw.as_deref().unwrap_or(""))? {
        keep_raw = flag(known(&name, &["raw"])?, &value)?;
    }
    let mut campaign = find_campaign(&state, &id).await?;
    if !keep_raw {
        campaign.raw = None;
    }
    to_json(&campaign)
}

/// The campaign `id` (`source:native_id`), its raw record kept: for
/// `GET /v1/campaigns/{id}` and the web page's detail alike.
pub(crate) async fn find_campaign(state: &AppState, id: &str) -> Result<Campaign, ApiError> {
    if id.len() > MAX_ID_LEN {
        return Err(ApiError::bad_parameter(
            "id",
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    let unknown = || ApiError::not_found(format!("no campaign {:?}", super::params::clip(id)));
    let (source, native) = id.split_once(':').ok_or_else(unknown)?;
    // No store holds a NUL (PostgreSQL text cannot), nor does any provider's id.
    if id.contains('\0') {
        return Err(unknown());
    }
    let source: Arc<dyn CampaignSource> = match &state.backend {
        Backend::Live { aggregate, .. } => aggregate
            .sources()
            .iter()
            .find(|s| s.id() == source)
            .cloned()
            .ok_or_else(unknown)?,
        Backend::Store { store, .. } => {
            return match StoreSource::new(store.clone())
                .campaign(source, native)
                .await
            {
                Ok(Some(campaign)) => Ok(campaign),
                Ok(None) => Err(unknown()),
                Err(error) => Err(ApiError::unavailable(error.to_string())),
            };
        }
    };
    // The providers do not look one campaign up by id: the source's listing
    // is read until it turns up.
    let mut stream = source.stream(&CampaignQuery::all());
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(campaign) if campaign.id.native == native => return Ok(campaign),
            Ok(_) => {}
            Err(error) => failure = Some(error),
        }
    }
    match failure {
        Some(error) => Err(ApiError::unavailable(error.to_string())),
        None => Err(unknown()),
    }
}

/// The store's change log, oldest first.
#[utoipa::path(
    get,
    path = "/v1/changes",
    params(
        ("since" = Option<i64>, Query, description = "Only changes after this seq (default 0)"),
        ("limit" = Option<u32>, Query, description = "At most this many changes, 1 to 1000 (default 1000)"),
    ),
    responses(
        (status = 200, description = "Changes and the seq to poll from", body = super::openapi::ChangeList),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 409, description = "The server has no store", body = ErrorBody),
        (status = 503, description = "The store could not be read", body = ErrorBody),
    ),
    tag = "store"
)]
pub(crate) async fn list_changes(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (mut since, mut limit) = (0i64, MAX_LIMIT as usize);
    for (name, value) in pairs(raw.as_deref().unwrap_or(""))? {
        match known(&name, &["since", "limit"])? {
            "since" => {
                since = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| {
                        ApiError::bad_parameter("since", "expected a whole number, 0 or more")
                    })?;
            }
            _ => {
                limit = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT as usize).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_parameter("limit", format!("expected 1 to {MAX_LIMIT}"))
                    })?;
            }
        }
    }
    let Backend::Store { store, .. } = &state.backend else {
        return Err(ApiError::no_store(
            "the change log needs a store: start the server with --store, CAMPAIGNS_STORE or [store] url",
        ));
    };
    let unreadable = |e: campaign_store::StoreError| ApiError::unavailable(e.to_string());
    let known_seq = store.last_seq().await.map_err(unreadable)?;
    let mut entries = store.stored_changes_up_to(since, None, limit);
    let mut changes = Vec::new();
    while let Some(change) = entries.next().await {
        changes.push(change.map_err(unreadable)?);
    }
    // A full page resumes from its last entry; otherwise from the store's
    // own newest seq, as `campaigns changes` does.
    let last_seq = match changes.last() {
        Some(last) if changes.len() == limit => last.seq,
        Some(last) => last.seq.max(known_seq),
        None => known_seq,
    };
    // The lines `campaigns changes --format json` prints (`at` in milliseconds).
    let changes: Vec<ChangeLine<'_>> = changes.iter().map(ChangeLine::from).collect();
    to_json(&serde_json::json!({ "changes": changes, "last_seq": last_seq }))
}

/// Each configured source: provider, capabilities, last sync, health.
#[utoipa::path(
    get,
    path = "/v1/sources",
    responses(
        (status = 200, description = "The sources", body = SourceList),
        (status = 401, description = "No valid API key", body = ErrorBody),
    ),
    tag = "sources"
)]
pub(crate) async fn list_sources(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    to_json(&source_list(&state))
}

/// Each source as last seen, for `GET /v1/sources` and the web page alike.
pub(crate) fn source_list(state: &AppState) -> SourceList {
    let health = state
        .health
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let synced = state
        .last_sync
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let sources = state
        .sources
        .iter()
        .map(|s| SourceEntry {
            name: s.name.clone(),
            provider: s.provider.clone(),
            capabilities: SourceCapabilities::of(s.source.as_ref()),
            last_sync: synced.get(&s.name).cloned(),
            health: health.get(&s.name).cloned().unwrap_or(Health {
                status: "unknown",
                checked_at: None,
                error: None,
            }),
        })
        .collect();
    SourceList {
        store: matches!(state.backend, Backend::Store { .. }),
        sources,
    }
}

/// Liveness: answers while the server runs (no API key needed).
#[utoipa::path(
    get,
    path = "/healthz",
    responses((status = 200, description = "`{\"status\": \"ok\"}`")),
    security(()),
    tag = "operations"
)]
pub(crate) async fn healthz() -> Response {
    json(&br#"{"status":"ok"}"#[..])
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, description = "Prometheus text", content_type = "text/plain"),
        (status = 401, description = "No valid API key", body = ErrorBody),
    ),
    tag = "operations"
)]
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"),
        (status = 401, description = "No valid API key", body = ErrorBody),
    ),
    tag = "operations"
)]
pub(crate) async fn openapi() -> Result<Response, ApiError> {
    use utoipa::OpenApi;
    to_json(&super::openapi::ApiDoc::openapi())
}

/// Any other path.
pub(crate) async fn fallback() -> ApiError {
    ApiError::not_found("no such route (see /openapi.json)")
}

/// A known path with a method other than GET.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::from_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
}
