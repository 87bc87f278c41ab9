//! The `CampaignSource` for the CMS: concurrent download of every configured
//! contact center, then local filtering, sorting and keyset paging.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, Filter, Page, PageToken, Secret,
    SortField, SourceError, TokenProvider,
};
use campaign_http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use campaign_http::{join_segments, ApiRequest, Auth, AuthHeaders, HttpClient, Method, Url};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{CmsConfig, DEFAULT_PAGE_SIZE};
use crate::normalize::decode_for_center;
use crate::wire::parse_error_body;
use crate::{cursor, PROVIDER};

/// Sorted, filtered views kept per snapshot (one per recent query).
const MAX_VIEWS: usize = 8;

/// Every campaign of every configured contact center, as one download saw them.
struct Snapshot {
    /// When the download started (what freshness is measured from).
    started: Instant,
    campaigns: Vec<Campaign>,
    warnings: Vec<String>,
    /// `(query fingerprint, indices into campaigns)`, matching and in query order.
    views: SyncMutex<Vec<(u64, Arc<Vec<usize>>)>>,
}

impl Snapshot {
    /// The campaigns matching `query`, in its order, computed once per query.
    fn view(&self, query: &CampaignQuery) -> Arc<Vec<usize>> {
        let key = query.fingerprint();
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, view)) = views.iter().find(|(k, _)| *k == key) {
            return Arc::clone(view);
        }
        let mut indices: Vec<usize> = (0..self.campaigns.len())
            .filter(|&i| query.matches(&self.campaigns[i]))
            .collect();
        indices.sort_by(|&a, &b| query.compare(&self.campaigns[a], &self.campaigns[b]));
        let view = Arc::new(indices);
        if views.len() >= MAX_VIEWS {
            views.remove(0);
        }
        views.push((key, Arc::clone(&view)));
        view
    }
}

/// A [`CampaignSource`] over the CMS campaigns API
/// (`GET /configuration/hierarchyconfig/campaign?contactCenterId=N`).
///
/// See the [crate docs](crate) for the mapping, paging and caching rules.
pub struct CmsSource {
    source_id: String,
    base_url: Url,
    campaigns_url: Url,
    centers: Vec<i64>,
    concurrency: usize,
    snapshot_ttl: Duration,
    client: HttpClient,
    tokens: Arc<dyn TokenProvider>,
    /// Puts the token into an `Authorization: Bearer` header.
    bearer: Box<AuthHeaders>,
    /// The latest download; the lock also makes concurrent refreshes wait
    /// for one download instead of each starting their own.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

impl fmt::Debug for CmsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsSource")
            .field("source_id", &self.source_id)
            .field("base_url", &self.base_url.as_str())
            .field("contact_center_ids", &self.centers)
            .field("concurrency", &self.concurrency)
            .field("snapshot_ttl", &self.snapshot_ttl)
            .field("tokens", &self.tokens)
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
        let client = HttpClient::new(id, config.http.clone(), parse_error_body)?;
        let owner = config.source_id.clone();
        let bearer = Box::new(move |token: &Secret| -> Result<HeaderMap, SourceError> {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    SourceError::config(&owner, "the token is not a valid header value")
                })?;
            value.set_sensitive(true);
            Ok(HeaderMap::from_iter([(AUTHORIZATION, value)]))
        });
        Ok(Self {
            source_id: config.source_id,
            base_url,
            campaigns_url,
            centers: config.contact_center_ids,
            concurrency: config.concurrency,
            snapshot_ttl: config.snapshot_ttl,
            client,
            tokens,
            bearer,
            snapshot: Mutex::new(None),
        })
    }

    /// The contact centers this source lists.
    pub fn contact_center_ids(&self) -> &[i64] {
        &self.centers
    }

    /// Downloads and decodes every configured contact center (at most
    /// `concurrency` at once). Campaigns come in configuration order, each
    /// center's in the order the CMS sent them; an id seen twice is kept once.
    pub async fn fetch_all(&self) -> Result<Vec<Campaign>, SourceError> {
        Ok(self.download().await?.0)
    }

    async fn download(&self) -> Result<(Vec<Campaign>, Vec<String>), SourceError> {
        let per_center: Vec<(i64, Vec<Campaign>)> =
            futures::stream::iter(self.centers.iter().copied())
                .map(|center| async move { self.fetch_center(center).await.map(|c| (center, c)) })
                .buffered(self.concurrency)
                .try_collect()
                .await?;
        let mut seen = HashSet::new();
        let mut warnings = Vec::new();
        let mut all = Vec::with_capacity(per_center.iter().map(|(_, c)| c.len()).sum());
        for (center, campaigns) in per_center {
            for campaign in campaigns {
                if seen.insert(campaign.id.native.clone()) {
                    all.push(campaign);
                } else {
                    warnings.push(format!(
                        "campaign id {} appeared again (contact center {center}); kept its first record",
                        campaign.id.native
                    ));
                }
            }
        }
        Ok((all, warnings))
    }

    async fn fetch_center(&self, center: i64) -> Result<Vec<Campaign>, SourceError> {
        let mut url = self.campaigns_url.clone();
        url.query_pairs_mut()
            .append_pair("contactCenterId", &center.to_string());
        let description = format!("GET campaigns contactCenterId={center}");
        let request = ApiRequest {
            method: Method::GET,
            url,
            headers: HeaderMap::from_iter([(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )]),
            json_body: None,
            description,
        };
        let auth = Auth::Token {
            tokens: &*self.tokens,
            headers: &*self.bearer,
        };
        let body = self.client.execute(&request, auth).await?;
        decode_for_center(&self.source_id, &request.description, &body, Some(center))
    }

    /// The listing to page through: a fresh download for a walk's first page
    /// (`fresh`), otherwise the latest one while younger than the TTL.
    async fn snapshot(&self, fresh: bool) -> Result<Arc<Snapshot>, SourceError> {
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
        let started = Instant::now();
        let (campaigns, warnings) = self.download().await?;
        let snapshot = Arc::new(Snapshot {
            started,
            campaigns,
            warnings,
            views: SyncMutex::new(Vec::new()),
        });
        *slot = (!self.snapshot_ttl.is_zero()).then(|| Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

#[async_trait]
impl CampaignSource for CmsSource {
    fn id(&self) -> &str {
        &self.source_id
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    /// Every filter and sort: the CMS applies none, but this source applies
    /// them all itself in `fetch_page`, so the walker has nothing left to do.
    /// `server_paging` is false: one response holds everything.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            filters: Filter::ALL.into_iter().collect(),
            sorts: SortField::ALL.into_iter().collect(),
            max_page_size: None,
            server_paging: false,
        }
    }

    async fn fetch_page(
        &self,
        query: &CampaignQuery,
        token: Option<PageToken>,
    ) -> Result<Page, SourceError> {
        let after = token
            .as_ref()
            .map(|t| cursor::decode(&self.source_id, query, t))
            .transpose()?;
        let snapshot = self.snapshot(after.is_none()).await?;
        let view = snapshot.view(query);
        let start = match &after {
            None => 0,
            Some(last) => {
                view.partition_point(|&i| query.compare(&snapshot.campaigns[i], last).is_le())
            }
        };
        let size = query.page_size().unwrap_or(DEFAULT_PAGE_SIZE).max(1) as usize;
        let end = start.saturating_add(size).min(view.len());
        let items: Vec<Campaign> = view[start..end]
            .iter()
            .map(|&i| snapshot.campaigns[i].clone())
            .collect();
        let next = match items.last() {
            Some(last) if end < view.len() => Some(cursor::encode(query, last)),
            _ => None,
        };
        let mut page = Page::new(items, next).with_total_hint(view.len() as u64);
        if after.is_none() {
            page.warnings = snapshot.warnings.clone();
        }
        Ok(page)
    }
}
