//! The aggregate: many sources behind the one `CampaignSource` interface.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::task::{ready, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken,
    Positioned, Result, RetryBudget, SeenIds, SourceError, SourcePosition,
};
use futures::future;
use futures::stream::{BoxStream, StreamExt};
use tracing::Instrument;

use crate::builder::{AggregatorBuilder, FailurePolicy};
use crate::cursor::{Cursor, CursorCodec, CursorState, Mark};
use crate::events::EventState;
use crate::explain::Explain;
use crate::fanout::{merged, with_deadline, Signal, SourceNote, Start, Tagged};
use crate::guarded::{GuardedSource, SourceLimits};
use crate::report::{AggregateEvent, AggregatePage, SourceCount, SourceFailure, SourceWarning};

/// Campaigns per [`Aggregator::page`] when the query sets no page size.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Campaigns each source may run ahead of the merge in a whole listing
/// ([`Aggregator::events`]): enough to cover a few typical provider pages,
/// so the next page is fetched while the current one is merged, and small
/// enough that memory stays bounded per source.
const READ_AHEAD_ITEMS: usize = 256;

/// Everything [`AggregatorBuilder::build`] validated.
pub(crate) struct Settings {
    pub(crate) id: String,
    pub(crate) sources: Vec<Arc<dyn CampaignSource>>,
    pub(crate) limits: SourceLimits,
    pub(crate) policy: FailurePolicy,
    pub(crate) deadline: Option<Duration>,
}

/// One ordered, paginated, streaming view over many sources.
///
/// All sources are queried concurrently (bounded by the configured
/// concurrency, each request bounded by the per-source timeout). With a sort
/// in the query the sources' sorted streams are k-way merged by
/// [`CampaignQuery::compare`]; without one, campaigns come as they arrive.
/// Only about a page per source is buffered at any time.
///
/// An `Aggregator` is itself a [`CampaignSource`] (provider `"aggregate"`),
/// so aggregates nest.
///
/// # Duplicates
/// A [`CampaignId`](campaign_core::CampaignId) reached twice (two pages of a
/// source, or two paths to one source) is yielded once per listing and per
/// page; across a page boundary the cursor remembers the last campaign so an
/// identical copy right after it is skipped too.
///
/// # Failures on pages
/// Under [`FailurePolicy::BestEffort`] a source, or one
/// [partition](CampaignSource::partitions) of it (a CMS contact center, a
/// Kore channel), that fails while a page is read appears in
/// [`AggregatePage::failures`], naming the partition, while its other
/// partitions and the other sources are still listed. It keeps its earlier
/// position in the next cursor, so the next page retries it (its campaigns
/// that sort before that page's end then come late, out of global order),
/// but it never keeps the cursor alive alone: the page on which every
/// healthy source is exhausted has no next cursor and reports the failure.
/// Under [`FailurePolicy::FailFast`] the call returns the first error.
///
/// # Warnings
/// What a source notes on one of its pages without failing
/// ([`Page::warnings`]) is never only logged: [`AggregatePage::warnings`]
/// and [`AggregateEvent::SourceWarning`] carry it, tagged with the source,
/// as soon as the merge reaches that page. A nested aggregate passes its own
/// sources' failures and warnings up this way (see its `fetch_page`).
pub struct Aggregator {
    id: String,
    sources: Vec<Arc<dyn CampaignSource>>,
    /// Each source under `limits`, built once.
    guarded: Vec<Arc<GuardedSource>>,
    limits: SourceLimits,
    source_ids: Arc<[String]>,
    policy: FailurePolicy,
    deadline: Option<Duration>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("id", &self.id)
            .field("sources", &self.source_ids)
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .field("retry_budget", &self.limits.budget)
            .finish_non_exhaustive()
    }
}

impl Aggregator {
    /// Starts configuring an aggregate named `id`.
    pub fn builder(id: impl Into<String>) -> AggregatorBuilder {
        AggregatorBuilder::new(id.into())
    }

    pub(crate) fn from_settings(settings: Settings) -> Self {
        let source_ids = settings.sources.iter().map(|s| s.id().to_owned()).collect();
        let guarded = settings
            .sources
            .iter()
            .map(|source| settings.limits.apply(Arc::clone(source)))
            .collect();
        Self {
            id: settings.id,
            sources: settings.sources,
            guarded,
            limits: settings.limits,
            source_ids,
            policy: settings.policy,
            deadline: settings.deadline,
        }
    }

    /// The sources, in the order they were added.
    pub fn sources(&self) -> &[Arc<dyn CampaignSource>] {
        &self.sources
    }

    /// The retry budget shared by this aggregate's sources.
    pub fn retry_budget(&self) -> Arc<RetryBudget> {
        Arc::clone(&self.limits.budget)
    }

    /// The failure policy.
    pub fn failure_policy(&self) -> FailurePolicy {
        self.policy
    }

    /// What [`page`](Self::page) would ask of each source for `query`.
    pub fn explain(&self, query: &CampaignQuery) -> Explain {
        Explain::new(&self.id, &self.sources, query, page_size(query))
    }

    fn codec<'a>(&'a self, query: &CampaignQuery, parts: &[Parts]) -> CursorCodec<'a> {
        CursorCodec {
            aggregate: &self.id,
            source_ids: self.source_ids.iter().map(String::as_str).collect(),
            parts: parts.iter().map(Vec::len).collect(),
            fingerprint: query.fingerprint(),
        }
    }

    /// Per source, what the merge walks for `query`: the source itself, or
    /// its [partitions](CampaignSource::partitions), each under the
    /// aggregate's limits (shared permits, per-request timeout) and walked as
    /// its own merge input with its own prefetch.
    fn parts(&self, query: &CampaignQuery) -> Vec<Parts> {
        self.sources
            .iter()
            .zip(&self.guarded)
            .map(|(source, guarded)| {
                let partitions = source.partitions(query);
                if partitions.is_empty() {
                    return vec![Arc::clone(guarded) as Arc<dyn CampaignSource>];
                }
                partitions
                    .into_iter()
                    .map(|part| self.limits.apply(part) as Arc<dyn CampaignSource>)
                    .collect()
            })
            .collect()
    }

    /// The merged signals of every part not done in `marks`.
    fn signals(
        &self,
        query: &CampaignQuery,
        parts: &[Parts],
        marks: &[Vec<Mark>],
        read_ahead: Option<usize>,
    ) -> BoxStream<'static, Signal> {
        let mut starts = Vec::new();
        for (source, (walks, marks)) in parts.iter().zip(marks).enumerate() {
            for (part, (walk, mark)) in walks.iter().zip(marks).enumerate() {
                if let Mark::At(position) = mark {
                    starts.push(Start {
                        source,
                        part,
                        walk: Arc::clone(walk),
                        from: position.clone(),
                    });
                }
            }
        }
        let open = starts.iter().map(|s| (s.source, s.part)).collect();
        let signals = merged(query, starts, read_ahead);
        match self.deadline {
            Some(limit) => with_deadline(signals, limit, Arc::clone(&self.source_ids), open),
            None => signals,
        }
    }

    fn failure(&self, source: usize, error: SourceError) -> SourceFailure {
        SourceFailure {
            source: self.source_ids[source].clone(),
            error,
        }
    }

    /// One page of the merged listing, starting at `cursor` (the first page
    /// for `None`); its size is the query's page size or [`DEFAULT_PAGE_SIZE`].
    ///
    /// Resuming reads each source from its recorded position, so a deep page
    /// costs about what the first one does, and walking every page of static
    /// data yields each campaign once, in order, whatever the page sizes.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCursor`](campaign_core::ErrorKind::InvalidCursor)
    /// for a cursor of another query or aggregate, or a damaged one; under
    /// [`FailurePolicy::FailFast`], the first source failure. Under best
    /// effort, failures are reported in the page instead.
    pub async fn page(
        &self,
        query: &CampaignQuery,
        cursor: Option<&Cursor>,
    ) -> Result<AggregatePage, SourceError> {
        let mut items = Vec::with_capacity(page_size(query).min(1024));
        let mut page = self
            .page_each(query, cursor, |campaign| {
                items.push(campaign);
                ControlFlow::Continue(())
            })
            .await?;
        page.items = items;
        Ok(page)
    }

    /// [`Aggregator::page`], handing each campaign to `each` the moment its
    /// place in the page is settled instead of collecting them, so one page
    /// can be written out while later source pages are still being read.
    /// The returned page has everything but the campaigns (`items` is empty).
    ///
    /// `each` returning [`ControlFlow::Break`] ends the page after that
    /// campaign (the consumer is gone, say): the sources' requests stop and
    /// the cursor resumes right after it.
    ///
    /// # Errors
    /// As [`Aggregator::page`]; under [`FailurePolicy::FailFast`], campaigns
    /// handed over before the failure stay handed over.
    pub async fn page_each(
        &self,
        query: &CampaignQuery,
        cursor: Option<&Cursor>,
        mut each: impl FnMut(Campaign) -> ControlFlow<()>,
    ) -> Result<AggregatePage, SourceError> {
        let parts = self.parts(query);
        let codec = self.codec(query, &parts);
        let state = match cursor {
            Some(cursor) => codec.decode(cursor)?,
            None => CursorState {
                marks: start_marks(&parts),
                last: None,
                source_page_size: query.page_size().unwrap_or(DEFAULT_PAGE_SIZE),
            },
        };
        let size = page_size(query);
        let span = tracing::info_span!(
            "aggregate_page",
            aggregate = %self.id,
            page_size = size,
            resumed = cursor.is_some(),
            items = tracing::field::Empty,
            failures = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let page = self
            .read_page(query, &parts, state, size, &codec, &mut each)
            .instrument(span.clone())
            .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        if let Ok(page) = &page {
            let items: usize = page.per_source.iter().map(|count| count.items).sum();
            span.record("items", items);
            span.record("failures", page.failures.len());
        }
        page
    }

    async fn read_page<F: FnMut(Campaign) -> ControlFlow<()>>(
        &self,
        query: &CampaignQuery,
        parts: &[Parts],
        state: CursorState,
        size: usize,
        codec: &CursorCodec<'_>,
        each: &mut F,
    ) -> Result<AggregatePage, SourceError> {
        let CursorState {
            mut marks,
            mut last,
            source_page_size,
        } = state;
        // Sources are always asked for the page size the walk began with
        // (see `CursorState::source_page_size`); the filters and sort are
        // the query's, which the cursor's fingerprint pinned.
        let source_query = query
            .to_builder()
            .page_size(source_page_size)
            .build()
            .map_err(|e| SourceError::new(ErrorKind::InvalidCursor, &self.id, e.to_string()))?;
        let mut seen = SeenIds::new();
        if let Some(id) = &last {
            seen.insert(id);
        }
        // The campaign the cursor resumes after: seen again at the start of
        // this page by design, not a repeat to report.
        let resumed_after = last.clone();
        let mut counts = vec![0usize; marks.len()];
        let mut failed: Vec<Vec<bool>> = marks.iter().map(|m| vec![false; m.len()]).collect();
        let mut taken = 0usize;
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        let mut signals = self.signals(&source_query, parts, &marks, None);
        while let Some(signal) = signals.next().await {
            match signal {
                // One item past a full page is read to learn whether more
                // exists; it is not consumed, so its position is not recorded.
                Ok(_) if taken >= size => break,
                Ok(Tagged {
                    source,
                    part,
                    positioned,
                }) => {
                    let Positioned { campaign, after } = positioned;
                    // A keyset token resumes after this very campaign, even
                    // if its page changes before the next request.
                    let after = match parts[source][part].token_after(&source_query, &campaign) {
                        Some(token) => SourcePosition {
                            page: Some(token),
                            offset: 0,
                        },
                        None => after,
                    };
                    marks[source][part] = Mark::At(after);
                    if seen.insert(&campaign.id) {
                        counts[source] += 1;
                        taken += 1;
                        remember(&mut last, &campaign.id);
                        if each(campaign).is_break() {
                            break;
                        }
                    } else if resumed_after.as_ref() != Some(&campaign.id) {
                        warnings.push(SourceWarning::listed_twice(
                            &self.source_ids[source],
                            parts[source][part].partition(),
                            &campaign.id,
                        ));
                    }
                }
                Err(SourceNote::Failed {
                    source,
                    part,
                    error,
                }) => {
                    tracing::warn!(source = %self.source_ids[source], error = %error, "source failed");
                    if self.policy == FailurePolicy::FailFast {
                        return Err(error);
                    }
                    // One failure per part and page: each partition of a
                    // source fails (and is retried) on its own.
                    if !std::mem::replace(&mut failed[source][part], true) {
                        failures.push(self.failure(source, error));
                    }
                }
                Err(SourceNote::Done { source, part }) => marks[source][part] = Mark::Done,
                Err(SourceNote::Warned { source, warning }) => {
                    warnings.push(SourceWarning::from_warning(
                        &self.source_ids[source],
                        warning,
                    ));
                }
            }
        }
        // Stop the other sources' requests before encoding.
        drop(signals);
        let per_source = self
            .source_ids
            .iter()
            .zip(&marks)
            .zip(&counts)
            .map(|((source, marks), items)| SourceCount {
                source: source.clone(),
                items: *items,
                done: marks.iter().all(|mark| *mark == Mark::Done),
            })
            .collect();
        // A part that failed on this page keeps its position, so the next
        // page retries it, but only a healthy part still going keeps the
        // cursor alive: otherwise a `while next` loop over a source that
        // keeps failing would never end.
        let advancing = marks
            .iter()
            .flatten()
            .zip(failed.iter().flatten())
            .any(|(mark, failed)| !failed && *mark != Mark::Done);
        let open = marks.iter().flatten().any(|mark| *mark != Mark::Done);
        let cursor = open.then(|| {
            codec.encode(&CursorState {
                marks,
                last,
                source_page_size,
            })
        });
        let (next, retry) = if advancing {
            (cursor, None)
        } else {
            (None, cursor)
        };
        Ok(AggregatePage {
            items: Vec::new(),
            next,
            retry,
            failures,
            warnings,
            per_source,
        })
    }

    /// The whole merged listing as events: campaigns in order, and each
    /// source's failure, warning or end the moment it happens. Under
    /// [`FailurePolicy::FailFast`] the stream ends after the first failure.
    ///
    /// Dropping the stream cancels the sources' requests in flight.
    pub fn events(&self, query: &CampaignQuery) -> BoxStream<'static, AggregateEvent> {
        let parts = self.parts(query);
        let marks = start_marks(&parts);
        let signals = self.signals(query, &parts, &marks, Some(READ_AHEAD_ITEMS));
        let source_ids = Arc::clone(&self.source_ids);
        let fail_fast = self.policy == FailurePolicy::FailFast;
        let state = EventState::new(&parts);
        let span = tracing::info_span!("aggregate_listing", aggregate = %self.id);
        // One hand-written layer (dedup, per-source ends, the span) rather
        // than `scan`/`filter_map`/an instrumenting wrapper: each layer moves
        // every campaign once more.
        let mut signals = signals;
        let mut state = state;
        futures::stream::poll_fn(move |cx| {
            let _entered = span.enter();
            loop {
                if state.stopped {
                    return Poll::Ready(None);
                }
                let Some(signal) = ready!(signals.poll_next_unpin(cx)) else {
                    return Poll::Ready(None);
                };
                if let Some(event) = state.event(signal, &source_ids, fail_fast) {
                    return Poll::Ready(Some(event));
                }
            }
        })
        .boxed()
    }
}

/// What a source is walked as for one query: itself, or its partitions.
pub(crate) type Parts = Vec<Arc<dyn CampaignSource>>;

/// Every part of every source at its start.
fn start_marks(parts: &[Parts]) -> Vec<Vec<Mark>> {
    parts
        .iter()
        .map(|p| vec![Mark::At(SourcePosition::default()); p.len()])
        .collect()
}

fn page_size(query: &CampaignQuery) -> usize {
    let size = query.page_size().unwrap_or(DEFAULT_PAGE_SIZE);
    usize::try_from(size).unwrap_or(usize::MAX)
}

#[async_trait]
impl CampaignSource for Aggregator {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        "aggregate"
    }

    /// Everything: each source's walk applies what its provider does not,
    /// so the aggregate's output already satisfies the whole query.
    fn capabilities(&self) -> Capabilities {
        Capabilities::everything()
    }

    /// A page of [`Aggregator::page`]; the page token is the aggregate's
    /// cursor text, so an enclosing aggregate's cursor nests this one's.
    ///
    /// Under best effort a failed source is reported as a page warning and
    /// retried on the next page (also once only failed sources remain:
    /// [`AggregatePage::retry`]), and its sources' page warnings are passed
    /// on as this page's (each naming the source it came from), so an
    /// enclosing aggregate reports them to its consumer as
    /// [`SourceWarning`]s the moment this page arrives. Once only failed
    /// sources remain (a page with no items), the first failure is returned
    /// as the error, so a failure deep down is never turned into an empty
    /// success.
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let cursor = token
            .map(|token| Cursor::parse(token.as_str()))
            .transpose()
            .map_err(|e| e.with_source_id(&self.id))?;
        let page = self.page(query, cursor.as_ref()).await?;
        if page.items.is_empty() {
            if let Some(first) = page.failures.first() {
                return Err(first.error.clone().with_context(format!(
                    "reached through aggregate {:?}, where {} source(s) failed",
                    self.id,
                    page.failures.len()
                )));
            }
        }
        // Once only failed sources remain, they are retried on the next
        // page (`retry`), which fails with their error if they fail again:
        // the enclosing aggregate then reports the failure itself.
        let next = page
            .next
            .or(page.retry)
            .map(|cursor| PageToken::new(cursor.as_str()));
        let mut out = Page::new(page.items, next);
        for failure in page.failures {
            out = out.with_warning(format!(
                "source {:?} failed and is retried on the next page: {}",
                failure.source, failure.error
            ));
        }
        for warning in page.warnings {
            out = out.with_warning(warning.into_warning());
        }
        Ok(out)
    }

    /// The merged listing; a source failure is an `Err` item (best effort:
    /// the other sources go on; fail fast: the stream ends after it).
    /// Warnings are only logged (by the walker), as for every source's
    /// `stream`; [`Aggregator::events`] carries them.
    fn stream(self: Arc<Self>, query: &CampaignQuery) -> BoxStream<'static, Result<Campaign>> {
        self.events(query)
            .filter_map(|event| {
                future::ready(match event {
                    AggregateEvent::Campaign(campaign) => Some(Ok(campaign)),
                    AggregateEvent::SourceFailed(failure) => Some(Err(failure.error)),
                    AggregateEvent::SourceWarning(_) | AggregateEvent::SourceDone { .. } => None,
                })
            })
            .boxed()
    }
}

/// Keeps `id` in `last`, reusing its buffer: called for every campaign of a
/// page, since the campaign itself is handed on.
fn remember(last: &mut Option<CampaignId>, id: &CampaignId) {
    match last {
        Some(kept) => {
            if !Arc::ptr_eq(&kept.source, &id.source) {
                kept.source = Arc::clone(&id.source);
            }
            kept.native.clone_from(&id.native);
        }
        None => *last = Some(id.clone()),
    }
}
