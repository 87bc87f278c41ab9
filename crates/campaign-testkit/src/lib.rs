//! Test kit for campaign providers: an [`InMemorySource`], fixture campaigns
//! and (soon) a conformance suite every `CampaignSource` can run.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod fixture;
mod memory;

pub use fixture::{
    fixture_campaigns, fixture_created_range, fixture_other_channel, fixture_other_status,
    fixture_updated_range, FIXTURE_PROVIDER,
};
pub use memory::{InMemorySource, DEFAULT_PAGE_SIZE};
