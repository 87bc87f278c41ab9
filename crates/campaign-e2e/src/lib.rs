//! End-to-end reliability suites over the sandbox: the fault matrix
//! (`tests/fault_matrix/`), secret hygiene (`tests/secrets.rs`), load
//! (`tests/load.rs`) and proptest versions of the fuzz targets
//! (`tests/properties.rs`). See `docs/RELIABILITY.md` for the results.
//!
//! This library is the shared rig: a [`Rig`] starts a generated
//! [`Sandbox`] and an [`Aggregator`] over a real CMS source and a real Kore
//! source pointed at it (and a real Genesys Cloud source when
//! [`RigOptions::genesys_campaigns`] asks for one), with fast retries and
//! short timeouts so faults play out in milliseconds; [`Listing`] is what
//! one whole listing produced.
//!
//! ```no_run
//! use campaign_e2e::{Rig, RigOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let rig = Rig::start(RigOptions::default()).await?;
//! let listing = rig.list_pages(1_000).await?;
//! assert!(listing.failures.is_empty());
//! assert_eq!(listing.duplicates(), 0);
//! # Ok(()) }
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod properties;

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use campaign_aggregate::{AggregateEvent, Aggregator, FailurePolicy, SourceFailure, SourceWarning};
use campaign_core::{
    CampaignId, CampaignQuery, CampaignSource, RetryBudget, Secret, Sort, SortField, SourceError,
    TokenProvider,
};
use campaign_http::{HttpConfig, RetryPolicy};
use campaign_sandbox::{GeneratedData, Sandbox};
use futures::StreamExt;
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};
use source_kore::{KoreConfig, KoreJwtMinter, KoreSource};

/// The CMS source's id in every rig.
pub const CMS: &str = "cms";
/// The Kore source's id in every rig.
pub const KORE: &str = "kore";
/// The Genesys Cloud source's id in a rig that has one.
pub const GENESYS: &str = "genesys";

/// A [`TokenProvider`] that remembers every token it handed out, so tests
/// can search output for them. Its `Debug` shows only the count.
pub struct RecordingTokens {
    inner: Arc<dyn TokenProvider>,
    seen: Mutex<Vec<Secret>>,
}

impl RecordingTokens {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn TokenProvider>) -> Self {
        Self {
            inner,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Every distinct token handed out so far.
    pub fn tokens(&self) -> Vec<Secret> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for RecordingTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingTokens")
            .field("inner", &self.inner)
            .field("tokens_seen", &self.tokens().len())
            .finish()
    }
}

#[async_trait]
impl TokenProvider for RecordingTokens {
    async fn token(&self) -> Result<Secret, SourceError> {
        let token = self.inner.token().await?;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if !seen.contains(&token) {
            seen.push(token.clone());
        }
        Ok(token)
    }

    async fn invalidate(&self, rejected: &Secret) {
        self.inner.invalidate(rejected).await;
    }
}

/// How a [`Rig`] is set up.
#[derive(Debug, Clone)]
pub struct RigOptions {
    /// The generated data (seeded, so every run lists the same campaigns).
    pub data: GeneratedData,
    /// Kore's largest page on the server, and the page size the query asks for.
    pub page_size: u32,
    /// Kore pages fetched at once per channel after the first.
    pub kore_prefetch: usize,
    /// Timeout of one HTTP attempt (body included).
    pub attempt_timeout: Duration,
    /// Retry policy of both sources.
    pub retry: RetryPolicy,
    /// Latency the sandbox adds to every request.
    pub latency: Duration,
    /// Page requests in flight at once across the aggregate's sources.
    pub concurrency: usize,
    /// Largest response body either source accepts.
    pub max_body_bytes: usize,
    /// Contact centers the CMS source lists besides the data's (ones the
    /// sandbox does not know answer 404 `CONF-1001`).
    pub extra_cms_centers: Vec<i64>,
    /// Generated Genesys Cloud campaigns, and a Genesys source over them
    /// (OAuth client credentials, pages of `page_size`, prefetch 2, no
    /// client rate limit) as the aggregate's third source. `None` (the
    /// default): no Genesys source.
    pub genesys_campaigns: Option<usize>,
}

impl RigOptions {
    /// How many campaigns the sandbox holds for the rig's sources.
    pub fn expected_total(&self) -> usize {
        self.data.cms_contact_centers.len() * self.data.cms_per_contact_center
            + self.data.kore_voice
            + self.data.kore_sms
            + self.genesys_campaigns.unwrap_or(0)
    }
}

impl Default for RigOptions {
    /// Two CMS contact centers of 12 campaigns, 23 voice and 19 SMS Kore
    /// campaigns (odd counts, so the last pages are short), pages of 5, 1 s
    /// attempts, 2 retries with 10 to 50 ms backoff, bodies up to 1 MiB
    /// (a page is a few KiB; the 16 MiB default would take the debug-build
    /// sandbox longer than an attempt to stream).
    fn default() -> Self {
        Self {
            data: GeneratedData {
                seed: 9,
                cms_contact_centers: vec![1, 2],
                cms_per_contact_center: 12,
                kore_voice: 23,
                kore_sms: 19,
            },
            page_size: 5,
            kore_prefetch: 2,
            attempt_timeout: Duration::from_secs(1),
            retry: RetryPolicy {
                max_retries: 2,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
                deadline: Duration::from_secs(10),
                max_retry_after: Duration::from_secs(3),
            },
            latency: Duration::ZERO,
            concurrency: 16,
            max_body_bytes: 1024 * 1024,
            extra_cms_centers: Vec::new(),
            genesys_campaigns: None,
        }
    }
}

/// What one whole listing produced.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Every campaign id, in the order delivered (duplicates kept, to count them).
    pub ids: Vec<CampaignId>,
    /// Every source failure reported on the way.
    pub failures: Vec<SourceFailure>,
    /// Every source warning reported on the way.
    pub warnings: Vec<SourceWarning>,
    /// Aggregate pages read (0 for an event listing).
    pub pages: usize,
    /// Aggregate pages with no campaign but a next cursor.
    pub empty_pages_with_next: usize,
}

impl Listing {
    /// Ids delivered more than once (each extra copy counts).
    pub fn duplicates(&self) -> usize {
        self.ids.len() - self.distinct().len()
    }

    /// The distinct ids.
    pub fn distinct(&self) -> HashSet<CampaignId> {
        self.ids.iter().cloned().collect()
    }

    /// The ids of one source, in delivery order.
    pub fn of_source(&self, source: &str) -> Vec<CampaignId> {
        self.ids
            .iter()
            .filter(|id| &*id.source == source)
            .cloned()
            .collect()
    }

    /// The failures of one source.
    pub fn failures_of(&self, source: &str) -> Vec<&SourceFailure> {
        self.failures
            .iter()
            .filter(|f| f.source == source)
            .collect()
    }
}

/// A generated sandbox and an aggregate of a CMS source (every contact
/// center of the data), a Kore source (voice and SMS) and, when asked for, a
/// Genesys Cloud source pointed at it.
#[derive(Debug)]
pub struct Rig {
    /// The emulators; inject faults through [`Sandbox::cms`],
    /// [`Sandbox::kore`] and [`Sandbox::genesys`].
    pub sandbox: Sandbox,
    /// The aggregate of [`Rig::cms`], [`Rig::kore`] and [`Rig::genesys`]
    /// (best effort).
    pub aggregate: Aggregator,
    /// The CMS source.
    pub cms: Arc<CmsSource>,
    /// The Kore source.
    pub kore: Arc<KoreSource>,
    /// The Genesys Cloud source, if [`RigOptions::genesys_campaigns`] asked
    /// for one (its tokens come from the sandbox's OAuth token endpoint,
    /// whose requests [`Sandbox::genesys`] logs).
    pub genesys: Option<Arc<GenesysSource>>,
    /// The CMS source's tokens, recorded.
    pub cms_tokens: Arc<RecordingTokens>,
    /// The Kore source's JWTs, recorded.
    pub kore_tokens: Arc<RecordingTokens>,
    /// The retry budget shared by the aggregate and both sources.
    pub budget: Arc<RetryBudget>,
    /// The query every listing runs: newest first, pages of `page_size`.
    pub query: CampaignQuery,
}

impl Rig {
    /// Starts the sandbox and builds the sources and the aggregate.
    pub async fn start(options: RigOptions) -> Result<Self, Box<dyn std::error::Error>> {
        let sandbox = Sandbox::builder()
            .generated(options.data.clone())
            .kore_max_page_size(options.page_size as usize)
            .genesys_generated(options.genesys_campaigns.unwrap_or(0))
            .latency(options.latency)
            .start()
            .await?;
        let budget = Arc::new(RetryBudget::default());
        let http = HttpConfig {
            timeout: options.attempt_timeout,
            connect_timeout: options.attempt_timeout,
            retry: options.retry.clone(),
            retry_budget: Some(Arc::clone(&budget)),
            max_body_bytes: options.max_body_bytes,
            ..HttpConfig::default()
        };
        let credentials = sandbox.credentials();

        let cms_base = sandbox.cms_url().to_string();
        let cms_tokens = Arc::new(RecordingTokens::new(Arc::new(CmsBasicAuthToken::new(
            CMS,
            &cms_base,
            credentials.cms_account_sid.clone(),
            credentials.cms_api_key.clone(),
            credentials.cms_api_token.clone(),
            http.clone(),
        )?)));
        let mut centers = sandbox.cms_contact_center_ids();
        centers.extend(&options.extra_cms_centers);
        let mut cms_config = CmsConfig::new(CMS, cms_base, centers);
        cms_config.http = http.clone();
        let cms = Arc::new(CmsSource::new(cms_config, cms_tokens.clone())?);

        let kore_tokens = Arc::new(RecordingTokens::new(Arc::new(KoreJwtMinter::new(
            credentials.kore_client_id.clone(),
            credentials.kore_client_secret.clone(),
        ))));
        let mut kore_config = KoreConfig::new(
            KORE,
            sandbox.kore_url().to_string(),
            credentials.kore_stream_id.clone(),
            credentials.kore_account_id.clone(),
        );
        kore_config.page_size = options.page_size;
        kore_config.prefetch = options.kore_prefetch;
        kore_config.rate_limit = None;
        kore_config.http = http.clone();
        let kore = Arc::new(KoreSource::new(kore_config, kore_tokens.clone())?);

        let genesys = match options.genesys_campaigns {
            Some(_) => {
                let mut config = GenesysConfig::new(GENESYS, sandbox.genesys_url().as_str())
                    .with_login_url(sandbox.genesys_login_url().as_str())
                    .with_page_size(options.page_size);
                config.prefetch = 2;
                config.rate_limit = None;
                config.http = http;
                let client = GenesysCredentials::client_credentials(
                    credentials.genesys_client_id.clone(),
                    credentials.genesys_client_secret.clone(),
                );
                Some(Arc::new(GenesysSource::new(config, client)?))
            }
            None => None,
        };

        let mut aggregate = Aggregator::builder("all")
            .source(cms.clone())
            .source(kore.clone());
        if let Some(genesys) = &genesys {
            aggregate = aggregate.source(genesys.clone());
        }
        let aggregate = aggregate
            .failure_policy(FailurePolicy::BestEffort)
            .concurrency(options.concurrency)
            .source_timeout(Duration::from_secs(20))
            .retry_budget(Arc::clone(&budget))
            .build()?;
        let query = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .page_size(options.page_size)
            .build()?;
        Ok(Self {
            sandbox,
            aggregate,
            cms,
            kore,
            genesys,
            cms_tokens,
            kore_tokens,
            budget,
            query,
        })
    }

    /// The whole listing through [`Aggregator::events`].
    pub async fn list_events(&self) -> Listing {
        self.list_events_with(&self.query).await
    }

    /// [`Rig::list_events`] for `query` (another sort, say).
    pub async fn list_events_with(&self, query: &CampaignQuery) -> Listing {
        let mut listing = Listing::default();
        let mut events = self.aggregate.events(query);
        while let Some(event) = events.next().await {
            match event {
                AggregateEvent::Campaign(campaign) => listing.ids.push(campaign.id),
                AggregateEvent::SourceFailed(failure) => listing.failures.push(failure),
                AggregateEvent::SourceWarning(warning) => listing.warnings.push(warning),
                _ => {}
            }
        }
        listing
    }

    /// The whole listing through [`Aggregator::page`] and its cursors, at
    /// most `max_pages` pages, following `next` until it ends (a failing
    /// source is retried on every page but never keeps it going alone).
    pub async fn list_pages(&self, max_pages: usize) -> Result<Listing, SourceError> {
        self.list_pages_with(&self.query, max_pages).await
    }

    /// [`Rig::list_pages`] for `query` (another page size, say).
    pub async fn list_pages_with(
        &self,
        query: &CampaignQuery,
        max_pages: usize,
    ) -> Result<Listing, SourceError> {
        let mut listing = Listing::default();
        let mut cursor = None;
        while listing.pages < max_pages {
            let page = self.aggregate.page(query, cursor.as_ref()).await?;
            listing.pages += 1;
            listing.empty_pages_with_next +=
                usize::from(page.items.is_empty() && page.next.is_some());
            listing.ids.extend(page.items.into_iter().map(|c| c.id));
            listing.failures.extend(page.failures);
            listing.warnings.extend(page.warnings);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(listing)
    }

    /// Every credential value of this rig: the sandbox's issued secrets and
    /// ids that act as credentials, plus every token the sources used (the
    /// Genesys ones only in a rig with a Genesys source).
    pub fn secret_values(&self) -> Vec<String> {
        let c = self.sandbox.credentials();
        let mut values = vec![
            c.cms_token.expose().to_owned(),
            c.cms_api_key.clone(),
            c.cms_api_token.expose().to_owned(),
            c.kore_jwt.expose().to_owned(),
            c.kore_client_secret.expose().to_owned(),
            c.kore_account_id.clone(),
            c.kore_iid.clone(),
            c.kore_stream_id.clone(),
        ];
        values.extend(
            self.cms_tokens
                .tokens()
                .iter()
                .chain(self.kore_tokens.tokens().iter())
                .map(|t| t.expose().to_owned()),
        );
        if self.genesys.is_some() {
            values.push(c.genesys_client_secret.expose().to_owned());
            values.push(c.genesys_token.expose().to_owned());
        }
        values
    }

    /// How many times the Genesys emulator's token endpoint was asked for a
    /// token since its request log was last cleared.
    pub fn genesys_token_requests(&self) -> usize {
        self.sandbox
            .genesys()
            .requests()
            .iter()
            .filter(|r| r.path == "/oauth/token")
            .count()
    }

    /// Drops the aggregate, the sources and their HTTP clients, and returns
    /// the sandbox (to shut it down or inspect it).
    pub fn into_sandbox(self) -> Sandbox {
        self.sandbox
    }

    /// The sources as trait objects, in aggregate order.
    pub fn sources(&self) -> Vec<Arc<dyn CampaignSource>> {
        let mut sources: Vec<Arc<dyn CampaignSource>> = vec![self.cms.clone(), self.kore.clone()];
        if let Some(genesys) = &self.genesys {
            sources.push(genesys.clone());
        }
        sources
    }
}
