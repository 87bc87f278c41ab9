//! Transport settings every provider shares, with documented defaults.

use std::sync::Arc;
use std::time::Duration;

use campaign_core::RetryBudget;
use serde::Deserialize;

/// How failed requests are retried.
///
/// Retries apply to rate limits (429), server errors (5xx), timeouts and
/// transport failures; other 4xx never retry. Delays grow exponentially with
/// full jitter, and a `Retry-After` from the server replaces the computed delay.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default 3.
    pub max_retries: usize,
    /// First backoff delay. Default 100 ms.
    #[serde(with = "millis")]
    pub initial_backoff: Duration,
    /// Largest backoff delay. Default 5 s.
    #[serde(with = "millis")]
    pub max_backoff: Duration,
    /// One deadline for the whole retry loop, attempts and waits included.
    /// Default 150 s: room for the longest `Retry-After` honoured, and the
    /// attempts around it.
    #[serde(with = "millis")]
    pub deadline: Duration,
    /// Longest `Retry-After` honoured; a longer one fails at once as
    /// `RateLimited` instead of parking the caller. Default 75 s: providers
    /// count their quotas per minute (Kore.ai's 60 requests, Genesys Cloud's
    /// 300, whose reset header said 61 s in its documented sample), so
    /// waiting out one window is normal.
    #[serde(with = "millis")]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(150),
            max_retry_after: Duration::from_secs(75),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// Settings of one provider's HTTP client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Timeout of one attempt, body included. Default 30 s.
    pub timeout: Duration,
    /// Timeout to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Largest response body accepted; larger ones are refused. Default 16 MiB.
    pub max_body_bytes: usize,
    /// The `User-Agent` header. Default `campaigns/<version>`.
    pub user_agent: String,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Accept `http://` base URLs for non-loopback hosts. Default false.
    pub allow_insecure_http: bool,
    /// A retry budget shared with other sources (an aggregate's); `None`
    /// gives this client a budget of its own.
    pub retry_budget: Option<Arc<RetryBudget>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
            user_agent: concat!("campaigns/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            allow_insecure_http: false,
            retry_budget: None,
        }
    }
}

/// Durations as integer milliseconds in config files.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
