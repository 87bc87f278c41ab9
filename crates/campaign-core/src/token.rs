//! Where a source gets its credential, and how it renews it.

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::secret::Secret;

/// Supplies the credential a source sends with each request.
///
/// Sources call [`token`](TokenProvider::token) before each request and, when
/// the provider answers 401, [`invalidate`](TokenProvider::invalidate) with the
/// rejected token and try once more with a fresh one. Passing the rejected
/// token lets a caching provider ignore a stale report when a concurrent
/// request has already renewed it.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// The current credential, fetching or minting one if needed.
    async fn token(&self) -> Result<Secret>;

    /// Reports that the provider rejected `rejected`; the next
    /// [`token`](TokenProvider::token) call should return a different one if it can.
    async fn invalidate(&self, rejected: &Secret);
}

/// A fixed credential (a ready token from config or the environment). It
/// cannot renew, so a 401 after [`invalidate`](TokenProvider::invalidate)
/// surfaces as `Unauthorized`.
#[derive(Clone)]
pub struct StaticToken(Secret);

impl StaticToken {
    /// Wraps a ready token.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticToken").field(&self.0).finish()
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self) -> Result<Secret> {
        Ok(self.0.clone())
    }

    async fn invalidate(&self, _rejected: &Secret) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_returns_its_value_and_hides_it() {
        let t = StaticToken::new("abc123");
        assert_eq!(t.token().await.unwrap().expose(), "abc123");
        t.invalidate(&Secret::new("abc123")).await;
        assert_eq!(t.token().await.unwrap().expose(), "abc123");
        assert!(!format!("{t:?}").contains("abc123"));
    }
}
