//! HTTP plumbing shared by the campaign providers, written once: retries with
//! exponential backoff and jitter (`backon`), `Retry-After` honoured and
//! capped, one deadline per retry loop, a retry budget shared across sources,
//! a client-side rate limiter (`governor`), response size limits, no
//! redirects (credential headers never reach another host), a single token
//! refresh on 401 (and, for the providers that renew tokens, a [`TokenCache`],
//! [`basic_credentials`] and [`TokenAnswer`] to read the token endpoint's
//! answer), provider error bodies parsed into
//! [`SourceError`](campaign_core::SourceError) (quoted short, on one line,
//! with every credential the request carried masked, in case the server
//! echoes the request), and the `https` rule for base URLs with the other
//! checks a source's config runs ([`check_source_id`], [`check_paging`]).
//!
//! # Example
//!
//! ```no_run
//! use campaign_core::{SourceError, StaticToken};
//! use campaign_http::{
//!     check_base_url, token_header, ApiRequest, Auth, HttpClient, HttpConfig, ProviderError,
//! };
//! use reqwest::header::AUTHORIZATION;
//!
//! # async fn example() -> Result<(), SourceError> {
//! fn no_error_body(_: &[u8]) -> Option<ProviderError> { None }
//! let base = check_base_url("demo", "https://api.example.com", false)?;
//! let client = HttpClient::new("demo", HttpConfig::default(), no_error_body)?;
//! let tokens = StaticToken::new("t0ken");
//! let bearer = token_header("demo", AUTHORIZATION, "Bearer ", "token is not a valid header value");
//! let url = base.join("/items").map_err(|e| SourceError::config("demo", e.to_string()))?;
//! let request = ApiRequest::get(url, "GET /items");
//! let body = client.execute(&request, Auth::Token { tokens: &tokens, headers: &*bearer }).await?;
//! # let _ = body; Ok(()) }
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod client;
mod config;
mod config_rules;
mod decoding;
mod json_reader;
mod limiter;
mod redact;
mod response;
mod token_answer;
mod token_cache;
mod url_rules;

pub use client::{token_header, ApiRequest, Auth, AuthHeaders, HttpClient};

/// The messages of the `tracing` events [`HttpClient`] emits (target
/// `campaign_http::client`, each with a `source` field naming the source),
/// for subscribers that count requests, such as the CLI's progress line.
pub mod events {
    /// A request got its success body (fields `request`, `attempts`, `bytes`, `elapsed_ms`).
    pub const OK: &str = "ok";
    /// A request failed and is tried again (fields `request`, `attempt`, `error`, `wait_ms`).
    pub const RETRYING: &str = "retrying";
}
pub use config::{HttpConfig, RetryPolicy};
pub use config_rules::{check_paging, check_source_id};
pub use decoding::{
    optional_str, optional_timestamp, parse_iso8601, parse_rfc3339_utc, parse_utc_fast, RawRecords,
};
pub use json_reader::JsonReader;
pub use limiter::RateLimiter;
pub use response::{decode_json, parse_retry_after, snippet, ErrorBodyParser, ProviderError};
pub use token_answer::{basic_credentials, TokenAnswer};
pub use token_cache::{TokenCache, DEFAULT_MAX_REUSE};
pub use url_rules::{check_base_url, is_loopback, join_segments};

/// Re-exported so providers and callers use the same HTTP types.
pub use reqwest::{header, Method};
pub use url::Url;
