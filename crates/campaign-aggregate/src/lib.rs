//! One ordered, paginated, streaming view over many campaign sources.
//!
//! An [`Aggregator`] takes any number of `Arc<dyn CampaignSource>` and is
//! itself a [`CampaignSource`](campaign_core::CampaignSource), so aggregates
//! nest and every consumer sees one interface.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use campaign_aggregate::{Aggregator, AggregateEvent};
//! use campaign_core::{Campaign, CampaignId, CampaignQuery, CampaignSource, Channel, Sort, SortField};
//! use campaign_testkit::InMemorySource;
//! use futures::StreamExt;
//!
//! fn named(source: &str, names: &[&str]) -> Arc<dyn CampaignSource> {
//!     let campaigns = names
//!         .iter()
//!         .map(|name| Campaign::new(CampaignId::new(source, *name), "memory", *name, Channel::Voice))
//!         .collect();
//!     Arc::new(InMemorySource::new(source, campaigns))
//! }
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let all = Aggregator::builder("all")
//!     .source(named("east", &["Billing", "Renewals"]))
//!     .source(named("west", &["Churn", "Upsell"]))
//!     .build()?;
//! let query = CampaignQuery::builder()
//!     .sort(Sort::asc(SortField::Name))
//!     .page_size(3)
//!     .build()?;
//!
//! // Pages, resumable from an opaque cursor.
//! let first = all.page(&query, None).await?;
//! let names: Vec<_> = first.items.iter().map(|c| c.name.as_str()).collect();
//! assert_eq!(names, ["Billing", "Churn", "Renewals"]);
//! let second = all.page(&query, first.next.as_ref()).await?;
//! assert_eq!(second.items[0].name, "Upsell");
//! assert!(second.next.is_none());
//!
//! // Or the whole listing as events, failures reported as they happen.
//! let events: Vec<_> = all.events(&query).collect().await;
//! let campaigns = events.iter().filter(|e| matches!(e, AggregateEvent::Campaign(_))).count();
//! assert_eq!(campaigns, 4);
//!
//! // Which filters run where, and what a page costs.
//! println!("{}", all.explain(&query));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Behaviour
//! - **Fan-out**: sources are walked concurrently; at most
//!   [`AggregatorBuilder::concurrency`] page requests are in flight across
//!   all of them, each bounded by [`AggregatorBuilder::source_timeout`];
//!   [`AggregatorBuilder::deadline`] bounds a whole call. Dropping a stream
//!   cancels its requests.
//! - **Merge**: with a sort, a k-way merge by
//!   [`CampaignQuery::compare`](campaign_core::CampaignQuery::compare)
//!   over each source's pages where they lie; without one, arrival order.
//!   A whole listing ([`Aggregator::events`]) reads each source about 256
//!   campaigns ahead, so memory stays bounded per source.
//! - **Partitions**: a source that splits a query into
//!   [`partitions`](campaign_core::CampaignSource::partitions) (Kore over
//!   voice and SMS: one per channel) is walked as one merge input per part,
//!   each prefetching its announced pages under the shared bound; counts,
//!   failures (one per source and page) and `SourceDone` stay per source.
//! - **Pages**: [`Aggregator::page`] returns a [`Cursor`] recording each
//!   source's position (each part's, for a partitioned source), so resuming
//!   never re-walks earlier pages.
//! - **Failures**: [`FailurePolicy::BestEffort`] (default) reports each
//!   failure with its source and goes on; [`FailurePolicy::FailFast`] stops.
//! - **Warnings**: what a source notes on a page without failing
//!   ([`Page::warnings`](campaign_core::Page::warnings), e.g. Kore's
//!   `totalResults` changing mid-walk, or a nested aggregate's failed
//!   sources) reaches the consumer as the page arrives:
//!   [`AggregateEvent::SourceWarning`] and [`AggregatePage::warnings`], each
//!   a [`SourceWarning`] naming the source.
//! - **Retries**: the aggregate does not retry; its
//!   [`RetryBudget`](campaign_core::RetryBudget) is shared with the
//!   providers, whose HTTP layers consult it before each retry.
//!
//! The aggregate spawns its page requests, so it must run inside a Tokio
//! runtime.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod aggregator;
mod builder;
mod cursor;
mod events;
mod explain;
mod fanout;
mod guarded;
mod report;

pub use aggregator::{Aggregator, DEFAULT_PAGE_SIZE};
pub use builder::{AggregatorBuilder, FailurePolicy, DEFAULT_CONCURRENCY, DEFAULT_SOURCE_TIMEOUT};
pub use cursor::Cursor;
pub use explain::{Explain, RequestEstimate, SourcePlan};
pub use report::{AggregateEvent, AggregatePage, SourceCount, SourceFailure, SourceWarning};
