//! Test kit for campaign providers: fixture campaigns, an [`InMemorySource`]
//! (the reference implementation) and the [`Conformance`] suite every
//! `CampaignSource` runs from its own tests.
//!
//! # Running the suite
//!
//! Load [`fixture_campaigns`] into your backend (a mock server, the
//! sandbox), implement [`SourceFactory`] to hand the suite sources pointing at
//! it, and assert the report. Each failure names its [`Check`], the query and
//! the difference (missing, unexpected and repeated ids, the first pair out of
//! order); see `docs/PROVIDERS.md`.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use campaign_core::{Campaign, CampaignSource};
//! use campaign_testkit::{fixture_campaigns, Check, Conformance, InMemorySource, SourceFactory};
//!
//! struct Factory(InMemorySource);
//!
//! #[async_trait]
//! impl SourceFactory for Factory {
//!     async fn source(&self) -> Arc<dyn CampaignSource> {
//!         Arc::new(self.0.clone().with_token("t0ken"))
//!     }
//!     async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
//!         Some(Arc::new(self.0.clone().with_token("wrong")))
//!     }
//!     fn expected(&self) -> Vec<Campaign> {
//!         self.0.campaigns().to_vec()
//!     }
//!     fn secrets(&self) -> Vec<String> {
//!         vec!["t0ken".into()]
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let backend = InMemorySource::new("mem", fixture_campaigns("mem")).require_token("t0ken");
//! let report = Conformance::new(Factory(backend)).page_sizes([1, 4]).run().await;
//! report.assert_passed();
//! assert!(report.result(Check::Paging).is_some_and(|r| !r.failed()));
//! # }
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod conformance;
mod fixture;
mod gauge;
mod memory;
pub mod mutation;
mod presorted;
mod walk;

pub use conformance::{Check, CheckResult, Conformance, ConformanceReport, Outcome, SourceFactory};

pub use fixture::{
    fixture_campaigns, fixture_created_range, fixture_other_channel, fixture_other_status,
    fixture_updated_range, FIXTURE_PROVIDER,
};
pub use gauge::{Gauge, Gauged};
pub use memory::{InMemorySource, DEFAULT_PAGE_SIZE};
pub use presorted::{interleaved_campaigns, Presorted};
pub use walk::{assert_listed_once_in_order, fetch_pages};
