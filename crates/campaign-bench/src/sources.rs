//! A wrapper counting requests in flight across many sources (the pre-sorted
//! source the figures also use is `campaign_testkit::Presorted`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    CampaignQuery, CampaignSource, Capabilities, Page, PageToken, Result, WalkOptions,
};

/// Requests in flight across every [`Counted`] sharing it, and their peak.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
}

impl InFlight {
    /// The most requests seen in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Requests started so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Leaves the in-flight count even when the fetch is cancelled.
struct Entered<'a>(&'a InFlight);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Wraps a source and counts its requests in a shared [`InFlight`].
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn CampaignSource>,
    counter: Arc<InFlight>,
}

impl Counted {
    /// Counts `inner`'s requests in `counter`.
    pub fn new(inner: Arc<dyn CampaignSource>, counter: Arc<InFlight>) -> Self {
        Self { inner, counter }
    }
}

#[async_trait]
impl CampaignSource for Counted {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn walk_options(&self) -> WalkOptions {
        self.inner.walk_options()
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        self.counter.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.counter.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.counter.peak.fetch_max(now, Ordering::SeqCst);
        let _entered = Entered(&self.counter);
        self.inner.fetch_page(query, token).await
    }
}
