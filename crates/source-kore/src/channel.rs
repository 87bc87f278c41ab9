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

use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;

use bytes::Bytes;
use campaign_core::paging::{
    drop_unwanted_raw, late_warning, order_broken_warning, sort_ignored, take_campaigns,
    LocalListing, LocalPosition, ServerPage, TieRun,
};
use campaign_core::{
    order_break, Campaign, CampaignQuery, Channel, ErrorKind, Page, PageToken, QueryPlan,
    RecordIssues, Result, SourceError, Warning,
};

use crate::normalize::{decode_scoped, KorePage};
use crate::page_token::{self, ChannelPos};
use crate::request;
use crate::source::{capabilities, Inner};

/// Most pages announced for prefetch after a first page, and most pages
/// read for a local listing, so an absurd `totalResults` or a server that
/// never ends cannot make us plan or read an absurd walk.
pub(crate) const MAX_PAGES: u64 = 10_000;

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

impl ServerPage for RawPage {
    fn campaigns(&self) -> &[Campaign] {
        &self.page.campaigns
    }
}

/// What makes two server page reads the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawKey {
    /// Pages are shared within a walk only.
    walk: u64,
    /// Read page by page after the listing moved (never one read ahead).
    resync: bool,
    query: u64,
    /// Whether the campaigns keep their records.
    raw: bool,
    channel: String,
    skip: u64,
    limit: u32,
}

impl RawKey {
    fn new(
        resync: bool,
        walk: u64,
        query: &CampaignQuery,
        channel: &Channel,
        skip: u64,
        limit: u32,
    ) -> Self {
        Self {
            walk,
            resync,
            query: query.fingerprint(),
            raw: query.keeps_raw(),
            channel: channel.as_str().to_owned(),
            skip,
            limit,
        }
    }
}

/// A channel's local listing: walk, query fingerprint, whether the
/// campaigns keep their records, channel, and where the server's order
/// broke (offset and index).
pub(crate) type LocalKey = (u64, u64, bool, String, (u64, usize));

/// The offset of the page before the one at `skip`, with pages of
/// `page_limit` (`None` at the channel's first page).
fn step_back(page_limit: u64) -> impl Fn(u64) -> Option<u64> + Copy {
    move |skip| (skip > 0).then(|| skip.saturating_sub(page_limit))
}

/// What one server page says about the rest of its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageEnd {
    /// Whether the channel continues after the page.
    pub(crate) more: bool,
    /// The page size the server used: the offset step to the pages after.
    pub(crate) page_size: u64,
    /// `totalResults` when the page came back empty before it (the walk
    /// stops there, and says so).
    pub(crate) empty_before: Option<u64>,
}

/// Where a channel stands after the server page `raw`, read at `skip` and
/// asked with `limit`. Kore's own rule (offsets, `hasMore`, `totalResults`),
/// so not shared with Genesys's page numbers; the walk and the local listing
/// both decide by it.
///
/// The server's own signals come first: a server may cap its pages below the
/// limit while echoing it, so a short page ends the channel only when the
/// page carries neither `hasMore` nor `totalResults`. (Offsets advance by
/// the records a page held, which suits a capped page; a server filtering
/// after paging is not handled: its offsets would overlap.)
/// An empty page always ends it, so a server that keeps saying "more" while
/// sending nothing cannot loop the walk.
pub(crate) fn page_end(raw: &RawPage, skip: u64, limit: u32) -> PageEnd {
    let page = &raw.page;
    // Skipped records count: the server's offsets do.
    let n = raw.records;
    let size = page.limit.filter(|&l| l > 0).unwrap_or(u64::from(limit));
    let mut empty_before = None;
    let more = match (page.has_more, page.total_results) {
        (Some(false), _) => false,
        _ if n == 0 => {
            empty_before = page.total_results.filter(|&total| skip < total);
            false
        }
        (Some(true), _) => true,
        (None, Some(total)) => skip.saturating_add(n) < total,
        (None, None) => n >= size,
    };
    // Fewer records than the page size and more to come: the server pages
    // by what it sent (it caps pages), so the pages after are that far apart.
    let page_size = if more && n < size { n } else { size };
    PageEnd {
        more,
        page_size,
        empty_before,
    }
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
        let key = RawKey::new(resync, walk, query, channel, skip, limit);
        self.raw_pages
            .read(key, || {
                let inner = Arc::clone(self);
                let query = query.clone();
                let channel = channel.clone();
                async move { inner.read_raw(&query, &channel, skip, limit).await }
            })
            .await
    }

    /// Sends the request for one server page and decodes it. A server that
    /// refuses `sortBy` without `name` (as the spec's table says it may),
    /// with a 400 or with `"status": "error"` in a 2xx body (the spec's
    /// status is "typically success or error"), is asked again with `name`
    /// after the sorted field, and so is every later request of this source.
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
        let read = |with_name: bool| {
            let body = request::body(&plan, channel, skip, limit, with_name);
            // Serializing strings and numbers cannot fail.
            let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
            let description = description.as_str();
            async move {
                let answer = self.send(body, description).await?;
                self.decode_raw(query, channel, description, &answer)
            }
        };
        let needs_name = self.sort_needs_name.load(AtomicOrdering::Relaxed);
        match read(needs_name).await {
            // Both refusals decode to `BadRequest`.
            Err(e) if e.kind() == ErrorKind::BadRequest && !needs_name && names_a_sort(&plan) => {
                tracing::debug!(
                    source = %self.source_id,
                    error = %e,
                    "sortBy refused without name; asking again with name"
                );
                let again = read(true).await;
                if again.is_ok() {
                    self.sort_needs_name.store(true, AtomicOrdering::Relaxed);
                }
                again
            }
            other => other,
        }
    }

    /// Decodes the answer `body` to `description` into a server page.
    fn decode_raw(
        &self,
        query: &CampaignQuery,
        channel: &Channel,
        description: &str,
        body: &[u8],
    ) -> Result<RawPage> {
        let mut issues = RecordIssues::new(self.strict);
        let mut page = decode_scoped(
            &self.source_id,
            description,
            channel,
            &self.scope,
            body,
            &mut issues,
        )
        .map_err(|e| e.with_partition(channel_partition(channel)))?;
        drop_unwanted_raw(query, &mut page.campaigns);
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
            description: description.to_owned(),
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
        let asked = self.page_limit(query);
        let limit = pos.limit_at(pos.skip, asked);
        // Once the listing moved, a page read ahead before the one
        // before it may miss what moved between them: read it now.
        let raw = self
            .raw(pos.resync, pos.walk, query, channel, pos.skip, limit)
            .await?;
        let mut step = self.interpret(channel, &pos, &raw, limit)?;
        // The page's skipped records are reported with its own campaigns,
        // or by the local listing when the order breaks here.
        let mut warnings = step.warnings;
        let mut items = raw.page.campaigns.clone();
        let sorted = plan.sort_pushed && query.sort().is_some();
        // The reads the walk's earlier pages were listed from.
        let read_earlier = |skip| {
            let limit = pos.limit_at(skip, asked);
            self.raw(pos.prev_resync, pos.walk, query, channel, skip, limit)
        };
        if sorted {
            let held = match pos.skip {
                0 => TieRun::none(0),
                skip => {
                    let prev = pos.prev.unwrap_or(skip.saturating_sub(step.page_limit));
                    TieRun::read_back(
                        query,
                        prev,
                        step_back(step.page_limit),
                        read_earlier,
                        &self.tie_runs,
                        |at| {
                            let limit = pos.limit_at(at, asked);
                            RawKey::new(pos.prev_resync, pos.walk, query, channel, at, limit)
                        },
                    )
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
                broken = sort_ignored(&self.source_id, query, &items, |probe| async move {
                    let answer = self.read_raw(&probe, channel, 0, 1).await?;
                    Ok(answer.page.campaigns.first().cloned())
                })
                .await?;
            }
            if let Some(reason) = broken {
                warnings.insert(
                    0,
                    order_broken_warning(query, &reason, "the rest of the channel")
                        .with_request(raw.description.clone())
                        .with_partition(channel_partition(channel)),
                );
                // Everything before the held run was listed in the
                // server's order; the rest is listed from a local sort.
                let local = held.local_position();
                let listing = self
                    .local_items(&pos, query, &plan, channel, &local)
                    .await?;
                let last_listed = held
                    .last_listed(step_back(step.page_limit), read_earlier)
                    .await?;
                warnings.extend(
                    late_warning(query, last_listed.as_ref(), &listing.items)
                        .map(|w| w.with_partition(channel_partition(channel))),
                );
                let mut page = self
                    .local_page(query, &plan, channel, &pos, &local, warnings)
                    .await?;
                page.this_page = this_page;
                return Ok(page);
            }
            // In the server's order (checked above) nothing after this
            // page can pass the query's range on the sort field: the
            // channel ends here, and a run of equal keys at its end is
            // listed rather than held for a page that would not come.
            if raw
                .page
                .campaigns
                .last()
                .is_some_and(|c| query.beyond_sorted_range(c))
            {
                step.next.done = true;
            }
            items = held.list_with(query, items, !step.next.done);
        }
        warnings.splice(0..0, raw.skipped.iter().cloned());
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

    /// A page of the channel's local listing at `local`: the channel read
    /// whole (kept a while for the pages after), sorted, paged by key. Its
    /// first page reports the skipped records of the pages from `pos` on:
    /// those before were listed in the server's order and reported then.
    async fn local_page(
        self: &Arc<Self>,
        query: &CampaignQuery,
        plan: &QueryPlan,
        channel: &Channel,
        pos: &ChannelPos,
        local: &LocalPosition,
        mut warnings: Vec<Warning>,
    ) -> Result<Page> {
        let listing = self.local_items(pos, query, plan, channel, local).await?;
        if local.after.is_none() {
            warnings.extend(listing.warnings_from(pos.skip));
        }
        let limit = self.page_limit(query) as usize;
        let (items, after) = listing.page(&self.source_id, query, local.after.as_ref(), limit);
        let next = after.map(|mark| {
            let next = ChannelPos {
                local: Some(LocalPosition {
                    after: Some(mark),
                    ..local.clone()
                }),
                ..pos.clone()
            };
            page_token::encode(query, vec![next])
        });
        let mut page = Page::new(items, next).with_total_hint(listing.items.len() as u64);
        page.warnings = warnings;
        Ok(page)
    }

    /// The campaigns of the channel not listed yet once the server's order
    /// broke at `local` (page and index), sorted locally: kept from an
    /// earlier page, or read. Those listed already are the campaigns before
    /// `local` in the reads the server-ordered pages used; the channel is
    /// then read whole again, so a campaign the server's changing order
    /// moved before that point is not lost (one moved after it is dropped
    /// as listed).
    async fn local_items(
        self: &Arc<Self>,
        pos: &ChannelPos,
        query: &CampaignQuery,
        plan: &QueryPlan,
        channel: &Channel,
        local: &LocalPosition,
    ) -> Result<Arc<LocalListing>> {
        let walk = pos.walk;
        let key = (
            walk,
            query.fingerprint(),
            query.keeps_raw(),
            channel.as_str().to_owned(),
            (local.page, local.index),
        );
        // Unlike Genesys's (`read_all`, the walk's own reads fetched ahead),
        // this reads the channel one page after another, by the records each
        // held (skipped ones count in Kore's offsets), and afresh once part
        // of the walk was listed: an offset listing shifts under inserts.
        let read = async {
            let asked = self.page_limit(query);
            let mut earlier = Vec::new();
            let mut skip = 0;
            while skip <= local.page {
                let limit = pos.limit_at(skip, asked);
                let raw = self.raw(false, walk, query, channel, skip, limit).await?;
                let (at, records) = (skip, raw.records);
                earlier.push((at, raw));
                if records == 0 || at == local.page {
                    break;
                }
                skip += records;
            }
            let listed =
                local.listed_before(earlier.iter().map(|(at, raw)| (*at, raw.campaigns())));
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
                let limit = pos.limit_at(skip, asked);
                // Read again when part of the walk was listed from earlier reads.
                let raw = if !resumed {
                    self.raw(false, walk, query, channel, skip, limit).await?
                } else {
                    Arc::new(self.read_raw(query, channel, skip, limit).await?)
                };
                warnings.extend(raw.skipped.iter().map(|w| (skip, w.clone())));
                let more = page_end(&raw, skip, limit).more;
                let records = raw.records;
                let campaigns = take_campaigns(raw, |raw| raw.page.campaigns);
                items.extend(
                    campaigns
                        .into_iter()
                        .filter(|c| !listed.contains(&c.id.native)),
                );
                if !more {
                    break;
                }
                skip = skip.saturating_add(records);
            }
            items.retain(|c| plan.pushdown.matches(c));
            Ok(LocalListing::sorted(query, items, warnings))
        };
        self.local.get_or_read(key, || read).await
    }
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
