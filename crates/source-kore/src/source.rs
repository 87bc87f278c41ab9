//! The [`CampaignSource`] over `getAllCampaignDetails`: requests, the
//! per-channel partitions, and a merged page of several channels.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use campaign_core::paging::{LocalListings, PageReads, TieRun};
use campaign_core::{
    fetch_merged_page, mask, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind,
    Filter, Page, PageToken, Result, Scope, SortField, SourceError, TokenProvider, WalkOptions,
    Warning,
};
use campaign_http::header::{HeaderMap, HeaderName};
use campaign_http::{
    join_segments, token_header, ApiRequest, Auth, AuthHeaders, HttpClient, Method, ProviderError,
    RateLimiter, Url,
};
use serde::Deserialize;

use crate::channel::{channel_partition, page_end, LocalKey, RawKey, RawPage};
use crate::config::{KoreConfig, MAX_PAGE_SIZE};
use crate::page_token::{self, ChannelPos};
use crate::PROVIDER;

/// A Kore.ai SMS/voice campaigns source.
///
/// One request stream per channel (the API requires `type`); a query over
/// both channels merges them in query order. After a channel's first page
/// reports `totalResults`, the following pages are announced so the walker
/// fetches up to [`KoreConfig::prefetch`] of them at once. Every request of
/// the source (prefetches included) waits for one shared rate limiter.
///
/// What the server applies: channel, status, priority and dialing mode
/// (voice only), and the sort, which every page checks (see the crate
/// docs); the created and updated ranges and the name are applied locally.
/// Page tokens record each channel's offset.
#[derive(Clone)]
pub struct KoreSource {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) source_id: String,
    client: HttpClient,
    tokens: Arc<dyn TokenProvider>,
    /// The token's `auth` header.
    auth_header: Box<AuthHeaders>,
    /// Full endpoint URL; its path holds the stream id and its query the
    /// account id, so it is never printed.
    endpoint: Url,
    /// `iid` and `accountId`, both sensitive.
    headers: HeaderMap,
    channels: Vec<Channel>,
    page_size: u32,
    prefetch: usize,
    pub(crate) scope: Scope,
    host: String,
    rate_limit: Option<crate::RateLimit>,
    /// Whether a bad record fails its page instead of being skipped.
    pub(crate) strict: bool,
    /// Set once the server refused a `sortBy` without `name`.
    pub(crate) sort_needs_name: AtomicBool,
    /// Server pages read recently or being read.
    pub(crate) raw_pages: PageReads<RawKey, RawPage>,
    /// The runs of equal sort keys that end the pages read, by the page's
    /// read, so a walk through a long run reads each page once.
    pub(crate) tie_runs: PageReads<RawKey, TieRun>,
    /// Channels listed locally after the server's order broke.
    pub(crate) local: LocalListings<LocalKey>,
}

impl fmt::Debug for KoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("KoreSource")
            .field("source_id", &inner.source_id)
            .field("host", &inner.host)
            .field("scope", &inner.scope)
            .field("channels", &inner.channels)
            .field("page_size", &inner.page_size)
            .field("prefetch", &inner.prefetch)
            .field("rate_limit", &inner.rate_limit)
            .field("tokens", &inner.tokens)
            .finish_non_exhaustive()
    }
}

impl KoreSource {
    /// Checks `config` and builds the source; nothing is sent yet.
    ///
    /// Fails with a `Config` error on a non-https base URL (plain http only
    /// for loopback unless allowed), CR/LF or other control characters in
    /// the stream id, account id or iid, a channel other than voice or sms,
    /// a page size outside 1..=[`MAX_PAGE_SIZE`] or a prefetch of 0.
    pub fn new(config: KoreConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self> {
        let valid = config.validate()?;
        let id = config.source_id.as_str();
        let mut endpoint = join_segments(
            id,
            &valid.base_url,
            [
                "campaign",
                "api",
                "v2",
                "public",
                config.stream_id.as_str(),
                "campaign",
                "getAllCampaignDetails",
            ],
        )?;
        endpoint
            .query_pairs_mut()
            .append_pair("accountId", config.account_id.expose());
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("iid"), valid.iid);
        headers.insert(HeaderName::from_static("accountid"), valid.account);
        // A 429 without `Retry-After` waits out Kore's one-minute window (the
        // status and headers of its rate limit are not documented), not the
        // ordinary backoff of milliseconds inside the same window.
        let mut client = HttpClient::new(id, config.http.clone(), parse_error_body)?
            .with_rate_limit_wait(Duration::from_secs(60));
        if let Some(limit) = config.rate_limit {
            // Kore counts its quota per account: every source of this
            // process on the same host and account shares one limiter.
            let quota = format!("{}|{}", valid.base_url, config.account_id.expose());
            client = client.with_rate_limiter(RateLimiter::shared(
                &quota,
                limit.per_minute,
                limit.burst,
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                source_id: config.source_id.clone(),
                client,
                tokens,
                auth_header: token_header(
                    &config.source_id,
                    HeaderName::from_static("auth"),
                    "",
                    "the token is not a valid header value (CR, LF or other control characters)",
                ),
                endpoint,
                headers,
                channels: valid.channels,
                page_size: config.page_size,
                prefetch: config.prefetch,
                scope: Scope::Account {
                    account: mask(config.account_id.expose()).into(),
                    stream: mask(&config.stream_id).into(),
                },
                host: valid.base_url.host_str().unwrap_or_default().to_owned(),
                rate_limit: config.rate_limit,
                strict: config.strict,
                sort_needs_name: AtomicBool::new(false),
                raw_pages: PageReads::for_prefetch(config.prefetch),
                tie_runs: PageReads::for_prefetch(config.prefetch),
                local: LocalListings::new(),
            }),
        })
    }

    fn channel_views(&self, channels: Vec<Channel>) -> Vec<Arc<dyn CampaignSource>> {
        channels
            .into_iter()
            .map(|channel| {
                Arc::new(ChannelView {
                    inner: Arc::clone(&self.inner),
                    channel,
                }) as Arc<dyn CampaignSource>
            })
            .collect()
    }

    /// The channels a query reaches: the configured ones it asks for, without
    /// SMS when it filters on dialing mode (SMS campaigns have none, so the
    /// filter can only exclude them, and it must not be sent with `type: sms`).
    pub fn channels_for(&self, query: &CampaignQuery) -> Vec<Channel> {
        self.inner.covered(query)
    }
}

/// The capabilities every Kore source reports.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities {
        // Not the created range: `startDate`/`endDate` filter something the
        // spec does not name, and its own sample shows it is not `createdAt`.
        filters: [
            Filter::Channel,
            Filter::Status,
            Filter::Priority,
            Filter::DialingMode,
        ]
        .into(),
        sorts: SortField::ALL.into(),
        max_page_size: Some(MAX_PAGE_SIZE),
        server_paging: true,
    }
}

/// Reads Kore.ai error bodies: `{"status": "error", "message": ...}` or the
/// platform's `{"errors": [{"msg": ..., "code": ...}]}`.
fn parse_error_body(body: &[u8]) -> Option<ProviderError> {
    #[derive(Deserialize)]
    struct Item {
        msg: Option<String>,
        message: Option<String>,
        code: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Body {
        message: Option<String>,
        errors: Option<Vec<Item>>,
    }
    let parsed: Body = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.and_then(|e| e.into_iter().next());
    let code = first.as_ref().and_then(|i| match &i.code {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    });
    let message = parsed
        .message
        .or_else(|| first.and_then(|i| i.msg.or(i.message)));
    let rate_limited = message.as_deref().is_some_and(is_rate_limit_message);
    (code.is_some() || message.is_some()).then_some(ProviderError {
        code,
        message,
        rate_limited,
    })
}

/// Whether `message` is the documented rate-limit message ("You've exceeded
/// the per-minute rate limit. Please wait for sometime before retrying.").
fn is_rate_limit_message(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("exceeded the per-minute rate limit")
}

/// What a channel's server page says about the walk: where it continues.
pub(crate) struct Step {
    /// Where the channel continues; `done` when it ended.
    pub(crate) next: ChannelPos,
    /// The page size the server used.
    pub(crate) page_limit: u64,
    pub(crate) warnings: Vec<Warning>,
}

impl Inner {
    fn covered(&self, query: &CampaignQuery) -> Vec<Channel> {
        self.channels
            .iter()
            .filter(|c| query.channels().is_empty() || query.channels().contains(c))
            .filter(|c| query.dialing_modes().is_empty() || **c == Channel::Voice)
            .cloned()
            .collect()
    }

    pub(crate) fn page_limit(&self, query: &CampaignQuery) -> u32 {
        query
            .page_size()
            .unwrap_or(self.page_size)
            .clamp(1, MAX_PAGE_SIZE)
    }

    fn protocol(&self, request: &str, message: String) -> SourceError {
        SourceError::new(ErrorKind::Protocol, &self.source_id, message).with_request(request)
    }

    /// Sends one listing request and returns the body.
    pub(crate) async fn send(&self, body: Bytes, description: &str) -> Result<Bytes> {
        let request = ApiRequest {
            method: Method::POST,
            url: self.endpoint.clone(),
            headers: self.headers.clone(),
            json_body: Some(body),
            description: description.to_owned(),
        };
        let auth = Auth::Token {
            tokens: &*self.tokens,
            headers: &*self.auth_header,
        };
        self.client.execute(&request, auth).await
    }

    /// Checks the server page `raw` of `channel`, read at `pos`, and decides
    /// where the channel continues.
    pub(crate) fn interpret(
        &self,
        channel: &Channel,
        pos: &ChannelPos,
        raw: &RawPage,
        limit: u32,
    ) -> Result<Step> {
        let page = &raw.page;
        let description = raw.description.as_str();
        let protocol = |message: String| {
            self.protocol(description, message)
                .with_partition(channel_partition(channel))
        };
        if let Some(echoed) = page.skip.filter(|&s| s != pos.skip) {
            return Err(protocol(format!(
                "asked for skip {} but the server answered skip {echoed}",
                pos.skip
            )));
        }
        let first_id = page.campaigns.first().map(|c| c.id.native.clone());
        // k campaigns created at the head of the listing since the first page
        // also bring its first campaign to offset k; only when the total did
        // not grow that much can the repeat be blamed on an ignored `skip`.
        let grown = match (pos.total, page.total_results) {
            (Some(before), Some(now)) => now.saturating_sub(before),
            _ => 0,
        };
        if pos.skip > 0 && first_id.is_some() && first_id == pos.anchor && grown < pos.skip {
            return Err(protocol(format!(
                "the server ignored skip: the page at skip {} starts with the listing's \
                 first campaign again; stopping instead of repeating pages",
                pos.skip
            )));
        }
        let end_of_page = page_end(raw, pos.skip, limit);
        // Saturating: `skip` may come from a page token.
        let end = pos.skip.saturating_add(raw.records);
        let mut warnings = Vec::new();
        let warn = |message: String| {
            Warning::new(message)
                .with_request(description)
                .with_partition(channel_partition(channel))
        };
        if let Some(total) = end_of_page.empty_before {
            warnings.push(warn(format!(
                "empty page at skip {} while totalResults says {total}; stopping",
                pos.skip
            )));
        }
        let mut resync = pos.resync;
        if let (Some(before), Some(now)) = (pos.total, page.total_results) {
            if before != now && !pos.resync {
                // Pages fetched ahead may have been answered before this
                // change and miss what it shifted: read on one page at a time
                // (repeats are dropped) instead of trusting them.
                resync = true;
                warnings.push(warn(format!(
                    "totalResults changed from {before} to {now} during the walk; \
                     reading the rest page by page"
                )));
            }
        }
        let next = ChannelPos {
            channel: pos.channel.clone(),
            skip: end,
            done: !end_of_page.more,
            anchor: if pos.skip == 0 {
                first_id
            } else {
                pos.anchor.clone()
            },
            total: pos.total.or(page.total_results),
            resync,
            prev: Some(pos.skip),
            prev_resync: pos.resync,
            walk: pos.walk,
            local: None,
            size: if pos.skip == 0 {
                // Only a smaller echo: a larger one is not what was asked.
                page.limit
                    .filter(|&echoed| echoed > 0 && echoed < u64::from(limit))
                    .and_then(|echoed| u32::try_from(echoed).ok())
            } else {
                pos.size
            },
        };
        Ok(Step {
            next,
            page_limit: end_of_page.page_size,
            warnings,
        })
    }
}

#[async_trait]
impl CampaignSource for KoreSource {
    fn id(&self) -> &str {
        &self.inner.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    /// A page of the covered channels: a single channel pages by `skip` and
    /// announces its following pages; several channels are merged in query
    /// order page by page (the token holds each channel's offset).
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let channels = self.inner.covered(query);
        match channels.as_slice() {
            [] => {
                // Still reject a foreign token, so resuming never silently "succeeds".
                page_token::decode(&self.inner.source_id, query, &[], token.as_ref())?;
                Ok(Page::new(Vec::new(), None))
            }
            [channel] => self.inner.fetch_channel(query, channel, token).await,
            // Each channel's own checked pages, merged in query order.
            _ => {
                let parts = self.channel_views(channels);
                fetch_merged_page(&self.inner.source_id, &parts, query, token).await
            }
        }
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.inner.prefetch,
            ..WalkOptions::default()
        }
    }

    /// True: Kore sorts by `updatedAt` and pages at the server (and every
    /// page's order is checked).
    fn lists_changes_cheaply(&self) -> bool {
        true
    }

    /// One part per channel when the query covers several (each pages on
    /// its own and announces its following pages, so an aggregate can
    /// prefetch each); none for a single channel, which pages that way already.
    fn partitions(&self, query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        let channels = self.inner.covered(query);
        if channels.len() < 2 {
            return Vec::new();
        }
        self.channel_views(channels)
    }
}

/// One channel of a source, walked on its own so its pages can be prefetched.
struct ChannelView {
    inner: Arc<Inner>,
    channel: Channel,
}

impl fmt::Debug for ChannelView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelView")
            .field("source_id", &self.inner.source_id)
            .field("channel", &self.channel)
            .finish()
    }
}

#[async_trait]
impl CampaignSource for ChannelView {
    fn id(&self) -> &str {
        &self.inner.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        self.inner.fetch_channel(query, &self.channel, token).await
    }

    fn partition(&self) -> Option<String> {
        Some(channel_partition(&self.channel))
    }

    fn lists_changes_cheaply(&self) -> bool {
        true
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.inner.prefetch,
            ..WalkOptions::default()
        }
    }
}
