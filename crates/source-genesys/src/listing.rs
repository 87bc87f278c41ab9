//! A walk over the listing: server pages read once each and shared, and a
//! local sort of the listing when the query sorts.
//!
//! The spec documents no `sortBy` values for this endpoint (§2.1, §8.1) and
//! leaves name collation open (§8.5): a server may order names
//! case-insensitively, which the unified byte order cannot use. So a query
//! without a sort walks the server's pages as they come, and a query with
//! one reads the listing whole, sorts it locally and pages it from memory.

use std::sync::Arc;

use campaign_core::paging::{take_campaigns, LocalListing, LocalPosition, ServerPage};
use campaign_core::{
    Campaign, CampaignQuery, ErrorKind, Page, PageToken, Result, SourceError, Warning,
};
use futures::StreamExt;

use crate::normalize::GenesysPage;
use crate::page_token::{self, Pos};
use crate::source::{capabilities, Inner};

/// Most pages a walk announces or reads, so an absurd `pageCount` or a
/// server that never ends cannot make us plan or read an absurd walk.
pub(crate) const MAX_PAGES: u64 = 10_000;

/// One server page as it came, decoded, with what it is worth reporting.
pub(crate) struct RawPage {
    pub(crate) page: GenesysPage,
    /// Skipped records, records without `dateCreated`, campaigns in other
    /// divisions than the configured ones.
    pub(crate) warnings: Vec<Warning>,
    /// Ids of the campaigns kept without a division although divisions are
    /// configured (reported once per walk, not per page).
    pub(crate) unscoped: Vec<String>,
    pub(crate) description: String,
}

impl ServerPage for RawPage {
    fn campaigns(&self) -> &[Campaign] {
        &self.page.campaigns
    }
}

/// What makes two server page reads the same: walk, query fingerprint,
/// whether the campaigns keep their records, page number, page size.
pub(crate) type RawKey = (u64, u64, bool, u64, u32);

fn raw_key(walk: u64, query: &CampaignQuery, page: u64, size: u32) -> RawKey {
    (walk, query.fingerprint(), query.keeps_raw(), page, size)
}

/// A local listing: walk, query fingerprint, whether the campaigns keep
/// their records, page size, and where the server's order broke (page and
/// index).
pub(crate) type LocalKey = (u64, u64, bool, u32, u64, usize);

/// Whether the listing goes on after server page `n` (asked with `size`),
/// per the spec's loop (§3): entities non-empty, `nextUri` present (when the
/// page has links at all) and `pageNumber < pageCount` (or, without
/// `pageCount`, `total`). Never past [`MAX_PAGES`]. Genesys's own rule, so
/// not shared with Kore's offsets.
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
        self.raw_pages
            .read(raw_key(walk, query, page, size), || {
                let inner = Arc::clone(self);
                let query = query.clone();
                async move { inner.read_raw(&query, page, size).await }
            })
            .await
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
                pos.local = Some(LocalPosition::start(1));
            }
        }
        let this_page = first.then(|| page_token::encode(query, &pos));
        if let Some(local) = pos.local.clone() {
            let mut page = self.local_page(query, &pos, &local).await?;
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
        let items = raw.page.campaigns.clone();
        warnings.extend(raw.warnings.iter().cloned());
        warnings.extend(self.unscoped_warning(pos.walk, &raw));
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

    /// Every server page of the listing, in order: page 1, then the pages
    /// its `pageCount` announces, [`Inner::prefetch`] at a time, until a
    /// page says the listing ended (past the first `pageCount` if it grew);
    /// once its `total` changes, one page at a time.
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
        let mut next = 2;
        let mut last = first.page.page_count.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        // Reads ahead until the listing changes under the walk; then one page
        // at a time, each asked after the previous answer, with reads of its
        // own (not the ones already in flight).
        let mut reads_of = walk;
        let mut window = self.prefetch;
        loop {
            let mut reads = futures::stream::iter(next..=last)
                .map(|n| {
                    let inner = Arc::clone(self);
                    let query = query.clone();
                    async move {
                        inner
                            .raw(reads_of, &query, n, size)
                            .await
                            .map(|raw| (n, raw))
                    }
                })
                .buffered(window);
            let mut more = true;
            let mut changed_at = None;
            while let Some(read) = reads.next().await {
                let (n, raw) = read?;
                if window > 1 && raw.page.total.is_some_and(|t| Some(t) != first.page.total) {
                    // Campaigns created or deleted meanwhile shift the pages:
                    // one answered before the page ahead of it can miss a
                    // campaign pushed across both. Read sequentially, a
                    // change at the head only repeats campaigns (dropped by
                    // id later).
                    changed_at = Some(n);
                    break;
                }
                self.check_anchor(&pos, n, &raw)?;
                more = more_after(&self.source_id, &raw, n, size)?;
                pages.push(raw);
                if !more {
                    break;
                }
            }
            drop(reads);
            if let Some(n) = changed_at {
                (next, window, reads_of) = (n, 1, rand::random());
                last = MAX_PAGES;
                continue;
            }
            if !more {
                return Ok(pages);
            }
            // The listing grew while it was read (campaigns created meanwhile
            // push the later ones past the first page's `pageCount`): read on
            // to its new end, never stopping at the count first announced.
            // `more_after` fails the walk past MAX_PAGES.
            next = last + 1;
            let announced = pages.last().and_then(|raw| raw.page.page_count);
            last = announced.unwrap_or(next).clamp(next, MAX_PAGES.max(next));
        }
    }

    /// The campaigns of the listing not listed yet once the server-ordered
    /// part of the walk stopped at `local` (page and index; page 1, index 0
    /// for every walk begun sorted), sorted locally: kept from an earlier
    /// page, or read.
    async fn local_items(
        self: &Arc<Self>,
        walk: u64,
        query: &CampaignQuery,
        size: u32,
        local: &LocalPosition,
    ) -> Result<Arc<LocalListing>> {
        let key = (
            walk,
            query.fingerprint(),
            query.keeps_raw(),
            size,
            local.page,
            local.index,
        );
        // Unlike Kore's, the walk's own reads (fetched `prefetch` at a time):
        // pages are numbered, and `check_anchor` stops a walk the server
        // does not page. No filter is re-checked: only the channel is pushed
        // down, and `covers` answers it.
        self.local
            .get_or_read(key, || async {
                let pages = self.read_all(walk, query, size).await?;
                let listed = local.listed_before((1..).zip(pages.iter().map(|p| p.campaigns())));
                let mut warnings: Vec<_> = (1..)
                    .zip(&pages)
                    .flat_map(|(n, raw)| raw.warnings.iter().map(move |w| (n, w.clone())))
                    .collect();
                let unscoped = (1..)
                    .zip(&pages)
                    .find_map(|(n, raw)| self.unscoped_warning(walk, raw).map(|w| (n, w)));
                warnings.extend(unscoped);
                let read: usize = pages.iter().map(|raw| raw.campaigns().len()).sum();
                let mut items = Vec::with_capacity(read);
                for raw in pages {
                    let campaigns = take_campaigns(raw, |raw| raw.page.campaigns);
                    items.extend(
                        campaigns
                            .into_iter()
                            .filter(|c| !listed.contains(&c.id.native)),
                    );
                }
                Ok(LocalListing::sorted(query, items, warnings))
            })
            .await
    }

    /// A page of the local listing at `local`, continuing after its mark.
    async fn local_page(
        self: &Arc<Self>,
        query: &CampaignQuery,
        pos: &Pos,
        local: &LocalPosition,
    ) -> Result<Page> {
        // Read in the source's own page size (100 unless configured),
        // whatever the page size asked of this listing: it is read whole
        // either way, so pages of 5 would cost 20 times the requests against
        // the 300-a-minute quota (and over 50,000 campaigns would pass the
        // page bound).
        let listing = self
            .local_items(pos.walk, query, self.page_size, local)
            .await?;
        let mut warnings = Vec::new();
        if local.after.is_none() {
            // Pages before `pos.page` were listed in the server's order and
            // reported their warnings then.
            warnings.extend(listing.warnings_from(pos.page));
        }
        let (items, after) = listing.page(
            &self.source_id,
            query,
            local.after.as_ref(),
            pos.size as usize,
        );
        let next = after.map(|mark| {
            let after = LocalPosition {
                after: Some(mark),
                ..local.clone()
            };
            page_token::encode(
                query,
                &Pos {
                    local: Some(after),
                    ..pos.clone()
                },
            )
        });
        let mut page = Page::new(items, next).with_total_hint(listing.items.len() as u64);
        page.warnings = warnings;
        Ok(page)
    }
}
