//! The [`CampaignSource`] over `getAllCampaignDetails`: requests, paging,
//! per-channel streams and their merge.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use campaign_core::{
    merge_sorted, Campaign, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind,
    Filter, Page, PageToken, QueryPlan, Result, Scope, SortField, SourceError, TokenProvider,
    WalkOptions,
};
use campaign_http::header::{HeaderMap, HeaderName};
use campaign_http::{
    join_segments, token_header, ApiRequest, Auth, AuthHeaders, HttpClient, Method, ProviderError,
    RateLimiter, Url,
};
use futures::future::try_join_all;
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;

use crate::config::{mask, KoreConfig, MAX_PAGE_SIZE};
use crate::normalize::decode_scoped;
use crate::position::{self, ChannelPos};
use crate::request;
use crate::PROVIDER;

/// Most pages announced for prefetch after a first page, so an absurd
/// `totalResults` cannot make us plan an absurd walk.
const MAX_ANNOUNCED_PAGES: u64 = 10_000;

/// A Kore.ai SMS/voice campaigns source.
///
/// One request stream per channel (the API requires `type`); a query over
/// both channels merges them in query order. After a channel's first page
/// reports `totalResults`, the following pages are announced so the walker
/// fetches up to [`KoreConfig::prefetch`] of them at once. Every request of
/// the source (prefetches included) waits for one shared rate limiter.
///
/// What the server applies: channel, status, priority, dialing mode (voice
/// only), the created range and the sort; the updated range and the name
/// are applied locally. Page tokens record each channel's offset.
#[derive(Clone)]
pub struct KoreSource {
    inner: Arc<Inner>,
}

struct Inner {
    source_id: String,
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
    scope: Scope,
    host: String,
    rate_limit: Option<crate::RateLimit>,
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
        let mut client = HttpClient::new(id, config.http.clone(), parse_error_body)?;
        if let Some(limit) = config.rate_limit {
            client = client.with_rate_limiter(Arc::new(RateLimiter::per_minute(
                limit.per_minute,
                limit.burst,
            )));
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
            }),
        })
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
        filters: [
            Filter::Channel,
            Filter::Status,
            Filter::Priority,
            Filter::DialingMode,
            Filter::CreatedRange,
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
    (code.is_some() || message.is_some()).then_some(ProviderError { code, message })
}

/// One channel's page, read and checked.
struct Step {
    /// Campaigns as the server sent them (pushed filters not yet re-checked).
    items: Vec<Campaign>,
    /// Where the channel continues; `done` when it ended.
    next: ChannelPos,
    /// The page size the server used.
    page_limit: u64,
    warnings: Vec<String>,
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

    fn page_limit(&self, query: &CampaignQuery) -> u32 {
        query
            .page_size()
            .unwrap_or(self.page_size)
            .clamp(1, MAX_PAGE_SIZE)
    }

    fn protocol(&self, request: &str, message: String) -> SourceError {
        SourceError::new(ErrorKind::Protocol, &self.source_id, message).with_request(request)
    }

    /// Sends one listing request and returns the body.
    async fn send(&self, body: Bytes, description: &str) -> Result<Bytes> {
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

    /// Reads the page of `channel` at `pos` and decides where it continues.
    async fn step(
        &self,
        plan: &QueryPlan,
        channel: &Channel,
        pos: &ChannelPos,
        limit: u32,
    ) -> Result<Step> {
        let body = request::body(plan, channel, pos.skip, limit);
        // Serializing strings and numbers cannot fail.
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let description = format!(
            "POST getAllCampaignDetails (type {channel}, skip {}, limit {limit})",
            pos.skip
        );
        let raw = self.send(body, &description).await?;
        let page = decode_scoped(&self.source_id, &description, channel, &self.scope, &raw)?;
        if let Some(echoed) = page.skip.filter(|&s| s != pos.skip) {
            return Err(self.protocol(
                &description,
                format!(
                    "asked for skip {} but the server answered skip {echoed}",
                    pos.skip
                ),
            ));
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
            return Err(self.protocol(
                &description,
                format!(
                    "the server ignored skip: the page at skip {} starts with the listing's \
                     first campaign again; stopping instead of repeating pages",
                    pos.skip
                ),
            ));
        }
        let n = page.campaigns.len() as u64;
        let page_limit = page.limit.filter(|&l| l > 0).unwrap_or(u64::from(limit));
        // Saturating: `skip` and `limit` may come from a page token or the server.
        let end = pos.skip.saturating_add(n);
        let mut warnings = Vec::new();
        let more = match page.has_more {
            Some(false) => false,
            _ if n == 0 => {
                if page.total_results.is_some_and(|t| pos.skip < t) {
                    warnings.push(format!(
                        "{channel}: empty page at skip {} while totalResults says {}; stopping",
                        pos.skip,
                        page.total_results.unwrap_or_default()
                    ));
                }
                false
            }
            _ if n < page_limit => false,
            Some(true) => true,
            None => page.total_results.is_none_or(|t| end < t),
        };
        let mut resync = pos.resync;
        if let (Some(before), Some(now)) = (pos.total, page.total_results) {
            if before != now && !pos.resync {
                // Pages fetched ahead may have been answered before this
                // change and miss what it shifted: read on one page at a time
                // (repeats are dropped) instead of trusting them.
                resync = true;
                warnings.push(format!(
                    "{channel}: totalResults changed from {before} to {now} during the walk; \
                     reading the rest page by page"
                ));
            }
        }
        let next = ChannelPos {
            channel: pos.channel.clone(),
            skip: end,
            done: !more,
            anchor: if pos.skip == 0 {
                first_id
            } else {
                pos.anchor.clone()
            },
            total: pos.total.or(page.total_results),
            resync,
        };
        Ok(Step {
            items: page.campaigns,
            next,
            page_limit,
            warnings,
        })
    }

    /// One page of a single channel, announcing the following pages after the first.
    async fn fetch_channel(
        &self,
        query: &CampaignQuery,
        channel: &Channel,
        token: Option<PageToken>,
    ) -> Result<Page> {
        let plan = capabilities().split(query);
        let channels = [channel.clone()];
        let pos = position::decode(&self.source_id, query, &channels, token.as_ref())?
            .pop()
            .unwrap_or_else(|| ChannelPos::start(channel));
        if pos.done {
            return Ok(Page::new(Vec::new(), None));
        }
        let first = token.is_none();
        let step = self
            .step(&plan, channel, &pos, self.page_limit(query))
            .await?;
        let mut items = step.items;
        // The server's filters may differ in detail (case, inclusive ends,
        // values not sent); the pushed-down part is re-checked here so the
        // capabilities hold exactly.
        items.retain(|c| plan.pushdown.matches(c));
        let next_pos = step.next;
        let mut following = Vec::new();
        if let (true, false, Some(total)) = (first, next_pos.done, next_pos.total) {
            let mut skip = next_pos.skip.saturating_add(step.page_limit);
            while skip < total && (following.len() as u64) < MAX_ANNOUNCED_PAGES {
                let pos = ChannelPos {
                    skip,
                    ..next_pos.clone()
                };
                following.push(position::encode(query, vec![pos]));
                skip = skip.saturating_add(step.page_limit);
            }
        }
        let next = (!next_pos.done).then(|| position::encode(query, vec![next_pos.clone()]));
        let mut page = Page::new(items, next).with_following(following);
        if let Some(total) = next_pos.total {
            page = page.with_total_hint(total);
        }
        for warning in step.warnings {
            page = page.with_warning(warning);
        }
        Ok(page)
    }

    /// One page of several channels merged in query order. Each channel's
    /// page is read at its own offset; merged items are taken until a
    /// channel that has more runs out of read items (its next item could
    /// sort before anything left), and the offsets advance by what was taken.
    async fn fetch_merged(
        &self,
        query: &CampaignQuery,
        channels: &[Channel],
        token: Option<PageToken>,
    ) -> Result<Page> {
        let plan = capabilities().split(query);
        let positions = position::decode(&self.source_id, query, channels, token.as_ref())?;
        let limit = self.page_limit(query);
        let steps = try_join_all(channels.iter().zip(&positions).map(|(channel, pos)| {
            let plan = &plan;
            async move {
                if pos.done {
                    return Ok(None);
                }
                self.step(plan, channel, pos, limit).await.map(Some)
            }
        }))
        .await?;
        let mut fetched = vec![0usize; channels.len()];
        let mut more = vec![false; channels.len()];
        let mut inputs: Vec<
            BoxStream<'static, std::result::Result<(usize, Campaign), Infallible>>,
        > = Vec::new();
        let mut warnings = Vec::new();
        let mut next_positions = positions.clone();
        for (index, step) in steps.into_iter().enumerate() {
            let Some(step) = step else { continue };
            fetched[index] = step.items.len();
            more[index] = !step.next.done;
            warnings.extend(step.warnings);
            // Offsets advance only by what is taken below; keep the rest.
            next_positions[index] = ChannelPos {
                skip: positions[index].skip,
                ..step.next
            };
            inputs.push(stream::iter(step.items.into_iter().map(move |c| Ok((index, c)))).boxed());
        }
        let merged: Vec<(usize, Campaign)> =
            merge_sorted(inputs, |a: &(usize, Campaign), b: &(usize, Campaign)| {
                query.compare(&a.1, &b.1)
            })
            .filter_map(|item| async move { item.ok() })
            .collect()
            .await;
        let mut taken = vec![0usize; channels.len()];
        let mut items = Vec::with_capacity(merged.len());
        for (index, campaign) in merged {
            let starved = (0..channels.len()).any(|c| more[c] && taken[c] == fetched[c]);
            if starved {
                break;
            }
            taken[index] += 1;
            items.push(campaign);
        }
        for (index, pos) in next_positions.iter_mut().enumerate() {
            if positions[index].done {
                continue;
            }
            pos.skip = pos.skip.saturating_add(taken[index] as u64);
            pos.done = !more[index] && taken[index] == fetched[index];
        }
        items.retain(|c| plan.pushdown.matches(c));
        // Saturating: each total is the server's claim.
        let total = next_positions
            .iter()
            .try_fold(0u64, |sum, p| Some(sum.saturating_add(p.total?)));
        let next = (!next_positions.iter().all(|p| p.done))
            .then(|| position::encode(query, next_positions));
        let mut page = Page::new(items, next);
        if let Some(total) = total {
            page = page.with_total_hint(total);
        }
        for warning in warnings {
            page = page.with_warning(warning);
        }
        Ok(page)
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
                position::decode(&self.inner.source_id, query, &[], token.as_ref())?;
                Ok(Page::new(Vec::new(), None))
            }
            [channel] => self.inner.fetch_channel(query, channel, token).await,
            several => self.inner.fetch_merged(query, several, token).await,
        }
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.inner.prefetch,
            ..WalkOptions::default()
        }
    }

    /// One part per channel when the query covers several (each pages on
    /// its own and announces its following pages, so an aggregate can
    /// prefetch each); none for a single channel, which pages that way already.
    fn partitions(&self, query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        let channels = self.inner.covered(query);
        if channels.len() < 2 {
            return Vec::new();
        }
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

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.inner.prefetch,
            ..WalkOptions::default()
        }
    }
}
