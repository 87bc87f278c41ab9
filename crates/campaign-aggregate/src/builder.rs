//! Configuring an [`Aggregator`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{CampaignSource, ErrorKind, RetryBudget, SourceError};
use tokio::sync::Semaphore;

use crate::aggregator::{Aggregator, Settings};
use crate::guarded::SourceLimits;

/// Requests in flight at once across all sources, unless configured.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// How long one page request of one source may take, unless configured:
/// beyond the HTTP client's own retry deadline (150 s by default, with a
/// provider's rate-limit window waited out), so that one fails first, with
/// its own cause.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(180);

/// What an aggregate does when a source fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// The other sources' campaigns still flow; each failure is reported
    /// with its source (the default).
    #[default]
    BestEffort,
    /// The first failure ends the listing with that error.
    FailFast,
}

/// Builds an [`Aggregator`]; see [`Aggregator::builder`].
#[derive(Debug)]
pub struct AggregatorBuilder {
    id: String,
    sources: Vec<Arc<dyn CampaignSource>>,
    concurrency: usize,
    source_timeout: Duration,
    deadline: Option<Duration>,
    policy: FailurePolicy,
    budget: Option<Arc<RetryBudget>>,
}

impl AggregatorBuilder {
    pub(crate) fn new(id: String) -> Self {
        Self {
            id,
            sources: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            source_timeout: DEFAULT_SOURCE_TIMEOUT,
            deadline: None,
            policy: FailurePolicy::default(),
            budget: None,
        }
    }

    /// Adds a source (its id must be unique in this aggregate).
    pub fn source(mut self, source: Arc<dyn CampaignSource>) -> Self {
        self.sources.push(source);
        self
    }

    /// Adds several sources.
    pub fn sources(mut self, sources: impl IntoIterator<Item = Arc<dyn CampaignSource>>) -> Self {
        self.sources.extend(sources);
        self
    }

    /// Most page requests in flight at once across all sources, prefetches
    /// included (default [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Longest one page request of one source may take before it counts as a
    /// [`ErrorKind::Timeout`] failure of that source (default
    /// [`DEFAULT_SOURCE_TIMEOUT`]). Waiting for a concurrency permit does not count.
    pub fn source_timeout(mut self, timeout: Duration) -> Self {
        self.source_timeout = timeout;
        self
    }

    /// Longest one call ([`Aggregator::page`], or a whole
    /// [`Aggregator::events`] / `stream` listing) may take; sources still
    /// open then are reported as [`ErrorKind::Timeout`] failures (default: none).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// What a source failure does (default [`FailurePolicy::BestEffort`]).
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry budget shared by all sources (default: a fresh
    /// [`RetryBudget::default`]). Hand the same `Arc` to the providers' HTTP
    /// settings so their retries draw from one bucket.
    pub fn retry_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Checks the settings: a non-empty id, unique source ids, a concurrency
    /// and timeouts above zero. Errors are [`ErrorKind::Config`].
    pub fn build(self) -> Result<Aggregator, SourceError> {
        let config_error = |message: String| SourceError::new(ErrorKind::Config, &self.id, message);
        if self.id.trim().is_empty() {
            return Err(config_error("an aggregate needs a non-empty id".into()));
        }
        if self.concurrency == 0 {
            return Err(config_error("concurrency must be at least 1".into()));
        }
        if self.source_timeout.is_zero() {
            return Err(config_error(
                "the per-source timeout must be above zero".into(),
            ));
        }
        if self.deadline.is_some_and(|d| d.is_zero()) {
            return Err(config_error(
                "the overall deadline must be above zero".into(),
            ));
        }
        let mut ids = HashSet::new();
        for source in &self.sources {
            if !ids.insert(source.id()) {
                return Err(config_error(format!(
                    "source id {:?} is used twice; every source of an aggregate needs its own id",
                    source.id()
                )));
            }
        }
        let limits = SourceLimits {
            permits: Arc::new(Semaphore::new(self.concurrency.min(Semaphore::MAX_PERMITS))),
            timeout: self.source_timeout,
            budget: self.budget.unwrap_or_default(),
        };
        Ok(Aggregator::from_settings(Settings {
            id: self.id,
            sources: self.sources,
            limits,
            policy: self.policy,
            deadline: self.deadline,
        }))
    }
}
