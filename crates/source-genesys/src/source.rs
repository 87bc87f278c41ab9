//! The [`CampaignSource`] over `GET /api/v2/outbound/campaigns`: building
//! requests, reading one server page, and the trait's entry points.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::paging::{drop_unwanted_raw, LocalListings, PageReads};
use campaign_core::{
    stable_checksum, CampaignQuery, CampaignSource, Capabilities, Channel, Filter, Page, PageToken,
    RecordIssues, Result, SourceError, StaticToken, TokenProvider, WalkOptions, Warning,
};
use campaign_http::header::{HeaderName, AUTHORIZATION};
use campaign_http::{token_header, ApiRequest, Auth, AuthHeaders, HttpClient, RateLimiter, Url};

use crate::config::{GenesysConfig, GenesysCredentials, MAX_PAGE_SIZE};
use crate::listing::{LocalKey, RawKey, RawPage};
use crate::normalize::{decode_page_with, division_of, GenesysPage};
use crate::oauth::GenesysOAuth;
use crate::wire::parse_error_body;
use crate::PROVIDER;

/// A Genesys Cloud outbound campaigns source.
///
/// Pages by `pageSize`/`pageNumber`; once the first page tells `pageCount`,
/// the following pages are announced so the walker fetches up to
/// [`GenesysConfig::prefetch`] of them at once. Every request (prefetches
/// included) waits for one rate limiter shared by the sources of the
/// process on the same login host and OAuth client.
///
/// What the server applies: the configured divisions (`divisionId`, checked
/// on every campaign that comes back). The channel filter is answered here
/// (every campaign is voice); every other filter runs locally, and so does
/// every sort, over the listing read whole: the spec documents no `sortBy`
/// value nor how names collate (see the crate docs).
#[derive(Clone)]
pub struct GenesysSource {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) source_id: String,
    client: HttpClient,
    tokens: Arc<dyn TokenProvider>,
    auth_header: Box<AuthHeaders>,
    endpoint: Url,
    division_ids: Vec<String>,
    pub(crate) page_size: u32,
    pub(crate) prefetch: usize,
    strict: bool,
    host: String,
    rate_limit: Option<u32>,
    /// Server pages read recently or being read.
    pub(crate) raw_pages: PageReads<RawKey, RawPage>,
    /// The latest walks that reported campaigns without a division, so
    /// each reports them once.
    unscoped_walks: Mutex<VecDeque<u64>>,
    /// Set once the server refused `sortBy`: it is not sent again.
    sort_refused: AtomicBool,
    /// Listings read whole and sorted locally.
    pub(crate) local: LocalListings<LocalKey>,
}

impl fmt::Debug for GenesysSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("GenesysSource")
            .field("source_id", &inner.source_id)
            .field("host", &inner.host)
            .field("division_ids", &inner.division_ids)
            .field("page_size", &inner.page_size)
            .field("prefetch", &inner.prefetch)
            .field("rate_limit", &inner.rate_limit)
            .field("tokens", &inner.tokens)
            .finish_non_exhaustive()
    }
}

impl GenesysSource {
    /// Checks `config` and builds the source; nothing is sent yet.
    ///
    /// Fails with a `Config` error on a non-https base or login URL (plain
    /// http only for loopback unless allowed), an empty, repeated or
    /// header-unsafe division id, a page size outside 1..=[`MAX_PAGE_SIZE`],
    /// a prefetch or rate limit of 0, or unusable credentials.
    pub fn new(config: GenesysConfig, credentials: GenesysCredentials) -> Result<Self> {
        let valid = config.validate()?;
        let (tokens, quota): (Arc<dyn TokenProvider>, String) = match credentials {
            GenesysCredentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let quota = format!("{}|client:{client_id}", valid.login_url);
                let oauth = GenesysOAuth::at(
                    config.source_id.clone(),
                    valid.token_url.clone(),
                    client_id,
                    client_secret,
                    &config.http,
                )?;
                (Arc::new(oauth), quota)
            }
            GenesysCredentials::Token(token) => {
                // The quota is per token: sources sharing one share it. The
                // key holds a checksum of the token, never the token.
                let quota = format!(
                    "{}|token:{:016x}",
                    valid.login_url,
                    stable_checksum(token.expose().as_bytes())
                );
                (Arc::new(StaticToken::new(token)), quota)
            }
        };
        Self::build(config, valid, tokens, &quota)
    }

    /// A source authenticating with any `tokens` (a vault, a shared OAuth
    /// client): its quota is its own (keyed by the login host and the
    /// source's name) unless other sources pass the same `quota_key`.
    pub fn with_token_provider(
        config: GenesysConfig,
        tokens: Arc<dyn TokenProvider>,
        quota_key: Option<&str>,
    ) -> Result<Self> {
        let valid = config.validate()?;
        let quota = match quota_key {
            Some(key) => format!("{}|key:{key}", valid.login_url),
            None => format!("{}|source:{}", valid.login_url, config.source_id),
        };
        Self::build(config, valid, tokens, &quota)
    }

    fn build(
        config: GenesysConfig,
        valid: crate::config::Validated,
        tokens: Arc<dyn TokenProvider>,
        quota: &str,
    ) -> Result<Self> {
        let id = config.source_id.as_str();
        // §5.3: a 429 without `Retry-After` waits `inin-ratelimit-reset`
        // seconds, else about 3 s.
        let mut client = HttpClient::new(id, config.http.clone(), parse_error_body)?
            .with_rate_limit_fallback(
                HeaderName::from_static("inin-ratelimit-reset"),
                Duration::from_secs(3),
            );
        if let Some(per_minute) = config.rate_limit {
            client = client.with_rate_limiter(RateLimiter::shared(quota, per_minute, per_minute));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                source_id: config.source_id.clone(),
                client,
                tokens,
                auth_header: token_header(
                    id,
                    AUTHORIZATION,
                    "Bearer ",
                    "the token is not a valid header value (CR, LF or other control characters)",
                ),
                endpoint: valid.endpoint,
                division_ids: config.division_ids.clone(),
                page_size: config.page_size,
                prefetch: config.prefetch,
                strict: config.strict,
                host: valid.base_url.host_str().unwrap_or_default().to_owned(),
                rate_limit: config.rate_limit,
                raw_pages: PageReads::for_prefetch(config.prefetch),
                unscoped_walks: Mutex::default(),
                sort_refused: AtomicBool::new(false),
                local: LocalListings::new(),
            }),
        })
    }
}

/// The capabilities every Genesys source reports: the channel (answered by
/// the source: every campaign is voice). No sort: `sortBy` has no documented
/// values and name collation is unconfirmed (§2.1, §8.1, §8.5), so a server
/// may sort names otherwise than byte by byte; every sort runs locally.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities {
        filters: [Filter::Channel].into(),
        sorts: Default::default(),
        max_page_size: Some(MAX_PAGE_SIZE),
        server_paging: true,
    }
}

/// Whether `error` is the server refusing `sortBy`, whose values are not
/// documented (§8.1): a 400 `invalid.value` (what a bad enum value gets,
/// §5.2; every other parameter sent is a number or an id) or any 400 whose
/// message names `sortBy`.
fn refuses_sort(error: &SourceError) -> bool {
    error.status() == Some(400)
        && (error.code() == Some("invalid.value")
            || error.message().to_ascii_lowercase().contains("sortby"))
}

/// How many walks [`Inner::unscoped_warning`] remembers: more than run at
/// once.
const UNSCOPED_WALKS: usize = 64;

impl Inner {
    /// The one warning of walk `walk` about campaigns kept without a
    /// division although `division_ids` is set, for `raw` (a page holding
    /// some); `None` once the walk has had it.
    pub(crate) fn unscoped_warning(&self, walk: u64, raw: &RawPage) -> Option<Warning> {
        let first = raw.unscoped.first()?;
        {
            let mut walks = self
                .unscoped_walks
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if walks.contains(&walk) {
                return None;
            }
            if walks.len() == UNSCOPED_WALKS {
                walks.pop_front();
            }
            walks.push_back(walk);
        }
        Some(
            Warning::new(format!(
                "{} campaign(s) of this page, first {first:?}, have no division; listed, as the \
                 server returned them for divisionId (the field is optional); said once per \
                 listing",
                raw.unscoped.len()
            ))
            .with_request(raw.description.clone()),
        )
    }

    /// The page size of a new walk over `query`.
    pub(crate) fn page_limit(&self, query: &CampaignQuery) -> u32 {
        query
            .page_size()
            .unwrap_or(self.page_size)
            .clamp(1, MAX_PAGE_SIZE)
    }

    /// Whether `query` can match anything: every campaign is voice.
    pub(crate) fn covers(query: &CampaignQuery) -> bool {
        query.channels().is_empty() || query.channels().contains(&Channel::Voice)
    }

    /// The URL of server page `page` (of `size`), with `sortBy=name` when
    /// `sorted`.
    fn page_url(&self, page: u64, size: u32, sorted: bool) -> Url {
        // `sortBy=name` only keeps the pages in one order from request to
        // request (page-number paging needs that; the default order is
        // undocumented, §8.1). What the order is, is never relied on: every
        // sort runs locally.
        let mut url = self.endpoint.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("pageSize", &size.to_string())
                .append_pair("pageNumber", &page.to_string());
            if sorted {
                pairs.append_pair("sortBy", "name");
            }
            for division in &self.division_ids {
                pairs.append_pair("divisionId", division);
            }
        }
        url
    }

    /// Reads server page `page` (of `size`), decoded and checked: skipped
    /// records, campaigns without `dateCreated` and campaigns in divisions
    /// other than the configured ones are reported as warnings; campaigns
    /// without a division are kept and noted in [`RawPage::unscoped`]. A 404
    /// past page 1 is an empty page, the end of the listing, with a warning;
    /// a 400 refusing `sortBy` is retried once without it, with a warning
    /// the first time.
    pub(crate) async fn read_raw(
        &self,
        query: &CampaignQuery,
        page: u64,
        size: u32,
    ) -> Result<RawPage> {
        let description = format!("GET outbound/campaigns (pageNumber {page}, pageSize {size})");
        let auth = Auth::Token {
            tokens: &*self.tokens,
            headers: &*self.auth_header,
        };
        let get = |sorted| {
            let request = ApiRequest::get(self.page_url(page, size, sorted), description.clone());
            async move { self.client.execute(&request, auth).await }
        };
        let mut warnings = Vec::new();
        // `sortBy` has no documented values (§8.1): a server refusing it is
        // asked again without it, and never with it after that.
        let sorted = !self.sort_refused.load(Ordering::Relaxed);
        let mut answer = get(sorted).await;
        if let (true, Err(refusal)) = (sorted, &answer) {
            if refuses_sort(refusal) {
                let code = refusal.code().unwrap_or("bad request").to_owned();
                answer = get(false).await;
                if answer.is_ok() && !self.sort_refused.swap(true, Ordering::Relaxed) {
                    warnings.push(
                        Warning::new(format!(
                            "the server refused sortBy=name ({code}); this source asks for pages \
                             without it from now on, in the server's default order (not \
                             documented: campaigns changed during a walk may be missed or \
                             repeated)"
                        ))
                        .with_request(description.clone()),
                    );
                }
            }
        }
        let body = match answer {
            Ok(body) => body,
            // The spec expects an empty 200 past the end ([OBS] only, §2.3)
            // and lists 404 for this call (§5.2): either ends the listing.
            Err(e) if page > 1 && e.status() == Some(404) => {
                warnings.push(
                    Warning::new(format!(
                        "the server answered 404 ({}) for page {page}: taken as the end of the \
                         listing",
                        e.code().unwrap_or("no code")
                    ))
                    .with_request(description.clone()),
                );
                return Ok(RawPage {
                    page: GenesysPage::default(),
                    warnings,
                    unscoped: Vec::new(),
                    description,
                });
            }
            Err(e) => return Err(e),
        };
        let mut issues = RecordIssues::new(self.strict);
        let mut decoded = decode_page_with(&self.source_id, &description, &body, &mut issues)?;
        drop_unwanted_raw(query, &mut decoded.campaigns);
        warnings.append(&mut issues.into_warnings());
        warnings.append(&mut decoded.warnings);
        let mut unscoped = Vec::new();
        if !self.division_ids.is_empty() {
            // `divisionId` is documented; still, nothing the server says is
            // in another division is listed, whatever it was asked.
            decoded.campaigns.retain(|c| match division_of(c) {
                Some(d) if self.division_ids.iter().any(|w| w == d) => true,
                Some(d) => {
                    warnings.push(
                        Warning::new(format!(
                            "campaign {:?} is not in a configured division ({d}); the server did \
                             not apply divisionId, so it is left out",
                            c.id.native
                        ))
                        .with_request(description.clone()),
                    );
                    false
                }
                // `division` and its id are optional (a field added later,
                // §4, §4.2): the server answering divisionId vouches for it.
                None => {
                    unscoped.push(c.id.native.clone());
                    true
                }
            });
        }
        Ok(RawPage {
            page: decoded,
            warnings,
            unscoped,
            description,
        })
    }
}

#[async_trait]
impl CampaignSource for GenesysSource {
    fn id(&self) -> &str {
        &self.inner.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    /// A page of the listing: server page `pageNumber` (unsorted queries),
    /// or a page of the listing read whole and sorted locally.
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        self.inner.fetch(query, token).await
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.inner.prefetch,
            ..WalkOptions::default()
        }
    }
}
