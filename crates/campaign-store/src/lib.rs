//! A local copy of the unified campaign view: every configured source synced
//! into SQLite (embedded, the default) or PostgreSQL, with a change log.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use campaign_core::{Campaign, CampaignId, CampaignSource, Channel};
//! use campaign_store::{Store, SyncOptions};
//! use campaign_testkit::InMemorySource;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let store = Store::connect(&format!("sqlite://{}", dir.path().join("c.db").display())).await?;
//! let source: Arc<dyn CampaignSource> = Arc::new(InMemorySource::new(
//!     "crm",
//!     vec![Campaign::new(CampaignId::new("crm", "1"), "memory", "Renewals", Channel::Voice)],
//! ));
//! let run = store.start_run().await?;
//! let report = store.sync_source(run, source, &SyncOptions::default()).await?;
//! assert_eq!((report.added, report.updated, report.deleted), (1, 0, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sync semantics
//! - **Upsert by campaign id.** A campaign whose normalized fields and raw
//!   record are unchanged is not written and makes no change entry; a
//!   changed one makes one `updated` entry, a new one one `added`.
//! - **Deletes only from complete evidence.** A campaign absent from a
//!   complete, successful listing of its partition (a CMS contact center, a
//!   Kore channel, a source read whole) gets `deleted_at` and one `deleted`
//!   entry. A partition that failed or skipped a record deletes nothing; a
//!   deleted campaign that comes back is `added` again.
//! - **Atomic.** A partition's changes, its change-log entries, its sync
//!   state and its run entry commit in one transaction; the change log's
//!   `seq` has no gap and no repeat.
//! - A partition is read whole into a per-connection staging table first,
//!   outside the write transaction, so a slow provider never holds the
//!   store's write lock; the comparison and the writes are set-based SQL.
//! - `last_seen_at` is the last sync that wrote the row (unchanged rows are
//!   not written); a partition's last complete listing is in its sync state.
//! - **Incremental where the provider allows it.** A source that
//!   [lists changes cheaply](campaign_core::CampaignSource::lists_changes_cheaply)
//!   (Kore) is read newest change first, as a query for the changes since
//!   the partition's bookmark less [`SyncOptions::overlap`]; the listing
//!   ends at the first older campaign
//!   ([`CampaignQuery::beyond_sorted_range`](campaign_core::CampaignQuery::beyond_sorted_range)),
//!   and ties at the boundary are re-read. The bookmark is when the last
//!   read began, or the newest change it saw if that is later (a provider
//!   clock ahead), so a run of campaigns changed at one instant long ago is
//!   not read again each time. The provider's sort is checked by the first
//!   incremental read of a day and trusted for the day after
//!   ([`CampaignQuery::sort_verified`](campaign_core::CampaignQuery::sort_verified)).
//!   Such a read deletes nothing; a full one runs on [`SyncOptions::full`],
//!   when the last was longer than [`SyncOptions::full_refresh_every`] ago,
//!   and whenever the provider's order could not be trusted (at once, and
//!   for that day). CMS is always read whole.
//! - **One sync per source at a time.** [`Store::try_lease`]: a PostgreSQL
//!   advisory lock, or on SQLite an exclusive lock on a file beside the
//!   database (both released when their process dies); a source leased
//!   elsewhere is reported `busy` and skipped.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod changes;
mod error;
mod lease;
mod rows;
mod source;
mod store;
mod sync;
mod verify;

pub use changes::{Action, Change, StoredChange};
pub use error::StoreError;
pub use lease::Lease;
pub use source::{StoreSource, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use store::{Backend, Store};
pub use sync::{
    PartitionReport, SourceReport, SyncOptions, DEFAULT_FULL_REFRESH_EVERY, DEFAULT_OVERLAP,
};
pub use verify::Verification;
