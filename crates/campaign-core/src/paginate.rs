//! The one page walker every source's stream is built on.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, FuturesOrdered, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Result, SourceError};
use crate::merge::{merge_sorted, Chunk};
use crate::model::{Campaign, CampaignId};
use crate::query::CampaignQuery;
use crate::source::{CampaignSource, Page, PageToken};
use crate::warning::Warning;

/// Remembers which campaign ids a stream has already yielded.
///
/// Stores 64-bit keyed hashes rather than ids so memory stays about 16 bytes a
/// campaign; with a random key per set, two distinct ids collide with
/// probability ~n²/2⁶⁵ (about 10⁻⁹ at a million campaigns).
///
/// The key hash is foldhash's quality variant and the set does not hash the
/// hashes again: together about 50 ns an id against 130 ns with SipHash twice,
/// which matters at millions of campaigns a second.
#[derive(Debug, Default)]
pub struct SeenIds {
    hasher: foldhash::quality::RandomState,
    seen: HashSet<u64, BuildHasherDefault<AlreadyHashed>>,
}

/// A `Hasher` for keys that are already uniformly distributed `u64` hashes.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `HashSet<u64>`; stay correct for anything else.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl SeenIds {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `id`; true if it was not seen before.
    pub fn insert(&mut self, id: &CampaignId) -> bool {
        self.seen.insert(self.hasher.hash_one(id))
    }

    /// How many distinct ids were recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Where a walk stands in one source: the page being read and how many of
/// its raw items (before local filtering) are behind us.
///
/// `SourcePosition::default()` is the start of the listing. Resuming from a
/// position fetches `page` again and skips `offset` items, so a resumed walk
/// over unchanged data continues exactly where the earlier one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SourcePosition {
    /// The page token (`None`: the first page).
    pub page: Option<PageToken>,
    /// Raw items of that page already consumed.
    pub offset: usize,
}

/// A campaign with the position right after it in its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Positioned {
    /// The campaign.
    pub campaign: Campaign,
    /// Resume here to continue after this campaign.
    pub after: SourcePosition,
}

/// What [`walk_position_chunks`] yields for one page: the campaigns it
/// contributed after filtering (an error last if the walk stopped there), and
/// the page's [`warnings`](Page::warnings).
pub type PositionChunk = Chunk<Positioned, SourceError, Warning>;

type PageFuture = BoxFuture<'static, (Option<PageToken>, Result<Page>)>;

struct Walker<S: ?Sized> {
    source: Arc<S>,
    query: Arc<CampaignQuery>,
    residual: CampaignQuery,
    /// The source sorts for the query, so its pages come in its order.
    sorted: bool,
    /// `None` when the source lists each id once ([`WalkOptions::ids_unique`]).
    seen: Option<SeenIds>,
    queue: VecDeque<PageToken>,
    in_flight: FuturesOrdered<PageFuture>,
    /// Tokens of the announced pages not yet read, in order: each page's
    /// `next` must be the front one, or the plan is dropped.
    plan: VecDeque<PageToken>,
    planned: bool,
    pages: usize,
    skip_first: usize,
    prefetch: usize,
    max_pages: usize,
    /// The source's [partition label](CampaignSource::partition), stamped
    /// on its errors and warnings that do not name one.
    partition: Option<String>,
}

impl<S: CampaignSource + ?Sized> Walker<S> {
    fn fetch(&self, token: Option<PageToken>) -> PageFuture {
        let source = Arc::clone(&self.source);
        let query = Arc::clone(&self.query);
        Box::pin(async move {
            let page = source.fetch_page(&query, token.clone()).await;
            (token, page)
        })
    }

    fn fill(&mut self) {
        while self.in_flight.len() < self.prefetch {
            let Some(token) = self.queue.pop_front() else {
                break;
            };
            let fetch = self.fetch(Some(token));
            self.in_flight.push_back(fetch);
        }
    }

    /// Queues what follows `page`; returns false when the walk is over.
    ///
    /// Announced pages are fetched ahead, but each page's `next` stays
    /// authoritative: when it is not the next announced page (the source saw
    /// its data move and changed course), the rest of the plan is dropped,
    /// in-flight fetches included, and the walk continues from `next`.
    fn plan_after(&mut self, page: &mut Page) -> bool {
        let next = page.next.take();
        if !self.planned && !page.following.is_empty() {
            self.planned = true;
            self.queue.extend(next);
            self.queue
                .append(&mut std::mem::take(&mut page.following).into());
            self.plan = self.queue.clone();
            return !self.queue.is_empty();
        }
        // `plan` holds the tokens in flight and queued, in order; this page
        // was its front, if any. So once `plan` is empty, nothing of the
        // planned run is left to wait for.
        self.plan.pop_front();
        let Some(next) = next else {
            // An early end inside a planned run ends the walk: drop the rest.
            self.drop_plan();
            return false;
        };
        match self.plan.front() {
            Some(planned) if *planned == next => {}
            Some(_) => {
                tracing::debug!(
                    source = self.source.id(),
                    page = self.pages,
                    "the source changed course: dropping the announced pages"
                );
                self.drop_plan();
                self.queue.push_back(next);
            }
            // Sequential paging, or the planned run ran out while the source
            // says there is more: continue from its token.
            None => self.queue.push_back(next),
        }
        true
    }

    fn drop_plan(&mut self) {
        self.queue.clear();
        self.plan.clear();
        self.in_flight = FuturesOrdered::new();
    }

    fn protocol_error(&self, message: String) -> SourceError {
        self.labelled(SourceError::new(
            ErrorKind::Protocol,
            self.source.id(),
            message,
        ))
    }

    fn labelled(&self, error: SourceError) -> SourceError {
        match &self.partition {
            Some(partition) if error.partition().is_none() => error.with_partition(partition),
            _ => error,
        }
    }

    /// Fetches pages until one yields campaigns or warnings, or the walk ends.
    async fn step(mut self) -> Option<(PositionChunk, Option<Self>)> {
        loop {
            self.fill();
            let (token, page) = self.in_flight.next().await?;
            let mut page = match page {
                Ok(page) => page,
                Err(e) => return Some((Chunk::new(vec![Err(self.labelled(e))]), None)),
            };
            let token = page.this_page.take().or(token);
            self.pages += 1;
            let mut warnings = std::mem::take(&mut page.warnings);
            let mut more = self.plan_after(&mut page);
            // In the source's order nothing after this page can pass the
            // query's range on the sort field (a listing newest first since
            // an instant): the walk ends here.
            if more
                && self.sorted
                && page
                    .items
                    .last()
                    .is_some_and(|c| self.query.beyond_sorted_range(c))
            {
                more = false;
            }
            let skip = std::mem::take(&mut self.skip_first);
            if skip > 0 {
                // A resumed walk re-reads the page its position lies in; the
                // walk that consumed that page's first items reported these.
                warnings.clear();
            }
            // Logged here for every consumer, and handed on with the chunk
            // for those that report them (the aggregate's events and pages).
            for warning in &mut warnings {
                if warning.partition.is_none() {
                    warning.partition.clone_from(&self.partition);
                }
                tracing::warn!(source = self.source.id(), page = self.pages, "{warning}");
            }
            let considered = page.items.len().saturating_sub(skip);
            let mut out = Vec::with_capacity(considered);
            let mut fresh = 0usize;
            for (index, campaign) in page.items.into_iter().enumerate().skip(skip) {
                if self
                    .seen
                    .as_mut()
                    .is_none_or(|seen| seen.insert(&campaign.id))
                {
                    fresh += 1;
                    if self.residual.matches(&campaign) {
                        let after = SourcePosition {
                            page: token.clone(),
                            offset: index + 1,
                        };
                        out.push(Ok(Positioned { campaign, after }));
                    }
                }
            }
            if considered > 0 && fresh == 0 && more {
                let error = self.protocol_error(format!(
                    "page {} repeated only campaigns already seen; stopping to avoid a loop",
                    self.pages
                ));
                out.push(Err(error));
                return Some((Chunk::new(out).with_warnings(warnings), None));
            }
            if more && self.pages >= self.max_pages {
                let error = self.protocol_error(format!(
                    "stopped after the page cap of {} pages with more still announced",
                    self.max_pages
                ));
                out.push(Err(error));
                return Some((Chunk::new(out).with_warnings(warnings), None));
            }
            let state = more.then_some(self);
            if !out.is_empty() || !warnings.is_empty() || state.is_none() {
                return Some((Chunk::new(out).with_warnings(warnings), state));
            }
            self = state?;
        }
    }
}

/// Walks every page of `source` for `query` from `from`, yielding each
/// campaign with the position right after it: lazily, prefetching announced
/// pages concurrently, applying the residual filter and dropping repeated ids.
///
/// The aggregate uses the positions for its cursors; [`walk_pages`] drops them.
/// The pages' [warnings](Page::warnings) are logged (at warn level) but not
/// yielded; [`walk_position_chunks`] hands them on.
pub fn walk_positions<S>(
    source: Arc<S>,
    query: CampaignQuery,
    from: SourcePosition,
) -> BoxStream<'static, Result<Positioned>>
where
    S: CampaignSource + ?Sized,
{
    walk_position_chunks(source, query, from)
        .flat_map(|chunk| stream::iter(chunk.items))
        .boxed()
}

/// [`walk_positions`] a page at a time: each chunk is what one page yielded
/// after filtering, and an error is the last item of the last chunk. For
/// consumers that handle whole pages, such as
/// [`merge_sorted_chunks`](crate::merge_sorted_chunks), so campaigns are not
/// moved through a per-item stream layer.
///
/// Each chunk also carries its page's [`Page::warnings`] (anomalies the
/// source noticed but that did not stop the listing), so a consumer can
/// report them as that page arrives; they are logged at warn level as well.
/// A chunk with no items carries warnings or is the last one; pages that
/// yield nothing (all filtered out or repeated) and warn of nothing are
/// skipped.
pub fn walk_position_chunks<S>(
    source: Arc<S>,
    query: CampaignQuery,
    from: SourcePosition,
) -> BoxStream<'static, PositionChunk>
where
    S: CampaignSource + ?Sized,
{
    let options = source.walk_options();
    let plan = source.capabilities().split(&query);
    let sorted = plan.sort_pushed && query.sort().is_some();
    let residual = plan.residual;
    let partition = source.partition();
    let mut walker = Walker {
        source,
        query: Arc::new(query),
        residual,
        sorted,
        seen: (!options.ids_unique).then(SeenIds::new),
        queue: VecDeque::new(),
        in_flight: FuturesOrdered::new(),
        plan: VecDeque::new(),
        planned: false,
        pages: 0,
        skip_first: from.offset,
        prefetch: options.prefetch.max(1),
        max_pages: options.max_pages.max(1),
        partition,
    };
    let first = walker.fetch(from.page);
    walker.in_flight.push_back(first);
    stream::unfold(Some(walker), |state| async move { state?.step().await }).boxed()
}

/// Walks every page of `source` for `query` from the start: the body of
/// [`CampaignSource::stream`], for sources that override it to build on.
pub fn walk_pages<S>(source: Arc<S>, query: CampaignQuery) -> BoxStream<'static, Result<Campaign>>
where
    S: CampaignSource + ?Sized,
{
    walk_positions(source, query, SourcePosition::default())
        .map_ok(|positioned| positioned.campaign)
        .boxed()
}

/// The provided stream of a partitioned source: each part walked on its own
/// (with its own prefetch) and merged in `query`'s order. A part's error
/// (naming the part) ends only that part; an id listed by two parts is
/// yielded once.
pub(crate) fn walk_parts(
    parts: Vec<Arc<dyn CampaignSource>>,
    query: CampaignQuery,
) -> BoxStream<'static, Result<Campaign>> {
    let inputs = parts
        .into_iter()
        .map(|part| walk_pages(part, query.clone()))
        .collect();
    let mut seen = SeenIds::new();
    merge_sorted(inputs, move |a: &Campaign, b: &Campaign| {
        query.compare(a, b)
    })
    .filter(move |item| {
        let fresh = match item {
            Ok(campaign) => seen.insert(&campaign.id),
            Err(_) => true,
        };
        futures::future::ready(fresh)
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::Capabilities;
    use crate::model::Channel;
    use crate::source::WalkOptions;
    use async_trait::async_trait;

    /// Announces pages p2..p4 on the first page, then changes course at p2.
    #[derive(Debug)]
    struct ChangesCourse;

    fn campaign(native: &str) -> Campaign {
        Campaign::new(CampaignId::new("s", native), "test", native, Channel::Voice)
    }

    #[async_trait]
    impl CampaignSource for ChangesCourse {
        fn id(&self) -> &str {
            "s"
        }
        fn provider(&self) -> &str {
            "test"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::local_only()
        }
        fn walk_options(&self) -> WalkOptions {
            WalkOptions {
                prefetch: 3,
                ..WalkOptions::default()
            }
        }
        async fn fetch_page(&self, _: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
            let token = token.map(|t| t.as_str().to_owned());
            let page = |ids: &[&str], next: Option<&str>| {
                Page::new(
                    ids.iter().map(|id| campaign(id)).collect(),
                    next.map(PageToken::new),
                )
            };
            Ok(match token.as_deref() {
                None => page(&["1", "2"], Some("p2"))
                    .with_following(vec![PageToken::new("p3"), PageToken::new("p4")]),
                Some("p2") => page(&["3", "4"], Some("resync")),
                Some("p3") => page(&["stale-3"], Some("p4")),
                Some("p4") => page(&["stale-4"], None),
                Some("resync") => page(&["5"], None),
                Some(other) => panic!("unexpected token {other}"),
            })
        }
    }

    #[tokio::test]
    async fn a_next_off_the_plan_drops_the_announced_pages() {
        let ids: Vec<String> = walk_pages(Arc::new(ChangesCourse), CampaignQuery::all())
            .map(|c| c.unwrap().id.native)
            .collect()
            .await;
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    }

    /// Lists campaign 1 on both of its pages.
    #[derive(Debug)]
    struct Repeats {
        ids_unique: bool,
    }

    #[async_trait]
    impl CampaignSource for Repeats {
        fn id(&self) -> &str {
            "s"
        }
        fn provider(&self) -> &str {
            "test"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::local_only()
        }
        fn walk_options(&self) -> WalkOptions {
            WalkOptions {
                ids_unique: self.ids_unique,
                ..WalkOptions::default()
            }
        }
        async fn fetch_page(&self, _: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
            let ids: &[&str] = if token.is_none() { &["1"] } else { &["1", "2"] };
            let next = token.is_none().then(|| PageToken::new("p2"));
            Ok(Page::new(ids.iter().map(|id| campaign(id)).collect(), next))
        }
    }

    #[tokio::test]
    async fn repeated_ids_are_dropped_unless_the_source_lists_each_once() {
        for (ids_unique, expected) in [(false, vec!["1", "2"]), (true, vec!["1", "1", "2"])] {
            let ids: Vec<String> =
                walk_pages(Arc::new(Repeats { ids_unique }), CampaignQuery::all())
                    .map(|c| c.unwrap().id.native)
                    .collect()
                    .await;
            assert_eq!(ids, expected, "ids_unique: {ids_unique}");
        }
    }

    #[test]
    fn seen_ids_tell_repeats_from_new_ids() {
        let mut seen = SeenIds::new();
        assert!(seen.is_empty());
        for i in 0..10_000 {
            assert!(
                seen.insert(&CampaignId::new("s", i.to_string())),
                "{i} is new"
            );
        }
        assert!(!seen.insert(&CampaignId::new("s", "42")));
        // The same native id from another source is another campaign.
        assert!(seen.insert(&CampaignId::new("t", "42")));
        assert_eq!(seen.len(), 10_001);
    }
}
