//! Counting the requests of many sources at once: how many run at the same
//! time, for tests and benchmarks of concurrency bounds and cancellation.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, Page, PageToken, Result, WalkOptions,
};

/// Requests of every [`Gauged`] source sharing it: started, in flight now,
/// the most in flight at once, and those dropped before they finished.
#[derive(Debug, Default)]
pub struct Gauge {
    started: AtomicUsize,
    now: AtomicUsize,
    peak: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Gauge {
    /// Requests started so far.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Requests in flight now.
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most requests seen in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Requests dropped before they finished.
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Runs the request `start` makes (given its number, from 0 in start
    /// order), counting it in flight until it ends and as cancelled if it is
    /// dropped first.
    pub(crate) async fn count<F: Future>(&self, start: impl FnOnce(usize) -> F) -> F::Output {
        let number = self.started.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let mut visit = Visit {
            gauge: self,
            finished: false,
        };
        let output = start(number).await;
        visit.finished = true;
        output
    }
}

/// One request in flight; leaves the count however the fetch ends.
struct Visit<'a> {
    gauge: &'a Gauge,
    finished: bool,
}

impl Drop for Visit<'_> {
    fn drop(&mut self) {
        self.gauge.now.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            self.gauge.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// `inner`, reporting each of its requests to a shared [`Gauge`].
///
/// It answers for `inner` (id, capabilities, walk options, pages) but is
/// walked as one source: `inner`'s partitions are not passed on, so every
/// request goes through the gauge.
#[derive(Debug)]
pub struct Gauged<S: ?Sized> {
    gauge: Arc<Gauge>,
    inner: Arc<S>,
}

impl<S: ?Sized> Gauged<S> {
    /// Wraps `inner`, counting its requests in `gauge`.
    pub fn new(inner: Arc<S>, gauge: Arc<Gauge>) -> Self {
        Self { gauge, inner }
    }
}

#[async_trait]
impl<S: CampaignSource + ?Sized> CampaignSource for Gauged<S> {
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
        self.gauge
            .count(|_| self.inner.fetch_page(query, token))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fixture_campaigns, InMemorySource};
    use futures::FutureExt;

    #[tokio::test]
    async fn counts_concurrent_and_cancelled_requests_across_sources() {
        let gauge = Arc::new(Gauge::default());
        let slow = |id: &str| {
            let inner = InMemorySource::new(id, fixture_campaigns(id))
                .with_latency(std::time::Duration::from_millis(20));
            Gauged::new(Arc::new(inner), Arc::clone(&gauge))
        };
        let (a, b) = (slow("a"), slow("b"));
        let query = CampaignQuery::all();
        let both = futures::future::join(a.fetch_page(&query, None), b.fetch_page(&query, None));
        let (first, second) = both.await;
        assert!(first.is_ok() && second.is_ok());
        assert_eq!((gauge.started(), gauge.peak(), gauge.now()), (2, 2, 0));

        // Polled once, then dropped while it waits: cancelled, and no longer in flight.
        let mut pending = a.fetch_page(&query, None).boxed();
        assert!((&mut pending).now_or_never().is_none());
        assert_eq!(gauge.now(), 1);
        drop(pending);
        assert_eq!((gauge.started(), gauge.now(), gauge.cancelled()), (3, 0, 1));
        assert_eq!(a.id(), "a");
    }
}
