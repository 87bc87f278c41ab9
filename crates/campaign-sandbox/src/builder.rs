//! Configuring and starting a [`Sandbox`]: the builder and the servers.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::auth::{mint_kore_jwt, BearerTokens, Identities, KoreTokens, SandboxCredentials};
use crate::cms::{self, CmsData, CmsState};
use crate::data::{cms_sample, kore_sample};
use crate::generate::{cms_campaigns, kore_campaigns, GeneratedData};
use crate::genesys::{
    self, GenesysState, GenesysStore, OutOfRangePaging, QueryOptions, RateWindows,
};
use crate::kore::{self, KoreState, RateWindow};
use crate::kore_store::{unsort, KoreStore, KoreType};
use crate::log::{log_requests, Latency, LogLayerState, RequestLog, Server};
use crate::sandbox::{Common, Provider, ProviderControl, Sandbox};

/// The CMS default token lifetime, as the vendor documents (`expires_in`).
const DEFAULT_CMS_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);
/// Seeds the storage order of the Kore samples (see [`unsort`]).
const SAMPLE_SHUFFLE_SEED: u64 = 0x5A4D_F1E5;
/// By default every tenth generated Kore campaign leads a tie group.
const DEFAULT_KORE_TIES: usize = 10;
/// The default maximum Kore page size.
const DEFAULT_KORE_MAX_PAGE_SIZE: usize = 100;
/// The default Genesys client-credentials token lifetime (spec §1.2: 24 h).
const DEFAULT_GENESYS_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// The Genesys emulator's settings.
#[derive(Debug, Clone)]
struct GenesysOptions {
    port: u16,
    token_lifetime: Duration,
    rate_limit: Option<u32>,
    generated: usize,
    ties: usize,
    divisions: Option<Vec<String>>,
    query: QueryOptions,
}

impl Default for GenesysOptions {
    fn default() -> Self {
        Self {
            port: 0,
            token_lifetime: DEFAULT_GENESYS_TOKEN_LIFETIME,
            rate_limit: None,
            generated: 0,
            ties: DEFAULT_KORE_TIES,
            divisions: None,
            query: QueryOptions::default(),
        }
    }
}

#[derive(Debug, Clone)]
enum DataChoice {
    Sample,
    Generated(GeneratedData),
}

/// Fixed Kore identifiers; `Debug` hides them, as they double as credentials.
#[derive(Clone)]
struct KoreIds {
    stream_id: String,
    account_id: String,
}

impl std::fmt::Debug for KoreIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KoreIds([REDACTED])")
    }
}

/// Configures and starts a [`Sandbox`]. Get one from [`Sandbox::builder`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    data: DataChoice,
    kore_max_page_size: usize,
    latency: Duration,
    cms_port: u16,
    kore_port: u16,
    cms_token_lifetime: Duration,
    kore_rate_limit: Option<u32>,
    kore_ids: Option<KoreIds>,
    kore_ties: usize,
    genesys: GenesysOptions,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            data: DataChoice::Sample,
            kore_max_page_size: DEFAULT_KORE_MAX_PAGE_SIZE,
            latency: Duration::ZERO,
            cms_port: 0,
            kore_port: 0,
            cms_token_lifetime: DEFAULT_CMS_TOKEN_LIFETIME,
            kore_rate_limit: None,
            kore_ids: None,
            kore_ties: DEFAULT_KORE_TIES,
            genesys: GenesysOptions::default(),
        }
    }
}

impl SandboxBuilder {
    /// Serve the specs' sample records verbatim (the default): CMS contact
    /// center 1 with its one campaign, Kore's 5 voice and 7 SMS campaigns,
    /// Genesys's 3 sample campaigns plus the sandbox's 4 that make the
    /// sample's `total` of 7.
    pub fn sample_data(mut self) -> Self {
        self.data = DataChoice::Sample;
        self
    }

    /// Serve generated campaigns instead of the samples; the same
    /// [`GeneratedData`] always gives the same campaigns. Genesys gets
    /// [`SandboxBuilder::genesys_generated`] campaigns (default 0), seeded by
    /// [`GeneratedData::seed`].
    pub fn generated(mut self, data: GeneratedData) -> Self {
        self.data = DataChoice::Generated(data);
        self
    }

    /// The largest Kore page (default 100). A request whose `limit` is above
    /// it gets this many records, and the response's `limit` (and so
    /// `totalPages`) reports the clamped value. Values below 1 count as 1.
    pub fn kore_max_page_size(mut self, n: usize) -> Self {
        self.kore_max_page_size = n.max(1);
        self
    }

    /// Delay added to every request on every emulator (changeable later with
    /// [`ProviderControl::set_latency`]).
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// The CMS server's port (default 0: any free port).
    pub fn cms_port(mut self, p: u16) -> Self {
        self.cms_port = p;
        self
    }

    /// The Kore server's port (default 0: any free port).
    pub fn kore_port(mut self, p: u16) -> Self {
        self.kore_port = p;
        self
    }

    /// Lifetime of CMS tokens (default 86,400 s, the vendor's `expires_in`);
    /// shorten it to test expiry.
    pub fn cms_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.cms_token_lifetime = lifetime;
        self
    }

    /// Switches on Kore's documented rate limit: beyond this many
    /// authenticated requests per minute the emulator answers 429 with the
    /// documented message and a `Retry-After` in seconds. Off by default.
    pub fn kore_rate_limit(mut self, per_minute: u32) -> Self {
        self.kore_rate_limit = Some(per_minute);
        self
    }

    /// Fixes the Kore stream id (path segment and `iid` header) and account id
    /// (`accountId` query parameter and header) instead of random ones, e.g.
    /// the spec's [`samples::KORE_STREAM_ID`](crate::samples::KORE_STREAM_ID) and
    /// [`samples::KORE_ACCOUNT_ID`](crate::samples::KORE_ACCOUNT_ID),
    /// so the spec's sample requests can be sent as printed. Taken verbatim;
    /// [`Sandbox::credentials`] reports them.
    pub fn kore_ids(mut self, stream_id: impl Into<String>, account_id: impl Into<String>) -> Self {
        self.kore_ids = Some(KoreIds {
            stream_id: stream_id.into(),
            account_id: account_id.into(),
        });
        self
    }

    /// Tie groups in generated Kore data, so sorts meet ties: in each type,
    /// campaigns `k * every`, `k * every + 1` and `k * every + 2` (in
    /// generation order) share `name`, `createdAt`, `updatedAt` and
    /// `campaignInstanceUpdatedAt`. The default, 10, ties 3 campaigns in 10;
    /// 0 turns ties off (the data of earlier versions); 1 and 2 count as 3, so
    /// groups never overlap. Counts do not change: tied campaigns are among
    /// [`GeneratedData::kore_voice`] and [`GeneratedData::kore_sms`]. No effect
    /// on the sample data or on [`ProviderControl::load_campaigns`].
    pub fn kore_ties(mut self, every: usize) -> Self {
        self.kore_ties = every;
        self
    }

    /// The Genesys server's port (default 0: any free port).
    pub fn genesys_port(mut self, p: u16) -> Self {
        self.genesys.port = p;
        self
    }

    /// Lifetime of Genesys tokens, reported as `expires_in` (default
    /// 86,400 s, the documented 24 h); shorten it to test expiry.
    pub fn genesys_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.genesys.token_lifetime = lifetime;
        self
    }

    /// Switches on Genesys's documented per-token rate limit (300 per
    /// minute for client-credentials tokens; any value here): beyond this
    /// many authenticated requests per token in a fixed 60 s window the
    /// emulator answers 429 `too.many.requests` with `Retry-After`, and every
    /// authenticated answer carries `inin-ratelimit-count`, `-allowed` and
    /// `-reset`. Off by default (no limit, no such headers).
    pub fn genesys_rate_limit(mut self, per_minute: u32) -> Self {
        self.genesys.rate_limit = Some(per_minute);
        self
    }

    /// How many Genesys campaigns [`SandboxBuilder::generated`] makes,
    /// seeded by [`GeneratedData::seed`] (default 0). It lives here rather
    /// than in [`GeneratedData`] so that code building that struct field by
    /// field keeps compiling. No effect on the sample data.
    pub fn genesys_generated(mut self, count: usize) -> Self {
        self.genesys.generated = count;
        self
    }

    /// Tie groups in generated Genesys data, as [`SandboxBuilder::kore_ties`]
    /// does for Kore: campaigns `k * every` to `k * every + 2` share `name`,
    /// `dateCreated` and `dateModified`. Default 10; 0 turns ties off.
    pub fn genesys_ties(mut self, every: usize) -> Self {
        self.genesys.ties = every;
        self
    }

    /// The divisions in which the OAuth client's role grants
    /// `outbound:campaign:view` (default: all). Campaigns in other
    /// divisions are never listed; with none at all, every listing gets 403
    /// `missing.any.permissions` (spec §1.3).
    pub fn genesys_divisions<I, S>(mut self, division_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.genesys.divisions = Some(division_ids.into_iter().map(Into::into).collect());
        self
    }

    /// What Genesys does with a `pageSize` outside 1..=100 or a `pageNumber`
    /// below 1, which the spec leaves open (default: clamp).
    pub fn genesys_out_of_range_paging(mut self, policy: OutOfRangePaging) -> Self {
        self.genesys.query.paging = policy;
        self
    }

    /// Whether the Genesys `name` filter (every `filterType`, `RegEx`
    /// included) tells case apart. Default `false`: the spec calls
    /// case-insensitive matching the safer choice, case sensitivity being
    /// unconfirmed.
    pub fn genesys_name_case_sensitive(mut self, sensitive: bool) -> Self {
        self.genesys.query.name_case_sensitive = sensitive;
        self
    }

    /// Whether Genesys orders `sortBy=name` case-insensitively (`alpha`
    /// before `Beta`), as a server collating names that way would. Default
    /// `false`: byte order. The spec documents neither the sort values nor
    /// the collation (§2.1, §8.5).
    pub fn genesys_name_order_case_insensitive(mut self, insensitive: bool) -> Self {
        self.genesys.query.name_order_folded = insensitive;
        self
    }

    /// Whether Genesys serves its records without `division` (an optional
    /// field added later, spec §4), as a server from before it would. Each
    /// campaign stays in its division: `divisionId` and the divisions the
    /// client may view apply as before. Default `false`.
    pub fn genesys_omit_division(mut self, omit: bool) -> Self {
        self.genesys.query.division_omitted = omit;
        self
    }

    /// Binds the four listeners on 127.0.0.1 and starts serving.
    pub async fn start(self) -> std::io::Result<Sandbox> {
        let mut ids = Identities::random();
        if let Some(fixed) = self.kore_ids.clone() {
            ids.kore_stream_id = fixed.stream_id;
            ids.kore_account_id = fixed.account_id;
        }
        let (cms_data, mut kore_voice, mut kore_sms, mut genesys_records, seed) = match &self.data {
            DataChoice::Sample => {
                let cms = cms_sample().map_err(std::io::Error::other)?;
                let (voice, sms) = kore_sample().map_err(std::io::Error::other)?;
                let genesys = genesys::genesys_sample().map_err(std::io::Error::other)?;
                (
                    CmsData::from_records(cms, &[]),
                    voice,
                    sms,
                    genesys,
                    SAMPLE_SHUFFLE_SEED,
                )
            }
            DataChoice::Generated(spec) => (
                CmsData::from_records(cms_campaigns(spec), &spec.cms_contact_centers),
                kore_campaigns(spec, KoreType::Voice, self.kore_ties),
                kore_campaigns(spec, KoreType::Sms, self.kore_ties),
                genesys::genesys_campaigns(spec.seed, self.genesys.generated, self.genesys.ties),
                spec.seed,
            ),
        };
        // The samples are stored newest first, as the spec lists them; stored
        // so, a listing that ignores `sortBy` would still look sorted.
        unsort(&mut kore_voice, seed);
        unsort(&mut kore_sms, seed);
        genesys::unsort(&mut genesys_records, seed);
        let cms_listener = TcpListener::bind(("127.0.0.1", self.cms_port)).await?;
        let kore_listener = TcpListener::bind(("127.0.0.1", self.kore_port)).await?;
        let genesys_listener = TcpListener::bind(("127.0.0.1", self.genesys.port)).await?;
        let other_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let cms_url = base_url(&cms_listener)?;
        let kore_url = base_url(&kore_listener)?;
        let genesys_url = base_url(&genesys_listener)?;
        let other_url = base_url(&other_listener)?;

        let mut cms_tokens = BearerTokens::new(self.cms_token_lifetime);
        let cms_token = cms_tokens.issue();
        let kore_jwt = mint_kore_jwt(&ids.kore_client_id, &ids.kore_client_secret)
            .map_err(std::io::Error::other)?;
        let mut genesys_tokens = BearerTokens::new(self.genesys.token_lifetime);
        let genesys_token = genesys_tokens.issue();
        let credentials = SandboxCredentials {
            cms_token: cms_token.into(),
            cms_account_sid: ids.cms_account_sid.clone(),
            cms_api_key: ids.cms_api_key.clone(),
            cms_api_token: ids.cms_api_token.clone(),
            kore_jwt: kore_jwt.into(),
            kore_client_id: ids.kore_client_id.clone(),
            kore_client_secret: ids.kore_client_secret.clone(),
            kore_stream_id: ids.kore_stream_id.clone(),
            kore_account_id: ids.kore_account_id.clone(),
            kore_iid: ids.kore_stream_id.clone(),
            genesys_client_id: ids.genesys_client_id.clone(),
            genesys_client_secret: ids.genesys_client_secret.clone(),
            genesys_token: genesys_token.into(),
        };

        let cms_state = Arc::new(CmsState {
            common: Common::new(self.latency, &other_url),
            data: Mutex::new(cms_data),
            tokens: Mutex::new(cms_tokens),
            account_sid: ids.cms_account_sid,
            api_key: ids.cms_api_key,
            api_token: ids.cms_api_token,
        });
        let mut store = KoreStore::default();
        store.replace(kore_voice, kore_sms);
        let kore_state = Arc::new(KoreState {
            common: Common::new(self.latency, &other_url),
            store: Mutex::new(store),
            tokens: Mutex::new(KoreTokens::new(
                &ids.kore_client_id,
                &ids.kore_client_secret,
            )),
            stream_id: ids.kore_stream_id,
            account_id: ids.kore_account_id,
            max_page_size: self.kore_max_page_size,
            drift_serial: AtomicU64::new(1),
            rate_limit: self.kore_rate_limit.map(|n| Mutex::new(RateWindow::new(n))),
        });
        let genesys_state = Arc::new(GenesysState {
            common: Common::new(self.latency, &other_url),
            store: Mutex::new(GenesysStore::new(genesys_records, self.genesys.divisions)),
            tokens: Mutex::new(genesys_tokens),
            client_id: ids.genesys_client_id,
            client_secret: ids.genesys_client_secret,
            options: self.genesys.query,
            rate_limit: self
                .genesys
                .rate_limit
                .map(|n| Mutex::new(RateWindows::new(n))),
            drift_serial: AtomicU64::new(1),
        });
        let other_log = RequestLog::default();

        let (stop, stopped) = watch::channel(false);
        let with_log = |router: Router, server, log: &RequestLog, latency: &Arc<Mutex<Latency>>| {
            router.layer(axum::middleware::from_fn_with_state(
                LogLayerState {
                    server,
                    log: log.clone(),
                    latency: Arc::clone(latency),
                },
                log_requests,
            ))
        };
        let cms_router = with_log(
            cms::router(Arc::clone(&cms_state)),
            Server::Cms,
            &cms_state.common.log,
            &cms_state.common.latency,
        );
        let kore_router = with_log(
            kore::router(Arc::clone(&kore_state)),
            Server::Kore,
            &kore_state.common.log,
            &kore_state.common.latency,
        );
        let genesys_router = with_log(
            genesys::router(Arc::clone(&genesys_state)),
            Server::Genesys,
            &genesys_state.common.log,
            &genesys_state.common.latency,
        );
        let other_router = with_log(
            Router::new().fallback(other_host),
            Server::OtherHost,
            &other_log,
            &Arc::new(Mutex::new(Latency::default())),
        );
        let tasks = vec![
            serve(cms_listener, cms_router, stopped.clone()),
            serve(kore_listener, kore_router, stopped.clone()),
            serve(genesys_listener, genesys_router, stopped.clone()),
            serve(other_listener, other_router, stopped),
        ];
        Ok(Sandbox {
            cms_url,
            kore_url,
            genesys_url,
            other_url,
            credentials,
            cms: ProviderControl {
                provider: Provider::Cms(cms_state),
            },
            kore: ProviderControl {
                provider: Provider::Kore(kore_state),
            },
            genesys: ProviderControl {
                provider: Provider::Genesys(genesys_state),
            },
            other_log,
            stop,
            tasks,
        })
    }
}

fn base_url(listener: &TcpListener) -> std::io::Result<Url> {
    let addr = listener.local_addr()?;
    Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)
}

fn serve(
    listener: TcpListener,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            // An error means the sender is gone: stop as well.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        // Serving only fails on listener errors, which end this server.
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
    })
}

/// The other host: answers everything with 200 and a plain-text note; the
/// request log is what matters.
async fn other_host() -> Response<Body> {
    (StatusCode::OK, "campaign-sandbox other host").into_response()
}
