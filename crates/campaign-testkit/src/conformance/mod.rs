//! The conformance suite every [`CampaignSource`] runs from its own tests.

mod checks;
mod diff;
mod paging;
mod queries;
mod raw;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::any::Any;
use std::panic::AssertUnwindSafe;

use async_trait::async_trait;
use campaign_core::{Campaign, CampaignSource};
use futures::FutureExt;

/// Builds sources over a backend that holds the fixture campaigns.
///
/// The plugin author loads [`fixture_campaigns`](crate::fixture_campaigns)
/// (or the subset the backend can represent) into their backend, a mock
/// server for example, and implements this trait to hand the suite sources
/// pointing at it.
#[async_trait]
pub trait SourceFactory: Send + Sync {
    /// A source over the loaded fixture with a valid credential.
    async fn source(&self) -> Arc<dyn CampaignSource>;

    /// A source whose credential the backend rejects; `None` when the
    /// source has no credential to get wrong (the check is then skipped).
    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>>;

    /// The fixture campaigns this backend holds, as the source should
    /// return them (at least their ids). The suite compares ids against
    /// these and evaluates query semantics over what `stream(all)` returns.
    fn expected(&self) -> Vec<Campaign>;

    /// Strings (tokens, client secrets, keys) that must never appear in the
    /// Debug output of a source or of an error it produced.
    fn secrets(&self) -> Vec<String>;
}

/// One check of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Check {
    /// `stream(all)` yields every expected campaign exactly once.
    StreamAll,
    /// Walking `fetch_page` by tokens, for each page size, has no gap or
    /// repeat, and resuming from any token continues the same sequence.
    Paging,
    /// Each filter, filter combination and sort through `stream()` gives what
    /// [`CampaignQuery`](campaign_core::CampaignQuery) semantics give.
    QuerySemantics,
    /// Raw pages satisfy every filter the capabilities claim to push down
    /// and come in the order of every sort they claim.
    Capabilities,
    /// A rejected credential makes the stream's first item an
    /// `Unauthorized` error.
    BadCredential,
    /// Dropping a stream mid-way is safe and a new stream still works.
    DropStream,
    /// The source is `Send + Sync` and neither its Debug output nor that of
    /// any error it produced contains a secret.
    SendSyncSecrets,
    /// A query that does not want the records (`keep_raw(false)`) lists the
    /// same campaigns in the same order, each at most without its record,
    /// and a walk continued by a query that wants them gets them.
    RawHint,
}

impl Check {
    /// Every check, in the order the suite runs them.
    pub const ALL: [Check; 8] = [
        Check::StreamAll,
        Check::Paging,
        Check::QuerySemantics,
        Check::Capabilities,
        Check::BadCredential,
        Check::DropStream,
        Check::RawHint,
        Check::SendSyncSecrets,
    ];

    /// The check's snake_case name, used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::StreamAll => "stream_all",
            Check::Paging => "paging",
            Check::QuerySemantics => "query_semantics",
            Check::Capabilities => "capabilities",
            Check::BadCredential => "bad_credential",
            Check::DropStream => "drop_stream",
            Check::SendSyncSecrets => "send_sync_secrets",
            Check::RawHint => "raw_hint",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The source behaved.
    Passed,
    /// The source misbehaved; the message names the query and shows the difference.
    Failed(String),
    /// Not run, and why.
    Skipped(String),
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check.
    pub check: Check,
    /// How it ended.
    pub outcome: Outcome,
}

impl CheckResult {
    /// Whether the check failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// The failure message, if the check failed.
    pub fn message(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(message) => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed => write!(f, "PASS {}", self.check),
            Outcome::Failed(message) => write!(f, "FAIL {}: {message}", self.check),
            Outcome::Skipped(reason) => write!(f, "SKIP {}: {reason}", self.check),
        }
    }
}

/// The outcome of every check of one [`Conformance::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceReport {
    /// One result per check, in [`Check::ALL`] order.
    pub results: Vec<CheckResult>,
}

impl ConformanceReport {
    /// The failed checks.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.results.iter().filter(|r| r.failed()).collect()
    }

    /// The result of `check`.
    pub fn result(&self, check: Check) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.check == check)
    }

    /// Panics listing every failed check with its message.
    #[track_caller]
    pub fn assert_passed(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            let listed: Vec<String> = failures.iter().map(ToString::to_string).collect();
            panic!(
                "{} of {} conformance checks failed:\n{}",
                failures.len(),
                self.results.len(),
                listed.join("\n")
            );
        }
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            writeln!(f, "{result}")?;
        }
        Ok(())
    }
}

/// The suite, configured: `Conformance::new(factory).page_sizes([1, 3]).run().await`.
pub struct Conformance {
    factory: Arc<dyn SourceFactory>,
    page_sizes: Vec<u32>,
    skipped: BTreeSet<Check>,
    timeout: Duration,
}

impl fmt::Debug for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conformance")
            .field("page_sizes", &self.page_sizes)
            .field("skipped", &self.skipped)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Conformance {
    /// The full suite over `factory`'s sources, page sizes 1, 3, 7 and 50,
    /// each check limited to 60 seconds.
    pub fn new(factory: impl SourceFactory + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            page_sizes: vec![1, 3, 7, 50],
            skipped: BTreeSet::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// The page sizes the paging check walks (zeros are ignored). The
    /// semantic checks use the smallest size above 1 so results cross pages.
    pub fn page_sizes(mut self, sizes: impl IntoIterator<Item = u32>) -> Self {
        self.page_sizes = sizes.into_iter().filter(|&n| n > 0).collect();
        self
    }

    /// Leaves `check` out; it is reported as skipped.
    pub fn skip(mut self, check: Check) -> Self {
        self.skipped.insert(check);
        self
    }

    /// Fails a check that takes longer than `limit` (default 60 seconds),
    /// so a source that hangs fails instead of blocking the test run.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Runs every check not skipped. Needs a Tokio runtime with the time driver
    /// (`#[tokio::test]` has one).
    pub async fn run(self) -> ConformanceReport {
        let mut suite = checks::Suite::new(self.factory, self.page_sizes);
        let mut results = Vec::with_capacity(Check::ALL.len());
        for check in Check::ALL {
            let outcome = if self.skipped.contains(&check) {
                Outcome::Skipped("skipped by the caller".to_owned())
            } else {
                // A panicking source fails its check instead of aborting the run.
                let guarded = AssertUnwindSafe(suite.run(check)).catch_unwind();
                match tokio::time::timeout(self.timeout, guarded).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(panic)) => Outcome::Failed(format!(
                        "the source panicked: {}",
                        panic_text(panic.as_ref())
                    )),
                    Err(_) => Outcome::Failed(format!(
                        "did not finish within {:?} (a stream or fetch hangs)",
                        self.timeout
                    )),
                }
            };
            results.push(CheckResult { check, outcome });
        }
        ConformanceReport { results }
    }
}

fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
