//! A retry budget shared by every source of an aggregate, so a provider in
//! trouble cannot start a retry storm.

use std::sync::atomic::{AtomicU32, Ordering};

/// A token bucket for retries, modelled on the AWS SDKs' "standard" retry mode:
/// the bucket starts full; each retry takes [`RetryBudget::RETRY_COST`]
/// tokens (a retry after a timeout takes [`RetryBudget::TIMEOUT_RETRY_COST`]);
/// each success after a retry returns the cost, and each first-try success
/// returns one token. When the bucket cannot pay, the error is returned
/// without retrying.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    tokens: AtomicU32,
}

impl RetryBudget {
    /// Tokens a retry costs.
    pub const RETRY_COST: u32 = 5;
    /// Tokens a retry after a timeout costs.
    pub const TIMEOUT_RETRY_COST: u32 = 10;
    /// The AWS default capacity.
    pub const DEFAULT_CAPACITY: u32 = 500;

    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        Self {
            capacity,
            tokens: AtomicU32::new(capacity),
        }
    }

    /// Takes the cost of one retry; false (and nothing taken) if the bucket is short.
    pub fn try_acquire(&self, after_timeout: bool) -> bool {
        let cost = if after_timeout {
            Self::TIMEOUT_RETRY_COST
        } else {
            Self::RETRY_COST
        };
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Records a success: `retried` says whether it needed retries (refunds a
    /// retry's cost) or came first try (refunds one token).
    pub fn on_success(&self, retried: bool) {
        let refund = if retried { Self::RETRY_COST } else { 1 };
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(refund).min(self.capacity))
            });
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_drains_refuses_and_refills() {
        let budget = RetryBudget::new(12);
        assert!(budget.try_acquire(false));
        assert!(budget.try_acquire(false));
        assert!(!budget.try_acquire(false), "2 tokens left cannot pay 5");
        assert_eq!(budget.available(), 2);
        budget.on_success(true);
        assert_eq!(budget.available(), 7);
        assert!(!budget.try_acquire(true));
        for _ in 0..10 {
            budget.on_success(false);
        }
        assert_eq!(budget.available(), 12, "never above capacity");
    }
}
