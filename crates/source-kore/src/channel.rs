//! One channel's listing: server pages read once each, the server's sort
//! checked rather than trusted, ties ordered locally, and a local sort of
//! the rest of the channel when the server's order breaks.
//!
//! The spec documents `sortBy` but not how ties are broken, and a server may
//! accept a sort and ignore it. So every page's sort keys are checked against
//! each other and against the page before (`order_break`). Equal keys in any
//! id order are fine: a page holds back the run of equal keys at its end
//! (`tie_run_start`) and the next page lists it together with its own
//! campaigns of that key, sorted by id, so the walk is in the unified order
//! (key, then id) across page seams too. A key out of order means the server
//! did not sort: the rest of the channel is read whole, sorted locally and
//! paged from memory, with a warning; nothing is listed out of order but the
//! campaigns the server's order had hidden behind ones already listed (then
//! counted in a second warning).

use std::collections::VecDeque;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use campaign_core::{
    order_break, tie_run_start, Campaign, CampaignQuery, Channel, ErrorKind, KeysetMark, Page,
    PageToken, QueryPlan, RecordIssues, Result, Sort, SortDirection, SourceError, Warning,
};
use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::normalize::{decode_scoped, KorePage};
use crate::page_token::{self, ChannelPos, LocalPos};
use crate::request;
use crate::source::{capabilities, Inner};

/// Most pages announced for prefetch after a first page, and most pages
/// read for a local listing, so an absurd `totalResults` or a server that
/// never ends cannot make us plan or read an absurd walk.
pub(crate) const MAX_PAGES: u64 = 10_000;

/// Most earlier pages looked at for the start of a run of equal sort keys;
/// a longer run is listed with its seams in the server's order.
const MAX_LOOK_BACK: usize = 64;

/// How long a local listing serves the pages after its first.
const LOCAL_TTL: Duration = Duration::from_secs(60);

/// Local listings kept per source (one per recent query and channel).
const LOCAL_KEPT: usize = 2;

/// How long a server page read for one page serves the others that look
/// at it (the next page's look-back, a merged page resumed inside it, a
/// local listing). Short, since a new walk within it starts from the same
/// read; long enough for a rate-limited walk's prefetch window.
const RAW_TTL: Duration = Duration::from_secs(15);

/// One server page as it came: the campaigns (before the pushed-down
/// filters are re-checked) and the paging fields, read once and shared by
/// the page that lists it and the next page, which looks back at its end.
pub(crate) struct RawPage {
    pub(crate) page: KorePage,
    /// Records the response held, skipped ones included: what the server's
    /// offsets count.
    pub(crate) records: u64,
    /// The records the decoder skipped, one warning each.
    pub(crate) skipped: Vec<Warning>,
    pub(crate) description: String,
}

type RawFetch = Shared<BoxFuture<'static, Result<Arc<RawPage>>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct RawKey {
    /// Pages are shared within a walk only.
    walk: u64,
    /// Read page by page after the listing moved (never one read ahead).
    resync: bool,
    query: u64,
    channel: String,
    skip: u64,
    limit: u32,
}

/// Server pages being read or read recently, so that each is requested
/// once however many pages look at it (single flight; failures are not kept).
pub(crate) struct RawPages {
    entries: Mutex<VecDeque<(RawKey, Instant, RawFetch)>>,
    capacity: usize,
}

impl RawPages {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            capacity: capacity.max(4),
        }
    }

    /// The read of `key`: the kept one unless it failed or is older than
    /// [`RAW_TTL`]; else a new one from `start`.
    fn get_or_start(&self, key: RawKey, start: impl FnOnce() -> RawFetch) -> RawFetch {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(_, at, _)| at.elapsed() < RAW_TTL);
        if let Some(at) = entries.iter().position(|(k, _, _)| *k == key) {
            let failed = matches!(entries[at].2.peek(), Some(Err(_)));
            if !failed {
                return entries[at].2.clone();
            }
            entries.remove(at);
        }
        let fetch = start();
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, Instant::now(), fetch.clone()));
        fetch
    }
}

/// A channel's remaining campaigns, read whole and sorted locally.
pub(crate) struct LocalListing {
    /// Walk, query fingerprint, channel, where the server's order broke.
    key: (u64, u64, String, (u64, usize)),
    read_at: Instant,
    /// Sorted by the query, pushed-down filters re-checked.
    items: Vec<Campaign>,
    /// Skipped records of the pages only this listing read.
    warnings: Vec<Warning>,
}

/// The run of equal sort keys that ended the pages before this one.
#[derive(Default)]
struct Held {
    items: Vec<Campaign>,
    /// The last campaign of the page before, for the check across the seam.
    previous_last: Option<Campaign>,
    /// Server offset of the page the run starts in, and the run's first
    /// index among that page's campaigns.
    page: u64,
    index: usize,
}

/// Whether a channel has more after the server page `raw` (asked with
/// `limit`), and the page size the server used.
fn more_after(raw: &RawPage, limit: u32) -> (bool, u64) {
    let page = &raw.page;
    let n = raw.records;
    let page_limit = page.limit.filter(|&l| l > 0).unwrap_or(u64::from(limit));
    let more = match page.has_more {
        Some(false) => false,
        _ if n == 0 => false,
        _ if n < page_limit => false,
        Some(true) => true,
        None => page
            .total_results
            .is_none_or(|t| page.skip.unwrap_or(0) + n < t),
    };
    (more, page_limit)
}

impl Inner {
    /// The server page of `channel` at `skip`, read once for everyone who
    /// asks while it is kept. `resync` pages (the listing moved) are read
    /// apart from those read ahead before: a page read ahead may have been
    /// answered before the page before it and miss what moved in between.
    pub(crate) async fn raw(
        self: &Arc<Self>,
        resync: bool,
        walk: u64,
        query: &CampaignQuery,
        channel: &Channel,
        skip: u64,
        limit: u32,
    ) -> Result<Arc<RawPage>> {
        let key = RawKey {
            walk,
            resync,
            query: query.fingerprint(),
            channel: channel.as_str().to_owned(),
            skip,
            limit,
        };
        let fetch = self.raw_pages.get_or_start(key, || {
            let inner = Arc::clone(self);
            let query = query.clone();
            let channel = channel.clone();
            async move {
                inner
                    .read_raw(&query, &channel, skip, limit)
                    .await
                    .map(Arc::new)
            }
            .boxed()
            .shared()
        });
        fetch.await
    }

    /// Sends the request for one server page and decodes it. A server that
    /// refuses `sortBy` without `name` (as the spec's table says it may) is
    /// asked again with `name` after the sorted field, and so is every later
    /// request of this source.
    async fn read_raw(
        &self,
        query: &CampaignQuery,
        channel: &Channel,
        skip: u64,
        limit: u32,
    ) -> Result<RawPage> {
        let plan = capabilities().split(query);
        let description =
            format!("POST getAllCampaignDetails (type {channel}, skip {skip}, limit {limit})");
        let body = |with_name: bool| {
            let body = request::body(&plan, channel, skip, limit, with_name);
            // Serializing strings and numbers cannot fail.
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        };
        let needs_name = self.sort_needs_name.load(AtomicOrdering::Relaxed);
        let sent = self.send(body(needs_name), &description).await;
        let raw = match sent {
            Err(e) if e.kind() == ErrorKind::BadRequest && !needs_name && names_a_sort(&plan) => {
                tracing::debug!(
                    source = %self.source_id,
                    error = %e,
                    "sortBy refused without name; asking again with name"
                );
                let again = self.send(body(true), &description).await;
                if again.is_ok() {
                    self.sort_needs_name.store(true, AtomicOrdering::Relaxed);
                }
                again?
            }
            other => other?,
        };
        let mut issues = RecordIssues::new(self.strict);
        let page = decode_scoped(
            &self.source_id,
            &description,
            channel,
            &self.scope,
            &raw,
            &mut issues,
        )
        .map_err(|e| e.with_partition(channel_partition(channel)))?;
        let records = (page.campaigns.len() + issues.skipped()) as u64;
        let skipped = issues
            .into_warnings()
            .into_iter()
            .map(|w| w.with_partition(channel_partition(channel)))
            .collect();
        Ok(RawPage {
            page,
            records,
            skipped,
            description,
        })
    }

    /// One page of a single channel: checked, ties ordered, announcing the
    /// following pages after the first.
    pub(crate) async fn fetch_channel(
        self: &Arc<Self>,
        query: &CampaignQuery,
        channel: &Channel,
        token: Option<PageToken>,
    ) -> Result<Page> {
        let plan = capabilities().split(query);
        let channels = [channel.clone()];
        let mut pos = page_token::decode(&self.source_id, query, &channels, token.as_ref())?
            .pop()
            .unwrap_or_else(|| ChannelPos::start(channel));
        if pos.done {
            return Ok(Page::new(Vec::new(), None));
        }
        // A walk starts here: its pages share server reads with each other
        // only, so it sees the server as it is now.
        let this_page = token.is_none().then(|| {
            pos.walk = rand::random();
            page_token::encode(query, vec![pos.clone()])
        });
        if let Some(local) = &pos.local {
            return self
                .local_page(query, &plan, channel, &pos, local, Vec::new())
                .await;
        }
        let first = token.is_none();
        let limit = self.page_limit(query);
        // Once the listing moved, a page read ahead before the one
        // before it may miss what moved between them: read it now.
        let raw = self
            .raw(pos.resync, pos.walk, query, channel, pos.skip, limit)
            .await?;
        let step = self.interpret(channel, &pos, &raw, limit)?;
        let mut warnings = raw.skipped.clone();
        warnings.extend(step.warnings);
        let mut items = raw.page.campaigns.clone();
        let sorted = plan.sort_pushed && query.sort().is_some();
        if sorted {
            let held = match pos.skip {
                0 => Held::default(),
                skip => {
                    let prev = pos.prev.unwrap_or(skip.saturating_sub(step.page_limit));
                    self.held_back(&pos, query, channel, prev, step.page_limit, limit)
                        .await?
                }
            };
            // The listing moved under the walk (its total changed): campaigns
            // added at its head push earlier ones onto this page, so a page
            // that starts before where the last one ended repeats what was
            // listed; those are dropped, and only a break inside the page
            // itself says the server does not sort.
            let moved = pos.resync || (pos.total.is_some() && raw.page.total_results != pos.total);
            if moved {
                if let Some(last) = &held.previous_last {
                    let repeated = items
                        .iter()
                        .take_while(|c| query.compare_key(c, last).is_lt())
                        .count();
                    items.drain(..repeated);
                }
            }
            let previous = held.previous_last.as_ref().filter(|_| !moved);
            let mut broken = order_break(query, previous, &items).map(|at| {
                format!(
                    "the campaign at offset {} comes out of order",
                    pos.skip + at as u64
                )
            });
            if broken.is_none() && pos.skip == 0 && !step.next.done {
                broken = self.sort_ignored(query, channel, &items).await?;
            }
            if let Some(reason) = broken {
                let sort = query.sort().map(|s| s.to_string()).unwrap_or_default();
                warnings.insert(
                    0,
                    Warning::new(format!(
                        "the server did not sort by {sort}: {reason}; reading the rest of the \
                         channel whole and sorting it locally"
                    ))
                    .with_request(raw.description.clone())
                    .with_partition(channel_partition(channel))
                    .sorted_locally(),
                );
                // Everything before the held run was listed in the
                // server's order; the rest is listed from a local sort.
                let local = LocalPos {
                    page: held.page,
                    index: held.index,
                    after: None,
                };
                let late_key = held.items.first();
                let listing = self
                    .local_items(pos.walk, query, &plan, channel, &local)
                    .await?;
                if let Some(late) = late_warning(query, late_key, &listing.items, channel) {
                    warnings.push(late);
                }
                let mut page = self
                    .local_page(query, &plan, channel, &pos, &local, warnings)
                    .await?;
                page.this_page = this_page;
                return Ok(page);
            }
            let mut combined = held.items;
            combined.append(&mut items);
            combined.sort_by(|a, b| query.compare(a, b));
            // A campaign held back and read again on this page (the listing moved).
            combined.dedup_by(|a, b| a.id == b.id);
            if !step.next.done {
                // Their place among equal keys on the next page is not known yet.
                combined.truncate(tie_run_start(query, &combined));
            }
            items = combined;
        }
        // The server's filters may differ in detail (case, values not
        // sent); the pushed-down part is re-checked here so the
        // capabilities hold exactly.
        items.retain(|c| plan.pushdown.matches(c));
        let next_pos = step.next;
        let mut following = Vec::new();
        if let (true, false, Some(total)) = (first, next_pos.done, next_pos.total) {
            let mut skip = next_pos.skip.saturating_add(step.page_limit);
            while skip < total && (following.len() as u64) < MAX_PAGES {
                let pos = ChannelPos {
                    skip,
                    prev: Some(skip - step.page_limit),
                    ..next_pos.clone()
                };
                following.push(page_token::encode(query, vec![pos]));
                skip = skip.saturating_add(step.page_limit);
            }
        }
        let next = (!next_pos.done).then(|| page_token::encode(query, vec![next_pos.clone()]));
        let mut page = Page::new(items, next).with_following(following);
        if let Some(total) = next_pos.total {
            page = page.with_total_hint(total);
        }
        page.warnings = warnings;
        page.this_page = this_page;
        Ok(page)
    }

    /// Whether the server ignores `sortBy`, by asking for the first
    /// campaign the other way round: a server that sorts starts the
    /// reversed listing with one that sorts at or after the first page's
    /// first (`first_page`); one that ignores the sort answers in its own
    /// order both times, so with the same campaign. A first page can look
    /// sorted by chance (small pages, many equal keys); this one request
    /// per walk catches that before anything is listed.
    async fn sort_ignored(
        &self,
        query: &CampaignQuery,
        channel: &Channel,
        first_page: &[Campaign],
    ) -> Result<Option<String>> {
        let (Some(first), Some(sort)) = (first_page.first(), query.sort()) else {
            return Ok(None);
        };
        let reversed = match sort.direction {
            SortDirection::Asc => Sort::desc(sort.field),
            SortDirection::Desc => Sort::asc(sort.field),
        };
        let probe = query
            .to_builder()
            .sort(reversed)
            .page_size(1)
            .build()
            .map_err(|e| SourceError::config(&self.source_id, e.to_string()))?;
        let answer = self.read_raw(&probe, channel, 0, 1).await?;
        let Some(last) = answer.page.campaigns.first() else {
            return Ok(None);
        };
        if query.compare_key(last, first).is_lt() {
            return Ok(Some(format!(
                "asked for {reversed}, it starts with a campaign that sorts before the first \
                 one it gave for {sort}"
            )));
        }
        let varied = first_page
            .iter()
            .any(|c| query.compare_key(c, first).is_ne());
        Ok((last.id == first.id && varied).then(|| {
            format!("asked for {reversed}, it starts with the same campaign as for {sort}")
        }))
    }

    /// The run of campaigns sharing the last sort key of the page at `prev`
    /// (and of pages before it, while the run fills them whole).
    async fn held_back(
        self: &Arc<Self>,
        pos: &ChannelPos,
        query: &CampaignQuery,
        channel: &Channel,
        prev: u64,
        page_limit: u64,
        limit: u32,
    ) -> Result<Held> {
        let mut held = Held {
            page: prev,
            ..Held::default()
        };
        let mut skip = prev;
        for _ in 0..MAX_LOOK_BACK {
            let raw = self
                .raw(pos.prev_resync, pos.walk, query, channel, skip, limit)
                .await?;
            let items = &raw.page.campaigns;
            if held.previous_last.is_none() {
                held.previous_last = items.last().cloned();
            }
            let Some(key) = held.previous_last.as_ref() else {
                break;
            };
            // Where this page's run of `key` starts (its end, if it ends otherwise).
            let start = items
                .iter()
                .rposition(|c| query.compare_key(c, key) != std::cmp::Ordering::Equal)
                .map_or(0, |before| before + 1);
            let mut run: Vec<Campaign> = items[start..].to_vec();
            run.append(&mut held.items);
            held.items = run;
            held.page = skip;
            held.index = start;
            if start > 0 || skip == 0 {
                break;
            }
            skip = skip.saturating_sub(page_limit);
        }
        Ok(held)
    }

    /// A page of the channel's local listing at `local`: the channel read
    /// whole (kept a while for the pages after), sorted, paged by key.
    async fn local_page(
        self: &Arc<Self>,
        query: &CampaignQuery,
        plan: &QueryPlan,
        channel: &Channel,
        pos: &ChannelPos,
        local: &LocalPos,
        mut warnings: Vec<Warning>,
    ) -> Result<Page> {
        let listing = self
            .local_items(pos.walk, query, plan, channel, local)
            .await?;
        let limit = self.page_limit(query);
        let start = match &local.after {
            None => {
                warnings.extend(listing.warnings.iter().cloned());
                0
            }
            Some(mark) => mark.resume_at(&self.source_id, query, &listing.items),
        };
        let end = start
            .saturating_add(limit as usize)
            .min(listing.items.len());
        let items = listing.items[start..end].to_vec();
        let next = match items.last() {
            Some(last) if end < listing.items.len() => {
                let next = ChannelPos {
                    local: Some(LocalPos {
                        after: Some(KeysetMark::of(query, last)),
                        ..local.clone()
                    }),
                    ..pos.clone()
                };
                Some(page_token::encode(query, vec![next]))
            }
            _ => None,
        };
        let mut page = Page::new(items, next).with_total_hint(listing.items.len() as u64);
        page.warnings = warnings;
        Ok(page)
    }

    /// The campaigns of the channel not listed yet once the server's order
    /// broke at `local` (page and index), sorted locally: kept from an
    /// earlier page, or read. Those listed already are the ones before it in the
    /// reads the server-ordered pages used; the channel is then read whole
    /// again, so a campaign the server's changing order moved before
    /// that point is not lost (one moved after it is dropped as listed).
    async fn local_items(
        self: &Arc<Self>,
        walk: u64,
        query: &CampaignQuery,
        plan: &QueryPlan,
        channel: &Channel,
        local: &LocalPos,
    ) -> Result<Arc<LocalListing>> {
        let limit = self.page_limit(query);
        let key = (
            walk,
            query.fingerprint(),
            channel.as_str().to_owned(),
            (local.page, local.index),
        );
        // One reader at a time: pages asking for the same listing wait for it.
        let mut kept = self.local.lock().await;
        kept.retain(|l| l.read_at.elapsed() < LOCAL_TTL);
        if let Some(listing) = kept.iter().find(|l| l.key == key) {
            return Ok(Arc::clone(listing));
        }
        let mut listed = std::collections::HashSet::new();
        let mut skip = 0;
        while skip <= local.page {
            let raw = self.raw(false, walk, query, channel, skip, limit).await?;
            let campaigns = &raw.page.campaigns;
            let before = if skip == local.page {
                local.index.min(campaigns.len())
            } else {
                campaigns.len()
            };
            listed.extend(campaigns[..before].iter().map(|c| c.id.native.clone()));
            if raw.records == 0 || skip == local.page {
                break;
            }
            skip += raw.records;
        }
        let resumed = local.page > 0 || local.index > 0;
        let mut items = Vec::new();
        let mut warnings = Vec::new();
        let mut skip = 0;
        for read in 0.. {
            if read >= MAX_PAGES {
                return Err(SourceError::new(
                    ErrorKind::Protocol,
                    &self.source_id,
                    format!("the channel did not end within {MAX_PAGES} pages"),
                )
                .with_partition(channel_partition(channel)));
            }
            // Read again when part of the walk was listed from earlier reads.
            let raw = if !resumed {
                self.raw(false, walk, query, channel, skip, limit).await?
            } else {
                Arc::new(self.read_raw(query, channel, skip, limit).await?)
            };
            if skip >= local.page {
                warnings.extend(raw.skipped.iter().cloned());
            }
            let campaigns = &raw.page.campaigns;
            items.extend(
                campaigns
                    .iter()
                    .filter(|c| !listed.contains(&c.id.native))
                    .cloned(),
            );
            let (more, _) = more_after(&raw, limit);
            if !more {
                break;
            }
            skip = skip.saturating_add(raw.records);
        }
        items.retain(|c| plan.pushdown.matches(c));
        items.sort_by(|a, b| query.compare(a, b));
        let listing = Arc::new(LocalListing {
            key,
            read_at: Instant::now(),
            items,
            warnings,
        });
        if kept.len() >= LOCAL_KEPT {
            kept.remove(0);
        }
        kept.push(Arc::clone(&listing));
        Ok(listing)
    }
}

/// A warning when some campaigns of a local listing sort before `late_key`
/// (where the server-ordered part of the walk had got to): they are listed
/// after campaigns they precede.
fn late_warning(
    query: &CampaignQuery,
    late_key: Option<&Campaign>,
    listing: &[Campaign],
    channel: &Channel,
) -> Option<Warning> {
    let key = late_key?;
    let late = listing
        .iter()
        .take_while(|c| query.compare_key(c, key) == std::cmp::Ordering::Less)
        .count();
    (late > 0).then(|| {
        Warning::new(format!(
            "{late} campaign(s) sort before campaigns already listed: the server's order hid \
             them until now, so they are listed late, first in the local listing"
        ))
        .with_partition(channel_partition(channel))
    })
}

/// Whether `plan` sends a `sortBy` on a field other than `name` (the one a
/// server enforcing the spec's rule refuses without `name`).
fn names_a_sort(plan: &QueryPlan) -> bool {
    plan.sort_pushed
        && plan
            .pushdown
            .sort()
            .is_some_and(|s| s.field != campaign_core::SortField::Name)
}

/// The partition label of `channel` (`channel=sms`).
pub(crate) fn channel_partition(channel: &Channel) -> String {
    format!("channel={channel}")
}
