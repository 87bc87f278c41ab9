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
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::auth::KoreTokens;
use crate::faults::{self, Fault, FaultStage};
use crate::generate::kore_drift_campaign;
use crate::kore_store::{KoreStore, KoreType, Selection, SortKey};
use crate::sandbox::{lock, now_millis, Common};

/// The documented rate-limit message.
pub(crate) const RATE_LIMIT_MESSAGE: &str =
    "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";
/// `limit` when the request leaves it out (before clamping to the maximum).
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// Allowed `filters.status` values.
const STATUSES: [&str; 8] = [
    "Active",
    "Completed",
    "Ready",
    "Paused",
    "Preparing",
    "Stopped",
    "Scheduled",
    "Rescheduled",
];
/// Allowed `filters.dialingMode` values.
const DIALING_MODES: [&str; 2] = ["Progressive", "Preview"];

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
        Some(fault) => faults::bend_body(&fault, response, wrong_type).await,
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
    serve_page(state, &request)
}

/// A validated listing request.
#[derive(Debug)]
pub(crate) struct ListRequest {
    pub(crate) selection: Selection,
    pub(crate) skip: Option<usize>,
    pub(crate) page: Option<usize>,
    pub(crate) limit: Option<usize>,
}

/// A JSON object with its keys in document order (for `sortBy`, whose key
/// order is the sort order).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

#[derive(Deserialize)]
struct SortOnly {
    #[serde(rename = "sortBy")]
    sort_by: Option<OrderedObject>,
}

/// `skip`/`page`/`limit`: a non-negative integer, an empty string, null or absent.
fn count(body: &Map<String, Value>, key: &str) -> Result<Option<usize>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{key} must be a non-negative integer")),
        Some(_) => Err(format!("{key} must be a number or an empty string")),
    }
}

/// Checks `startDate`/`endDate`: an ISO 8601 string, an empty string, null or absent.
fn check_date(body: &Map<String, Value>, key: &str) -> Result<(), String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(text)) if text.is_empty() => Ok(()),
        Some(Value::String(text)) => crate::wire::parse_millis(text)
            .map(|_| ())
            .ok_or_else(|| format!("{key} must be an ISO 8601 timestamp")),
        Some(_) => Err(format!("{key} must be an ISO 8601 timestamp string")),
    }
}

fn string_list(value: &Value, key: &str, allowed: &[&str]) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(format!("filters.{key} must be an array")),
    };
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(text) if allowed.contains(&text) => Ok(text.to_owned()),
            _ => Err(format!(
                "filters.{key} values must be one of {}",
                allowed.join(", ")
            )),
        })
        .collect()
}

fn priorities(value: &Value) -> Result<Vec<u8>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err("filters.priority must be an array".to_owned()),
    };
    items
        .iter()
        .map(|item| {
            // Numbers per the spec; numeric strings too, as responses spell priority that way.
            let n = match item {
                Value::Number(n) => n.as_u64(),
                Value::String(text) => text.parse().ok(),
                _ => None,
            };
            n.and_then(|n| u8::try_from(n).ok())
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| "filters.priority values must be 1, 2, 3, 4 or 5".to_owned())
        })
        .collect()
}

impl ListRequest {
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, String> {
        let body: Map<String, Value> =
            serde_json::from_slice(raw).map_err(|_| "body must be a JSON object".to_owned())?;
        let kind = match body.get("type").and_then(Value::as_str) {
            Some("voice") => KoreType::Voice,
            Some("sms") => KoreType::Sms,
            Some(_) => return Err("type must be \"voice\" or \"sms\"".to_owned()),
            None => return Err("type is required".to_owned()),
        };
        let skip = count(&body, "skip")?;
        let page = count(&body, "page")?;
        let limit = count(&body, "limit")?;
        if page == Some(0) {
            return Err("page must be at least 1".to_owned());
        }
        if limit == Some(0) {
            return Err("limit must be at least 1".to_owned());
        }
        // Validated but not applied: the spec says neither which timestamp the
        // window bounds nor whether it filters at all, and its own voice sample
        // (window Dec 1 to Dec 4) answers with campaigns created Dec 4 to Dec 8.
        check_date(&body, "startDate")?;
        check_date(&body, "endDate")?;
        let sort = match body.get("sortBy") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(_)) => {
                let sort_only: SortOnly = serde_json::from_slice(raw)
                    .map_err(|_| "sortBy must be an object".to_owned())?;
                let mut keys = Vec::new();
                for (name, direction) in sort_only.sort_by.map(|o| o.0).unwrap_or_default() {
                    let key = match name.as_str() {
                        "name" => SortKey::Name,
                        "createdAt" => SortKey::CreatedAt,
                        "updatedAt" => SortKey::UpdatedAt,
                        _ => {
                            return Err(
                                "sortBy keys must be name, createdAt or updatedAt".to_owned()
                            )
                        }
                    };
                    let descending = match direction.as_str() {
                        Some("asc") => false,
                        Some("desc") => true,
                        _ => return Err(format!("sortBy.{name} must be \"asc\" or \"desc\"")),
                    };
                    keys.push((key, descending));
                }
                keys
            }
            Some(_) => return Err("sortBy must be an object".to_owned()),
        };
        let sort = if sort.is_empty() {
            vec![(SortKey::CreatedAt, true)]
        } else {
            sort
        };
        let (mut statuses, mut priority_filter, mut dialing_modes) =
            (Vec::new(), Vec::new(), Vec::new());
        match body.get("filters") {
            None | Some(Value::Null) => {}
            Some(Value::Object(filters)) => {
                for (key, value) in filters {
                    match key.as_str() {
                        "status" => statuses = string_list(value, "status", &STATUSES)?,
                        "priority" => priority_filter = priorities(value)?,
                        "dialingMode" => {
                            dialing_modes = string_list(value, "dialingMode", &DIALING_MODES)?;
                        }
                        _ => {
                            return Err(
                                "filters keys must be status, priority or dialingMode".to_owned()
                            )
                        }
                    }
                }
            }
            Some(_) => return Err("filters must be an object".to_owned()),
        }
        if kind == KoreType::Sms {
            // Documented as applying only to voice campaigns: ignored for SMS.
            dialing_modes.clear();
        }
        Ok(Self {
            selection: Selection {
                kind,
                statuses,
                priorities: priority_filter,
                dialing_modes,
                sort,
            },
            skip,
            page,
            limit,
        })
    }
}

fn serve_page(state: &KoreState, request: &ListRequest) -> Response<Body> {
    let data_faults = lock(&state.common.faults).take_data_faults();
    let limit = request
        .limit
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, state.max_page_size.max(1));
    let from_page = request
        .page
        .map_or(0, |page| (page - 1).saturating_mul(limit));
    let offset = request.skip.unwrap_or(0).max(from_page);
    let mut store = lock(&state.store);
    let positions = store.select(&request.selection);
    let total = positions.len();
    let start = if data_faults.ignore_skip {
        0
    } else {
        offset.min(total)
    };
    let end = start.saturating_add(limit).min(total);
    let records = store.collection(request.selection.kind);
    let mut body = String::with_capacity(LIST_PREFIX.len() + 128 + (end - start) * 700);
    body.push_str(LIST_PREFIX);
    for (i, &position) in positions[start..end].iter().enumerate() {
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
    fn parses_the_spec_samples_and_keeps_sort_key_order() {
        let voice = ListRequest::parse(crate::samples::KORE_VOICE_REQUEST.as_bytes()).unwrap();
        assert_eq!(voice.selection.kind, KoreType::Voice);
        assert_eq!(voice.selection.priorities, vec![5]);
        assert_eq!(
            voice.selection.dialing_modes,
            vec!["Progressive", "Preview"]
        );
        assert_eq!(
            (voice.skip, voice.page, voice.limit),
            (Some(0), Some(1), Some(50))
        );
        let sms = ListRequest::parse(crate::samples::KORE_SMS_REQUEST.as_bytes()).unwrap();
        assert_eq!(sms.selection.kind, KoreType::Sms);
        let ordered = ListRequest::parse(
            br#"{"type":"sms","sortBy":{"updatedAt":"asc","name":"desc"},"skip":""}"#,
        )
        .unwrap();
        assert_eq!(
            ordered.selection.sort,
            vec![(SortKey::UpdatedAt, false), (SortKey::Name, true)]
        );
        assert_eq!(ordered.skip, None);
    }

    #[test]
    fn rejects_what_the_spec_does_not_allow() {
        for body in [
            r#"{}"#,
            r#"[]"#,
            r#"{"type":"chat"}"#,
            r#"{"type":"voice","skip":"1"}"#,
            r#"{"type":"voice","limit":-1}"#,
            r#"{"type":"voice","limit":0}"#,
            r#"{"type":"voice","page":0}"#,
            r#"{"type":"voice","startDate":"yesterday"}"#,
            r#"{"type":"voice","sortBy":{"priority":"asc"}}"#,
            r#"{"type":"voice","sortBy":{"name":"up"}}"#,
            r#"{"type":"voice","filters":{"status":["Running"]}}"#,
            r#"{"type":"voice","filters":{"priority":[6]}}"#,
            r#"{"type":"voice","filters":{"dialingMode":["Agentless"]}}"#,
            r#"{"type":"voice","filters":{"channel":["x"]}}"#,
        ] {
            assert!(ListRequest::parse(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn rate_window_refuses_beyond_the_limit() {
        let mut window = RateWindow::new(2);
        assert!(window.admit().is_ok() && window.admit().is_ok());
        assert!(window.admit().is_err());
    }
}
