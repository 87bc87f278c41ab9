//! What an aggregate hands back: pages, per-source counts, failures,
//! warnings, events.

use campaign_core::{Campaign, SkippedRecord, SourceError, Warning};

use crate::cursor::Cursor;

/// One page of an aggregate's merged listing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AggregatePage {
    /// The campaigns, in query order (arrival order for unsorted queries).
    pub items: Vec<Campaign>,
    /// Where the next page starts; `None` once every source that did not
    /// fail on this page is done.
    ///
    /// A source (or partition) that failed on this page keeps its earlier
    /// position in the cursor, so the next page retries it; but it never
    /// keeps the cursor alive alone: once the healthy sources are
    /// exhausted, this is `None` and `failures` says what was not read.
    /// So a loop over `next` ends after at most `ceil(N / page size) + 1`
    /// pages for `N` deliverable campaigns, whatever fails.
    pub next: Option<Cursor>,
    /// When `next` is `None` only because the sources still open all failed
    /// on this page: a cursor that retries just them (from their recorded
    /// positions). A caller that wants another try uses it explicitly; a
    /// `while next` loop ends.
    pub retry: Option<Cursor>,
    /// Sources, or partitions of sources, that failed while this page was
    /// read: one entry per failing partition (see [`SourceFailure::partition`]).
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

/// A source, or one partition of it, that failed, with its error.
#[derive(Debug, Clone)]
pub struct SourceFailure {
    /// The aggregate's direct source that failed (for a nested aggregate,
    /// the nested aggregate's id; `error` names the source deepest down).
    pub source: String,
    /// What went wrong.
    pub error: SourceError,
}

impl SourceFailure {
    /// The partition of the source that failed (`contact_center=7`,
    /// `channel=sms`), or `None` when the failure is not tied to one: the
    /// source's other partitions were still listed.
    pub fn partition(&self) -> Option<&str> {
        self.error.partition()
    }
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
    /// The partition of the source it concerns (`contact_center=7`), if any.
    pub partition: Option<String>,
    /// The request whose answer it concerns, if any.
    pub request: Option<String>,
    /// The record the source skipped, when the warning reports one (its
    /// partition's listing is then incomplete).
    pub skipped: Option<SkippedRecord>,
    /// The provider did not sort as asked; the source sorted locally.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sorted_locally: bool,
}

impl SourceWarning {
    /// A warning from `source`.
    pub fn new(source: impl Into<String>, message: impl Into<String>) -> Self {
        Self::from_warning(source, Warning::new(message))
    }

    /// A campaign of `source` that `partition` listed after another
    /// partition of it had: ids are the source's own, so it is yielded once,
    /// as first listed, and said (a provider whose ids repeat across its
    /// partitions would otherwise lose campaigns without a word).
    pub fn listed_twice(
        source: impl Into<String>,
        partition: Option<String>,
        id: &campaign_core::CampaignId,
    ) -> Self {
        let mut warning = Warning::new(format!(
            "campaign {id} was listed again by another partition; kept once, as first listed"
        ));
        warning.partition = partition;
        Self::from_warning(source, warning)
    }

    /// `source`'s page warning, with everything it names.
    pub fn from_warning(source: impl Into<String>, warning: Warning) -> Self {
        let Warning {
            message,
            request,
            partition,
            skipped,
            sorted_locally,
            ..
        } = warning;
        Self {
            source: source.into(),
            message,
            partition,
            request,
            skipped,
            sorted_locally,
        }
    }

    /// The warning as a source's page warning (a nested aggregate passes
    /// its sources' warnings up this way), naming the source deepest down.
    pub fn into_warning(self) -> Warning {
        let mut warning = self.detail();
        warning.message = format!("source {:?}: {}", self.source, self.message);
        warning
    }

    /// What the source said, without naming the source: partition, message
    /// and request, as its [`Warning`] displays them.
    pub fn detail(&self) -> Warning {
        let mut warning = Warning::new(self.message.clone());
        warning.request.clone_from(&self.request);
        warning.partition.clone_from(&self.partition);
        warning.skipped.clone_from(&self.skipped);
        warning.sorted_locally = self.sorted_locally;
        warning
    }
}

impl std::fmt::Display for SourceWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "source {:?}: {}", self.source, self.detail())
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
    /// A source, or one partition of it, failed; under best effort the
    /// others go on (a partitioned source's other partitions included).
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
