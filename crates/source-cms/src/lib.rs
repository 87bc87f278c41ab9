//! A [`CampaignSource`](campaign_core::CampaignSource) for the CMS (Exotel's
//! contact-center CMS, formerly Ameyo) hierarchy-config campaigns API,
//! `GET /configuration/hierarchyconfig/campaign?contactCenterId=N`.
//!
//! # Example
//!
//! Listing campaigns of two contact centers with a token from the vendor's
//! token endpoint (needs a server, so not run here):
//!
//! ```no_run
//! use std::sync::Arc;
//! use campaign_core::{CampaignQuery, CampaignSource, Channel, Secret};
//! use campaign_http::HttpConfig;
//! use futures::TryStreamExt;
//! use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let base = "https://cms.acme.cc.exotel.com";
//! let tokens = CmsBasicAuthToken::new(
//!     "cms-main", base, "acme-sid", "api-key", Secret::new("api-token"), HttpConfig::default(),
//! )?;
//! let config = CmsConfig::new("cms-main", base, vec![1, 2]);
//! let source = Arc::new(CmsSource::new(config, Arc::new(tokens))?);
//! let query = CampaignQuery::builder().channel(Channel::Voice).page_size(50).build()?;
//! let voice: Vec<_> = source.stream(&query).try_collect().await?;
//! println!("{} voice campaigns", voice.len());
//! # Ok(()) }
//! ```
//!
//! Decoding a response body (the spec's sample) without a server:
//!
//! ```
//! use campaign_core::{Channel, Scope};
//! let body = br#"[{"campaignContextId": 1, "campaignContextName": "Mumbai Sales Dept",
//!   "campaignContextType": "Interaction Campaign", "contactCenterId": 1, "processId": 1,
//!   "description": "Campaign related to Sales Management",
//!   "dateAdded": "2026-03-24T12:28:52.354Z", "dateModified": "2026-03-24T12:28:52.354Z",
//!   "ref": 0, "version": 0}]"#;
//! let campaigns = source_cms::decode_campaigns("cms", "GET campaigns contactCenterId=1", body)?;
//! assert_eq!(campaigns[0].id.to_string(), "cms:1");
//! assert_eq!(campaigns[0].channel, Channel::Interaction);
//! assert_eq!(campaigns[0].scope, Scope::ContactCenter { contact_center_id: 1, process_id: Some(1) });
//! assert_eq!(campaigns[0].status, None);
//! # Ok::<(), campaign_core::SourceError>(())
//! ```
//!
//! # Mapping
//! - `campaignContextId` (an integer, or a string holding one) is the native id,
//!   `campaignContextName` the name, `description` the description,
//!   `dateAdded` / `dateModified` (ISO 8601, with or without offset, or epoch
//!   milliseconds) the timestamps, `version` the version, `contactCenterId` +
//!   `processId` the [`Scope::ContactCenter`](campaign_core::Scope). A record
//!   without `contactCenterId` is scoped to the contact center it was fetched for.
//! - `campaignContextType` gives the channel and dialing mode by the table in
//!   [`campaign_type`]; unknown types stay `Channel::Other`.
//! - The CMS has no status or priority: both are `None`. `ref` and anything
//!   undocumented stay in [`Campaign::raw`](campaign_core::Campaign::raw),
//!   which holds each record byte for byte.
//! - Only `campaignContextId` is required; missing optional fields, `null`s
//!   and extra fields are tolerated. A malformed body is a `Decode` error
//!   naming the source, the contact center (partition `contact_center=N`),
//!   the request (`GET campaigns contactCenterId=N`) and quoting a short
//!   snippet. A record that is JSON but not a usable campaign (a field of
//!   the wrong type such as `"processId": "x"`, no id, an unreadable date)
//!   is skipped and reported as a page warning naming the request, the
//!   record's index and id (when readable) and the cause, so the rest of
//!   its contact center is listed; [`CmsConfig::strict`] makes it fail
//!   that contact center instead ([`decode_campaigns`] is strict,
//!   [`decode_campaigns_with`] takes either).
//!
//! # Contact centers are partitions
//! Each configured contact center is a
//! [partition](campaign_core::CampaignSource::partitions) of the source,
//! labelled `contact_center=N`: an aggregate (and
//! [`CampaignSource::stream`](campaign_core::CampaignSource::stream)) walks
//! them as separate inputs, so a contact center that fails (unknown: `404
//! CONF-1001`; 403; a 5xx after retries; a malformed body; a timeout) is
//! reported as one failure naming its partition, its HTTP status and
//! provider code, while the other contact centers are listed complete and
//! in order. The source's own `fetch_page` lists every contact center
//! together and fails when any of them does.
//!
//! # Paging and caching
//! The API returns a contact center's campaigns all at once. A listing
//! downloads its contact centers concurrently (at most
//! [`CmsConfig::concurrency`] at once across the source), then filters, sorts
//! ([`CampaignQuery::compare`](campaign_core::CampaignQuery::compare)) and
//! pages locally. It therefore declares every filter and sort in its
//! capabilities, so the walker has nothing left to do, and says with
//! `capabilities_at_provider() == false` that the source applies them, not
//! the server (so an aggregate's `explain` and `campaigns sources` report
//! them as local); `server_paging` is false.
//!
//! Page tokens carry the query's fingerprint and the sort key of the last
//! campaign served; the next page starts right after that key, so a resumed
//! walk has no gap or repeat even if the listing changed in between. A token
//! from another query (other filters or sort) is an `InvalidCursor` error.
//!
//! A walk's first page always downloads afresh; its following pages reuse
//! that download while it is younger than [`CmsConfig::snapshot_ttl`]
//! (30 s by default), so N pages cost one download, not N. Only the latest
//! download is kept, with up to 8 sorted views of it (one per recent query).
//!
//! A download is kept compact: each contact center's response body as it
//! arrived (shared, not copied) and, per record, its byte range in that body.
//! Contact centers download in tasks of their own (at most
//! [`CmsConfig::concurrency`] at once, stopped when the listing is dropped),
//! and a large body is checked on Tokio's blocking pool, so bodies are read
//! and checked on every core.
//! Every record is checked (decoded) once when its body arrives; a view holds,
//! per matching campaign, only its sort key, id and record index. A page
//! decodes just its own records again, `raw` taken from the body. So a
//! source's memory is about the size of its response bodies (roughly 320
//! bytes a campaign with the sandbox's data) rather than that of decoded
//! campaigns (about 1.2 KB each).
//!
//! # Errors and retries
//! Everything HTTP goes through [`campaign_http::HttpClient`]: the documented
//! error body (`errorCode`, `errorMessage`) fills the error's code and message
//! (`404 CONF-1001` is `NotFound` with code `CONF-1001`); a 401 renews the
//! token once; 5xx, 429 and transport failures retry with backoff; no
//! redirect is followed; bodies above the size limit are refused. Tokens
//! never appear in Debug output or errors.
//!
//! # Tokens
//! [`CmsBasicAuthToken`] implements the vendor's token endpoint; any other
//! [`TokenProvider`](campaign_core::TokenProvider) (e.g.
//! [`StaticToken`](campaign_core::StaticToken) for a ready token) works too.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod config;
mod normalize;
mod page_token;
mod settings;
mod snapshot;
mod source;
mod token;
mod wire;

pub use config::{
    CmsConfig, DEFAULT_CONCURRENCY, DEFAULT_MAX_BODY_BYTES, DEFAULT_PAGE_SIZE,
    DEFAULT_SNAPSHOT_TTL, RATE_LIMIT_WAIT,
};
pub use normalize::{campaign_type, decode_campaigns, decode_campaigns_with, UNKNOWN_TYPE};
pub use settings::CmsSettings;
pub use source::CmsSource;
pub use token::{CmsBasicAuthToken, DEFAULT_RENEW_BEFORE, DEFAULT_TOKEN_LIFETIME};

/// The provider name of every CMS campaign.
pub const PROVIDER: &str = "cms";
