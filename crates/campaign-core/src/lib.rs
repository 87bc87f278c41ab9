//! The provider-agnostic core of **campaigns**: one normalized [`Campaign`]
//! model, one [`CampaignQuery`] with the semantics every provider shares, and
//! the object-safe async [`CampaignSource`] trait whose provided
//! [`stream`](CampaignSource::stream) walks every page.
//!
//! This crate carries no HTTP client: providers (`source-cms`, `source-kore`,
//! plugins) bring their own transport and map into these types.
//!
//! # Example
//!
//! A source needs only [`fetch_page`](CampaignSource::fetch_page); paging,
//! local filtering and de-duplication come with the trait.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use campaign_core::{
//!     Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel, Page,
//!     PageToken, Result, Sort, SortField, Status,
//! };
//! use futures::TryStreamExt;
//!
//! /// Two fixed campaigns, served one per page.
//! #[derive(Debug)]
//! struct Tiny;
//!
//! #[async_trait]
//! impl CampaignSource for Tiny {
//!     fn id(&self) -> &str { "tiny" }
//!     fn provider(&self) -> &str { "example" }
//!     fn capabilities(&self) -> Capabilities { Capabilities::local_only() }
//!     async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
//!         let mut all: Vec<Campaign> = ["Renewals", "Billing"]
//!             .iter()
//!             .enumerate()
//!             .map(|(i, name)| {
//!                 let mut c = Campaign::new(CampaignId::new("tiny", i.to_string()), "example", *name, Channel::Voice);
//!                 c.status = Some(Status::Ready);
//!                 c
//!             })
//!             .collect();
//!         all.sort_by(|a, b| query.compare(a, b));
//!         let at: usize = token.map_or(0, |t| t.as_str().parse().unwrap_or(0));
//!         let next = (at + 1 < all.len()).then(|| PageToken::new((at + 1).to_string()));
//!         Ok(Page::new(all.into_iter().skip(at).take(1).collect(), next))
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let query = CampaignQuery::builder()
//!     .status(Status::Ready)
//!     .sort(Sort::asc(SortField::Name))
//!     .build()?;
//! let source: Arc<dyn CampaignSource> = Arc::new(Tiny);
//! let names: Vec<String> = source
//!     .stream(&query)
//!     .map_ok(|c| c.name)
//!     .try_collect()
//!     .await?;
//! assert_eq!(names, ["Billing", "Renewals"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Semantics
//! - Filters AND together; values within a filter OR. A campaign missing a
//!   field never matches a filter on that field. Ranges are `[start, end)`.
//! - [`CampaignQuery::compare`] sorts by the query's field, missing values
//!   last in either direction, ties by [`CampaignId`] ascending.
//! - [`Capabilities::split`] tells what a source pushes to its provider;
//!   the walker applies the rest, so results never depend on the provider.
//!
//! # Paging at a server
//! A source whose server pages and sorts finds in [`paging`] what every such
//! source needs besides reading one page: page reads shared within a walk,
//! the server's sort checked rather than trusted, ties held back across page
//! seams, a local sort when the order breaks, and page tokens bound to their
//! query.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod capabilities;
mod checksum;
mod error;
mod merge;
mod merged_page;
mod model;
mod order;
mod paginate;
pub mod paging;
mod query;
mod retry_budget;
mod secret;
mod source;
mod token;
mod warning;

pub use capabilities::{Capabilities, Filter, QueryPlan};
pub use checksum::stable_checksum;
pub use error::{ErrorKind, Result, SourceError};
pub use merge::{merge_sorted, merge_sorted_chunks, Chunk, MergeSorted, MergeSortedChunks, Merged};
pub use merged_page::fetch_merged_page;
pub use model::{
    Campaign, CampaignId, Channel, DialingMode, ListRef, RawRecord, Schedule, Scope, Status,
};
pub use order::{order_break, tie_run_start, KeysetMark};
pub use paginate::{
    walk_pages, walk_position_chunks, walk_positions, PositionChunk, Positioned, SeenIds,
    SourcePosition,
};
pub use query::{
    CampaignQuery, CampaignQueryBuilder, QueryError, Sort, SortDirection, SortField, TimeRange,
};
pub use retry_budget::RetryBudget;
pub use secret::{mask, Secret};
pub use source::{CampaignSource, DynCampaignSource, Page, PageToken, WalkOptions};
pub use token::{StaticToken, TokenProvider};
pub use warning::{RecordIssues, SkippedRecord, Warning};
