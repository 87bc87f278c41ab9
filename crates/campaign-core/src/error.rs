//! The one error type every source returns.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Credentials missing, wrong or expired (HTTP 401).
    Unauthorized,
    /// Authenticated but not allowed (HTTP 403).
    Forbidden,
    /// The addressed object does not exist (HTTP 404).
    NotFound,
    /// The provider rejected the request (HTTP 400 and other 4xx).
    BadRequest,
    /// Too many requests (HTTP 429); see [`SourceError::retry_after`].
    RateLimited,
    /// The provider failed (HTTP 5xx).
    Server,
    /// No answer in time.
    Timeout,
    /// The connection failed (DNS, TCP, TLS, dropped body, redirect refused).
    Transport,
    /// The response could not be decoded.
    Decode,
    /// The source is misconfigured; nothing was sent.
    Config,
    /// The provider broke its own paging contract (no progress, page cap).
    Protocol,
    /// A cursor or page token that this query did not produce.
    InvalidCursor,
}

impl ErrorKind {
    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
            ErrorKind::Config => "config",
            ErrorKind::Protocol => "protocol",
            ErrorKind::InvalidCursor => "invalid_cursor",
        }
    }

    /// The kind an HTTP error status maps to.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::BadRequest,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Timeout | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Cause = Arc<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    source_id: String,
    partition: Option<String>,
    request: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    message: String,
    retry_after: Option<Duration>,
    cause: Option<Cause>,
}

/// A failure of one source, naming the source, the request and the cause.
///
/// Boxed so `Result<_, SourceError>` stays one pointer wide; `Clone` so an
/// aggregate can both stream a failure and report it on its page.
///
/// Messages must never carry credentials: providers build them from status
/// lines, error bodies and redacted request descriptions only.
#[derive(Clone)]
pub struct SourceError(Box<Inner>);

impl SourceError {
    /// A new error of `kind` from source `source_id`.
    pub fn new(kind: ErrorKind, source_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            source_id: source_id.into(),
            partition: None,
            request: None,
            status: None,
            code: None,
            message: message.into(),
            retry_after: None,
            cause: None,
        }))
    }

    /// A configuration error (nothing was sent).
    pub fn config(source_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, source_id, message)
    }

    /// Describes the request that failed (method and path, no secrets).
    pub fn with_request(mut self, request: impl Into<String>) -> Self {
        self.0.request = Some(request.into());
        self
    }

    /// Names the partition of the source that failed (e.g.
    /// `contact_center=7`, `channel=sms`): the source's other partitions
    /// are not affected by this error.
    pub fn with_partition(mut self, partition: impl Into<String>) -> Self {
        self.0.partition = Some(partition.into());
        self
    }

    /// Records the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Records the provider's error code (e.g. `CONF-1001`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.0.code = Some(code.into());
        self
    }

    /// Records how long the provider asked us to wait.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.0.retry_after = Some(wait);
        self
    }

    /// Attaches the underlying cause, returned by [`std::error::Error::source`].
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.0.cause = Some(Arc::new(cause));
        self
    }

    /// Renames the source (an aggregate re-labels a nested source's errors).
    pub fn with_source_id(mut self, source_id: impl Into<String>) -> Self {
        self.0.source_id = source_id.into();
        self
    }

    /// Appends context to the message.
    pub fn with_context(mut self, context: impl fmt::Display) -> Self {
        let context = context.to_string();
        // "Unauthorized" then "Unauthorized: invalid token" says it once.
        self.0.message = if context.starts_with(self.0.message.as_str()) {
            context
        } else {
            format!("{}; {context}", self.0.message)
        };
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// The source that failed.
    pub fn source_id(&self) -> &str {
        &self.0.source_id
    }
    /// The partition of the source that failed (`contact_center=7`), or
    /// `None` when the failure is not tied to one partition.
    pub fn partition(&self) -> Option<&str> {
        self.0.partition.as_deref()
    }
    /// The request that failed, if one was sent.
    pub fn request(&self) -> Option<&str> {
        self.0.request.as_deref()
    }
    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }
    /// The provider's error code, where it sent one.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// How long the provider asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.kind.is_retryable()
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        write!(f, "source {:?}", e.source_id)?;
        if let Some(partition) = &e.partition {
            write!(f, " ({partition})")?;
        }
        write!(f, ": {}", e.kind)?;
        if let Some(status) = e.status {
            write!(f, " (HTTP {status}")?;
            // A provider code that only repeats the status says nothing more.
            if let Some(code) = e.code.as_ref().filter(|c| **c != status.to_string()) {
                write!(f, ", {code}")?;
            }
            f.write_str(")")?;
        } else if let Some(code) = &e.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", e.message)?;
        if let Some(request) = &e.request {
            write!(f, " [request: {request}]")?;
        }
        // The whole chain: "error sending request" alone hides "connection
        // refused" two causes down. A cause that repeats the one above is skipped.
        let mut cause = StdError::source(self);
        let mut above = String::new();
        while let Some(current) = cause {
            let text = current.to_string();
            if !above.contains(&text) {
                write!(f, ": {text}")?;
            }
            above = text;
            cause = current.source();
        }
        Ok(())
    }
}

impl fmt::Debug for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        let mut d = f.debug_struct("SourceError");
        d.field("kind", &e.kind).field("source_id", &e.source_id);
        if let Some(partition) = &e.partition {
            d.field("partition", partition);
        }
        if let Some(request) = &e.request {
            d.field("request", request);
        }
        if let Some(status) = e.status {
            d.field("status", &status);
        }
        if let Some(code) = &e.code {
            d.field("code", code);
        }
        d.field("message", &e.message);
        if let Some(wait) = e.retry_after {
            d.field("retry_after", &wait);
        }
        if let Some(cause) = &e.cause {
            d.field("cause", &format_args!("{cause}"));
        }
        d.finish()
    }
}

impl StdError for SourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
}

/// `Result` with [`SourceError`].
pub type Result<T, E = SourceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify_and_retryability_follows_kind() {
        let cases = [
            (400, ErrorKind::BadRequest, false),
            (401, ErrorKind::Unauthorized, false),
            (403, ErrorKind::Forbidden, false),
            (404, ErrorKind::NotFound, false),
            (408, ErrorKind::Timeout, true),
            (422, ErrorKind::BadRequest, false),
            (429, ErrorKind::RateLimited, true),
            (500, ErrorKind::Server, true),
            (502, ErrorKind::Server, true),
            (503, ErrorKind::Server, true),
            (504, ErrorKind::Timeout, true),
        ];
        for (status, kind, retryable) in cases {
            assert_eq!(ErrorKind::from_status(status), kind, "{status}");
            let e = SourceError::new(kind, "s", "m").with_status(status);
            assert_eq!(e.is_retryable(), retryable, "{status}");
        }
        assert!(ErrorKind::Transport.is_retryable());
        assert!(!ErrorKind::Decode.is_retryable());
        assert!(!ErrorKind::Config.is_retryable());
    }

    #[test]
    fn display_names_source_status_code_request_and_cause() {
        let cause = std::io::Error::other("connection reset");
        let e = SourceError::new(ErrorKind::NotFound, "cc-main", "Object doesn't exist")
            .with_status(404)
            .with_code("CONF-1001")
            .with_request("GET /configuration/hierarchyconfig/campaign?contactCenterId=9")
            .with_partition("contact_center=9")
            .with_cause(cause);
        let text = e.to_string();
        assert!(
            text.starts_with("source \"cc-main\" (contact_center=9): not_found"),
            "{text}"
        );
        assert_eq!(e.partition(), Some("contact_center=9"));
        assert!(text.contains("HTTP 404, CONF-1001"), "{text}");
        assert!(text.contains("contactCenterId=9"), "{text}");
        assert!(text.contains("connection reset"), "{text}");
        let status_code = SourceError::new(ErrorKind::Unauthorized, "s", "Unauthorized")
            .with_status(401)
            .with_code("401");
        assert!(
            status_code.to_string().contains("(HTTP 401)"),
            "{status_code}"
        );
        let said_twice = SourceError::new(ErrorKind::Unauthorized, "s", "Unauthorized")
            .with_context("Unauthorized: invalid or expired token")
            .with_context("after 2 attempts");
        assert_eq!(
            said_twice.message(),
            "Unauthorized: invalid or expired token; after 2 attempts"
        );
        assert!(StdError::source(&e).is_some());
        assert_eq!(e.code(), Some("CONF-1001"));
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    /// Display walks the whole cause chain, skipping a cause that repeats its parent.
    #[test]
    fn display_shows_every_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = SourceError::new(ErrorKind::Transport, "s", "could not connect")
            .with_cause(Outer(refused));
        let text = e.to_string();
        assert!(text.ends_with(": error sending request: refused"), "{text}");
    }
}
