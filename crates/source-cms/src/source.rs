//! The `CampaignSource` for the CMS: concurrent download of every configured
//! contact center, then local filtering, sorting and keyset paging.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken, SourceError,
    TokenProvider,
};
use campaign_http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use campaign_http::{
    join_segments, token_header, ApiRequest, Auth, AuthHeaders, HttpClient, Method, Url,
};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::config::{CmsConfig, DEFAULT_PAGE_SIZE, RATE_LIMIT_WAIT};
use crate::normalize::{center_partition, center_request};
use crate::snapshot::{Builder, Probe, Scanned, Snapshot};
use crate::wire::parse_error_body;
use crate::{page_token, PROVIDER};

/// Bodies at least this large are decoded on Tokio's blocking pool (about
/// 2 ms of decoding; below that, handing the work over costs more than it saves).
const SCAN_ELSEWHERE_BYTES: usize = 1 << 20;

/// A [`CampaignSource`] over the CMS campaigns API
/// (`GET /configuration/hierarchyconfig/campaign?contactCenterId=N`).
///
/// Each configured contact center is a [partition](CampaignSource::partitions)
/// (`contact_center=N`): an aggregate, or [`CampaignSource::stream`], walks
/// them as separate inputs, so one contact center failing (unknown, 403, a
/// 5xx after retries, a malformed body, a timeout) is reported with its
/// partition while the others are listed in full. [`fetch_page`](CampaignSource::fetch_page)
/// on the source itself lists every contact center together and fails if any does.
///
/// See the [crate docs](crate) for the mapping, paging and caching rules.
pub struct CmsSource {
    base_url: Url,
    concurrency: usize,
    /// Every contact center together.
    whole: Arc<Listing>,
    /// One listing per contact center, when there are several.
    parts: Vec<Arc<Listing>>,
}

/// Some of a source's contact centers, downloaded together and then
/// filtered, sorted and paged locally.
struct Listing {
    centers: Vec<i64>,
    /// `contact_center=N` for a one-center partition of a larger source.
    partition: Option<String>,
    snapshot_ttl: Duration,
    /// Shared with the source's other listings and the download tasks.
    fetcher: Arc<Fetcher>,
    /// The latest download; the lock also makes concurrent refreshes wait
    /// for one download instead of each starting their own.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

/// What downloading and scanning one contact center takes.
struct Fetcher {
    /// Shared with every campaign's id.
    source_id: Arc<str>,
    campaigns_url: Url,
    client: HttpClient,
    tokens: Arc<dyn TokenProvider>,
    /// Puts the token into an `Authorization: Bearer` header.
    bearer: Box<AuthHeaders>,
    /// Contact centers downloading at once, across all of the source's
    /// listings (its partitions download side by side).
    downloads: Semaphore,
    /// Whether a bad record fails its contact center instead of being skipped.
    strict: bool,
}

impl fmt::Debug for CmsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsSource")
            .field("source_id", &self.whole.fetcher.source_id)
            .field("base_url", &self.base_url.as_str())
            .field("contact_center_ids", &self.whole.centers)
            .field("concurrency", &self.concurrency)
            .field("snapshot_ttl", &self.whole.snapshot_ttl)
            .field("strict", &self.whole.fetcher.strict)
            .field("tokens", &self.whole.fetcher.tokens)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsListing")
            .field("source_id", &self.fetcher.source_id)
            .field("contact_center_ids", &self.centers)
            .finish_non_exhaustive()
    }
}

impl CmsSource {
    /// Checks `config` (see [`CmsConfig`]'s fields) and builds the source;
    /// invalid settings are `Config` errors and nothing is sent yet.
    pub fn new(config: CmsConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self, SourceError> {
        let base_url = config.validate()?;
        let id = config.source_id.as_str();
        let campaigns_url = join_segments(
            id,
            &base_url,
            ["configuration", "hierarchyconfig", "campaign"],
        )?;
        let client = HttpClient::new(id, config.http.clone(), parse_error_body)?
            .with_rate_limit_wait(RATE_LIMIT_WAIT);
        let bearer = token_header(
            id,
            AUTHORIZATION,
            "Bearer ",
            "the token is not a valid header value",
        );
        let fetcher = Arc::new(Fetcher {
            source_id: id.into(),
            campaigns_url,
            client,
            tokens,
            bearer,
            downloads: Semaphore::new(config.concurrency),
            strict: config.strict,
        });
        let listing = |centers: Vec<i64>, partition: Option<String>| {
            Arc::new(Listing {
                centers,
                partition,
                snapshot_ttl: config.snapshot_ttl,
                fetcher: Arc::clone(&fetcher),
                snapshot: Mutex::new(None),
            })
        };
        let centers = config.contact_center_ids;
        let parts = if centers.len() > 1 {
            centers
                .iter()
                .map(|&center| listing(vec![center], Some(center_partition(center))))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            base_url,
            concurrency: config.concurrency,
            whole: listing(centers, None),
            parts,
        })
    }

    /// The contact centers this source lists.
    pub fn contact_center_ids(&self) -> &[i64] {
        &self.whole.centers
    }

    /// Downloads and decodes every configured contact center (at most
    /// `concurrency` at once). Campaigns come in configuration order, each
    /// center's in the order the CMS sent them; an id seen twice is kept once.
    /// Records that are not usable campaigns are skipped (or, strict, fail).
    pub async fn fetch_all(&self) -> Result<Vec<Campaign>, SourceError> {
        let snapshot = self.whole.download(None).await?;
        (0..snapshot.len() as u32)
            .map(|index| snapshot.decode(&self.whole.fetcher.source_id, index, true))
            .collect()
    }
}

impl Listing {
    /// Downloads every contact center of this listing and scans each body
    /// as it arrives (large ones in parallel), then indexes them in
    /// configuration order, building `query`'s view in the same pass.
    async fn download(&self, query: Option<&CampaignQuery>) -> Result<Snapshot, SourceError> {
        let started = Instant::now();
        let shared_query = query.cloned().map(Arc::new);
        let source_id = &self.fetcher.source_id;
        let mut scanned = std::pin::pin!(futures::stream::iter(self.centers.iter().copied())
            .map(|center| {
                let fetcher = Arc::clone(&self.fetcher);
                let query = shared_query.clone();
                // A task per contact center, so the bodies are read on every
                // worker at once rather than all on the listing's (in its
                // span, for the logs). Dropping the listing aborts them.
                let download = async move {
                    let body = fetcher.fetch_center(center).await?;
                    fetcher.scan(center, body, query).await
                };
                let task = AbortOnDropHandle::new(tokio::spawn(
                    download.instrument(tracing::Span::current()),
                ));
                async move {
                    joined(source_id, &center_request(center), task.await)
                        .map_err(|e| in_center(e, center))
                }
            })
            .buffered(self.centers.len().max(1)));
        let mut builder = Builder::new(started, query);
        while let Some(body) = scanned.try_next().await? {
            builder.add(source_id, body)?;
        }
        Ok(builder.finish())
    }

    /// The listing to page through: a fresh download for a walk's first page
    /// (`fresh`), otherwise the latest one while younger than the TTL.
    async fn snapshot(
        &self,
        fresh: bool,
        query: &CampaignQuery,
    ) -> Result<Arc<Snapshot>, SourceError> {
        let asked = Instant::now();
        let mut slot = self.snapshot.lock().await;
        if let Some(current) = slot.as_ref() {
            // A download that started after this call asked is as fresh as a new one.
            let usable = if fresh {
                current.started >= asked
            } else {
                current.started.elapsed() < self.snapshot_ttl
            };
            if usable {
                return Ok(Arc::clone(current));
            }
        }
        let snapshot = Arc::new(self.download(Some(query)).await?);
        *slot = (!self.snapshot_ttl.is_zero()).then(|| Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

/// `error` as one of `center`'s, unless it already names a partition.
fn in_center(error: SourceError, center: i64) -> SourceError {
    if error.partition().is_some() {
        error
    } else {
        error.with_partition(center_partition(center))
    }
}

impl Fetcher {
    /// Scans `center`'s body: in place when small, on Tokio's blocking pool
    /// when large, so decoding tens of megabytes neither stalls the other
    /// futures on this worker nor waits for the other bodies' turn.
    async fn scan(
        &self,
        center: i64,
        body: Bytes,
        query: Option<Arc<CampaignQuery>>,
    ) -> Result<Scanned, SourceError> {
        let request = center_request(center);
        let stop = CancellationToken::new();
        let strict = self.strict;
        if body.len() < SCAN_ELSEWHERE_BYTES {
            let query = query.as_deref();
            return Scanned::scan(
                &self.source_id,
                &request,
                center,
                body,
                query,
                strict,
                &stop,
            );
        }
        let source_id = Arc::clone(&self.source_id);
        let task_request = request.clone();
        let task_stop = stop.clone();
        // Cancelled when this future is dropped (the listing was dropped or
        // timed out), so the blocking scan stops instead of finishing for nobody.
        let _stop_on_drop = stop.drop_guard();
        let scanned = tokio::task::spawn_blocking(move || {
            Scanned::scan(
                &source_id,
                &task_request,
                center,
                body,
                query.as_deref(),
                strict,
                &task_stop,
            )
        })
        .await;
        joined(&self.source_id, &request, scanned)
    }

    async fn fetch_center(&self, center: i64) -> Result<Bytes, SourceError> {
        let mut url = self.campaigns_url.clone();
        url.query_pairs_mut()
            .append_pair("contactCenterId", &center.to_string());
        let request = ApiRequest {
            method: Method::GET,
            url,
            headers: HeaderMap::from_iter([(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )]),
            json_body: None,
            description: center_request(center),
        };
        let auth = Auth::Token {
            tokens: &*self.tokens,
            headers: &*self.bearer,
        };
        // Bounds downloads across the source's partitions, which the
        // aggregate walks side by side.
        let Ok(_permit) = self.downloads.acquire().await else {
            return Err(SourceError::new(
                ErrorKind::Config,
                &*self.source_id,
                "the download limiter was closed",
            ));
        };
        self.client.execute(&request, auth).await
    }
}

/// The outcome of a task that downloads or scans: a panic inside goes on as
/// it would have inline (decoding does not panic on any input); a task
/// stopped any other way is the runtime shutting down.
fn joined<T>(
    source_id: &str,
    request: &str,
    outcome: Result<Result<T, SourceError>, JoinError>,
) -> Result<T, SourceError> {
    match outcome {
        Ok(outcome) => outcome,
        Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
        Err(stopped) => Err(SourceError::new(
            ErrorKind::Transport,
            source_id,
            "stopped: the runtime is shutting down",
        )
        .with_request(request)
        .with_cause(stopped)),
    }
}

/// Every filter and sort: the CMS applies none, but the source applies them
/// all itself on the downloaded lists, so the walker has nothing left to do.
/// `server_paging` is false: one response holds everything.
fn capabilities() -> Capabilities {
    Capabilities {
        server_paging: false,
        ..Capabilities::everything()
    }
}

#[async_trait]
impl CampaignSource for CmsSource {
    fn id(&self) -> &str {
        &self.whole.fetcher.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    /// False: the CMS filters and sorts nothing; this source does it all on
    /// the downloaded lists.
    fn capabilities_at_provider(&self) -> bool {
        false
    }

    /// A page of every contact center together; fails if any of them does
    /// (walk the [partitions](CampaignSource::partitions) to keep the others).
    async fn fetch_page(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page, SourceError> {
        self.whole.fetch_page(query, token).await
    }

    /// One partition per contact center (`contact_center=N`, in
    /// configuration order) when there are several; none for one.
    fn partitions(&self, _query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        self.parts
            .iter()
            .map(|part| Arc::clone(part) as Arc<dyn CampaignSource>)
            .collect()
    }
}

#[async_trait]
impl CampaignSource for Listing {
    fn id(&self) -> &str {
        &self.fetcher.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn capabilities_at_provider(&self) -> bool {
        false
    }

    fn partition(&self) -> Option<String> {
        self.partition.clone()
    }

    async fn fetch_page(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page, SourceError> {
        let source_id = &self.fetcher.source_id;
        let after = token
            .as_ref()
            .map(|t| page_token::decode(source_id, query, t))
            .transpose()?;
        let snapshot = self.snapshot(after.is_none(), query).await?;
        let view = snapshot.view(source_id, query)?;
        let start = match &after {
            None => 0,
            Some(last) => view.after(&Probe::new(query.sort(), last)),
        };
        let size = query.page_size().unwrap_or(DEFAULT_PAGE_SIZE).max(1) as usize;
        let end = start.saturating_add(size).min(view.len());
        let items = view
            .records(start..end)
            .map(|index| snapshot.decode(source_id, index, query.keeps_raw()))
            .collect::<Result<Vec<Campaign>, SourceError>>()?;
        let next = match items.last() {
            Some(last) if end < view.len() => Some(page_token::encode(query, last)),
            _ => None,
        };
        let mut page = Page::new(items, next).with_total_hint(view.len() as u64);
        if after.is_none() {
            page.warnings = snapshot.warnings.clone();
        }
        Ok(page)
    }
}
