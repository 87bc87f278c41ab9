//! A walk over the listing: server pages read once each and shared, the
//! name sort checked rather than trusted, ties ordered locally, and a
//! local sort of the listing when the server's order breaks or the query
//! sorts by a field the server is not asked to sort by.
//!
//! The spec documents no `sortBy` values for this endpoint (§2.1, §8.1);
//! `name` is the one everybody uses. So every page's names are checked
//! against each other and against the page before (`order_break`). Equal
//! names in any id order are fine: a page holds back the run of equal names
//! at its end (`tie_run_start`) and the next page lists it with its own
//! campaigns of that name, sorted by id, so the walk is in the unified order
//! (key, then id) across page seams. A name out of order means the server
//! did not sort: the listing is read whole, sorted locally and paged from
//! memory, with a warning. Since a small first page can look sorted by
//! chance, a walk of more than one page also asks once for the first
//! campaign the other way round: a server that ignores `sortBy` answers with
//! the same campaign.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use campaign_core::{
    order_break, tie_run_start, Campaign, CampaignQuery, ErrorKind, KeysetMark, Page, PageToken,
    Result, Sort, SortDirection, SourceError, Warning,
};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::StreamExt;
use tokio::time::Instant;

use crate::normalize::GenesysPage;
use crate::page_token::{self, LocalPos, Pos};
use crate::source::{capabilities, Inner};

/// Most pages a walk announces or reads, so an absurd `pageCount` or a
/// server that never ends cannot make us plan or read an absurd walk.
pub(crate) const MAX_PAGES: u64 = 10_000;

/// Most earlier pages looked at for the start of a run of equal names.
const MAX_LOOK_BACK: usize = 64;

/// How long a server page read for one page serves the others that look
/// at it (the next page's look-back, a local listing): long enough for a
/// rate-limited walk's prefetch window, short since a new walk re-reads.
const RAW_TTL: Duration = Duration::from_secs(15);

/// How long a local listing serves the pages after its first.
const LOCAL_TTL: Duration = Duration::from_secs(60);

/// Local listings kept per source (one per recent walk).
const LOCAL_KEPT: usize = 2;

/// One server page as it came, decoded, with what it is worth reporting.
pub(crate) struct RawPage {
    pub(crate) page: GenesysPage,
    /// Skipped records, records without `dateCreated`, campaigns outside
    /// the configured divisions.
    pub(crate) warnings: Vec<Warning>,
    pub(crate) description: String,
}

type RawFetch = Shared<BoxFuture<'static, Result<Arc<RawPage>>>>;

/// Walk, query fingerprint, page number, page size.
type RawKey = (u64, u64, u64, u32);

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

    fn get_or_start(&self, key: RawKey, start: impl FnOnce() -> RawFetch) -> RawFetch {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(_, at, _)| at.elapsed() < RAW_TTL);
        if let Some(at) = entries.iter().position(|(k, _, _)| *k == key) {
            if !matches!(entries[at].2.peek(), Some(Err(_))) {
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

/// A listing read whole and sorted locally.
pub(crate) struct LocalListing {
    /// Walk, query fingerprint, page size, where the server's order broke.
    key: (u64, u64, u32, u64, usize),
    read_at: Instant,
    /// Sorted by the query; those listed before the break left out.
    items: Vec<Campaign>,
    /// Each page's warnings, by page number: a page reports those of the
    /// pages the server-ordered part of the walk did not list.
    warnings: Vec<(u64, Warning)>,
}

/// The run of equal names that ended the pages before this one.
struct Held {
    items: Vec<Campaign>,
    /// The last campaign of the page before, for the check across the seam.
    previous_last: Option<Campaign>,
    /// The page the run starts in, and its first index there.
    page: u64,
    index: usize,
}

/// Whether the listing goes on after server page `n` (asked with `size`),
/// per the spec's loop (§3): entities non-empty, `nextUri` present (when the
/// page has links at all) and `pageNumber < pageCount` (or, without
/// `pageCount`, `total`). Never past [`MAX_PAGES`].
fn more_after(source_id: &str, raw: &RawPage, n: u64, size: u32) -> Result<bool> {
    let page = &raw.page;
    if page.records == 0 {
        return Ok(false);
    }
    let size = page.page_size.filter(|&s| s > 0).unwrap_or(u64::from(size));
    let counted = match (page.page_count, page.total) {
        (Some(count), _) => n < count,
        (None, Some(total)) => n.saturating_mul(size) < total,
        (None, None) => page.next_uri.is_some() || page.records as u64 >= size,
    };
    let more = counted && (!page.has_links || page.next_uri.is_some());
    if more && n >= MAX_PAGES {
        return Err(SourceError::new(
            ErrorKind::Protocol,
            source_id,
            format!("the listing did not end within {MAX_PAGES} pages"),
        )
        .with_request(raw.description.clone()));
    }
    Ok(more)
}

impl Inner {
    /// Server page `page` of `query` in walk `walk`, read once for everyone
    /// who asks while it is kept.
    async fn raw(
        self: &Arc<Self>,
        walk: u64,
        query: &CampaignQuery,
        page: u64,
        size: u32,
    ) -> Result<Arc<RawPage>> {
        let key = (walk, query.fingerprint(), page, size);
        let fetch = self.raw_pages.get_or_start(key, || {
            let inner = Arc::clone(self);
            let query = query.clone();
            async move { inner.read_raw(&query, page, size).await.map(Arc::new) }
                .boxed()
                .shared()
        });
        fetch.await
    }

    /// Fails when page `n > 1` starts with the listing's first campaign
    /// again and the listing did not grow enough to explain it: the server
    /// ignores `pageNumber`, and reading on would repeat pages.
    fn check_anchor(&self, pos: &Pos, n: u64, raw: &RawPage) -> Result<()> {
        let (Some(anchor), Some(first)) = (&pos.anchor, raw.page.campaigns.first()) else {
            return Ok(());
        };
        let grown = match (pos.total, raw.page.total) {
            (Some(before), Some(now)) => now.saturating_sub(before),
            _ => 0,
        };
        let before = (n - 1).saturating_mul(u64::from(pos.size));
        if n > 1 && first.id.native == *anchor && grown < before {
            return Err(SourceError::new(
                ErrorKind::Protocol,
                &self.source_id,
                format!(
                    "the server ignored pageNumber: page {n} starts with the listing's first \
                     campaign again; stopping instead of repeating pages"
                ),
            )
            .with_request(raw.description.clone()));
        }
        Ok(())
    }

    /// One page of a walk over `query` from `token`.
    pub(crate) async fn fetch(
        self: &Arc<Self>,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page> {
        let first = token.is_none();
        let mut pos = page_token::decode(
            &self.source_id,
            query,
            self.page_limit(query),
            token.as_ref(),
        )?;
        if !Self::covers(query) {
            return Ok(Page::new(Vec::new(), None));
        }
        let plan = capabilities().split(query);
        if first {
            // A walk starts here: its pages share server reads with each
            // other only, so it sees the server as it is now.
            pos.walk = rand::random();
            if plan.local_sort {
                pos.local = Some(LocalPos {
                    page: 1,
                    index: 0,
                    after: None,
                });
            }
        }
        let this_page = first.then(|| page_token::encode(query, &pos));
        if let Some(local) = pos.local.clone() {
            let mut page = self.local_page(query, &pos, &local, Vec::new()).await?;
            page.this_page = this_page;
            return Ok(page);
        }
        let n = pos.page;
        let raw = self.raw(pos.walk, query, n, pos.size).await?;
        self.check_anchor(&pos, n, &raw)?;
        let more = more_after(&self.source_id, &raw, n, pos.size)?;
        let mut warnings = Vec::new();
        if let (true, Some(before), Some(now)) = (n > 1, pos.total, raw.page.total) {
            if before != now {
                warnings.push(
                    Warning::new(format!(
                        "total changed from {before} to {now} during the walk; campaigns may \
                         have moved between pages"
                    ))
                    .with_request(raw.description.clone()),
                );
            }
        }
        let mut items = raw.page.campaigns.clone();
        let own_warnings = raw.warnings.iter().cloned();
        if plan.sort_pushed {
            let held = match n {
                1 => Held {
                    items: Vec::new(),
                    previous_last: None,
                    page: 1,
                    index: 0,
                },
                _ => self.held_back(&pos, query, n - 1).await?,
            };
            let mut broken = order_break(query, held.previous_last.as_ref(), &items)
                .map(|at| format!("campaign {at} of page {n} comes out of order"));
            if broken.is_none() && n == 1 && more {
                broken = self.sort_ignored(query, &items).await?;
            }
            if let Some(reason) = broken {
                let sort = query.sort().map(|s| s.to_string()).unwrap_or_default();
                warnings.insert(
                    0,
                    Warning::new(format!(
                        "the server did not sort by {sort}: {reason}; reading the listing whole \
                         and sorting it locally"
                    ))
                    .with_request(raw.description.clone())
                    .sorted_locally(),
                );
                let local = LocalPos {
                    page: held.page,
                    index: held.index,
                    after: None,
                };
                let listing = self.local_items(pos.walk, query, pos.size, &local).await?;
                let last_listed = self.last_listed(&pos, query, &held).await?;
                warnings.extend(late_warning(query, last_listed.as_ref(), &listing.items));
                let local_pos = Pos {
                    local: Some(local.clone()),
                    ..pos.clone()
                };
                let mut page = self.local_page(query, &local_pos, &local, warnings).await?;
                page.this_page = this_page;
                return Ok(page);
            }
            let mut combined = held.items;
            combined.append(&mut items);
            combined.sort_by(|a, b| query.compare(a, b));
            // A campaign held back and read again on this page (the listing moved).
            combined.dedup_by(|a, b| a.id == b.id);
            if more {
                // Their place among equal names on the next page is not known yet.
                combined.truncate(tie_run_start(query, &combined));
            }
            items = combined;
        }
        warnings.extend(own_warnings);
        let next_pos = Pos {
            page: n + 1,
            anchor: match n {
                1 => raw.page.campaigns.first().map(|c| c.id.native.clone()),
                _ => pos.anchor.clone(),
            },
            total: pos.total.or(raw.page.total),
            ..pos.clone()
        };
        let mut following = Vec::new();
        if let (true, true, Some(count)) = (first, more, raw.page.page_count) {
            for page in n + 2..=count.min(MAX_PAGES) {
                following.push(page_token::encode(
                    query,
                    &Pos {
                        page,
                        ..next_pos.clone()
                    },
                ));
            }
        }
        let next = more.then(|| page_token::encode(query, &next_pos));
        let mut page = Page::new(items, next).with_following(following);
        if let Some(total) = raw.page.total {
            page = page.with_total_hint(total);
        }
        page.warnings = warnings;
        page.this_page = this_page;
        Ok(page)
    }

    /// Whether the server ignores `sortBy`, by asking for the first campaign
    /// the other way round: a server that sorts starts the reversed listing
    /// with one that sorts at or after the first page's first; one that
    /// ignores the sort answers in its own order both times, so with the
    /// same campaign.
    async fn sort_ignored(
        &self,
        query: &CampaignQuery,
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
        let answer = self.read_raw(&probe, 1, 1).await?;
        let Some(last) = answer.page.campaigns.first() else {
            return Ok(None);
        };
        if query.compare_key(last, first).is_lt() {
            return Ok(Some(format!(
                "asked for {reversed}, it starts with a campaign that sorts before the first one \
                 it gave for {sort}"
            )));
        }
        let varied = first_page
            .iter()
            .any(|c| query.compare_key(c, first).is_ne());
        Ok((last.id == first.id && varied).then(|| {
            format!("asked for {reversed}, it starts with the same campaign as for {sort}")
        }))
    }

    /// The run of campaigns sharing the last name of page `prev` (and of
    /// pages before it, while the run fills them whole).
    async fn held_back(
        self: &Arc<Self>,
        pos: &Pos,
        query: &CampaignQuery,
        prev: u64,
    ) -> Result<Held> {
        let mut held = Held {
            items: Vec::new(),
            previous_last: None,
            page: prev,
            index: 0,
        };
        let mut page = prev;
        for _ in 0..MAX_LOOK_BACK {
            let raw = self.raw(pos.walk, query, page, pos.size).await?;
            let items = &raw.page.campaigns;
            if held.previous_last.is_none() {
                held.previous_last = items.last().cloned();
            }
            let Some(key) = held.previous_last.as_ref() else {
                break;
            };
            let start = items
                .iter()
                .rposition(|c| query.compare_key(c, key).is_ne())
                .map_or(0, |before| before + 1);
            let mut run = items[start..].to_vec();
            run.append(&mut held.items);
            held.items = run;
            (held.page, held.index) = (page, start);
            if start > 0 || page == 1 {
                break;
            }
            page -= 1;
        }
        Ok(held)
    }

    /// The last campaign the server-ordered part of the walk listed: the
    /// one before the held run (whose order was verified, so it has the
    /// largest key listed). `None` when nothing was listed.
    async fn last_listed(
        self: &Arc<Self>,
        pos: &Pos,
        query: &CampaignQuery,
        held: &Held,
    ) -> Result<Option<Campaign>> {
        let (page, index) = match (held.page, held.index) {
            (page, 0) if page > 1 => (page - 1, None),
            (_, 0) => return Ok(None),
            (page, index) => (page, Some(index - 1)),
        };
        let raw = self.raw(pos.walk, query, page, pos.size).await?;
        let campaigns = &raw.page.campaigns;
        Ok(index
            .map_or(campaigns.last(), |i| campaigns.get(i))
            .cloned())
    }

    /// Every server page of the listing, in order: page 1, then the pages
    /// its `pageCount` announces, [`Inner::prefetch`] at a time.
    async fn read_all(
        self: &Arc<Self>,
        walk: u64,
        query: &CampaignQuery,
        size: u32,
    ) -> Result<Vec<Arc<RawPage>>> {
        let first = self.raw(walk, query, 1, size).await?;
        let mut pages = vec![Arc::clone(&first)];
        if !more_after(&self.source_id, &first, 1, size)? {
            return Ok(pages);
        }
        let pos = Pos {
            anchor: first.page.campaigns.first().map(|c| c.id.native.clone()),
            total: first.page.total,
            ..Pos::start(size)
        };
        let last = first.page.page_count.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        let mut reads = futures::stream::iter(2..=last)
            .map(|n| {
                let inner = Arc::clone(self);
                let query = query.clone();
                async move { inner.raw(walk, &query, n, size).await.map(|raw| (n, raw)) }
            })
            .buffered(self.prefetch);
        while let Some(read) = reads.next().await {
            let (n, raw) = read?;
            self.check_anchor(&pos, n, &raw)?;
            let more = more_after(&self.source_id, &raw, n, size)?;
            pages.push(raw);
            if !more {
                break;
            }
        }
        Ok(pages)
    }

    /// The campaigns of the listing not listed yet once the server-ordered
    /// part of the walk stopped at `local` (page and index), sorted
    /// locally: kept from an earlier page, or read.
    async fn local_items(
        self: &Arc<Self>,
        walk: u64,
        query: &CampaignQuery,
        size: u32,
        local: &LocalPos,
    ) -> Result<Arc<LocalListing>> {
        let key = (walk, query.fingerprint(), size, local.page, local.index);
        // One reader at a time: pages asking for the same listing wait for it.
        let mut kept = self.local.lock().await;
        kept.retain(|l| l.read_at.elapsed() < LOCAL_TTL);
        if let Some(listing) = kept.iter().find(|l| l.key == key) {
            return Ok(Arc::clone(listing));
        }
        let pages = self.read_all(walk, query, size).await?;
        let mut listed = HashSet::new();
        let mut warnings = Vec::new();
        for (n, raw) in (1..).zip(&pages) {
            let campaigns = &raw.page.campaigns;
            let before = match n.cmp(&local.page) {
                std::cmp::Ordering::Less => campaigns.len(),
                std::cmp::Ordering::Equal => local.index.min(campaigns.len()),
                std::cmp::Ordering::Greater => 0,
            };
            listed.extend(campaigns[..before].iter().map(|c| c.id.native.clone()));
            warnings.extend(raw.warnings.iter().map(|w| (n, w.clone())));
        }
        let mut items: Vec<Campaign> = pages
            .iter()
            .flat_map(|raw| raw.page.campaigns.iter())
            .filter(|c| !listed.contains(&c.id.native))
            .cloned()
            .collect();
        items.sort_by(|a, b| query.compare(a, b));
        items.dedup_by(|a, b| a.id == b.id);
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

    /// A page of the local listing at `local`, continuing after its mark.
    async fn local_page(
        self: &Arc<Self>,
        query: &CampaignQuery,
        pos: &Pos,
        local: &LocalPos,
        mut warnings: Vec<Warning>,
    ) -> Result<Page> {
        let listing = self.local_items(pos.walk, query, pos.size, local).await?;
        let start = match &local.after {
            None => {
                // Pages before `pos.page` were listed in the server's order
                // and reported their warnings then.
                let unreported = listing.warnings.iter().filter(|(n, _)| *n >= pos.page);
                warnings.extend(unreported.map(|(_, w)| w.clone()));
                0
            }
            Some(mark) => mark.resume_at(&self.source_id, query, &listing.items),
        };
        let end = start
            .saturating_add(pos.size as usize)
            .min(listing.items.len());
        let items = listing.items[start.min(end)..end].to_vec();
        let next = match items.last() {
            Some(last) if end < listing.items.len() => {
                let after = LocalPos {
                    after: Some(KeysetMark::of(query, last)),
                    ..local.clone()
                };
                Some(page_token::encode(
                    query,
                    &Pos {
                        local: Some(after),
                        ..pos.clone()
                    },
                ))
            }
            _ => None,
        };
        let mut page = Page::new(items, next).with_total_hint(listing.items.len() as u64);
        page.warnings = warnings;
        Ok(page)
    }
}

/// A warning when some campaigns of a local listing sort before
/// `last_listed` (the last campaign the server-ordered part of the walk
/// listed): they are listed after campaigns they precede.
fn late_warning(
    query: &CampaignQuery,
    last_listed: Option<&Campaign>,
    listing: &[Campaign],
) -> Option<Warning> {
    let key = last_listed?;
    let late = listing
        .iter()
        .take_while(|c| query.compare(c, key).is_lt())
        .count();
    (late > 0).then(|| {
        Warning::new(format!(
            "{late} campaign(s) sort before campaigns already listed: the server's order hid \
             them until now, so they are listed late, first in the local listing"
        ))
    })
}
