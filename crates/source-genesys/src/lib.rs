//! A [`CampaignSource`](campaign_core::CampaignSource) for the Genesys Cloud
//! outbound dialer: `GET /api/v2/outbound/campaigns` ("Query a list of dialer
//! campaigns"), built on the facts `genesys-outbound-campaigns.md` tags
//! `[SDK]` or `[SPEC18]` (section numbers below are that note's).
//!
//! # What it does
//! - Authenticates with OAuth client credentials ([`GenesysOAuth`]: `POST
//!   {login}/oauth/token`, HTTP Basic `client_id:client_secret`, form body
//!   `grant_type=client_credentials`), caching the token until shortly
//!   before `expires_in` and renewing it once after a 401; or with a ready
//!   bearer token. The login host is [`GenesysConfig::login_url`], else
//!   derived from the API host as the SDKs do ([`login_url_for`]: `api.` →
//!   `login.`); a host without `api.` (a proxy, the loopback sandbox, which
//!   serves both hosts' paths on one address) is its own login host. The
//!   API host is configured as a base URL or as the region's domain
//!   (`mypurecloud.ie` gives `https://api.mypurecloud.ie/`,
//!   [`api_base_url`], §1.1).
//! - Pages by `pageSize`/`pageNumber` (`pageSize` at most 100, never out of
//!   range, so a server that clamps and one that refuses (§8.2) answer
//!   alike). After the first page reports `pageCount`, the remaining pages
//!   are announced so the walker fetches [`GenesysConfig::prefetch`] at a
//!   time. A walk stops on an empty page, a missing `nextUri` or
//!   `pageNumber == pageCount` (§3), or a 404 for a page past the first
//!   (reported as a warning: §2.3 expects an empty 200 there, §5.2 lists
//!   404 for the call), never loops on a server that keeps
//!   sending `nextUri`, and fails with `Protocol` on a server that ignores
//!   `pageNumber` (a later page starting with the first page's campaign).
//! - Stays within the documented 300 requests a minute per OAuth client
//!   (§5.3) with a client-side limiter shared by every source of the process
//!   on the same login host and client id; a 429 is retried after its
//!   `Retry-After` and pauses the limiter.
//! - Pushes down only what is documented: the configured divisions
//!   (`divisionId`, repeated), re-checked on every campaign that comes back:
//!   one in another division is left out with a warning; one without a
//!   division (the field is optional and came later, §4) is kept, as the
//!   server returned it for `divisionId`, with one warning per listing. No
//!   sort is pushed down:
//!   `sortBy` has no documented values and how names collate is unconfirmed
//!   (§2.1, §8.1, §8.5; a server may order them case-insensitively), so
//!   every sort, by name too, reads the listing whole, sorts it locally and
//!   pages it from memory. Requests still carry `sortBy=name`, only so that
//!   page-number paging sees one order from request to request; a server
//!   that refuses it with a 400 (`invalid.value`, or a message naming
//!   `sortBy`) is asked again without it, and the source never sends it
//!   again (one warning). The `name`
//!   filter runs locally (`filterType` case sensitivity is undocumented,
//!   §8.5), as do status, priority, dialing mode and the date ranges. The
//!   channel filter is answered here: every campaign is voice.
//! - Reads the documented `ErrorBody` (§5.1) into typed errors: the HTTP
//!   status gives the kind (403 `Forbidden`, 404 `NotFound`, 5xx `Server`,
//!   ...), `code` and `message` (with `contextId`) are kept, and the error
//!   names the source and request. 429, 5xx and transport failures are
//!   retried with backoff. Secrets never appear in Debug output, logs or
//!   errors.
//! - Skips a record it cannot use (no usable `id`, a field of the wrong
//!   type, an unreadable date) with a warning naming the source, the
//!   request, the record's index and id and the cause;
//!   [`GenesysConfig::strict`] fails the page instead. A record without
//!   `dateCreated` (read-only and server-set) is listed without a creation
//!   time and always reported with a warning.
//!
//! # Field mapping
//!
//! | Genesys field | Campaign field |
//! | --- | --- |
//! | `id` | `id.native` (missing or blank: the record is skipped and reported) |
//! | `name` | `name` (empty when absent) |
//! | — | `channel`: always [`Channel::Voice`](campaign_core::Channel::Voice) (dialer campaigns) |
//! | `campaignStatus` `on` | `status` [`Active`](campaign_core::Status::Active) |
//! | `campaignStatus` `complete` | `status` [`Completed`](campaign_core::Status::Completed) |
//! | `campaignStatus` `off`, `stopping`, `forced_off`, `forced_stopping`, `invalid` | `status` [`Stopped`](campaign_core::Status::Stopped): placing no new calls (`stopping` only finishes calls in progress; `invalid` cannot start until its `errors` are fixed) |
//! | any other `campaignStatus` | `status` [`Other`](campaign_core::Status::Other), verbatim |
//! | `dialingMode` `preview`, `progressive`, `predictive`, `agentless` | `dialing_mode` of the same name |
//! | `dialingMode` `power`, `external`, anything else | `dialing_mode` [`Other`](campaign_core::DialingMode::Other), verbatim |
//! | `priority` (1 lowest … 5 highest) | `priority`; a number outside 1..=5 is kept only in `raw` |
//! | `dateCreated`, `dateModified` (ISO 8601 UTC) | `created_at`, `updated_at` (malformed: the record is skipped) |
//! | `version` | `version` |
//! | `contactList` (`{id, name}`) | `contact_lists`, one entry |
//! | `dncLists` (`[{id, name}]`, possibly absent) | `dnc_lists` |
//! | `division` (`{id, name}`) | `scope`: [`Scope::Account`](campaign_core::Scope::Account) with `account` the division id and `stream` its name; [`Scope::Unscoped`](campaign_core::Scope::Unscoped) without one |
//! | — | `description`, `schedule`, `message`: none |
//! | the whole record | `raw`, byte for byte (queue, script, edge group, `errors`, ...) |
//!
//! # Example
//!
//! Against the sandbox's emulator (any region's API host works the same):
//!
//! ```
//! use std::sync::Arc;
//! use campaign_core::{CampaignQuery, CampaignSource, Sort, SortField, Status};
//! use campaign_sandbox::Sandbox;
//! use futures::TryStreamExt;
//! use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start_default().await?;
//! let creds = sandbox.credentials();
//! let config = GenesysConfig::new("genesys", sandbox.genesys_url().as_str())
//!     .with_login_url(sandbox.genesys_login_url().as_str());
//! let credentials = GenesysCredentials::client_credentials(
//!     creds.genesys_client_id.clone(),
//!     creds.genesys_client_secret.clone(),
//! );
//! let source = Arc::new(GenesysSource::new(config, credentials)?);
//! let query = CampaignQuery::builder()
//!     .status(Status::Active)
//!     .sort(Sort::asc(SortField::Name))
//!     .build()?;
//! let campaigns: Vec<_> = source.stream(&query).try_collect().await?;
//! assert!(campaigns.iter().any(|c| c.name == "Renewals - Predictive"));
//! assert!(campaigns.windows(2).all(|w| w[0].name <= w[1].name));
//! # sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Decoding alone needs no server:
//!
//! ```
//! let body = br#"{"entities":[{"id":"c-1","name":"Renewals","campaignStatus":"on",
//!     "dialingMode":"power","dateCreated":"2026-01-05T10:00:59.006Z"}],
//!     "pageSize":25,"pageNumber":1,"total":1,"pageCount":1}"#;
//! let page = source_genesys::decode_page("genesys", "GET campaigns", body)?;
//! assert_eq!(page.campaigns[0].status, Some(campaign_core::Status::Active));
//! assert_eq!(page.campaigns[0].dialing_mode.as_ref().map(|m| m.as_str()), Some("power"));
//! # Ok::<(), campaign_core::SourceError>(())
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

mod config;
mod listing;
mod normalize;
mod oauth;
mod page_token;
mod settings;
mod source;
mod wire;

pub use config::{
    api_base_url, login_url_for, GenesysConfig, GenesysCredentials, DEFAULT_PAGE_SIZE,
    DEFAULT_RATE_LIMIT, MAX_PAGE_SIZE,
};
pub use normalize::{campaign_status, decode_page, decode_page_with, GenesysPage};
pub use oauth::{GenesysOAuth, DEFAULT_RENEW_BEFORE, DEFAULT_TOKEN_LIFETIME};
pub use settings::GenesysSettings;
pub use source::GenesysSource;

/// The provider name every Genesys campaign carries.
pub const PROVIDER: &str = "genesys";
