//! Local emulators of the CMS and Kore.ai campaign APIs, with fault injection.
//!
//! [`Sandbox`] starts three HTTP servers on 127.0.0.1: the CMS
//! (`GET /configuration/hierarchyconfig/campaign?contactCenterId=N` and the token
//! endpoint `POST /v2/accounts/{account_sid}/configuration/basicauth`), Kore.ai
//! (`POST /campaign/api/v2/public/{streamId}/campaign/getAllCampaignDetails?accountId=X`)
//! and an "other host" that redirect faults point to. Every request is logged
//! with credentials masked ([`ProviderControl::requests`]).
//!
//! ```no_run
//! use campaign_sandbox::{Fault, RetryAfter, Sandbox};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = Sandbox::builder().kore_max_page_size(50).start().await?;
//! let token = sandbox.credentials().cms_token.expose().to_owned();
//! let url = format!("{}configuration/hierarchyconfig/campaign?contactCenterId=1", sandbox.cms_url());
//! // The next two CMS campaign requests get 429 with `Retry-After: 1`.
//! sandbox.cms().inject(Fault::RateLimited(RetryAfter::Seconds(1)), Some(2));
//! # let _ = (token, url);
//! assert_eq!(sandbox.cms().request_count(), 0);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Data
//! By default both emulators serve the specs' sample records verbatim
//! ([`samples`]): CMS contact center 1 holds the one sample campaign; Kore holds
//! the 5 voice and 7 SMS samples. Every sample request of both specs, sent as
//! printed ([`samples::KORE_VOICE_CURL`], [`samples::KORE_SMS_CURL`],
//! [`samples::CMS_CURL`]; only the placeholders filled in), gets that spec's
//! sample response byte for byte (whitespace aside); `tests/spec_samples.rs`
//! does exactly that. The Kore requests carry the spec's `iid` and `accountid`
//! headers, which the sandbox accepts when started with
//! [`SandboxBuilder::kore_ids`]`(samples::KORE_STREAM_ID, samples::KORE_ACCOUNT_ID)`
//! (its ids are random otherwise). The voice sample's date window (Dec 1 to
//! Dec 4, 2025) filters nothing (see below). [`SandboxBuilder::generated`]
//! serves seeded, realistic data instead, where by default 3 in 10 Kore
//! campaigns are in groups of three sharing name, `createdAt` and `updatedAt`,
//! so sorts meet ties ([`SandboxBuilder::kore_ties`]);
//! [`ProviderControl::load_campaigns`] replaces the data with given campaigns.
//!
//! ## CMS behaviour
//! - `Authorization: Bearer` must hold a token issued by the token endpoint (or
//!   [`SandboxCredentials::cms_token`]) that has neither lapsed
//!   ([`SandboxBuilder::cms_token_lifetime`], default 86,400 s) nor been revoked
//!   by [`ProviderControl::expire_tokens`]; else 401.
//! - `contactCenterId` missing or not an integer: 400; unknown contact center:
//!   404 with the documented `CONF-1001` body. Other errors use the same shape
//!   with `errorCode` `SANDBOX-<status>` (the vendor documents no other codes).
//! - The whole array is returned; there is no paging.
//! - Token endpoint: wrong or missing Basic credentials give 401, an unknown
//!   account SID 403, both in the vendor's envelope with `response.status`
//!   `"failure"` and `response.error_data`.
//!
//! ## Kore.ai behaviour
//! - Checks in order: `auth` missing or not a valid JWT (HS256 with the client
//!   secret, `appId` equal to the client id, `exp` not past, not revoked): 401;
//!   the optional rate limit ([`SandboxBuilder::kore_rate_limit`]): 429 with the
//!   documented message; `iid` or `accountId` header missing or wrong: 403;
//!   `accountId` query parameter missing: 400, wrong: 403; unknown `streamId`:
//!   403; then the body. Errors are `{"status":"error","message":...}`.
//! - Body: `type` is required (`voice` or `sms`); `skip`, `page`, `limit` are
//!   non-negative integers, empty strings or null (`page` and `limit` at least
//!   1); `startDate`/`endDate` ISO 8601; `sortBy` keys `name`, `createdAt`,
//!   `updatedAt` with `asc`/`desc`, applied in the order given, ties broken by
//!   id ascending (default `createdAt desc`); `filters.status` from the documented eight
//!   values, `filters.priority` from 1 to 5 (numbers, or numeric strings),
//!   `filters.dialingMode` `Progressive` or `Preview` only (ignored for SMS).
//!   Unknown `sortBy` or `filters` keys are 400.
//! - The spec's `sortBy.name` rule ("must be included if any sort field is
//!   used") is not enforced by default (its own sample requests sort by
//!   `createdAt` alone); [`Fault::SortNameRequired`] enforces it.
//! - Records are stored in a seeded order that no sort gives (the samples are
//!   shuffled out of the spec's newest-first order); only
//!   [`Fault::SortIgnored`], which serves storage order, shows it.
//! - `startDate`/`endDate` are validated (ISO 8601, else 400) but filter
//!   nothing. The spec does not say what they bound, and its own voice sample
//!   request (window Dec 1 to Dec 4, 2025) is answered with campaigns created
//!   Dec 4 to Dec 8; a `createdAt` window would contradict that sample.
//! - Paging: `limit` defaults to 50 and is clamped to the maximum page size
//!   ([`SandboxBuilder::kore_max_page_size`], default 100); the response's `limit`
//!   is the clamped value. The offset is `max(skip, (page - 1) * limit)`, so a
//!   client that advances either `skip` or `page` (or both consistently) pages
//!   correctly; `data.skip` echoes that offset. `hasMore` is
//!   `offset + limit < totalResults`, `totalPages` is
//!   `ceil(totalResults / limit)`.
//!
//! ## Faults
//! See [`Fault`] for each fault and how queued faults combine. Faults act on the
//! campaign endpoints only; latency ([`SandboxBuilder::latency`],
//! [`ProviderControl::set_latency`]) applies to every request of a server,
//! plus up to [`ProviderControl::set_latency_jitter`] of random extra delay.
//! [`ProviderControl::set_failure_rate`] fails a seeded random fraction of
//! campaign requests with a chosen status whenever no queued fault applies.
#![warn(missing_docs, missing_debug_implementations)]

mod auth;
mod builder;
mod cms;
mod data;
mod faults;
mod generate;
mod kore;
mod kore_request;
mod kore_store;
mod log;
mod sandbox;
mod wire;

pub use auth::SandboxCredentials;
pub use builder::SandboxBuilder;
pub use data::samples;
pub use faults::{Fault, RetryAfter};
pub use generate::GeneratedData;
pub use kore::RATE_LIMIT_MESSAGE as KORE_RATE_LIMIT_MESSAGE;
pub use log::{LoggedRequest, Server};
pub use sandbox::{ProviderControl, Sandbox};
