//! The wrapper every source of an aggregate is fetched through: a shared
//! concurrency bound, a per-request timeout and one tracing span per page.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken, Result,
    RetryBudget, SourceError, WalkOptions,
};
use tokio::sync::Semaphore;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

/// A source fetched under the aggregate's limits (object_store's `limit.rs`
/// pattern): at most `permits` requests in flight across all sources, each
/// bounded by `timeout`.
pub(crate) struct GuardedSource {
    inner: Arc<dyn CampaignSource>,
    limits: SourceLimits,
    requests: AtomicU64,
}

/// What every source (and part of one) of an aggregate is fetched under.
#[derive(Debug, Clone)]
pub(crate) struct SourceLimits {
    /// Requests in flight across all sources.
    pub(crate) permits: Arc<Semaphore>,
    /// Per request.
    pub(crate) timeout: Duration,
    /// Retries, shared by all sources.
    pub(crate) budget: Arc<RetryBudget>,
}

impl SourceLimits {
    /// `source` fetched under these limits.
    pub(crate) fn apply(&self, source: Arc<dyn CampaignSource>) -> Arc<GuardedSource> {
        Arc::new(GuardedSource {
            inner: source,
            limits: self.clone(),
            requests: AtomicU64::new(0),
        })
    }
}

impl fmt::Debug for GuardedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedSource")
            .field("inner", &self.inner)
            .field("timeout", &self.limits.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CampaignSource for GuardedSource {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn capabilities_at_provider(&self) -> bool {
        self.inner.capabilities_at_provider()
    }

    fn walk_options(&self) -> WalkOptions {
        self.inner.walk_options()
    }

    fn partition(&self) -> Option<String> {
        self.inner.partition()
    }

    fn lists_changes_cheaply(&self) -> bool {
        self.inner.lists_changes_cheaply()
    }

    fn token_after(&self, query: &CampaignQuery, campaign: &Campaign) -> Option<PageToken> {
        self.inner.token_after(query, campaign)
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let id = self.inner.id().to_owned();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(SourceError::new(
                ErrorKind::Config,
                id,
                "the aggregate must run inside a Tokio runtime",
            ));
        };
        let request = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        // Page tokens may embed provider state, so the span records only
        // whether this is a resumed page, never the token itself.
        let span = tracing::debug_span!(
            "source_page",
            source = %id,
            request,
            resumed = token.is_some(),
            items = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            retry_tokens_left = tracing::field::Empty,
        );
        let inner = Arc::clone(&self.inner);
        let SourceLimits {
            permits,
            timeout,
            budget,
        } = self.limits.clone();
        let query = query.clone();
        let task_span = span.clone();
        // The request runs as its own task so it progresses (and frees its
        // permit) even while the merge is not polling this source; otherwise
        // prefetched pages holding permits could starve the other sources.
        let task = async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return Err(SourceError::new(
                    ErrorKind::Config,
                    inner.id(),
                    "the aggregate's request limiter was closed",
                ));
            };
            let started = Instant::now();
            let outcome = tokio::time::timeout(timeout, inner.fetch_page(&query, token)).await;
            let span = tracing::Span::current();
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            span.record("retry_tokens_left", budget.available());
            match outcome {
                Ok(Ok(page)) => {
                    span.record("items", page.items.len());
                    Ok(page)
                }
                Ok(Err(error)) => {
                    tracing::debug!(kind = %error.kind(), "page failed");
                    Err(error)
                }
                // Numbered like the `source_page` span, so -v logs show which.
                Err(_) => Err(SourceError::new(
                    ErrorKind::Timeout,
                    inner.id(),
                    format!("no page within the per-source timeout of {timeout:?}"),
                )
                .with_request(format!("page request {request}"))),
            }
        }
        .instrument(task_span);
        // Aborted if this future is dropped, so a consumer that drops its
        // stream stops the request.
        let handle = AbortOnDropHandle::new(runtime.spawn(task));
        match handle.instrument(span).await {
            Ok(result) => result,
            // A plugin's panic fails its source, not the whole listing.
            Err(joined) => Err(SourceError::new(
                ErrorKind::Protocol,
                id,
                "the source's page request did not complete",
            )
            .with_request(format!("page request {request}"))
            .with_cause(joined)),
        }
    }
}
