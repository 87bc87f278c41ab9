//! What an aggregate hands back: pages, per-source counts, failures, events.

use campaign_core::{Campaign, SourceError};

use crate::cursor::Cursor;

/// One page of an aggregate's merged listing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AggregatePage {
    /// The campaigns, in query order (arrival order for unsorted queries).
    pub items: Vec<Campaign>,
    /// Where the next page starts; `None` once every source is done.
    ///
    /// A source that failed on this page keeps its earlier position in the
    /// cursor, so the next page retries it.
    pub next: Option<Cursor>,
    /// Sources that failed while this page was read.
    pub failures: Vec<SourceFailure>,
    /// Per source, in the aggregate's source order: what it contributed.
    pub per_source: Vec<SourceCount>,
}

/// A source that failed, with its error.
#[derive(Debug, Clone)]
pub struct SourceFailure {
    /// The aggregate's direct source that failed (for a nested aggregate,
    /// the nested aggregate's id; `error` names the source deepest down).
    pub source: String,
    /// What went wrong.
    pub error: SourceError,
}

/// What one source contributed to a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    /// The source's id.
    pub source: String,
    /// Campaigns it contributed to this page (after de-duplication).
    pub items: usize,
    /// Whether it has nothing more to list.
    pub done: bool,
}

/// One step of an aggregate's listing, as it happens.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every event is a campaign, so boxing it would add an allocation per item to save space only on the rare others"
)]
pub enum AggregateEvent {
    /// The next campaign of the merged listing.
    Campaign(Campaign),
    /// A source failed; under best effort the others go on.
    SourceFailed(SourceFailure),
    /// A source listed everything it had.
    SourceDone {
        /// The source's id.
        source: String,
        /// Campaigns it contributed (after de-duplication).
        items: usize,
    },
}
