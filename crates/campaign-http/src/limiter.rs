//! A client-side request rate limiter that a 429 slows down.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

/// Limits one source's requests (prefetches included) to a quota, e.g. the
/// 60 requests per minute Kore.ai documents per account.
///
/// After the server answers 429, every request waits out the server's
/// `Retry-After` (or one refill interval) before the quota applies again.
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

    /// Waits until a request may go out.
    pub async fn acquire(&self) {
        let pause = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = pause {
            tokio::time::sleep_until(until).await;
        }
        self.quota.until_ready().await;
    }

    /// Slows down after a 429: nothing goes out for `retry_after` (or one
    /// quota interval when the server gave none).
    pub fn on_rate_limited(&self, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(Duration::from_secs(60) / self.per_minute.get());
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
