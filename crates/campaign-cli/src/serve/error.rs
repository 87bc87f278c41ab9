//! The API's one error shape, `{"error": {"kind", "message", "param"}}`,
//! and the mapping of every failure (ours, axum's, tower's) onto it.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for a program (`kind`, `param`) and a person (`message`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of `bad_parameter`, `invalid_cursor`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `no_store`, `request_too_large`, `timeout`,
    /// `unavailable`, `internal`.
    pub kind: Cow<'static, str>,
    /// What is wrong, in one line: never a secret, never a panic's text.
    pub message: String,
    /// The query parameter at fault, when one is.
    pub param: Option<Cow<'static, str>>,
}

/// An error answer: its status and body. Cheap to clone, so one shared
/// provider walk can hand the same failure to every request waiting on it.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail {
                kind: Cow::Borrowed(kind),
                message: message.into(),
                param: None,
            },
        }
    }

    /// 400: the query parameter `param` has a value the API does not take.
    pub fn bad_parameter(param: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "bad_parameter", message);
        error.detail.param = Some(param.into());
        error
    }

    /// 400: the cursor is not one this server handed out for this query.
    pub fn invalid_cursor(message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_cursor", message);
        error.detail.param = Some(Cow::Borrowed("cursor"));
        error
    }

    /// 401: API keys are configured and the request has no valid one.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API key as `Authorization: Bearer KEY`",
        )
    }

    /// 404: nothing here.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the route needs a store and the server has none.
    pub fn no_store(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "no_store", message)
    }

    /// 503: no source could be read.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: a fault of the server; the message says nothing more.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; see its log",
        )
    }

    /// The query parameter at fault, when one is.
    pub fn param(&self) -> Option<&str> {
        self.detail.param.as_deref()
    }

    /// What is wrong, in one line.
    pub fn message(&self) -> &str {
        &self.detail.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error's kind (`bad_parameter`, ...).
    pub fn kind(&self) -> &str {
        &self.detail.kind
    }

    /// The error answer a bare status from a layer or from axum stands for
    /// (a 405, a 413, a 408 ...), so every error has the same shape.
    pub fn from_status(status: StatusCode) -> Self {
        let (kind, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route answers GET only"),
            StatusCode::PAYLOAD_TOO_LARGE => ("request_too_large", "the request body is too large"),
            StatusCode::URI_TOO_LONG => ("request_too_large", "the request URI is too long"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                ("request_too_large", "the request headers are too large")
            }
            StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
            StatusCode::UNAUTHORIZED => return Self::unauthorized(),
            s if s.is_server_error() => return Self::internal(),
            _ => ("bad_request", "the request could not be read"),
        };
        Self::new(status, kind, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.detail.kind,
            self.detail.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = ErrorBody { error: self.detail };
        // Serializing strings cannot fail; the fallback keeps the shape anyway.
        let text = serde_json::to_vec(&body).unwrap_or_else(|_| {
            br#"{"error":{"kind":"internal","message":"","param":null}}"#.to_vec()
        });
        let mut response = (status, text).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer to a panic in a handler: a plain 500, without the panic's text.
pub(crate) fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// The answer to an error of the tower layers (timeout, overload).
pub(crate) async fn layer_error(error: tower::BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; try a smaller page",
        )
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests at once; try again",
        )
    } else {
        tracing::error!(%error, "a request failed in a layer");
        ApiError::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_have_one_shape() {
        let response = ApiError::bad_parameter("limit", "must be 1 to 1000").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["error"]["kind"], "bad_parameter");
        assert_eq!(value["error"]["param"], "limit");
        let error = ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error.kind(), "method_not_allowed");
        assert_eq!(
            ApiError::from_status(StatusCode::BAD_GATEWAY).kind(),
            "internal"
        );
    }
}
