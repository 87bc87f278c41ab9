//! The running sandbox: its URLs, credentials and per-provider controls.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use campaign_core::Campaign;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::auth::SandboxCredentials;
use crate::builder::SandboxBuilder;
use crate::cms::{CmsData, CmsState};
use crate::data::{cms_from_campaign, kore_from_campaign};
use crate::faults::{Fault, FaultQueue};
use crate::genesys::{genesys_from_campaign, GenesysState};
use crate::kore::KoreState;
use crate::kore_store::KoreType;
use crate::log::{Latency, LoggedRequest, RequestLog};

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
    pub(crate) fn new(latency: Duration, other_host: &Url) -> Self {
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

/// Running CMS, Kore.ai and Genesys Cloud emulators plus an "other host".
/// See the crate docs.
///
/// Dropping it stops the servers abruptly; [`Sandbox::shutdown`] stops them
/// gracefully.
pub struct Sandbox {
    pub(crate) cms_url: Url,
    pub(crate) kore_url: Url,
    pub(crate) genesys_url: Url,
    pub(crate) other_url: Url,
    pub(crate) credentials: SandboxCredentials,
    pub(crate) cms: ProviderControl,
    pub(crate) kore: ProviderControl,
    pub(crate) genesys: ProviderControl,
    pub(crate) other_log: RequestLog,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("cms_url", &self.cms_url.as_str())
            .field("kore_url", &self.kore_url.as_str())
            .field("genesys_url", &self.genesys_url.as_str())
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

    /// The Genesys Cloud API base URL, `http://127.0.0.1:PORT/`: the
    /// stand-in for `https://api.<domain>/` (campaigns at
    /// `api/v2/outbound/campaigns`).
    pub fn genesys_url(&self) -> Url {
        self.genesys_url.clone()
    }

    /// The Genesys login host's base URL, the stand-in for
    /// `https://login.<domain>/` (token endpoint at `oauth/token`). The
    /// sandbox serves both hosts' paths on one listener, so this equals
    /// [`Sandbox::genesys_url`]; clients should still keep them apart.
    pub fn genesys_login_url(&self) -> Url {
        self.genesys_url.clone()
    }

    /// The listener where [`Fault::RedirectOtherHost`] points. It
    /// answers 200 to anything and logs it ([`Sandbox::other_host_requests`]).
    pub fn other_host_url(&self) -> Url {
        self.other_url.clone()
    }

    /// The credentials the emulators accept.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.credentials
    }

    /// The CMS contact centers that exist (ascending); others answer 404.
    pub fn cms_contact_center_ids(&self) -> Vec<i64> {
        match &self.cms.provider {
            Provider::Cms(state) => lock(&state.data).centers.keys().copied().collect(),
            Provider::Kore(_) | Provider::Genesys(_) => Vec::new(),
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

    /// Controls and inspects the Genesys Cloud emulator.
    pub fn genesys(&self) -> &ProviderControl {
        &self.genesys
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
pub(crate) enum Provider {
    Cms(Arc<CmsState>),
    Kore(Arc<KoreState>),
    Genesys(Arc<GenesysState>),
}

/// Fault, data and log controls of one emulated provider.
#[derive(Clone)]
pub struct ProviderControl {
    pub(crate) provider: Provider,
}

impl fmt::Debug for ProviderControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.provider {
            Provider::Cms(_) => "cms",
            Provider::Kore(_) => "kore",
            Provider::Genesys(_) => "genesys",
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
            Provider::Genesys(state) => &state.common,
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
    /// CMS and Genesys: new tokens from the token endpoint work (Genesys
    /// rate-limit windows start afresh). Kore: JWTs seen so far and any
    /// issued (`iat`) before the current second are refused; a renewed JWT
    /// works as long as it differs from the revoked ones (a later `iat`, or a
    /// `jti`).
    pub fn expire_tokens(&self) {
        match &self.provider {
            Provider::Cms(state) => lock(&state.tokens).expire_all(),
            Provider::Kore(state) => lock(&state.tokens).expire_all(),
            Provider::Genesys(state) => state.expire_tokens(),
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
    /// campaigns load. Genesys: only voice campaigns load, all in the `Home`
    /// division (see the crate docs for the field mapping).
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
            Provider::Genesys(state) => {
                let mut records = Vec::new();
                for campaign in campaigns {
                    if let Some(record) = genesys_from_campaign(campaign) {
                        records.push(record);
                        loaded.push(campaign.clone());
                    }
                }
                lock(&state.store).replace(records);
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
        let (Provider::Cms(cms), Provider::Kore(kore), Provider::Genesys(genesys)) =
            (&sb.cms.provider, &sb.kore.provider, &sb.genesys.provider)
        else {
            panic!("the sandbox's providers are swapped");
        };
        // Tokens issued after start, as the token endpoints do.
        let issued = lock(&cms.tokens).issue();
        let genesys_issued = lock(&genesys.tokens).issue();
        let c = sb.credentials();
        assert!(lock(&kore.tokens).check(c.kore_jwt.expose()).is_ok());
        let debug = format!(
            "{cms:?} {kore:?} {genesys:?} {:?} {:?} {:?} {sb:?}",
            cms.common, kore.common, genesys.common
        );
        let credentials = format!("{c:?}");
        for secret in [
            c.genesys_token.expose(),
            &c.genesys_client_id,
            c.genesys_client_secret.expose(),
        ] {
            assert!(!credentials.contains(secret), "{credentials}");
        }
        assert!(debug.contains("CmsState") && debug.contains("KoreState"));
        assert!(debug.contains("GenesysState"));
        for secret in [
            issued.as_str(),
            genesys_issued.as_str(),
            c.genesys_token.expose(),
            &c.genesys_client_id,
            c.genesys_client_secret.expose(),
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

    #[tokio::test]
    async fn kore_ids_fix_the_credentials_and_stay_out_of_debug() {
        let builder = Sandbox::builder().kore_ids("st-fixed-stream", "fixed-account");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("st-fixed-stream") && !debug.contains("fixed-account"));
        let sb = builder.start().await.unwrap();
        let c = sb.credentials();
        assert_eq!(
            (c.kore_stream_id.as_str(), c.kore_iid.as_str()),
            ("st-fixed-stream", "st-fixed-stream")
        );
        assert_eq!(c.kore_account_id, "fixed-account");
        sb.shutdown().await;
    }
}
