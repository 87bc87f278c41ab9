//! A [`CampaignSource`](campaign_core::CampaignSource) for the Kore.ai
//! **Get All SMS/Voice Campaigns** API
//! (`POST /campaign/api/v2/public/{streamId}/campaign/getAllCampaignDetails?accountId=...`).
//!
//! # What it does
//! - Sends exactly the documented headers (`auth`, `iid`, `accountId`,
//!   `Content-Type`) and body; the stream id is percent-encoded as one path
//!   segment. `auth`, `iid` and `accountId` are marked sensitive and never
//!   appear in Debug output, logs or errors.
//! - Authenticates with any [`TokenProvider`](campaign_core::TokenProvider):
//!   a ready JWT ([`StaticToken`](campaign_core::StaticToken)) or a
//!   [`KoreJwtMinter`] that signs HS256 tokens from the app's client id and
//!   secret, caches them and renews them before expiry and after a 401.
//! - Lists voice and SMS as two partitions (`channel=voice`, `channel=sms`),
//!   each its own request stream, merged in query order; a channel that
//!   fails is reported with its partition while the other is still listed.
//!   After a channel's first page, the following pages are fetched
//!   [`KoreConfig::prefetch`] at a time under one client-side rate limiter,
//!   shared by every source of the process on the same host and account
//!   (Kore's 60 requests a minute are per account) and never sending more
//!   than that in any minute ([`RateLimit::for_quota`]), slowed down by a 429 or
//!   by the documented rate-limit message under any status.
//! - Pushes status, priority and dialing mode (voice only) to the server,
//!   and the sort; the rest is applied locally. `startDate`/`endDate` are
//!   never sent: the spec does not say what they filter, and its own voice
//!   sample (a Dec 1-4 window answered with campaigns created Dec 4-8)
//!   shows it is not the creation time, so created and updated ranges run
//!   locally. See [`decode_page`] and the `normalize` table for the field
//!   mapping.
//! - Checks the server's sort instead of trusting it. The spec documents
//!   `sortBy` but not how ties are broken, and says `sortBy.name` "must be
//!   included if any sort field is used" while its samples send `createdAt`
//!   alone. So the sort goes out as one field, as in the samples; a server
//!   that refuses that (a 400, or `"status": "error"` in a 200) is asked
//!   again with `name` after the field,
//!   and so is every later request. Every page's keys are checked against
//!   each other and against the page before: equal keys in any id order
//!   are fine (the run of equal keys at a page's end is held back and
//!   listed with the next page's, sorted by id, so ties come in the unified
//!   order across pages); a key out of order means the server did not sort,
//!   and the rest of the channel is read whole, sorted locally and paged
//!   from memory, with a warning. Since a small first page can look sorted
//!   by chance, a walk of more than one page also asks once for the first
//!   campaign the other way round: a server that ignores `sortBy` answers
//!   with the same campaign. Server pages are read once per walk and shared
//!   by the pages that look at them.
//! - Skips a record it cannot use (a field of the wrong type, no id, an
//!   unreadable timestamp) with a warning naming the request, the record's
//!   index and id and the cause; [`KoreConfig::strict`] fails the page instead.
//! - Follows the server's paging signals: `hasMore` first, else
//!   `totalResults`; only a page carrying neither ends the channel by being
//!   shorter than the limit (a server may cap its pages below the limit). A
//!   server that echoes a smaller `limit` than asked is asked that size from
//!   then on, and `page` is sent empty where `skip` is no page boundary, so
//!   the two never name different records.
//! - Never loops on a misbehaving server: it stops on `hasMore: false` or an
//!   empty page, reports a server that ignores `skip` as a `Protocol` error,
//!   and warns when `totalResults` changes mid-walk (reading on page by page
//!   from there).
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use campaign_core::{CampaignQuery, CampaignSource, Secret, Status};
//! use futures::TryStreamExt;
//! use source_kore::{KoreConfig, KoreJwtMinter, KoreSource};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = KoreConfig::new("kore-main", "https://platform.kore.ai", "st-0603182c", "67777ce93e25");
//! let tokens = Arc::new(KoreJwtMinter::new("cs-client-id", Secret::new("client-secret")));
//! let source = Arc::new(KoreSource::new(config, tokens)?);
//! let query = CampaignQuery::builder().status(Status::Ready).priority(5).build()?;
//! let campaigns: Vec<_> = source.stream(&query).try_collect().await?;
//! for c in &campaigns {
//!     println!("{} {} {:?}", c.id, c.name, c.channel);
//! }
//! # Ok(()) }
//! ```
//!
//! Decoding alone needs no server:
//!
//! ```
//! use campaign_core::Channel;
//! let body = br#"{"status":"success","data":{"results":[{"_id":"cd-1","name":"Billing","priority":"5","status":"Ready"}],"skip":0,"limit":50,"hasMore":false,"totalPages":1,"totalResults":1}}"#;
//! let page = source_kore::decode_page("kore-main", "POST getAllCampaignDetails", &Channel::Voice, body)?;
//! assert_eq!(page.campaigns[0].priority, Some(5));
//! assert_eq!(page.has_more, Some(false));
//! # Ok::<(), campaign_core::SourceError>(())
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod channel;
mod config;
mod jwt;
mod normalize;
mod page_token;
mod request;
mod settings;
mod source;
mod wire;

pub use config::{KoreConfig, RateLimit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use jwt::KoreJwtMinter;
pub use normalize::{decode_page, decode_page_with, KorePage};
pub use settings::KoreSettings;
pub use source::KoreSource;

/// The provider name every Kore campaign carries.
pub const PROVIDER: &str = "kore";
