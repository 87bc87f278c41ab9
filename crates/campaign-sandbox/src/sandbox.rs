//! The sandbox itself: builder, servers, credentials and controls.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use campaign_core::Campaign;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::auth::{mint_kore_jwt, CmsTokens, Identities, KoreTokens, SandboxCredentials};
use crate::cms::{self, CmsData, CmsState};
use crate::data::{cms_from_campaign, cms_sample, kore_from_campaign, kore_sample};
use crate::faults::{Fault, FaultQueue};
use crate::generate::{cms_campaigns, kore_campaigns, GeneratedData};
use crate::kore::{self, KoreState, RateWindow};
use crate::kore_store::{KoreStore, KoreType};
use crate::log::{log_requests, Latency, LogLayerState, LoggedRequest, RequestLog, Server};

/// Locks a mutex, carrying on after a panic elsewhere (the data stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Now, in epoch milliseconds.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What every emulated provider has: faults, latency, a request log and
/// where redirects point.
#[derive(Debug)]
pub(crate) struct Common {
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) latency: Arc<Mutex<Latency>>,
    pub(crate) log: RequestLog,
    /// The other host's base URL without the trailing slash.
    pub(crate) other_host: String,
}

impl Common {
    fn new(latency: Duration, other_host: &Url) -> Self {
        Self {
            faults: Mutex::default(),
            latency: Arc::new(Mutex::new(Latency {
                base: latency,
                jitter: Duration::ZERO,
            })),
            log: RequestLog::default(),
            other_host: other_host.as_str().trim_end_matches('/').to_owned(),
        }
    }
}

/// The CMS default token lifetime, as the vendor documents (`expires_in`).
const DEFAULT_CMS_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);
/// The default maximum Kore page size.
const DEFAULT_KORE_MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, Clone)]
enum DataChoice {
    Sample,
    Generated(GeneratedData),
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
        }
    }
}

impl SandboxBuilder {
    /// Serve the specs' sample records verbatim (the default): CMS contact
    /// center 1 with its one campaign, Kore's 5 voice and 7 SMS campaigns.
    pub fn sample_data(mut self) -> Self {
        self.data = DataChoice::Sample;
        self
    }

    /// Serve generated campaigns instead of the samples; the same
    /// [`GeneratedData`] always gives the same campaigns.
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

    /// Delay added to every request on both servers (changeable later with
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

    /// Binds the three listeners on 127.0.0.1 and starts serving.
    pub async fn start(self) -> std::io::Result<Sandbox> {
        let ids = Identities::random();
        let (cms_data, kore_voice, kore_sms) = match &self.data {
            DataChoice::Sample => {
                let cms = cms_sample().map_err(std::io::Error::other)?;
                let (voice, sms) = kore_sample().map_err(std::io::Error::other)?;
                (CmsData::from_records(cms, &[]), voice, sms)
            }
            DataChoice::Generated(spec) => (
                CmsData::from_records(cms_campaigns(spec), &spec.cms_contact_centers),
                kore_campaigns(spec, KoreType::Voice),
                kore_campaigns(spec, KoreType::Sms),
            ),
        };
        let cms_listener = TcpListener::bind(("127.0.0.1", self.cms_port)).await?;
        let kore_listener = TcpListener::bind(("127.0.0.1", self.kore_port)).await?;
        let other_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let cms_url = base_url(&cms_listener)?;
        let kore_url = base_url(&kore_listener)?;
        let other_url = base_url(&other_listener)?;

        let mut cms_tokens = CmsTokens::new(self.cms_token_lifetime);
        let cms_token = cms_tokens.issue();
        let kore_jwt = mint_kore_jwt(&ids.kore_client_id, &ids.kore_client_secret)
            .map_err(std::io::Error::other)?;
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
        let other_router = with_log(
            Router::new().fallback(other_host),
            Server::OtherHost,
            &other_log,
            &Arc::new(Mutex::new(Latency::default())),
        );
        let tasks = vec![
            serve(cms_listener, cms_router, stopped.clone()),
            serve(kore_listener, kore_router, stopped.clone()),
            serve(other_listener, other_router, stopped),
        ];
        Ok(Sandbox {
            cms_url,
            kore_url,
            other_url,
            credentials,
            cms: ProviderControl {
                provider: Provider::Cms(cms_state),
            },
            kore: ProviderControl {
                provider: Provider::Kore(kore_state),
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

/// Running CMS and Kore.ai emulators plus an "other host". See the crate docs.
///
/// Dropping it stops the servers abruptly; [`Sandbox::shutdown`] stops them
/// gracefully.
pub struct Sandbox {
    cms_url: Url,
    kore_url: Url,
    other_url: Url,
    credentials: SandboxCredentials,
    cms: ProviderControl,
    kore: ProviderControl,
    other_log: RequestLog,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("cms_url", &self.cms_url.as_str())
            .field("kore_url", &self.kore_url.as_str())
            .field("other_host_url", &self.other_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder with the defaults: sample data, ports 0, no latency, Kore
    /// maximum page size 100.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox serving the specs' sample data verbatim.
    pub async fn start_default() -> std::io::Result<Sandbox> {
        Self::builder().start().await
    }

    /// The CMS base URL, `http://127.0.0.1:PORT/` (campaigns and token endpoint).
    pub fn cms_url(&self) -> Url {
        self.cms_url.clone()
    }

    /// The Kore.ai base URL, `http://127.0.0.1:PORT/`.
    pub fn kore_url(&self) -> Url {
        self.kore_url.clone()
    }

    /// The third listener, where [`Fault::RedirectOtherHost`] points. It
    /// answers 200 to anything and logs it ([`Sandbox::other_host_requests`]).
    pub fn other_host_url(&self) -> Url {
        self.other_url.clone()
    }

    /// The credentials both emulators accept.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.credentials
    }

    /// The CMS contact centers that exist (ascending); others answer 404.
    pub fn cms_contact_center_ids(&self) -> Vec<i64> {
        match &self.cms.provider {
            Provider::Cms(state) => lock(&state.data).centers.keys().copied().collect(),
            Provider::Kore(_) => Vec::new(),
        }
    }

    /// Controls and inspects the CMS emulator.
    pub fn cms(&self) -> &ProviderControl {
        &self.cms
    }

    /// Controls and inspects the Kore.ai emulator.
    pub fn kore(&self) -> &ProviderControl {
        &self.kore
    }

    /// Every request the other host received.
    pub fn other_host_requests(&self) -> Vec<LoggedRequest> {
        self.other_log.snapshot()
    }

    /// Stops the servers, letting in-flight requests finish for up to two
    /// seconds each.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[derive(Clone)]
enum Provider {
    Cms(Arc<CmsState>),
    Kore(Arc<KoreState>),
}

/// Fault, data and log controls of one emulated provider.
#[derive(Clone)]
pub struct ProviderControl {
    provider: Provider,
}

impl fmt::Debug for ProviderControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.provider {
            Provider::Cms(_) => "cms",
            Provider::Kore(_) => "kore",
        };
        f.debug_struct("ProviderControl")
            .field("provider", &name)
            .field("request_count", &self.request_count())
            .finish()
    }
}

impl ProviderControl {
    fn common(&self) -> &Common {
        match &self.provider {
            Provider::Cms(state) => &state.common,
            Provider::Kore(state) => &state.common,
        }
    }

    /// Queues a fault for the next `times` campaign requests (`None`: until
    /// [`clear_faults`](Self::clear_faults)). Faults queued earlier act
    /// first; see [`Fault`].
    pub fn inject(&self, fault: Fault, times: Option<usize>) {
        lock(&self.common().faults).inject(fault, times);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.common().faults).clear();
    }

    /// Sets the delay added to each request on this server.
    pub fn set_latency(&self, d: Duration) {
        lock(&self.common().latency).base = d;
    }

    /// Adds a uniformly random extra delay of up to `jitter` to each
    /// request's latency (zero turns jitter off).
    pub fn set_latency_jitter(&self, jitter: Duration) {
        lock(&self.common().latency).jitter = jitter;
    }

    /// Fails this fraction (`0.0..=1.0`, clamped; 0 turns it off) of campaign
    /// requests with `status`, at random but reproducibly (a fixed seed),
    /// whenever no queued fault applies. [`clear_faults`](Self::clear_faults)
    /// turns it off too.
    pub fn set_failure_rate(&self, rate: f64, status: u16) {
        lock(&self.common().faults).set_failure_rate(rate, status);
    }

    /// How many requests this server has received (any path).
    pub fn request_count(&self) -> usize {
        self.common().log.len()
    }

    /// Every request this server has received, oldest first, credentials masked.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.common().log.snapshot()
    }

    /// Empties this server's request log.
    pub fn clear_requests(&self) {
        self.common().log.clear();
    }

    /// Revokes every token issued or accepted so far: they now get 401.
    ///
    /// CMS: new tokens from the token endpoint work. Kore: JWTs seen so far
    /// and any issued (`iat`) before the current second are refused; a
    /// renewed JWT works as long as it differs from the revoked ones (a later
    /// `iat`, or a `jti`).
    pub fn expire_tokens(&self) {
        match &self.provider {
            Provider::Cms(state) => lock(&state.tokens).expire_all(),
            Provider::Kore(state) => lock(&state.tokens).expire_all(),
        }
    }

    /// Replaces this provider's data with these campaigns converted to wire
    /// records, and returns the ones loaded.
    ///
    /// Native ids are kept. CMS: only campaigns whose native id is an integer
    /// load (`campaignContextId` is a number); each goes to the contact
    /// center of its [`Scope::ContactCenter`](campaign_core::Scope) or else to
    /// the first existing contact center (1 if none); afterwards exactly the
    /// contact centers of the loaded campaigns exist. Kore: only voice and SMS
    /// campaigns load.
    pub fn load_campaigns(&self, campaigns: &[Campaign]) -> Vec<Campaign> {
        let mut loaded = Vec::new();
        match &self.provider {
            Provider::Cms(state) => {
                let mut data = lock(&state.data);
                let default_center = data.centers.keys().next().copied().unwrap_or(1);
                let mut records = Vec::new();
                for campaign in campaigns {
                    if let Some(record) = cms_from_campaign(campaign, default_center) {
                        records.push(record);
                        loaded.push(campaign.clone());
                    }
                }
                *data = CmsData::from_records(records, &[]);
            }
            Provider::Kore(state) => {
                let (mut voice, mut sms) = (Vec::new(), Vec::new());
                for campaign in campaigns {
                    if let Some((kind, record)) = kore_from_campaign(campaign) {
                        match kind {
                            KoreType::Voice => voice.push(record),
                            KoreType::Sms => sms.push(record),
                        }
                        loaded.push(campaign.clone());
                    }
                }
                lock(&state.store).replace(voice, sms);
            }
        }
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn emulator_state_debug_shows_no_credentials() {
        let sb = Sandbox::start_default().await.unwrap();
        let (Provider::Cms(cms), Provider::Kore(kore)) = (&sb.cms.provider, &sb.kore.provider)
        else {
            panic!("the sandbox's providers are swapped");
        };
        // A token issued after start, as the token endpoint does.
        let issued = lock(&cms.tokens).issue();
        let c = sb.credentials();
        assert!(lock(&kore.tokens).check(c.kore_jwt.expose()).is_ok());
        let debug = format!("{cms:?} {kore:?} {:?} {:?}", cms.common, kore.common);
        assert!(debug.contains("CmsState") && debug.contains("KoreState"));
        for secret in [
            issued.as_str(),
            c.cms_token.expose(),
            &c.cms_account_sid,
            &c.cms_api_key,
            c.cms_api_token.expose(),
            c.kore_jwt.expose(),
            &c.kore_client_id,
            c.kore_client_secret.expose(),
            &c.kore_stream_id,
            &c.kore_account_id,
            &c.kore_iid,
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
        sb.shutdown().await;
    }
}
