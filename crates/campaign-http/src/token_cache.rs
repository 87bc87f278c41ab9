//! The caching a renewable [`TokenProvider`](campaign_core::TokenProvider)
//! needs, written once: reuse until shortly before expiry, one renewal at a
//! time, and invalidation of only the token the server rejected.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use campaign_core::Secret;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The longest a token is reused by default, whatever lifetime it claims.
pub const DEFAULT_MAX_REUSE: Duration = Duration::from_secs(30 * 86_400);

/// Caps [`TokenCache::with_max_reuse`], so adding it to the clock cannot overflow.
const LONGEST_REUSE: Duration = Duration::from_secs(365 * 86_400);

struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// A cached credential for a [`TokenProvider`](campaign_core::TokenProvider)
/// that fetches or mints tokens with a known lifetime (a token endpoint, an
/// OAuth client-credentials grant, a signed JWT).
///
/// The provider keeps one `TokenCache` and answers
/// [`token`](campaign_core::TokenProvider::token) with
/// [`token(fetch)`](Self::token), where `fetch` gets a fresh token and its
/// lifetime, and [`invalidate`](campaign_core::TokenProvider::invalidate)
/// with [`invalidate`](Self::invalidate). The cache then:
///
/// - hands out the cached token until its renewal time: the lifetime, counted
///   from when the fetch started, minus the renewal margin. The margin is
///   [`renew_before`](Self::new), at most `lifetime / margin_cap` (half the
///   lifetime by default, see [`with_margin_cap`](Self::with_margin_cap)), and
///   the reuse lasts at most [`max_reuse`](Self::with_max_reuse). A zero
///   lifetime is never reused;
/// - runs one fetch at a time: concurrent callers wait for the one in flight
///   and share its token;
/// - caches nothing when the fetch fails (the error is returned as is, and
///   the next call fetches again) or is cancelled;
/// - on [`invalidate(rejected)`](Self::invalidate) drops the cached token only
///   if it is `rejected`, so one a concurrent caller already renewed is kept.
///
/// Time is [`tokio::time::Instant`], so tests with a paused clock control it.
/// Debug output shows the policy, never the token.
///
/// # Example
///
/// An OAuth client-credentials provider that caches the access token until
/// shortly before `expires_in` and renews it once after a 401:
///
/// ```
/// use std::time::Duration;
///
/// use async_trait::async_trait;
/// use campaign_core::{Secret, SourceError, TokenProvider};
/// use campaign_http::TokenCache;
///
/// #[derive(Debug)]
/// struct OAuthTokens {
///     cache: TokenCache,
///     // the HTTP client and the client credentials
/// }
///
/// impl OAuthTokens {
///     async fn request_token(&self) -> Result<(Secret, Duration), SourceError> {
///         // POST /oauth/token, answer {access_token, token_type, expires_in}
///         let (access_token, expires_in) = ("t0ken", 86_400);
///         Ok((Secret::new(access_token), Duration::from_secs(expires_in)))
///     }
/// }
///
/// #[async_trait]
/// impl TokenProvider for OAuthTokens {
///     async fn token(&self) -> Result<Secret, SourceError> {
///         self.cache.token(|| self.request_token()).await
///     }
///
///     async fn invalidate(&self, rejected: &Secret) {
///         self.cache.invalidate(rejected).await
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SourceError> {
/// let tokens = OAuthTokens { cache: TokenCache::new(Duration::from_secs(60)) };
/// let token = tokens.token().await?;
/// assert_eq!(tokens.token().await?, token, "cached");
/// # Ok(()) }
/// ```
pub struct TokenCache {
    renew_before: Duration,
    margin_cap: u32,
    max_reuse: Duration,
    // An async lock, held across the fetch: that is what makes concurrent
    // callers wait for the renewal in flight instead of starting their own.
    cached: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// An empty cache renewing a token once less than `renew_before` of its
    /// lifetime remains (at most half the lifetime, see
    /// [`with_margin_cap`](Self::with_margin_cap)), and reusing one at most
    /// [`DEFAULT_MAX_REUSE`].
    pub fn new(renew_before: Duration) -> Self {
        Self {
            renew_before,
            margin_cap: 2,
            max_reuse: DEFAULT_MAX_REUSE,
            cached: Mutex::new(None),
        }
    }

    /// Sets the renewal margin (see [`new`](Self::new)); a token already
    /// cached keeps its renewal time.
    pub fn with_renew_before(mut self, renew_before: Duration) -> Self {
        self.renew_before = renew_before;
        self
    }

    /// Caps the renewal margin at `lifetime / divisor` (default 2, half the
    /// lifetime), so a short-lived token is still reused for a while rather
    /// than renewed on every call. A divisor of 0 is taken as 1 (the margin
    /// is at most the whole lifetime).
    pub fn with_margin_cap(mut self, divisor: u32) -> Self {
        self.margin_cap = divisor.max(1);
        self
    }

    /// Reuses a token at most `max_reuse` (default [`DEFAULT_MAX_REUSE`]),
    /// whatever lifetime it claims, so an absurd lifetime neither overflows
    /// the clock nor keeps a token forever. Values past a year are taken as
    /// a year.
    pub fn with_max_reuse(mut self, max_reuse: Duration) -> Self {
        self.max_reuse = max_reuse.min(LONGEST_REUSE);
        self
    }

    /// The renewal margin set by [`new`](Self::new) or
    /// [`with_renew_before`](Self::with_renew_before), before capping.
    pub fn renew_before(&self) -> Duration {
        self.renew_before
    }

    /// How long after its fetch started a token of `lifetime` is handed out:
    /// the lifetime minus the capped margin, at most the maximum reuse.
    pub fn reuse_for(&self, lifetime: Duration) -> Duration {
        let margin = self.renew_before.min(lifetime / self.margin_cap);
        lifetime.saturating_sub(margin).min(self.max_reuse)
    }

    /// The cached token if it is not due for renewal, else the one `fetch`
    /// returns (with its lifetime), which is cached. `fetch` runs only when
    /// needed and only one at a time; callers arriving meanwhile wait and
    /// get its token. If `fetch` fails its error is returned and nothing is
    /// cached.
    pub async fn token<F, Fut, E>(&self, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration), E>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref() {
            if Instant::now() < current.renew_at {
                return Ok(current.token.clone());
            }
        }
        // An expired token is never handed out again, even if this fetch
        // fails or is cancelled.
        *cached = None;
        // The lifetime counts from the request, not the answer: the token
        // may have been issued at any point in between.
        let requested = Instant::now();
        let (token, lifetime) = fetch().await?;
        *cached = Some(Cached {
            token: token.clone(),
            renew_at: requested + self.reuse_for(lifetime),
        });
        Ok(token)
    }

    /// Drops the cached token if it is `rejected`; a different one (renewed
    /// meanwhile by a concurrent caller) stays. Waits for a fetch in flight.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == rejected) {
            *cached = None;
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("renew_before", &self.renew_before)
            .field("margin_cap", &self.margin_cap)
            .field("max_reuse", &self.max_reuse)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::time::{advance, sleep};

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Counts fetches and names each token after its number: `t1`, `t2`, …
    #[derive(Default)]
    struct Endpoint {
        calls: AtomicUsize,
    }

    impl Endpoint {
        async fn fetch(&self, lifetime: Duration) -> Result<(Secret, Duration), String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok((Secret::new(format!("t{n}")), lifetime))
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    async fn get(cache: &TokenCache, endpoint: &Endpoint, lifetime: Duration) -> String {
        let token = cache.token(|| endpoint.fetch(lifetime)).await.unwrap();
        token.expose().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_reused_until_the_margin_before_expiry_then_renewed() {
        let (cache, endpoint) = (
            TokenCache::new(Duration::from_secs(300)),
            Endpoint::default(),
        );
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t1");
        advance(HOUR - Duration::from_secs(301)).await;
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t1");
        advance(Duration::from_secs(1)).await;
        assert_eq!(
            get(&cache, &endpoint, HOUR).await,
            "t2",
            "inside the margin"
        );
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t2");
        assert_eq!(endpoint.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_lifetime_counts_from_the_request_not_the_answer() {
        let cache = TokenCache::new(Duration::from_secs(10));
        let calls = AtomicUsize::new(0);
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_secs(40)).await;
            Ok::<_, String>((Secret::new("slow"), Duration::from_secs(100)))
        };
        let start = Instant::now();
        cache.token(slow).await.unwrap();
        advance(Duration::from_secs(89) - start.elapsed()).await;
        cache.token(slow).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        advance(Duration::from_secs(1)).await;
        cache.token(slow).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn margins_are_capped_by_the_lifetime_and_reuse_by_the_maximum() {
        let cache = TokenCache::new(Duration::from_secs(300));
        assert_eq!(cache.reuse_for(HOUR), HOUR - Duration::from_secs(300));
        // Half the lifetime by default …
        assert_eq!(
            cache.reuse_for(Duration::from_secs(100)),
            Duration::from_secs(50)
        );
        // … or the share set, a fifth here (Kore.ai's rule: a fifth, at most a minute).
        let fifth = TokenCache::new(Duration::from_secs(60)).with_margin_cap(5);
        assert_eq!(
            fifth.reuse_for(Duration::from_secs(100)),
            Duration::from_secs(80)
        );
        assert_eq!(fifth.reuse_for(HOUR), HOUR - Duration::from_secs(60));
        let whole = TokenCache::new(HOUR).with_margin_cap(0);
        assert_eq!(whole.reuse_for(Duration::from_secs(100)), Duration::ZERO);
        assert_eq!(cache.reuse_for(Duration::ZERO), Duration::ZERO);
        // An absurd lifetime is reused only up to the maximum, without overflow.
        for lifetime in [Duration::MAX, Duration::from_secs(u64::MAX)] {
            assert_eq!(cache.reuse_for(lifetime), DEFAULT_MAX_REUSE);
            let day = TokenCache::new(Duration::from_secs(60))
                .with_max_reuse(Duration::from_secs(86_400));
            assert_eq!(day.reuse_for(lifetime), Duration::from_secs(86_400));
            let huge = TokenCache::new(Duration::ZERO).with_max_reuse(Duration::MAX);
            assert_eq!(huge.reuse_for(lifetime), LONGEST_REUSE);
            assert!(Instant::now()
                .checked_add(huge.reuse_for(lifetime))
                .is_some());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_lifetime_is_cached_until_the_maximum_reuse() {
        let cache =
            TokenCache::new(Duration::from_secs(60)).with_max_reuse(Duration::from_secs(86_400));
        let endpoint = Endpoint::default();
        let forever = Duration::from_secs(u64::MAX);
        assert_eq!(get(&cache, &endpoint, forever).await, "t1");
        advance(Duration::from_secs(86_399)).await;
        assert_eq!(get(&cache, &endpoint, forever).await, "t1");
        advance(Duration::from_secs(1)).await;
        assert_eq!(get(&cache, &endpoint, forever).await, "t2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_lifetime_is_renewed_on_every_call() {
        let (cache, endpoint) = (TokenCache::new(HOUR), Endpoint::default());
        for expected in ["t1", "t2", "t3"] {
            assert_eq!(get(&cache, &endpoint, Duration::ZERO).await, expected);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_drops_only_the_rejected_token() {
        let (cache, endpoint) = (
            TokenCache::new(Duration::from_secs(60)),
            Endpoint::default(),
        );
        let first = cache.token(|| endpoint.fetch(HOUR)).await.unwrap();
        cache.invalidate(&Secret::new("some-older-token")).await;
        assert_eq!(
            get(&cache, &endpoint, HOUR).await,
            "t1",
            "a stale report is ignored"
        );
        cache.invalidate(&first).await;
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t2");
        // A second report of the same rejection, after the renewal, keeps t2.
        cache.invalidate(&first).await;
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t2");
        assert_eq!(endpoint.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
                tokio::spawn(async move {
                    cache
                        .token(|| async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            sleep(Duration::from_secs(1)).await;
                            Ok::<_, String>((Secret::new("shared"), HOUR))
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().expose(), "shared");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_fetch_returns_its_error_and_caches_nothing() {
        let (cache, endpoint) = (
            TokenCache::new(Duration::from_secs(60)),
            Endpoint::default(),
        );
        let failing = || async { Err::<(Secret, Duration), _>("token endpoint down".to_owned()) };
        assert_eq!(
            cache.token(failing).await.unwrap_err(),
            "token endpoint down"
        );
        assert_eq!(
            get(&cache, &endpoint, HOUR).await,
            "t1",
            "fetched after the failure"
        );
        // A failed renewal does not bring the expired token back either.
        advance(HOUR).await;
        assert!(cache.token(failing).await.is_err());
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_fetch_caches_nothing_and_releases_the_lock() {
        let (cache, endpoint) = (
            TokenCache::new(Duration::from_secs(60)),
            Endpoint::default(),
        );
        let stuck = || async {
            sleep(HOUR).await;
            Ok::<_, String>((Secret::new("never"), HOUR))
        };
        let gave_up = tokio::time::timeout(Duration::from_secs(1), cache.token(stuck)).await;
        assert!(gave_up.is_err());
        assert_eq!(get(&cache, &endpoint, HOUR).await, "t1");
    }

    #[tokio::test]
    async fn debug_shows_the_policy_not_the_token() {
        let cache = TokenCache::new(Duration::from_secs(60));
        cache
            .token(|| async { Ok::<_, String>((Secret::new("tok-secret"), HOUR)) })
            .await
            .unwrap();
        let debug = format!("{cache:?}");
        assert!(
            debug.contains("renew_before") && !debug.contains("tok-secret"),
            "{debug}"
        );
    }
}
