//! What an aggregate hands back: pages, per-source counts, failures,
//! warnings, events.

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
    /// Warnings the sources' pages carried (see [`SourceWarning`]), for the
    /// source pages fetched while this page was read, in arrival order. A
    /// source page this page ended inside is read again by the next one
    /// without its warnings; one this page fetched but took nothing from
    /// warns again on the next page.
    pub warnings: Vec<SourceWarning>,
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

/// An anomaly a source noticed and reported with one of its pages
/// ([`Page::warnings`](campaign_core::Page::warnings)) that did not stop the
/// listing: for example a Kore `totalResults` that changed mid-walk, or an
/// empty page while the total says more. The listing goes on; the warning
/// says its result may be incomplete or was read differently.
///
/// From a nested aggregate, its own sources' failures and warnings arrive
/// this way too (the nested aggregate is the `source`; the message names
/// the source deepest down).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SourceWarning {
    /// The aggregate's direct source whose page carried the warning.
    pub source: String,
    /// The warning's text, as the source wrote it (never a secret).
    pub message: String,
}

impl SourceWarning {
    /// A warning from `source`.
    pub fn new(source: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SourceWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "source {:?}: {}", self.source, self.message)
    }
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
///
/// New kinds of events may be added, so a `match` needs a wildcard arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every event is a campaign, so boxing it would add an allocation per item to save space only on the rare others"
)]
pub enum AggregateEvent {
    /// The next campaign of the merged listing.
    Campaign(Campaign),
    /// A source failed; under best effort the others go on.
    SourceFailed(SourceFailure),
    /// A source's page carried a warning: yielded when that page reaches the
    /// merge, before its campaigns. The listing goes on.
    SourceWarning(SourceWarning),
    /// A source listed everything it had.
    SourceDone {
        /// The source's id.
        source: String,
        /// Campaigns it contributed (after de-duplication).
        items: usize,
    },
}
