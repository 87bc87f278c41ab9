//! Listing helpers for a source that pages at its server and pushes a sort
//! down, written once for every provider (the built-in ones and plugins).
//!
//! A provider that documents a sort rarely documents how it breaks ties,
//! and some servers accept a sort and ignore it. So a source checks what
//! comes back rather than trusting it, and every such source walks its
//! listing the same way; only how it reads one server page is its own:
//!
//! - [`PageReads`]: each server page is read once per walk however many
//!   pages look at it (the page that lists it, the next page looking back
//!   for a run of equal keys, a local listing): single flight, failures
//!   not kept, reads kept briefly.
//! - [`order_break`](crate::order_break) checks each page against itself
//!   and the page before; [`sort_ignored`] asks once for the first campaign
//!   the other way round, since a small first page can look sorted by
//!   chance. [`order_broken_warning`] says so when either finds a break.
//! - [`TieRun`]: the run of equal sort keys that ends a page is held back
//!   and listed with the next page, in id order, so a walk is in the unified
//!   order (key, then id) across page seams too.
//! - When the order breaks (or the sort cannot be pushed down), the rest of
//!   the listing is read whole, sorted locally and paged from memory
//!   ([`LocalListings`], [`LocalListing`]) by
//!   [`KeysetMark`](crate::KeysetMark), from a [`LocalPosition`] the page
//!   token keeps; [`late_warning`] reports the campaigns the server's order
//!   hid behind ones already listed.
//! - [`TokenEnvelope`]: a page token bound to its query's fingerprint, so it
//!   never resumes a different query.
//!
//! # Example
//!
//! Holding back the tie at a page seam: the first page ends with a run of
//! `b`, whose order among the `b`s of the next page is not known yet.
//!
//! ```
//! use campaign_core::paging::{PageReads, TieRun};
//! use campaign_core::{Campaign, CampaignId, CampaignQuery, Channel, Sort, SortField};
//!
//! # futures::executor::block_on(async {
//! let named = |id: &str, name: &str| Campaign::new(CampaignId::new("s", id), "p", name, Channel::Voice);
//! let query = CampaignQuery::builder().sort(Sort::asc(SortField::Name)).build()?;
//! let pages = [
//!     vec![named("1", "a"), named("4", "b")],
//!     vec![named("3", "b"), named("2", "c")],
//! ];
//! // The first page lists `a` only: more pages follow.
//! let first = TieRun::none(0).list_with(&query, pages[0].clone(), true);
//! assert_eq!(first.len(), 1);
//! // The second page looks back at the first for the run it continues.
//! let run = TieRun::read_back(
//!     &query,
//!     0,
//!     |_| None,
//!     |n: u64| {
//!         let page = pages[n as usize].clone();
//!         async move { Ok::<_, campaign_core::SourceError>(page) }
//!     },
//!     &PageReads::new(4), // the runs kept for the walk's next pages
//!     |n| n,              // their key: the page's position
//! )
//! .await?;
//! let second = run.list_with(&query, pages[1].clone(), false);
//! let ids: Vec<&str> = second.iter().map(|c| c.id.native.as_str()).collect();
//! assert_eq!(ids, ["3", "4", "2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod envelope;
mod local;
mod reads;
mod server_order;
mod ties;

pub use envelope::TokenEnvelope;
pub use local::{
    drop_unwanted_raw, take_campaigns, LocalListing, LocalListings, LocalPosition,
    DEFAULT_LOCAL_TTL,
};
pub use reads::{PageReads, DEFAULT_READ_TTL};
pub use server_order::{late_warning, order_broken_warning, sort_ignored};
pub use ties::{ServerPage, TieRun};

/// What the helpers' tests list.
#[cfg(test)]
mod testing {
    use crate::model::{Campaign, CampaignId, Channel};
    use crate::query::{CampaignQuery, Sort, SortField};

    pub(super) fn named(id: &str, name: &str) -> Campaign {
        Campaign::new(CampaignId::new("s", id), "p", name, Channel::Voice)
    }

    pub(super) fn by_name() -> CampaignQuery {
        CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap()
    }
}
