//! A fixture-backed [`CampaignSource`] with injectable latency and failures.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken, Result,
    Secret, SourceError, WalkOptions, Warning,
};

use crate::gauge::Gauge;

/// The page size used when neither the query nor the builder sets one.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// Which fetches fail, counted by request number across all clones.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// Requests `0..pages` succeed, every later one fails.
    After { pages: usize, kind: ErrorKind },
    /// Requests `0..times` fail, later ones succeed.
    Times { times: usize, kind: ErrorKind },
}

impl Failure {
    fn kind_for(self, request: usize) -> Option<ErrorKind> {
        match self {
            Failure::After { pages, kind } => (request >= pages).then_some(kind),
            Failure::Times { times, kind } => (request < times).then_some(kind),
        }
    }
}

/// A query's fingerprint and the matching campaigns' indexes in its order.
type CachedOrder = (u64, Arc<[usize]>);

/// A [`CampaignSource`] over a fixed list of campaigns, for tests, examples
/// and as the reference implementation of the conformance suite.
///
/// It pages by offset (the token is the offset as decimal text), sorts with
/// [`CampaignQuery::compare`] and applies exactly the filters its
/// [`Capabilities`] claim to push down, leaving the rest to the walker as a
/// real provider would. Latency and failures can be injected; clones share
/// the request counters.
///
/// ```
/// use std::sync::Arc;
/// use campaign_core::{CampaignQuery, CampaignSource};
/// use campaign_testkit::{fixture_campaigns, InMemorySource};
/// use futures::TryStreamExt;
///
/// # futures::executor::block_on(async {
/// let fixture = fixture_campaigns("mem");
/// let source = InMemorySource::new("mem", fixture.clone()).with_page_size(7);
/// let counter = source.clone();
/// let source: Arc<dyn CampaignSource> = Arc::new(source);
/// let all: Vec<_> = source.stream(&CampaignQuery::all()).try_collect().await?;
/// assert_eq!(all.len(), fixture.len());
/// assert_eq!(counter.requests(), fixture.len().div_ceil(7));
/// # Ok::<(), campaign_core::SourceError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct InMemorySource {
    id: String,
    provider: Cow<'static, str>,
    campaigns: Arc<Vec<Campaign>>,
    page_size: usize,
    capabilities: Capabilities,
    latency: Option<Duration>,
    failure: Option<Failure>,
    prefetch: usize,
    presented: Option<Secret>,
    required: Option<Secret>,
    /// Its requests, shared by clones.
    requests: Arc<Gauge>,
    /// Page warnings: a page holding the campaign at this index (in query
    /// order) carries the message.
    warnings: Arc<Vec<(usize, Warning)>>,
    /// Its label when it stands for one partition of a larger source.
    partition: Option<String>,
    /// The matching campaigns' indexes in query order, for the last query
    /// (by fingerprint): a walk asks the same query page after page, and
    /// sorting on every request made this stand-in provider's CPU a visible
    /// part of benchmarks over many sources.
    order: Arc<Mutex<Option<CachedOrder>>>,
}

impl InMemorySource {
    /// A source named `id` (provider `"memory"`) over `campaigns`; each
    /// campaign's `id.source` is rewritten to `id`.
    pub fn new(id: impl Into<String>, campaigns: Vec<Campaign>) -> Self {
        let id = id.into();
        let source: Arc<str> = id.as_str().into();
        let campaigns = campaigns
            .into_iter()
            .map(|mut c| {
                c.id.source = Arc::clone(&source);
                c
            })
            .collect();
        Self {
            id,
            provider: Cow::Borrowed("memory"),
            campaigns: Arc::new(campaigns),
            page_size: DEFAULT_PAGE_SIZE,
            capabilities: Self::full_capabilities(),
            latency: None,
            failure: None,
            prefetch: 1,
            presented: None,
            required: None,
            requests: Arc::default(),
            warnings: Arc::default(),
            partition: None,
            order: Arc::default(),
        }
    }

    /// Makes this source stand for one partition of a larger source,
    /// labelled `label` (`part=a`): its errors and warnings then name it.
    pub fn with_partition(mut self, label: impl Into<String>) -> Self {
        self.partition = Some(label.into());
        self
    }

    /// The indexes of the campaigns matching `query`'s pushed-down filters,
    /// in `query`'s order (a source delivers query order whether or not it
    /// claims the sort).
    fn order_for(&self, query: &CampaignQuery) -> Arc<[usize]> {
        let key = query.fingerprint();
        let mut cached = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((fingerprint, order)) = cached.as_ref() {
            if *fingerprint == key {
                return Arc::clone(order);
            }
        }
        let pushdown = self.capabilities.split(query).pushdown;
        let mut matching: Vec<usize> = (0..self.campaigns.len())
            .filter(|&i| pushdown.matches(&self.campaigns[i]))
            .collect();
        matching.sort_by(|&a, &b| query.compare(&self.campaigns[a], &self.campaigns[b]));
        let order: Arc<[usize]> = matching.into();
        *cached = Some((key, Arc::clone(&order)));
        order
    }

    /// Every filter and sort pushed down, server paging, no page cap: the default.
    pub fn full_capabilities() -> Capabilities {
        Capabilities::everything()
    }

    /// Reports `name` as the provider (also set on every campaign it returns).
    pub fn with_provider(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.provider = name.into();
        self
    }

    /// The page size when the query sets none (default [`DEFAULT_PAGE_SIZE`]).
    /// A query's page size wins; both are capped by `max_page_size`.
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Declares (and really applies, in `fetch_page`) exactly these
    /// filters; the walker applies the rest. Default:
    /// [`full_capabilities`](Self::full_capabilities).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        // What is pushed down decides the order cached; clones made before
        // this keep theirs.
        self.order = Arc::default();
        self
    }

    /// Waits `per_page` in each `fetch_page`.
    pub fn with_latency(mut self, per_page: Duration) -> Self {
        self.latency = Some(per_page);
        self
    }

    /// Every page that holds the `at`-th matching campaign (0-based, in the
    /// query's order) carries `message` in [`Page::warnings`], as a provider
    /// reports an anomaly that did not stop the listing. May be repeated.
    pub fn warn_at(mut self, at: usize, message: impl Into<Warning>) -> Self {
        Arc::make_mut(&mut self.warnings).push((at, message.into()));
        self
    }

    /// The page holding the `at`-th matching campaign also reports that the
    /// provider sent a record there that could not be used (native id
    /// `id`), as a decoder does when it skips a record: a listing that is
    /// complete but for that record.
    pub fn skip_record_at(self, at: usize, id: &str) -> Self {
        let error = SourceError::new(ErrorKind::Decode, &self.id, "a field of the wrong type")
            .with_request(format!("GET page holding #{at}"));
        let warning = Warning::skipped_record(0, Some(id.to_owned()), &error);
        self.warn_at(at, warning)
    }

    /// Fetches `0..pages` succeed; every later fetch fails with `error_kind`.
    pub fn fail_after(mut self, pages: usize, error_kind: ErrorKind) -> Self {
        self.failure = Some(Failure::After {
            pages,
            kind: error_kind,
        });
        self
    }

    /// The first `times` fetches fail with `error_kind`; later ones succeed.
    pub fn fail_times(mut self, times: usize, error_kind: ErrorKind) -> Self {
        self.failure = Some(Failure::Times {
            times,
            kind: error_kind,
        });
        self
    }

    /// Sets [`WalkOptions::prefetch`]; above 1 the first page announces the
    /// tokens of every later page in [`Page::following`].
    pub fn with_prefetch(mut self, n: usize) -> Self {
        self.prefetch = n.max(1);
        self
    }

    /// Requires `token` on every fetch: one presented with
    /// [`with_token`](Self::with_token) that differs (or none) gives
    /// [`ErrorKind::Unauthorized`]. Debug never shows either value.
    pub fn require_token(mut self, token: impl Into<Secret>) -> Self {
        self.required = Some(token.into());
        self
    }

    /// The credential this source presents (see [`require_token`](Self::require_token)).
    pub fn with_token(mut self, token: impl Into<Secret>) -> Self {
        self.presented = Some(token.into());
        self
    }

    /// `fetch_page` calls so far, across all clones.
    pub fn requests(&self) -> usize {
        self.requests.started()
    }

    /// The most `fetch_page` calls seen running at once, across all clones.
    pub fn in_flight_peak(&self) -> usize {
        self.requests.peak()
    }

    /// The campaigns this source holds (with their rewritten ids).
    pub fn campaigns(&self) -> &[Campaign] {
        &self.campaigns
    }

    fn page_size_for(&self, query: &CampaignQuery) -> usize {
        let wanted = query
            .page_size()
            .map_or(self.page_size, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let cap = self
            .capabilities
            .max_page_size
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        wanted.min(cap).max(1)
    }

    fn check_credential(&self) -> Result<()> {
        let Some(required) = &self.required else {
            return Ok(());
        };
        if self.presented.as_ref() == Some(required) {
            return Ok(());
        }
        Err(
            SourceError::new(ErrorKind::Unauthorized, &self.id, "the token was rejected")
                .with_status(401),
        )
    }

    fn parse_offset(&self, token: Option<&PageToken>, len: usize) -> Result<usize> {
        let Some(token) = token else { return Ok(0) };
        match token.as_str().parse::<usize>() {
            Ok(offset) if offset <= len => Ok(offset),
            _ => Err(SourceError::new(
                ErrorKind::InvalidCursor,
                &self.id,
                format!(
                    "page token {:?} is not an offset within {len} campaigns",
                    token.as_str()
                ),
            )),
        }
    }
}

impl fmt::Debug for InMemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySource")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("campaigns", &self.campaigns.len())
            .field("page_size", &self.page_size)
            .field("capabilities", &self.capabilities)
            .field("latency", &self.latency)
            .field("failure", &self.failure)
            .field("prefetch", &self.prefetch)
            .field("warnings", &self.warnings)
            .field("token", &self.presented)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CampaignSource for InMemorySource {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        &self.provider
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: self.prefetch,
            ..WalkOptions::default()
        }
    }

    fn partition(&self) -> Option<String> {
        self.partition.clone()
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        self.requests
            .count(|request| self.serve(query, token, request))
            .await
    }
}

impl InMemorySource {
    /// Request number `request`.
    async fn serve(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
        request: usize,
    ) -> Result<Page> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        if let Some(kind) = self.failure.and_then(|f| f.kind_for(request)) {
            return Err(SourceError::new(
                kind,
                &self.id,
                format!("injected {kind} failure on request {request}"),
            ));
        }
        self.check_credential()?;

        let matching = self.order_for(query);
        let len = matching.len();
        let offset = self.parse_offset(token.as_ref(), len)?;
        let size = self.page_size_for(query);
        let end = offset.saturating_add(size).min(len);
        let items = matching[offset..end]
            .iter()
            .map(|&index| {
                let mut c = self.campaigns[index].clone();
                c.provider.clone_from(&self.provider);
                c
            })
            .collect();
        let next = (end < len).then(|| PageToken::new(end.to_string()));
        let mut page = Page::new(items, next).with_total_hint(len as u64);
        for (_, message) in self
            .warnings
            .iter()
            .filter(|(at, _)| (offset..end).contains(at))
        {
            page = page.with_warning(message.clone());
        }
        if token.is_none() && self.prefetch > 1 {
            let following = (end + size..len)
                .step_by(size)
                .map(|at| PageToken::new(at.to_string()))
                .collect();
            page = page.with_following(following);
        }
        Ok(page)
    }
}
