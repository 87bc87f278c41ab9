//! The CMS emulator: the campaigns endpoint and the token endpoint.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Response, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use campaign_core::Secret;
use serde::Serialize;

use crate::auth::{random_hex, BearerTokens};
use crate::data::CmsRecord;
use crate::faults::{self, Fault, FaultStage};
use crate::generate::cms_drift_campaign;
use crate::sandbox::{lock, now_millis, Common};
use crate::wire::{to_raw, CmsWire};

/// The CMS campaigns by contact center.
#[derive(Debug, Default)]
pub(crate) struct CmsData {
    pub(crate) centers: BTreeMap<i64, Center>,
}

impl CmsData {
    pub(crate) fn from_records(records: Vec<CmsRecord>, centers: &[i64]) -> Self {
        let mut data = Self::default();
        for &center in centers {
            data.centers.entry(center).or_default();
        }
        for record in records {
            data.centers
                .entry(record.contact_center_id)
                .or_default()
                .push(record);
        }
        for center in data.centers.values_mut() {
            center.body();
        }
        data
    }
}

/// One contact center's campaigns and its response body.
#[derive(Debug, Default)]
pub(crate) struct Center {
    /// Changed only through [`Center::push`], which drops the body.
    records: Vec<CmsRecord>,
    /// Built once per change, not per request: a generated contact center's
    /// body runs to 10 MB, and building it under the data lock made parallel
    /// requests wait for each other.
    body: Option<Bytes>,
}

impl Center {
    /// The response body listing every record, built if a change dropped it.
    fn body(&mut self) -> Bytes {
        let records = &self.records;
        self.body
            .get_or_insert_with(|| {
                let mut body = Vec::with_capacity(
                    2 + records
                        .iter()
                        .map(|r| r.json.get().len() + 1)
                        .sum::<usize>(),
                );
                body.push(b'[');
                for (i, record) in records.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(record.json.get().as_bytes());
                }
                body.push(b']');
                Bytes::from(body)
            })
            .clone()
    }

    fn push(&mut self, record: CmsRecord) {
        self.records.push(record);
        self.body = None;
    }
}

/// Everything the CMS emulator's handlers share. `Debug` leaves out the
/// credentials and the (possibly huge) data.
pub(crate) struct CmsState {
    pub(crate) common: Common,
    pub(crate) data: Mutex<CmsData>,
    pub(crate) tokens: Mutex<BearerTokens>,
    pub(crate) account_sid: String,
    pub(crate) api_key: String,
    pub(crate) api_token: Secret,
}

impl std::fmt::Debug for CmsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmsState")
            .field("common", &self.common)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

pub(crate) fn router(state: Arc<CmsState>) -> Router {
    Router::new()
        .route("/configuration/hierarchyconfig/campaign", get(campaigns))
        .route(
            "/v2/accounts/{account_sid}/configuration/basicauth",
            post(issue_token),
        )
        .with_state(state)
}

/// The CMS error body, fields in the documented order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CmsError<'a> {
    status_code: u16,
    status: &'a str,
    error_code: &'a str,
    error_message: &'a str,
}

/// A CMS error response. Only `CONF-1001` (404) is a documented code; the
/// others are the sandbox's own `SANDBOX-<status>`.
pub(crate) fn cms_error(status: u16, message: &str) -> Response<Body> {
    let code = faults::status_code(status);
    let error_code = if status == 404 {
        "CONF-1001".to_owned()
    } else {
        format!("SANDBOX-{}", code.as_u16())
    };
    let body = CmsError {
        status_code: code.as_u16(),
        status: code.canonical_reason().unwrap_or("Error"),
        error_code: &error_code,
        error_message: message,
    };
    faults::json(code, serde_json::to_string(&body).unwrap_or_default())
}

async fn campaigns(
    State(state): State<Arc<CmsState>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    let fault = lock(&state.common.faults).take_response_fault();
    if let Some(fault) = fault.as_ref().filter(|f| f.stage() == FaultStage::Early) {
        return early_fault(&state, fault, &uri);
    }
    let response = list(&state, query.as_deref(), &headers);
    match fault {
        Some(fault) => faults::bend_body(&fault, response, rewrite).await,
        None => response,
    }
}

fn early_fault(state: &CmsState, fault: &Fault, uri: &Uri) -> Response<Body> {
    match fault {
        Fault::Status(status) => cms_error(*status, "Injected failure"),
        Fault::RateLimited(retry_after) => faults::with_retry_after(
            cms_error(429, "Too many requests"),
            retry_after.header_value(),
        ),
        Fault::RateLimitedWithStatus(status) => {
            cms_error(faults::final_status(*status), "Too many requests")
        }
        // The CMS has no reset header: a 429 without `Retry-After`.
        Fault::RateLimitedResetHeader(_) => cms_error(429, "Too many requests"),
        Fault::HtmlError => faults::html_error(502),
        Fault::DropConnection => faults::drop_connection("[{\"campaignContextId\":1,"),
        Fault::Oversized(bytes) => {
            let record = to_raw(&CmsWire {
                campaign_context_id: 1,
                campaign_context_name: "Oversized Campaign".to_owned(),
                campaign_context_type: "Interaction Campaign".to_owned(),
                contact_center_id: 1,
                process_id: 1,
                description: Some("x".repeat(200)),
                date_added: None,
                date_modified: None,
                reference: Some(0),
                version: Some(0),
            });
            faults::oversized("[", record.get().to_owned(), |_| "]".to_owned(), *bytes)
        }
        Fault::RedirectOtherHost => faults::redirect(
            &state.common.other_host,
            uri.path_and_query().map_or("/", |pq| pq.as_str()),
        ),
        _ => cms_error(500, "unexpected fault"),
    }
}

/// CMS flavours of the JSON-editing body faults.
fn rewrite(fault: &Fault, value: &mut serde_json::Value) {
    match fault {
        Fault::WrongFieldType => wrong_type(value),
        Fault::BadOptionalField => bad_optional_field(value),
        _ => {}
    }
}

/// CMS flavour of [`Fault::BadOptionalField`]; an error body is an object,
/// not an array, and stays as it is.
fn bad_optional_field(value: &mut serde_json::Value) {
    let first = value
        .as_array_mut()
        .and_then(|records| records.first_mut())
        .and_then(serde_json::Value::as_object_mut);
    if let Some(first) = first {
        first.insert("processId".to_owned(), serde_json::Value::from("x"));
    }
}

/// CMS flavour of [`Fault::WrongFieldType`].
fn wrong_type(value: &mut serde_json::Value) {
    match value.as_array_mut().and_then(|a| a.first_mut()) {
        Some(first) => first["campaignContextId"] = serde_json::Value::from("x"),
        None => *value = serde_json::json!({ "campaigns": [] }),
    }
}

fn bearer_ok(state: &CmsState, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && lock(&state.tokens).accepts(token.trim())
}

fn list(state: &CmsState, query: Option<&str>, headers: &HeaderMap) -> Response<Body> {
    if !bearer_ok(state, headers) {
        return cms_error(401, "Missing or invalid token");
    }
    let raw_id = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "contactCenterId")
        .map(|(_, value)| value.into_owned());
    let Some(raw_id) = raw_id else {
        return cms_error(400, "contactCenterId is required");
    };
    let Ok(center) = raw_id.trim().parse::<i64>() else {
        return cms_error(400, "contactCenterId must be an integer");
    };
    let drift = lock(&state.common.faults).take_data_faults().drift;
    let mut data = lock(&state.data);
    let Some(body) = data.centers.get_mut(&center).map(Center::body) else {
        return cms_error(404, "Object doesn't exist");
    };
    if drift {
        let next_id = data
            .centers
            .values()
            .flat_map(|c| &c.records)
            .filter_map(|r| r.campaign_context_id)
            .max()
            .unwrap_or(0)
            + 1;
        data.centers
            .entry(center)
            .or_default()
            .push(cms_drift_campaign(center, next_id, now_millis()));
    }
    faults::json(StatusCode::OK, body)
}

/// The token endpoint's envelope.
fn token_envelope(http_code: u16, response: serde_json::Value) -> Response<Body> {
    let body = serde_json::json!({
        "request_id": random_hex(32),
        "method": "POST",
        "http_code": http_code,
        "response": response,
    });
    faults::json(faults::status_code(http_code), body.to_string())
}

fn token_error(http_code: u16, message: &str) -> Response<Body> {
    token_envelope(
        http_code,
        serde_json::json!({
            "code": http_code,
            "status": "failure",
            "error_data": {"code": http_code, "message": message, "description": message},
            "data": null,
        }),
    )
}

fn basic_ok(state: &CmsState, headers: &HeaderMap) -> bool {
    let Some((scheme, encoded)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
    else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    decoded
        .split_once(':')
        .is_some_and(|(key, token)| key == state.api_key && token == state.api_token.expose())
}

async fn issue_token(
    State(state): State<Arc<CmsState>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    if !basic_ok(&state, &headers) {
        return token_error(401, "Authentication failed");
    }
    if account_sid != state.account_sid {
        return token_error(403, "Account is not enabled for this API");
    }
    let mut tokens = lock(&state.tokens);
    let access_token = tokens.issue();
    token_envelope(
        200,
        serde_json::json!({
            "code": 200,
            "status": "success",
            "data": {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": tokens.lifetime().as_secs(),
            },
        }),
    )
}
