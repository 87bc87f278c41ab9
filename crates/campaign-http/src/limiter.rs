//! A client-side request rate limiter that a 429 slows down.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

/// Longest pause any `Retry-After` can impose, so an absurd value can neither
/// overflow the clock nor park a source for longer.
const MAX_PAUSE: Duration = Duration::from_secs(24 * 60 * 60);

/// Limits one source's requests (prefetches included) to a quota, e.g. the
/// 60 requests per minute Kore.ai documents per account.
///
/// After the server answers 429, every request waits out the server's
/// `Retry-After` (or one refill interval) before the quota applies again.
/// [`HttpClient`](crate::HttpClient) passes that wait capped at its
/// [`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after): the
/// request that got a longer one fails at once as `RateLimited`, and later
/// requests wait at most the cap, then try again (failing fast as
/// `RateLimited` if the server still refuses) instead of stalling until their
/// retry deadline. The limiter itself never pauses longer than a day.
#[derive(Debug)]
pub struct RateLimiter {
    quota: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
    per_minute: NonZeroU32,
}

impl RateLimiter {
    /// `per_minute` requests a minute with bursts of up to `burst`; zeros are raised to one.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            quota: DefaultDirectRateLimiter::direct(
                Quota::per_minute(per_minute).allow_burst(burst),
            ),
            paused_until: Mutex::new(None),
            per_minute,
        }
    }

    /// The limiter every caller naming the same `quota_key` shares while any
    /// of them holds it: for a quota the provider counts per account, so
    /// two sources on one account (say, one per channel, or two configs
    /// naming the same account) draw from one quota. `quota_key` should
    /// identify the provider's quota holder (base URL and account); it is
    /// kept only in memory. The first caller's rate applies.
    pub fn shared(quota_key: &str, per_minute: u32, burst: u32) -> Arc<Self> {
        static SHARED: OnceLock<Mutex<HashMap<String, Weak<RateLimiter>>>> = OnceLock::new();
        let mut shared = SHARED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        shared.retain(|_, limiter| limiter.strong_count() > 0);
        if let Some(limiter) = shared.get(quota_key).and_then(Weak::upgrade) {
            return limiter;
        }
        let limiter = Arc::new(Self::per_minute(per_minute, burst));
        shared.insert(quota_key.to_owned(), Arc::downgrade(&limiter));
        limiter
    }

    /// Waits until a request may go out.
    pub async fn acquire(&self) {
        let pause = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = pause {
            tokio::time::sleep_until(until).await;
        }
        self.quota.until_ready().await;
    }

    /// Slows down after a 429: nothing goes out for `retry_after` (or one
    /// quota interval when the server gave none), at most a day. Any value is
    /// accepted; none panics.
    pub fn on_rate_limited(&self, retry_after: Option<Duration>) {
        let wait = retry_after
            .unwrap_or(Duration::from_secs(60) / self.per_minute.get())
            .min(MAX_PAUSE);
        let Some(until) = Instant::now().checked_add(wait) else {
            return;
        };
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_of_one_quota_share_a_limiter_while_they_hold_it() {
        let a = RateLimiter::shared("https://k.example|acct-1", 60, 60);
        let b = RateLimiter::shared("https://k.example|acct-1", 10, 10);
        let other = RateLimiter::shared("https://k.example|acct-2", 60, 60);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        drop((a, b));
        let fresh = RateLimiter::shared("https://k.example|acct-1", 5, 5);
        assert_eq!(fresh.per_minute.get(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn burst_passes_then_requests_are_spaced_and_429_pauses() {
        let limiter = RateLimiter::per_minute(60, 2);
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert!(start.elapsed() < Duration::from_millis(10));
        limiter.on_rate_limited(Some(Duration::from_secs(5)));
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(5));
    }

    /// The clock is paused, so the elapsed times below are exact, not timed.
    #[tokio::test(start_paused = true)]
    async fn an_absurd_retry_after_neither_panics_nor_pauses_past_a_day() {
        let limiter = RateLimiter::per_minute(60, 2);
        let start = Instant::now();
        limiter.on_rate_limited(Some(Duration::MAX));
        limiter.on_rate_limited(Some(Duration::from_secs(u64::MAX)));
        limiter.acquire().await;
        assert_eq!(start.elapsed(), MAX_PAUSE);
    }
}
