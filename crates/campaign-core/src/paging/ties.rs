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
use crate::paging::LocalPosition;
use crate::query::CampaignQuery;

/// The most earlier pages [`TieRun::read_back`] reads for the start of a
/// run; a longer run is listed with its seams in the server's order.
pub const MAX_LOOK_BACK: usize = 64;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TieRun {
    /// The run, in the server's order.
    pub items: Vec<Campaign>,
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

    /// The run that ends the page at `page`, read with `read`, and of the
    /// pages before it while the run fills them whole (`step_back` gives the
    /// position before one, `None` at the first page), at most
    /// [`MAX_LOOK_BACK`] pages.
    pub async fn read_back<F, Fut, R>(
        query: &CampaignQuery,
        page: u64,
        mut step_back: impl FnMut(u64) -> Option<u64>,
        mut read: F,
    ) -> Result<Self>
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = Result<R>>,
        R: ServerPage,
    {
        let mut run = Self::none(page);
        let mut at = page;
        for _ in 0..MAX_LOOK_BACK {
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
            let mut earlier = items[start..].to_vec();
            earlier.append(&mut run.items);
            run.items = earlier;
            (run.page, run.index) = (at, start);
            if start > 0 {
                break;
            }
            match step_back(at) {
                Some(before) => at = before,
                None => break,
            }
        }
        Ok(run)
    }

    /// What a page lists: this run and the page's own campaigns `items`, in
    /// `query`'s order, once each (a campaign held back and read again on
    /// this page when the listing moved); without the run of the last key
    /// when `more` pages follow, since its place among equal keys on the
    /// next page is not known yet.
    pub fn list_with(
        self,
        query: &CampaignQuery,
        items: Vec<Campaign>,
        more: bool,
    ) -> Vec<Campaign> {
        let mut combined = self.items;
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
        assert_eq!(ids(&run.items), ["9", "8", "7"]);
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
