//! Local emulators of the CMS, Kore.ai and Genesys Cloud campaign APIs, with
//! fault injection.
//!
//! [`Sandbox`] starts four HTTP servers on 127.0.0.1: the CMS
//! (`GET /configuration/hierarchyconfig/campaign?contactCenterId=N` and the token
//! endpoint `POST /v2/accounts/{account_sid}/configuration/basicauth`), Kore.ai
//! (`POST /campaign/api/v2/public/{streamId}/campaign/getAllCampaignDetails?accountId=X`),
//! Genesys Cloud (`GET /api/v2/outbound/campaigns` and the token endpoint
//! `POST /oauth/token`) and an "other host" that redirect faults point to. Every request is logged
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
//! By default the emulators serve the specs' sample records verbatim
//! ([`samples`]): CMS contact center 1 holds the one sample campaign; Kore holds
//! the 5 voice and 7 SMS samples; Genesys holds the 3 sample campaigns plus 4
//! of the sandbox's, the 7 the sample response counts. Every sample request of
//! the specs, sent as printed ([`samples::KORE_VOICE_CURL`],
//! [`samples::KORE_SMS_CURL`], [`samples::CMS_CURL`],
//! [`samples::GENESYS_REQUEST`], [`samples::GENESYS_LIST_REQUEST`],
//! [`samples::GENESYS_TOKEN_REQUEST`]; only the placeholders filled in), gets
//! that spec's sample response, byte for byte (whitespace aside) where the
//! spec prints one; `tests/spec_samples.rs` and `tests/genesys_samples.rs` do
//! exactly that. The Kore requests carry the spec's `iid` and `accountid`
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
//! ## Genesys Cloud behaviour
//! Per `genesys-outbound-campaigns.md`; § numbers are that note's sections.
//! - Hosts: [`Sandbox::genesys_url`] stands for `https://api.<domain>/` and
//!   [`Sandbox::genesys_login_url`] for `https://login.<domain>/`. One
//!   listener serves both hosts' paths (`GET /api/v2/outbound/campaigns`,
//!   `POST /oauth/token`), so the two URLs are equal; other paths answer 404
//!   `not.found`.
//! - Token endpoint (§1.2): HTTP Basic `client_id:client_secret`
//!   ([`SandboxCredentials::genesys_client_id`],
//!   [`SandboxCredentials::genesys_client_secret`]), or, without an
//!   `Authorization` header, `client_id`/`client_secret` form fields (§1.2
//!   \[OBS\]); a form-encoded body with `grant_type=client_credentials`. The
//!   answer is `{"access_token","token_type":"bearer","expires_in"}` with
//!   `Cache-Control: no-store`; `expires_in` is the token lifetime
//!   ([`SandboxBuilder::genesys_token_lifetime`], default 86,400 s). Errors are
//!   OAuth-style `{"error","description","error_description"}`, not
//!   `ErrorBody`: 401 `invalid_client` (client missing or wrong), 400
//!   `invalid_request` (body not form-encoded, or no `grant_type`), 400
//!   `unsupported_grant_type`. Faults never touch it. The request log masks
//!   `Authorization` and a form body's `client_secret`.
//! - Campaign checks, in order: no `Authorization: Bearer` token: 401
//!   `authentication.required`; a token not issued, lapsed or revoked
//!   ([`ProviderControl::expire_tokens`]): 401 `bad.credentials`; the optional
//!   rate limit: 429; no view permission in any division
//!   ([`SandboxBuilder::genesys_divisions`] empty): 403
//!   `missing.any.permissions`; a bad query: 400; then the page. Errors are the
//!   `ErrorBody` of §5.1 (`message`, `code`, `status`, `messageWithParams` and
//!   `messageParams`, `contextId`, `details: []`, `errors: []`, `limit` on
//!   429), and every answer carries `ININ-Correlation-Id`, equal to `contextId`.
//! - Query (§2.1): `pageSize` (default 25), `pageNumber` (1), `filterType`
//!   (`Prefix`), `name`, `id`, `contactListId`, `dncListIds`,
//!   `distributionQueueId`, `edgeGroupId`, `callAnalysisResponseSetId`,
//!   `divisionId`, `sortBy`, `sortOrder` (ascending). Names are case-sensitive;
//!   unknown parameters are ignored (§7.3), among them `allowEmptyResult`, which
//!   only sibling endpoints have (§2.1), and `dncListId`, removed in favour of
//!   `dncListIds` (§2.4). An empty value counts as absent; a single-valued
//!   parameter given twice takes its first value. `pageSize`/`pageNumber` that
//!   are not 32-bit integers: 400 `bad.request`; `filterType` and `sortOrder`
//!   are checked case-insensitively against their enums (`sortOrder` also takes
//!   the spec's default `a`): 400 `invalid.value` (e.g. `Value [up] is not valid
//!   for field type [SortOrder]. Allowable values are: ascending, descending`); more
//!   than 100 `id` values (counted one by one): 400 `too.many.bulk.retrieves`;
//!   a `RegEx` name that does not compile: 400 `bad.request`.
//! - Filters are ANDed (§2.3). `id`, `divisionId` and `dncListIds` take repeated
//!   or comma-joined values and match any of them (§2.2; for `dncListIds`, a
//!   single string in the spec, that is the sandbox's choice, §8.5); the other
//!   id filters match the reference's `id` exactly. Only campaigns in the
//!   divisions the client may view are listed (default: all).
//!   [`SandboxBuilder::genesys_omit_division`] serves the records without
//!   their `division` (a field added later, §4), filtered as before.
//! - `name` per `filterType` (§2.3): `Equals` whole name, `Prefix`/`BeginsWith`,
//!   `EndsWith`, `Contains`, `LessThan`…`GreaterThanEqualTo` lexicographic, and
//!   `RegEx` (a common Java/POSIX subset; unanchored, so it matches anywhere
//!   unless `^`/`$` say otherwise; linear time). Case is ignored by default, the
//!   spec's "safer" choice; [`SandboxBuilder::genesys_name_case_sensitive`]
//!   tells case apart (§8.5).
//! - Sort: `sortBy` `name` (the default), `dateCreated`, `dateModified` or
//!   `campaignStatus` (§7.5); no values are documented (§8.1), so any other
//!   value is ignored and the order is by name. Names compare by byte order
//!   (as `campaign-core` does), or case-folded with
//!   [`SandboxBuilder::genesys_name_order_case_insensitive`] (a server collating
//!   so; §8.5); missing values come last either way, ties go by id ascending;
//!   `descending` reverses the key, not the tie-break.
//! - Paging (§2.3, §3): by default a `pageSize` outside 1..=100 is clamped and a
//!   `pageNumber` below 1 becomes 1, and the envelope and links report the
//!   clamped values; [`SandboxBuilder::genesys_out_of_range_paging`]`(`[`OutOfRangePaging::Reject`]`)`
//!   answers 400 `bad.request` instead (§8.2). `total` and `pageCount` describe
//!   the filtered set; `pageCount` is `ceil(total / pageSize)`, 0 for an empty
//!   result. A page past the end is a 200 with `entities: []` (§8.3). Links are
//!   relative (`/api/v2/outbound/campaigns?…`) and repeat the request's
//!   documented, non-empty parameters in its order and encoding, with
//!   `pageSize` and `pageNumber` set (put first when the request had none);
//!   `nextUri` only while `pageNumber < pageCount`, `previousUri` (to
//!   `pageNumber - 1`, even past the end) only after page 1, `firstUri`,
//!   `selfUri` and `lastUri` always (`lastUri` to page 1 for an empty result,
//!   §8.4).
//! - Records: the §4 keys in the SDK's order, dates as
//!   `yyyy-MM-ddTHH:mm:ss.SSSZ` (§4.5); unset fields are left out, never
//!   `null`; the arrays §4.4 calls commonly present (`dncLists`, `ruleSets`,
//!   `errors`, `contactListFilters`, `contactSorts`, `phoneColumns`) are written
//!   as `[]` when empty ([`Fault::OmitEmptyArrays`] leaves them out, §8.7).
//! - Rate limit (§5.3), off by default: [`SandboxBuilder::genesys_rate_limit`]
//!   counts authenticated requests per token in a fixed 60 s window from its
//!   first request; beyond the limit it answers 429 `too.many.requests` with
//!   `Retry-After` (seconds to the window's end) and `limit`
//!   `{key: "client.credentials.token.rate.per.minute", namespace: "platform.api", value}`,
//!   and every counted answer carries `inin-ratelimit-count`,
//!   `inin-ratelimit-allowed` and `inin-ratelimit-reset`. Off, no such headers
//!   are sent. New or revoked tokens start afresh.
//! - Data: the §6 sample's three campaigns verbatim plus the sandbox's four
//!   ([`samples::GENESYS_EXTRA_CAMPAIGNS`]), which sort after them by name, so
//!   the sample's `total` of 7 holds; two pairs tie (a `dateCreated`, a
//!   `dateModified`). They are stored in a seeded order no sort gives
//!   ([`Fault::SortIgnored`] shows it). With [`SandboxBuilder::generated`],
//!   [`SandboxBuilder::genesys_generated`] campaigns (default 0) over every
//!   documented status and dialing mode, four divisions and shared pools of
//!   contact lists, DNC lists, queues and edge groups, with tie groups
//!   ([`SandboxBuilder::genesys_ties`]). [`ProviderControl::load_campaigns`]
//!   loads voice campaigns only: native id, name, dates, version (default 1),
//!   priority (default 5), first contact list, DNC lists (ids derived from
//!   names when missing), status (`active` → `on`, `completed` → `complete`,
//!   other known states → `off`, anything else verbatim) and dialing mode carry
//!   over; each lands in the `Home` division with the queue, script, edge
//!   group and response set its dialing mode needs.
//! - Faults: see [`Fault`] for each one's Genesys flavour;
//!   [`Fault::RateLimitedResetHeader`], [`Fault::OmitEmptyArrays`] and
//!   [`Fault::NextUriForever`] exist for Genesys, and
//!   [`Fault::SortNameRequired`] has no effect.
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
mod genesys;
mod kore;
mod kore_request;
mod kore_store;
mod log;
mod ordering;
mod sandbox;
mod wire;

pub use auth::SandboxCredentials;
pub use builder::SandboxBuilder;
pub use data::samples;
pub use faults::{Fault, RetryAfter};
pub use generate::GeneratedData;
pub use genesys::OutOfRangePaging;
pub use kore::RATE_LIMIT_MESSAGE as KORE_RATE_LIMIT_MESSAGE;
pub use log::{LoggedRequest, Server};
pub use sandbox::{ProviderControl, Sandbox};
