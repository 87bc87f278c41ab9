//! The run of equal sort keys that ends a page, held back for the next.
//!
//! A server that sorts may put equal keys in any id order, and the order
//! does not carry across a page seam. So a page does not list the run of
//! campaigns sharing its last key: the next page looks back for it and lists
//! it with its own campaigns of that key, sorted by id.

use std::future::Future;
use std::sync::Arc;

use crate::error::Result;
use crate::model::Campaign;
use crate::order::tie_run_start;
use crate::paging::{LocalPosition, PageReads};
use crate::query::CampaignQuery;

/// A server page as read: its campaigns, in the order the server sent them.
pub trait ServerPage {
    /// The page's campaigns.
    fn campaigns(&self) -> &[Campaign];
}

impl<P: ServerPage + ?Sized> ServerPage for Arc<P> {
    fn campaigns(&self) -> &[Campaign] {
        (**self).campaigns()
    }
}

impl ServerPage for Vec<Campaign> {
    fn campaigns(&self) -> &[Campaign] {
        self
    }
}

/// The run of campaigns sharing the last sort key of the pages before this
/// one, held back from them.
///
/// Positions (`page`) are the source's own: a page number, a server offset;
/// the caller says how to step back from one ([`read_back`](Self::read_back)).
/// Cheap to clone: the run is kept page by page, shared with the runs built
/// on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TieRun {
    /// The run, in the server's order, one part per page it spans.
    parts: Vec<Arc<[Campaign]>>,
    /// The last campaign of the page before, for the order check across the
    /// seam (`None` on the first page).
    pub previous_last: Option<Campaign>,
    /// The position of the page the run starts in.
    pub page: u64,
    /// The run's first index among that page's campaigns: those before it
    /// were listed.
    pub index: usize,
}

impl TieRun {
    /// No run: the walk's first page, at position `first_page`. Nothing was
    /// listed before it.
    pub fn none(first_page: u64) -> Self {
        Self {
            page: first_page,
            ..Self::default()
        }
    }

    /// The run's campaigns, in the server's order.
    pub fn items(&self) -> impl Iterator<Item = &Campaign> {
        self.parts.iter().flat_map(|part| part.iter())
    }

    /// How many campaigns the run holds.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|part| part.len()).sum()
    }

    /// Whether the run holds no campaign.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|part| part.is_empty())
    }

    /// The run that ends the page at `page`, read with `read`, and of the
    /// pages before it while the run fills them whole (`step_back` gives the
    /// position before one, `None` at the first page), however many that is.
    ///
    /// `kept` holds the runs computed before, under `key` of the position of
    /// the page they end (the caller's key for the walk's reads); the run
    /// computed here is kept there too. A run that continues a kept one is
    /// built on it, so a walk through a long run reads each page once
    /// instead of reading the run back from every page.
    pub async fn read_back<F, Fut, R, K>(
        query: &CampaignQuery,
        page: u64,
        step_back: impl FnMut(u64) -> Option<u64>,
        read: F,
        kept: &PageReads<K, TieRun>,
        key: impl Fn(u64) -> K,
    ) -> Result<Self>
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = Result<R>>,
        R: ServerPage,
        K: PartialEq,
    {
        if let Some(run) = kept.ready(&key(page)) {
            return Ok((*run).clone());
        }
        let known = |at| kept.ready(&key(at));
        let run = Self::build_back(query, page, step_back, read, known).await?;
        kept.keep(key(page), Arc::new(run.clone()));
        Ok(run)
    }

    async fn build_back<F, Fut, R>(
        query: &CampaignQuery,
        page: u64,
        mut step_back: impl FnMut(u64) -> Option<u64>,
        mut read: F,
        known: impl Fn(u64) -> Option<Arc<TieRun>>,
    ) -> Result<Self>
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = Result<R>>,
        R: ServerPage,
    {
        let mut run = Self::none(page);
        // The parts read, latest page first.
        let mut parts: Vec<Arc<[Campaign]>> = Vec::new();
        let mut at = page;
        loop {
            if let Some(earlier) = known(at) {
                // `earlier` ends the page at `at`: this run continues it when
                // that page ends with this run's key.
                let continues = earlier
                    .previous_last
                    .as_ref()
                    .zip(run.previous_last.as_ref())
                    .is_some_and(|(last, key)| query.compare_key(last, key).is_eq());
                if continues {
                    parts.reverse();
                    run.parts = earlier.parts.iter().cloned().chain(parts).collect();
                    (run.page, run.index) = (earlier.page, earlier.index);
                    return Ok(run);
                }
            }
            let read = read(at).await?;
            let items = read.campaigns();
            if run.previous_last.is_none() {
                run.previous_last = items.last().cloned();
            }
            let Some(key) = run.previous_last.as_ref() else {
                break;
            };
            // Where this page's run of `key` starts (its end, if it ends otherwise).
            let start = items
                .iter()
                .rposition(|c| query.compare_key(c, key).is_ne())
                .map_or(0, |before| before + 1);
            parts.push(items[start..].into());
            (run.page, run.index) = (at, start);
            if start > 0 {
                break;
            }
            match step_back(at) {
                Some(before) => at = before,
                None => break,
            }
        }
        parts.reverse();
        run.parts = parts;
        Ok(run)
    }

    /// What a page lists: this run and the page's own campaigns `items`, in
    /// `query`'s order, once each (a campaign held back and read again on
    /// this page when the listing moved); without the run of the last key
    /// when `more` pages follow, since its place among equal keys on the
    /// next page is not known yet.
    pub fn list_with(
        &self,
        query: &CampaignQuery,
        items: Vec<Campaign>,
        more: bool,
    ) -> Vec<Campaign> {
        // A page inside the run lists nothing: no need to sort the run.
        let inside = self
            .previous_last
            .as_ref()
            .is_some_and(|key| items.iter().all(|c| query.compare_key(c, key).is_eq()));
        if more && inside {
            return Vec::new();
        }
        let mut combined: Vec<Campaign> = self.items().cloned().collect();
        combined.extend(items);
        combined.sort_by(|a, b| query.compare(a, b));
        combined.dedup_by(|a, b| a.id == b.id);
        if more {
            combined.truncate(tie_run_start(query, &combined));
        }
        combined
    }

    /// The last campaign the walk listed before this run: the one before it
    /// on its page, or the last of the page before (`step_back`, read with
    /// `read`) when the run starts a page. Its order was verified, so it has
    /// the largest key listed. `None` when nothing was listed.
    pub async fn last_listed<F, Fut, R>(
        &self,
        step_back: impl FnOnce(u64) -> Option<u64>,
        read: F,
    ) -> Result<Option<Campaign>>
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<R>>,
        R: ServerPage,
    {
        let (at, index) = match self.index {
            0 => match step_back(self.page) {
                Some(before) => (before, None),
                None => return Ok(None),
            },
            index => (self.page, Some(index - 1)),
        };
        let page = read(at).await?;
        let campaigns = page.campaigns();
        Ok(index
            .map_or(campaigns.last(), |i| campaigns.get(i))
            .cloned())
    }

    /// Where a local listing takes over when the order breaks on the page
    /// after this run: at the run's start, since everything before it was
    /// listed in the server's order.
    pub fn local_position(&self) -> LocalPosition {
        LocalPosition {
            page: self.page,
            index: self.index,
            after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::testing::{by_name, named};

    fn ids(items: &[Campaign]) -> Vec<&str> {
        items.iter().map(|c| c.id.native.as_str()).collect()
    }

    /// Pages at positions 1, 2, 3, ... (page numbers).
    async fn run_before(pages: &[Vec<Campaign>], page: u64) -> TieRun {
        TieRun::read_back(
            &by_name(),
            page,
            |n| (n > 1).then(|| n - 1),
            |n: u64| {
                let page = pages[n as usize - 1].clone();
                async move { Ok(page) }
            },
            &PageReads::new(4),
            |n| n,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_run_is_read_back_across_pages_it_fills_whole() {
        let pages = [
            vec![named("1", "a"), named("9", "b")],
            vec![named("8", "b"), named("7", "b")],
            vec![named("2", "b"), named("3", "c")],
        ];
        let run = run_before(&pages, 2).await;
        assert_eq!(
            ids(&run.items().cloned().collect::<Vec<_>>()),
            ["9", "8", "7"]
        );
        assert_eq!((run.page, run.index), (1, 1));
        assert_eq!(
            run.previous_last.as_ref().map(|c| c.name.as_str()),
            Some("b")
        );
        let last = run
            .last_listed(
                |n| (n > 1).then(|| n - 1),
                |n: u64| {
                    let page = pages[n as usize - 1].clone();
                    async move { Ok::<_, crate::SourceError>(page) }
                },
            )
            .await
            .unwrap();
        assert_eq!(last.map(|c| c.id.native), Some("1".to_owned()));
        let listed = run.list_with(&by_name(), pages[2].clone(), false);
        assert_eq!(ids(&listed), ["2", "7", "8", "9", "3"]);
    }

    #[tokio::test]
    async fn a_run_from_the_first_page_on_has_nothing_listed_before_it() {
        let pages = [
            vec![named("1", "b"), named("2", "b")],
            vec![named("3", "c")],
        ];
        let run = run_before(&pages, 1).await;
        assert_eq!((run.page, run.index), (1, 0));
        let last = run
            .last_listed(
                |n| (n > 1).then(|| n - 1),
                // Nothing to read: a read would fail the test.
                |_: u64| async { Err::<Vec<Campaign>, _>(crate::SourceError::config("s", "read")) },
            )
            .await
            .unwrap();
        assert_eq!(last, None);
        assert_eq!(
            run.local_position(),
            LocalPosition {
                page: 1,
                index: 0,
                after: None
            }
        );
    }

    #[tokio::test]
    async fn a_run_continues_a_kept_one_without_reading_it_back() {
        let pages = [
            vec![named("1", "a"), named("9", "b")],
            vec![named("8", "b"), named("7", "b")],
            vec![named("6", "b"), named("5", "b")],
            vec![named("2", "b"), named("3", "c")],
        ];
        let kept = PageReads::new(4);
        kept.keep(2, Arc::new(run_before(&pages, 2).await));
        let reads = std::sync::Mutex::new(Vec::new());
        let run = TieRun::read_back(
            &by_name(),
            3,
            |n| (n > 1).then(|| n - 1),
            |n: u64| {
                reads.lock().unwrap().push(n);
                let page = pages[n as usize - 1].clone();
                async move { Ok(page) }
            },
            &kept,
            |n| n,
        )
        .await
        .unwrap();
        // Page 3 read; pages 1 and 2 come from the kept run.
        assert_eq!(*reads.lock().unwrap(), [3]);
        assert_eq!(run.len(), 5);
        assert_eq!((run.page, run.index), (1, 1));
        assert_eq!(
            run.previous_last.as_ref().map(|c| c.id.native.as_str()),
            Some("5")
        );
        let listed = run.list_with(&by_name(), pages[3].clone(), false);
        assert_eq!(ids(&listed), ["2", "5", "6", "7", "8", "9", "3"]);
        // A page inside the run lists nothing while more follow.
        let inside = vec![named("4", "b")];
        assert!(run.list_with(&by_name(), inside, true).is_empty());
        // The run is kept in turn.
        assert_eq!(kept.ready(&3).as_deref(), Some(&run));
        // A kept run of another key is not continued: read back instead.
        let other = PageReads::new(4);
        other.keep(2, Arc::new(run_before(&[vec![named("1", "a")]], 1).await));
        let alone = TieRun::read_back(
            &by_name(),
            3,
            |n| (n > 1).then(|| n - 1),
            |n: u64| {
                let page = pages[n as usize - 1].clone();
                async move { Ok(page) }
            },
            &other,
            |n| n,
        )
        .await
        .unwrap();
        assert_eq!(alone, run);
    }

    #[test]
    fn a_page_with_more_after_it_keeps_its_last_run_back() {
        let page = vec![named("1", "a"), named("3", "b"), named("2", "b")];
        assert_eq!(
            ids(&TieRun::none(0).list_with(&by_name(), page.clone(), true)),
            ["1"]
        );
        assert_eq!(
            ids(&TieRun::none(0).list_with(&by_name(), page, false)),
            ["1", "2", "3"]
        );
    }
}
