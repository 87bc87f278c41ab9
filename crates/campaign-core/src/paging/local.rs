//! A listing read whole, sorted locally and paged from memory.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::Result;
use crate::model::Campaign;
use crate::order::KeysetMark;
use crate::paging::ServerPage;
use crate::query::CampaignQuery;
use crate::warning::Warning;

/// How long a local listing serves the pages after its first, by default.
pub const DEFAULT_LOCAL_TTL: Duration = Duration::from_secs(60);

/// Local listings kept by default (one per recent walk).
const DEFAULT_KEPT: usize = 2;

/// Where a walk stands in a listing read whole and sorted locally, as a
/// page token keeps it (compact field names).
///
/// `page` and `index` say where the server-ordered part of the walk stopped:
/// the campaigns before `index` on the page at `page` (a position in the
/// source's own terms: a page number, a server offset), and all of the
/// pages before it, were listed in the server's order already. `after` is
/// the last campaign listed from the local listing, `None` at its start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalPosition {
    /// The page where the server-ordered part of the walk stopped.
    #[serde(rename = "p")]
    pub page: u64,
    /// The index among that page's campaigns where it stopped.
    #[serde(rename = "i", default)]
    pub index: usize,
    /// The last campaign listed from the local listing.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<KeysetMark>,
}

impl LocalPosition {
    /// The start of a walk listed locally from its first page, at position
    /// `first_page`: nothing was listed in the server's order.
    pub fn start(first_page: u64) -> Self {
        Self {
            page: first_page,
            index: 0,
            after: None,
        }
    }

    /// The native ids of the campaigns listed in the server's order, out of
    /// `pages` (each with its position, in order): every campaign of a page
    /// before [`page`](Self::page), and those before [`index`](Self::index)
    /// on that page.
    pub fn listed_before<'a>(
        &self,
        pages: impl IntoIterator<Item = (u64, &'a [Campaign])>,
    ) -> HashSet<String> {
        let mut listed = HashSet::new();
        for (at, campaigns) in pages {
            let before = match at.cmp(&self.page) {
                std::cmp::Ordering::Less => campaigns.len(),
                std::cmp::Ordering::Equal => self.index.min(campaigns.len()),
                std::cmp::Ordering::Greater => 0,
            };
            listed.extend(campaigns[..before].iter().map(|c| c.id.native.clone()));
        }
        listed
    }
}

/// A listing read whole and sorted locally.
#[derive(Debug, Clone, Default)]
pub struct LocalListing {
    /// In the query's order; the campaigns listed before in the server's
    /// order left out.
    pub items: Vec<Campaign>,
    /// The warnings of the pages read for it, each with its page's position,
    /// so that a page reports only those not reported before.
    pub warnings: Vec<(u64, Warning)>,
}

impl LocalListing {
    /// The listing of `items`, the campaigns not listed yet as they were
    /// read, with the `warnings` of the pages read: sorted by `query`, a
    /// campaign read on two pages (the listing moved between the reads)
    /// kept once.
    pub fn sorted(
        query: &CampaignQuery,
        mut items: Vec<Campaign>,
        warnings: Vec<(u64, Warning)>,
    ) -> Self {
        items.sort_by(|a, b| query.compare(a, b));
        items.dedup_by(|a, b| a.id == b.id);
        Self { items, warnings }
    }

    /// The page after `after` (from the start when `None`): at most `limit`
    /// campaigns, and the mark of its last one when more follow.
    pub fn page(
        &self,
        source_id: &str,
        query: &CampaignQuery,
        after: Option<&KeysetMark>,
        limit: usize,
    ) -> (Vec<Campaign>, Option<KeysetMark>) {
        let start = after.map_or(0, |mark| mark.resume_at(source_id, query, &self.items));
        let end = start.saturating_add(limit).min(self.items.len());
        let items = self.items[start.min(end)..end].to_vec();
        let next = items
            .last()
            .filter(|_| end < self.items.len())
            .map(|last| KeysetMark::of(query, last));
        (items, next)
    }

    /// The warnings of the pages at `first_page` and after: those the
    /// server-ordered part of the walk did not list, so did not report.
    pub fn warnings_from(&self, first_page: u64) -> impl Iterator<Item = Warning> + '_ {
        self.warnings
            .iter()
            .filter(move |(at, _)| *at >= first_page)
            .map(|(_, w)| w.clone())
    }
}

/// Leaves each campaign's record out of a page just decoded when `query`
/// does not want it ([`CampaignQuery::keeps_raw`]), before the page is
/// kept (a page cache, a local listing) or handed on.
pub fn drop_unwanted_raw(query: &CampaignQuery, campaigns: &mut [Campaign]) {
    if !query.keeps_raw() {
        campaigns.iter_mut().for_each(|c| c.raw = None);
    }
}

/// A page's campaigns, for a local listing being filled: moved out of the
/// page when nothing else holds it (`into` takes them), copied when a page
/// cache still does. A listing read whole then holds its campaigns once
/// rather than beside every page it was read from: a Genesys listing of
/// 66,668 campaigns peaked at 388 MiB when each was copied.
pub fn take_campaigns<P: ServerPage>(
    page: Arc<P>,
    into: impl FnOnce(P) -> Vec<Campaign>,
) -> Vec<Campaign> {
    match Arc::try_unwrap(page) {
        Ok(page) => into(page),
        Err(shared) => shared.campaigns().to_vec(),
    }
}

/// Local listings kept a while for the pages after their first, keyed by
/// what makes two the same (typically the walk, the query's fingerprint and
/// where the server's order broke).
///
/// One reader at a time: pages asking for a listing being read wait for it
/// instead of reading the whole listing again.
pub struct LocalListings<K> {
    kept: Mutex<Vec<(K, Instant, Arc<LocalListing>)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K> fmt::Debug for LocalListings<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalListings")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K: PartialEq> Default for LocalListings<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: PartialEq> LocalListings<K> {
    /// Keeps two listings (one per recent walk) for [`DEFAULT_LOCAL_TTL`].
    pub fn new() -> Self {
        Self {
            kept: Mutex::new(Vec::new()),
            ttl: DEFAULT_LOCAL_TTL,
            capacity: DEFAULT_KEPT,
        }
    }

    /// The listing of `key`: the kept one unless older than the TTL; else
    /// the one `read` builds, kept (the oldest makes room). A failed read is
    /// not kept.
    pub async fn get_or_read<F, Fut>(&self, key: K, read: F) -> Result<Arc<LocalListing>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<LocalListing>>,
    {
        let mut kept = self.kept.lock().await;
        kept.retain(|(_, at, _)| at.elapsed() < self.ttl);
        if let Some((_, _, listing)) = kept.iter().find(|(k, _, _)| *k == key) {
            return Ok(Arc::clone(listing));
        }
        let listing = Arc::new(read().await?);
        if kept.len() >= self.capacity {
            kept.remove(0);
        }
        kept.push((key, Instant::now(), Arc::clone(&listing)));
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::testing::{by_name, named};

    #[test]
    fn a_listing_pages_by_mark_and_reports_unlisted_pages_warnings() {
        let query = by_name();
        // As read: out of order, `c` read twice.
        let read = ["e", "c", "a", "d", "c", "b"]
            .iter()
            .map(|n| named(&format!("{n}1"), n))
            .collect();
        let warnings = vec![(1, Warning::new("one")), (2, Warning::new("two"))];
        let listing = LocalListing::sorted(&query, read, warnings);
        let mut after = None;
        let mut pages = Vec::new();
        loop {
            let (items, next) = listing.page("s", &query, after.as_ref(), 2);
            pages.push(items.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
            match next {
                Some(mark) => after = Some(mark),
                None => break,
            }
        }
        assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        let from_two: Vec<String> = listing.warnings_from(2).map(|w| w.message).collect();
        assert_eq!(from_two, ["two"]);
    }

    #[test]
    fn listed_campaigns_are_those_before_the_position() {
        let pages = [
            vec![named("1", "a"), named("2", "b")],
            vec![named("3", "c"), named("4", "d")],
            vec![named("5", "e")],
        ];
        let position = LocalPosition {
            page: 2,
            index: 1,
            after: None,
        };
        let listed = position.listed_before((1..).zip(pages.iter().map(Vec::as_slice)));
        let mut listed: Vec<String> = listed.into_iter().collect();
        listed.sort();
        assert_eq!(listed, ["1", "2", "3"]);
        assert!(LocalPosition::start(1)
            .listed_before((1..).zip(pages.iter().map(Vec::as_slice)))
            .is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn listings_are_kept_until_their_ttl_and_failures_are_not() {
        let listings: LocalListings<u32> = LocalListings::new();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let get = |key: u32, fail: bool| {
            let (listings, reads) = (&listings, &reads);
            async move {
                listings
                    .get_or_read(key, || async move {
                        reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if fail {
                            Err(crate::SourceError::new(
                                crate::ErrorKind::Server,
                                "s",
                                "down",
                            ))
                        } else {
                            Ok(LocalListing::default())
                        }
                    })
                    .await
            }
        };
        assert!(get(1, true).await.is_err());
        get(1, false).await.unwrap();
        get(1, false).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
        tokio::time::advance(DEFAULT_LOCAL_TTL).await;
        get(1, false).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
