//! The Kore.ai emulator: `getAllCampaignDetails`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Response, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::Value;

use crate::auth::KoreTokens;
use crate::faults::{self, DataFaults, Fault, FaultStage};
use crate::generate::kore_drift_campaign;
use crate::kore_request::ListRequest;
use crate::kore_store::KoreStore;
use crate::sandbox::{lock, now_millis, Common};

/// Kore's documented rate-limit message, the `message` of its 429 answers
/// and of [`Fault::RateLimitedWithStatus`].
pub const RATE_LIMIT_MESSAGE: &str =
    "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";
/// [`Fault::SortNameRequired`]'s message, the spec's `sortBy.name` rule.
const SORT_NAME_REQUIRED_MESSAGE: &str = "sortBy.name must be included if any sort field is used";
/// `limit` when the request leaves it out (before clamping to the maximum).
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// A fixed one-minute window of requests, for the optional rate limit.
#[derive(Debug)]
pub(crate) struct RateWindow {
    pub(crate) per_minute: u32,
    started: Instant,
    count: u32,
}

impl RateWindow {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            started: Instant::now(),
            count: 0,
        }
    }

    /// Counts a request; `Err(seconds until the window resets)` beyond the limit.
    fn admit(&mut self) -> Result<(), u64> {
        let elapsed = self.started.elapsed();
        if elapsed >= Duration::from_secs(60) {
            self.started = Instant::now();
            self.count = 0;
        }
        if self.count >= self.per_minute {
            return Err(60u64.saturating_sub(elapsed.as_secs()).max(1));
        }
        self.count += 1;
        Ok(())
    }
}

/// Everything the Kore emulator's handlers share.
pub(crate) struct KoreState {
    pub(crate) common: Common,
    pub(crate) store: Mutex<KoreStore>,
    pub(crate) tokens: Mutex<KoreTokens>,
    pub(crate) stream_id: String,
    pub(crate) account_id: String,
    pub(crate) max_page_size: usize,
    pub(crate) drift_serial: AtomicU64,
    pub(crate) rate_limit: Option<Mutex<RateWindow>>,
}

impl fmt::Debug for KoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KoreState")
            .field("max_page_size", &self.max_page_size)
            .finish_non_exhaustive()
    }
}

pub(crate) fn router(state: Arc<KoreState>) -> Router {
    Router::new()
        .route(
            "/campaign/api/v2/public/{stream_id}/campaign/getAllCampaignDetails",
            post(campaigns),
        )
        .with_state(state)
}

#[derive(Serialize)]
struct KoreError<'a> {
    status: &'a str,
    message: &'a str,
}

/// Kore's error shape: `{"status":"error","message":...}`.
pub(crate) fn kore_error(status: u16, message: &str) -> Response<Body> {
    let body = KoreError {
        status: "error",
        message,
    };
    faults::json(
        faults::status_code(status),
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

fn rate_limited(retry_after: Option<String>) -> Response<Body> {
    faults::with_retry_after(kore_error(429, RATE_LIMIT_MESSAGE), retry_after)
}

async fn campaigns(
    State(state): State<Arc<KoreState>>,
    Path(stream_id): Path<String>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let fault = lock(&state.common.faults).take_response_fault();
    if let Some(fault) = fault.as_ref().filter(|f| f.stage() == FaultStage::Early) {
        return early_fault(&state, fault, &uri);
    }
    let response = list(&state, &stream_id, query.as_deref(), &headers, &body);
    match fault {
        Some(fault) => faults::bend_body(&fault, response, rewrite).await,
        None => response,
    }
}

/// The start of every listing body; the message keeps the samples' double space.
const LIST_PREFIX: &str =
    "{\"status\":\"success\",\"message\":\"Campaign  retrieved successfully\",\"data\":{\"results\":[";

fn early_fault(state: &KoreState, fault: &Fault, uri: &Uri) -> Response<Body> {
    match fault {
        Fault::Status(status) => kore_error(*status, "Injected failure"),
        Fault::RateLimited(retry_after) => rate_limited(retry_after.header_value()),
        // Kore has no reset header: a 429 without `Retry-After`.
        Fault::RateLimitedResetHeader(_) => rate_limited(None),
        Fault::RateLimitedWithStatus(status) => {
            kore_error(faults::final_status(*status), RATE_LIMIT_MESSAGE)
        }
        Fault::HtmlError => faults::html_error(502),
        Fault::DropConnection => faults::drop_connection(LIST_PREFIX),
        Fault::Oversized(bytes) => {
            let record = serde_json::json!({
                "_id": "cd-oversized",
                "name": "Oversized Campaign",
                "description": "x".repeat(200),
                "priority": "5",
                "status": "Ready",
            })
            .to_string();
            let suffix = |count| {
                format!(
                    "],\"skip\":0,\"limit\":{count},\"hasMore\":false,\"totalPages\":1,\"totalResults\":{count}}}}}"
                )
            };
            faults::oversized(LIST_PREFIX, record, suffix, *bytes)
        }
        Fault::RedirectOtherHost => faults::redirect(
            &state.common.other_host,
            uri.path_and_query().map_or("/", |pq| pq.as_str()),
        ),
        _ => kore_error(500, "unexpected fault"),
    }
}

/// Kore flavours of the JSON-editing body faults.
fn rewrite(fault: &Fault, value: &mut Value) {
    match fault {
        Fault::WrongFieldType => wrong_type(value),
        Fault::BadOptionalField => bad_optional_field(value),
        _ => {}
    }
}

/// Kore flavour of [`Fault::BadOptionalField`]; `get_mut`, unlike indexing,
/// leaves an error body without `data` alone.
fn bad_optional_field(value: &mut Value) {
    let first = value
        .get_mut("data")
        .and_then(|data| data.get_mut("results"))
        .and_then(Value::as_array_mut)
        .and_then(|results| results.first_mut())
        .and_then(Value::as_object_mut);
    if let Some(first) = first {
        first.insert("contactLists".to_owned(), Value::from(7));
    }
}

/// Kore flavour of [`Fault::WrongFieldType`].
fn wrong_type(value: &mut Value) {
    let data = &mut value["data"];
    match data["results"].as_array_mut().and_then(|r| r.first_mut()) {
        Some(first) => first["priority"] = serde_json::json!({ "value": 5 }),
        None => {
            let total = data["totalResults"].to_string();
            data["totalResults"] = Value::from(total);
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn list(
    state: &KoreState,
    stream_id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let Some(token) = header_str(headers, "auth").filter(|t| !t.is_empty()) else {
        return kore_error(401, "Unauthorized: the auth header is missing");
    };
    if lock(&state.tokens).check(token).is_err() {
        return kore_error(401, "Unauthorized: invalid or expired token");
    }
    if let Some(window) = &state.rate_limit {
        if let Err(wait) = lock(window).admit() {
            return rate_limited(Some(wait.to_string()));
        }
    }
    if header_str(headers, "iid") != Some(state.stream_id.as_str()) {
        return kore_error(403, "Forbidden: missing or unknown iid");
    }
    if header_str(headers, "accountid") != Some(state.account_id.as_str()) {
        return kore_error(403, "Forbidden: missing or unknown accountId header");
    }
    let query_account = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "accountId")
        .map(|(_, value)| value.into_owned());
    match query_account {
        None => return kore_error(400, "accountId query parameter is required"),
        Some(account) if account != state.account_id => {
            return kore_error(403, "Forbidden: accountId does not match")
        }
        Some(_) => {}
    }
    if stream_id != state.stream_id {
        return kore_error(403, "Forbidden: unknown streamId");
    }
    let request = match ListRequest::parse(body) {
        Ok(request) => request,
        Err(message) => return kore_error(400, &message),
    };
    let data_faults = lock(&state.common.faults).take_data_faults();
    if data_faults.sort_name_required && request.sort_lacks_name {
        return kore_error(400, SORT_NAME_REQUIRED_MESSAGE);
    }
    serve_page(state, &request, data_faults)
}

fn serve_page(state: &KoreState, request: &ListRequest, data_faults: DataFaults) -> Response<Body> {
    let mut selection = request.selection.clone();
    if data_faults.sort_ignored || data_faults.sorted_per_page {
        // Cleared so every ignored sort shares one cache entry.
        selection.sort.clear();
        selection.storage_order = true;
    } else {
        selection.ties_descending = data_faults.ties_reversed;
    }
    let limit = request
        .limit
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, state.max_page_size.max(1));
    let from_page = request
        .page
        .map_or(0, |page| (page - 1).saturating_mul(limit));
    let offset = request.skip.unwrap_or(0).max(from_page);
    let mut store = lock(&state.store);
    let positions = store.select(&selection);
    let total = positions.len();
    let start = if data_faults.ignore_skip {
        0
    } else {
        offset.min(total)
    };
    let end = start.saturating_add(limit).min(total);
    let records = store.collection(request.selection.kind);
    let mut page = positions[start..end].to_vec();
    if data_faults.sorted_per_page && !data_faults.sort_ignored {
        page.sort_by(|&a, &b| {
            request
                .selection
                .compare(&records[a as usize], &records[b as usize])
        });
    }
    let mut body = String::with_capacity(LIST_PREFIX.len() + 128 + (end - start) * 700);
    body.push_str(LIST_PREFIX);
    for (i, &position) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(records[position as usize].json.get());
    }
    let has_more = offset.saturating_add(limit) < total;
    let reported_total = if data_faults.wrong_total {
        total + 10
    } else {
        total
    };
    let total_pages = reported_total.div_ceil(limit);
    body.push_str(&format!(
        "],\"skip\":{offset},\"limit\":{limit},\"hasMore\":{has_more},\"totalPages\":{total_pages},\"totalResults\":{reported_total}}}}}"
    ));
    if data_faults.drift {
        let kind = request.selection.kind;
        let newest = store.newest_created_ms(kind).map_or(0, |ms| ms + 1000);
        let serial = state.drift_serial.fetch_add(1, Ordering::Relaxed);
        store.add(
            kind,
            [kore_drift_campaign(kind, serial, newest.max(now_millis()))],
        );
    }
    faults::json(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_refuses_beyond_the_limit() {
        let mut window = RateWindow::new(2);
        assert!(window.admit().is_ok() && window.admit().is_ok());
        assert!(window.admit().is_err());
    }
}
