//! The Genesys Cloud emulator: `GET /api/v2/outbound/campaigns` and the
//! login host's `POST /oauth/token`, per `genesys-outbound-campaigns.md`
//! (section numbers below are that spec's).

mod data;
mod generate;
mod query;
mod regex;
mod store;
mod token;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Response, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use campaign_core::Secret;
use serde_json::Value;

use crate::auth::BearerTokens;
use crate::faults::{self, DataFaults, Fault, FaultStage};
use crate::sandbox::{lock, now_millis, Common};

pub(crate) use data::{genesys_from_campaign, genesys_sample};
pub(crate) use generate::genesys_campaigns;
pub use query::OutOfRangePaging;
pub(crate) use query::QueryOptions;
pub(crate) use store::{unsort, GenesysStore};
pub(crate) use token::RateWindows;

use query::ListQuery;
use token::RateState;
use wire::{ErrorBody, Limit};

/// The documented default per-token limit (§5.3), reported by rate-limit
/// faults when the sandbox's own limit is off.
const DOCUMENTED_RATE_LIMIT: u32 = 300;
/// The limit key of client-credentials tokens (§5.3).
const RATE_LIMIT_KEY: &str = "client.credentials.token.rate.per.minute";
/// The permission the endpoint needs (§1.3).
const VIEW_PERMISSION: &str = "outbound:campaign:view";

/// Everything the Genesys emulator's handlers share. `Debug` leaves out the
/// credentials and the data.
pub(crate) struct GenesysState {
    pub(crate) common: Common,
    pub(crate) store: Mutex<GenesysStore>,
    pub(crate) tokens: Mutex<BearerTokens>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) options: QueryOptions,
    pub(crate) rate_limit: Option<Mutex<RateWindows>>,
    pub(crate) drift_serial: AtomicU64,
}

impl fmt::Debug for GenesysState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysState")
            .field("common", &self.common)
            .field("tokens", &self.tokens)
            .field("options", &self.options)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

impl GenesysState {
    /// Revokes every token and forgets their rate windows.
    pub(crate) fn expire_tokens(&self) {
        lock(&self.tokens).expire_all();
        if let Some(windows) = &self.rate_limit {
            lock(windows).clear();
        }
    }
}

pub(crate) fn router(state: Arc<GenesysState>) -> Router {
    Router::new()
        .route("/api/v2/outbound/campaigns", get(campaigns))
        .route("/oauth/token", post(token::issue_token))
        .fallback(not_found)
        .with_state(state)
}

/// A fresh correlation id (`ININ-Correlation-Id`, the errors' `contextId`).
fn correlation_id() -> String {
    let mut rng = rand::thread_rng();
    data::uuid_from(rand::Rng::gen(&mut rng), rand::Rng::gen(&mut rng))
}

fn set_header(response: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// An `ErrorBody` response (§5.1) whose `contextId` is `correlation`.
fn error_response(mut body: ErrorBody, correlation: &str) -> Response<Body> {
    body.context_id = correlation.to_owned();
    faults::json(
        faults::status_code(body.status),
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

/// The documented `code` for a status (§5.2); the sandbox's own
/// `sandbox.status.N` where the spec lists none.
fn code_for(status: u16) -> String {
    match status {
        400 => "bad.request",
        401 => "bad.credentials",
        403 => "missing.any.permissions",
        404 => "not.found",
        408 => "client.timeout",
        413 => "request.entity.too.large",
        415 => "unsupported.media.type",
        429 => "too.many.requests",
        500 => "internal.server.error",
        503 => "service.unavailable",
        504 => "request.timeout",
        other => return format!("sandbox.status.{other}"),
    }
    .to_owned()
}

/// The 429 body (§5.2, §5.3); `status` is the HTTP status it goes with.
fn rate_limit_body(status: u16, allowed: u32) -> ErrorBody {
    let mut body = ErrorBody::with_params(
        status,
        "too.many.requests",
        "Rate limit exceeded the maximum [{limit}] requests within [{window}] seconds",
        &[("limit", allowed.to_string()), ("window", "60".to_owned())],
    );
    body.limit = Some(Limit {
        key: RATE_LIMIT_KEY.to_owned(),
        namespace: "platform.api".to_owned(),
        value: u64::from(allowed),
    });
    body
}

fn add_rate_headers(response: &mut Response<Body>, rate: &RateState) {
    set_header(response, "inin-ratelimit-count", &rate.count.to_string());
    set_header(
        response,
        "inin-ratelimit-allowed",
        &rate.allowed.to_string(),
    );
    set_header(response, "inin-ratelimit-reset", &rate.reset.to_string());
}

async fn not_found(uri: Uri) -> Response<Body> {
    let correlation = correlation_id();
    let message = format!("The requested resource {} was not found.", uri.path());
    let mut response = error_response(ErrorBody::plain(404, "not.found", &message), &correlation);
    set_header(&mut response, "inin-correlation-id", &correlation);
    response
}

async fn campaigns(
    State(state): State<Arc<GenesysState>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    let correlation = correlation_id();
    let fault = lock(&state.common.faults).take_response_fault();
    let mut response = match fault {
        Some(ref early) if early.stage() == FaultStage::Early => {
            early_fault(&state, early, &uri, &correlation)
        }
        Some(Fault::OmitEmptyArrays) => {
            let response = list(&state, query.as_deref(), &headers, &correlation);
            faults::edit_json(response, omit_empty_arrays).await
        }
        Some(body_fault) => {
            let response = list(&state, query.as_deref(), &headers, &correlation);
            faults::bend_body(&body_fault, response, rewrite).await
        }
        None => list(&state, query.as_deref(), &headers, &correlation),
    };
    set_header(&mut response, "inin-correlation-id", &correlation);
    response
}

/// Drops every empty array, wherever it is ([`Fault::OmitEmptyArrays`]).
fn omit_empty_arrays(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !matches!(v, Value::Array(items) if items.is_empty()));
            map.values_mut().for_each(omit_empty_arrays);
        }
        Value::Array(items) => items.iter_mut().for_each(omit_empty_arrays),
        _ => {}
    }
}

/// A record's JSON without its `division`, as a server from before the
/// field was added (§4) serves it.
fn without_division(json: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(mut record)) => {
            record.remove("division");
            Value::Object(record).to_string()
        }
        _ => json.to_owned(),
    }
}

/// The start of every listing body.
const LIST_PREFIX: &str = "{\"entities\":[";

fn early_fault(
    state: &GenesysState,
    fault: &Fault,
    uri: &Uri,
    correlation: &str,
) -> Response<Body> {
    let allowed = state
        .rate_limit
        .as_ref()
        .map_or(DOCUMENTED_RATE_LIMIT, |w| lock(w).per_minute);
    match fault {
        Fault::Status(status) => {
            let status = faults::status_code(*status).as_u16();
            let body = ErrorBody::plain(status, &code_for(status), "Injected failure");
            error_response(body, correlation)
        }
        Fault::RateLimited(retry_after) => {
            let value = retry_after.header_value();
            let mut response = faults::with_retry_after(
                error_response(rate_limit_body(429, allowed), correlation),
                value,
            );
            set_header(
                &mut response,
                "inin-ratelimit-allowed",
                &allowed.to_string(),
            );
            set_header(&mut response, "inin-ratelimit-count", &allowed.to_string());
            if let crate::RetryAfter::Seconds(secs) = retry_after {
                set_header(&mut response, "inin-ratelimit-reset", &secs.to_string());
            }
            response
        }
        Fault::RateLimitedResetHeader(secs) => {
            let mut response = error_response(rate_limit_body(429, allowed), correlation);
            set_header(
                &mut response,
                "inin-ratelimit-allowed",
                &allowed.to_string(),
            );
            set_header(&mut response, "inin-ratelimit-count", &allowed.to_string());
            set_header(&mut response, "inin-ratelimit-reset", &secs.to_string());
            response
        }
        Fault::RateLimitedWithStatus(status) => {
            let status = faults::final_status(*status);
            error_response(rate_limit_body(status, allowed), correlation)
        }
        Fault::HtmlError => faults::html_error(502),
        Fault::DropConnection => faults::drop_connection("{\"entities\":[{\"id\":"),
        Fault::Oversized(bytes) => {
            let record = serde_json::json!({
                "id": "00000000-0000-4000-8000-000000000000",
                "name": "Oversized Campaign",
                "version": 1,
                "dialingMode": "preview",
                "campaignStatus": "off",
                "callerName": "x".repeat(200),
                "callerAddress": "+13175550100",
                "selfUri": "/api/v2/outbound/campaigns/00000000-0000-4000-8000-000000000000",
            })
            .to_string();
            let suffix = |count| {
                format!(
                    "],\"pageSize\":{count},\"pageNumber\":1,\"total\":{count},\"pageCount\":1}}"
                )
            };
            faults::oversized(LIST_PREFIX, record, suffix, *bytes)
        }
        Fault::RedirectOtherHost => faults::redirect(
            &state.common.other_host,
            uri.path_and_query().map_or("/", |pq| pq.as_str()),
        ),
        _ => error_response(
            ErrorBody::plain(500, "internal.server.error", "unexpected fault"),
            correlation,
        ),
    }
}

/// Genesys flavours of the JSON-editing body faults.
fn rewrite(fault: &Fault, value: &mut Value) {
    let first = value
        .get_mut("entities")
        .and_then(Value::as_array_mut)
        .and_then(|entities| entities.first_mut())
        .and_then(Value::as_object_mut);
    match (fault, first) {
        (Fault::WrongFieldType, Some(first)) => {
            first.insert("name".to_owned(), Value::from(7));
        }
        (Fault::WrongFieldType, None) => {
            // Only a listing (not an error body) has `total`.
            if let Some(total) = value.get_mut("total") {
                *total = Value::from(total.to_string());
            }
        }
        (Fault::BadOptionalField, Some(first)) => {
            first.insert("contactList".to_owned(), Value::from(7));
        }
        _ => {}
    }
}

/// The bearer token of `Authorization: Bearer …`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks in order: bearer token (401), rate limit (429), permission (403),
/// query (400); then serves the page. Past the rate limit every response
/// carries the `inin-ratelimit-*` headers.
fn list(
    state: &GenesysState,
    query: Option<&str>,
    headers: &HeaderMap,
    correlation: &str,
) -> Response<Body> {
    let Some(token) = bearer(headers) else {
        let body = ErrorBody::plain(
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        );
        return error_response(body, correlation);
    };
    if !lock(&state.tokens).accepts(token) {
        let body = ErrorBody::plain(401, "bad.credentials", "Invalid login credentials.");
        return error_response(body, correlation);
    }
    let rate = state.rate_limit.as_ref().map(|w| lock(w).admit(token));
    let mut response = match rate {
        Some(rate) if !rate.admitted => {
            let response = error_response(rate_limit_body(429, rate.allowed), correlation);
            faults::with_retry_after(response, Some(rate.reset.to_string()))
        }
        _ => authorized(state, query, correlation),
    };
    if let Some(rate) = &rate {
        add_rate_headers(&mut response, rate);
    }
    response
}

fn authorized(state: &GenesysState, query: Option<&str>, correlation: &str) -> Response<Body> {
    if !lock(&state.store).may_view() {
        let body = ErrorBody::with_params(
            403,
            "missing.any.permissions",
            "Unable to perform the requested action. You must have at least one of the following permissions assigned: {permissions}",
            &[("permissions", format!("[{VIEW_PERMISSION}]"))],
        );
        return error_response(body, correlation);
    }
    let query = match ListQuery::parse(query, state.options) {
        Ok(query) => query,
        Err(body) => return error_response(*body, correlation),
    };
    let data_faults = lock(&state.common.faults).take_data_faults();
    serve_page(state, &query, data_faults)
}

/// Appends `,"key":"value"` with the value JSON-escaped.
fn push_link(body: &mut String, key: &str, value: &str) {
    body.push_str(&format!(
        ",\"{key}\":{}",
        serde_json::to_string(value).unwrap_or_default()
    ));
}

fn serve_page(state: &GenesysState, query: &ListQuery, data_faults: DataFaults) -> Response<Body> {
    let mut selection = query.selection.clone();
    if data_faults.sort_ignored {
        // Reset so every ignored sort shares one cache entry.
        selection.sort = query::SortKey::Name;
        selection.descending = false;
        selection.storage_order = true;
    } else {
        selection.ties_descending = data_faults.ties_reversed;
    }
    let (size, page) = (query.page_size, query.page_number);
    let mut store = lock(&state.store);
    let positions = store.select(&selection);
    let total = positions.len() as u64;
    let served_page = if data_faults.ignore_skip { 1 } else { page };
    let start = usize::try_from((served_page - 1).saturating_mul(size))
        .unwrap_or(usize::MAX)
        .min(positions.len());
    let end = start
        .saturating_add(usize::try_from(size).unwrap_or(usize::MAX))
        .min(positions.len());
    let records = store.records();
    let mut body = String::with_capacity(512 + (end - start) * 2000);
    body.push_str(LIST_PREFIX);
    for (i, &position) in positions[start..end].iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let json = records[position as usize].json.get();
        if state.options.division_omitted {
            body.push_str(&without_division(json));
        } else {
            body.push_str(json);
        }
    }
    let reported_total = if data_faults.wrong_total {
        total + 10
    } else {
        total
    };
    let page_count = reported_total.div_ceil(size);
    body.push_str(&format!(
        "],\"pageSize\":{size},\"pageNumber\":{page},\"total\":{reported_total}"
    ));
    push_link(&mut body, "firstUri", &query.link(1));
    push_link(&mut body, "selfUri", &query.link(page));
    // Truthful even when `total` is not: there is a next page only if
    // records remain (unless the fault says always).
    if page < total.div_ceil(size) || data_faults.next_uri_forever {
        push_link(&mut body, "nextUri", &query.link(page + 1));
    }
    if page > 1 {
        push_link(&mut body, "previousUri", &query.link(page - 1));
    }
    // An empty result has no pages; its last link still points at page 1.
    push_link(&mut body, "lastUri", &query.link(page_count.max(1)));
    body.push_str(&format!(",\"pageCount\":{page_count}}}"));
    if data_faults.drift {
        let template = positions
            .first()
            .map(|&p| &records[p as usize])
            .or_else(|| records.first());
        let newest = store.newest_created_ms().map_or(0, |ms| ms + 1000);
        let serial = state.drift_serial.fetch_add(1, Ordering::Relaxed);
        let drift = generate::drift_campaign(template, serial, newest.max(now_millis()));
        store.add(drift);
    }
    faults::json(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_spec_table() {
        assert_eq!(code_for(429), "too.many.requests");
        assert_eq!(code_for(503), "service.unavailable");
        assert_eq!(code_for(418), "sandbox.status.418");
        let body = rate_limit_body(429, 300);
        assert_eq!(body.limit.as_ref().map(|l| l.value), Some(300));
        assert!(body.message.contains("[300]"));
    }

    #[test]
    fn empty_arrays_go_everywhere() {
        let mut value = serde_json::json!({"entities": [], "a": {"b": [], "c": [1, {"d": []}]}});
        omit_empty_arrays(&mut value);
        assert_eq!(value, serde_json::json!({"a": {"c": [1, {}]}}));
    }

    #[test]
    fn a_record_loses_only_its_division() {
        let record = r#"{"id":"c","division":{"id":"d"},"name":"N"}"#;
        let value: Value = serde_json::from_str(&without_division(record)).unwrap();
        assert_eq!(value, serde_json::json!({"id": "c", "name": "N"}));
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
