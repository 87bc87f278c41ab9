//! The state of a whole listing as events ([`Aggregator::events`](crate::Aggregator::events)):
//! repeats dropped (and said), per-source counts, failures and ends.

use campaign_core::SeenIds;

use crate::aggregator::Parts;
use crate::fanout::{Signal, SourceNote, Tagged};
use crate::report::{AggregateEvent, SourceFailure, SourceWarning};

/// What [`Aggregator::events`](crate::Aggregator::events) keeps while it
/// turns the merged signals into events.
pub(crate) struct EventState {
    /// Ids yielded, so one reached by two paths is yielded once.
    seen: SeenIds,
    /// Per source, per part: its partition label, for the warning about a
    /// repeat.
    labels: Vec<Vec<Option<String>>>,
    /// One source walked whole: one path, whose walk already drops
    /// repeats, so `seen` stays empty (at 200,000 campaigns it would be
    /// about 3 MiB).
    one_walk: bool,
    /// Per source: campaigns yielded.
    counts: Vec<usize>,
    /// Per source: parts not yet done or failed.
    open_parts: Vec<usize>,
    /// Per source: whether a part failed (then it is never reported done).
    failed: Vec<bool>,
    /// A failure ended the listing (fail fast).
    pub(crate) stopped: bool,
}

impl EventState {
    /// The state of a listing over `parts` (per source, its parts).
    pub(crate) fn new(parts: &[Parts]) -> Self {
        Self {
            seen: SeenIds::new(),
            labels: parts
                .iter()
                .map(|parts| parts.iter().map(|part| part.partition()).collect())
                .collect(),
            one_walk: parts.len() == 1 && parts[0].len() == 1,
            counts: vec![0; parts.len()],
            open_parts: parts.iter().map(Vec::len).collect(),
            failed: vec![false; parts.len()],
            stopped: false,
        }
    }

    /// What `signal` means for the listing: an event, or nothing (a
    /// repeated campaign, a further failure or the end of one part of a
    /// source that has more).
    #[inline]
    pub(crate) fn event(
        &mut self,
        signal: Signal,
        source_ids: &[String],
        fail_fast: bool,
    ) -> Option<AggregateEvent> {
        match signal {
            Ok(Tagged {
                source,
                part,
                positioned,
            }) => {
                // Moved straight into the event (no closure capture): each
                // move of a campaign is a ~400-byte copy on every item's path.
                if !self.one_walk && !self.seen.insert(&positioned.campaign.id) {
                    return Some(AggregateEvent::SourceWarning(SourceWarning::listed_twice(
                        &source_ids[source],
                        self.labels[source][part].clone(),
                        &positioned.campaign.id,
                    )));
                }
                self.counts[source] += 1;
                Some(AggregateEvent::Campaign(positioned.campaign))
            }
            Err(SourceNote::Failed { source, error, .. }) => {
                tracing::warn!(source = %source_ids[source], error = %error, "source failed");
                self.stopped = fail_fast;
                self.open_parts[source] = self.open_parts[source].saturating_sub(1);
                // Every failing part is reported (a part's walk fails at most
                // once); the source's other parts go on.
                self.failed[source] = true;
                Some(AggregateEvent::SourceFailed(SourceFailure {
                    source: source_ids[source].clone(),
                    error,
                }))
            }
            Err(SourceNote::Warned { source, warning }) => Some(AggregateEvent::SourceWarning(
                SourceWarning::from_warning(&source_ids[source], warning),
            )),
            Err(SourceNote::Done { source, .. }) => {
                self.open_parts[source] = self.open_parts[source].saturating_sub(1);
                // Done once every part is, unless one of them failed.
                (self.open_parts[source] == 0 && !self.failed[source]).then(|| {
                    AggregateEvent::SourceDone {
                        source: source_ids[source].clone(),
                        items: self.counts[source],
                    }
                })
            }
        }
    }
}
