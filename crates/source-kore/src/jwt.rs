//! Minting the short-lived JWTs Kore.ai's public APIs accept.

use std::fmt;
use std::future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use campaign_core::{Secret, SourceError, TokenProvider};
use campaign_http::TokenCache;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::PROVIDER;

/// The longest a minted token is reused, whatever its lifetime.
const MAX_REUSE: Duration = Duration::from_secs(86_400);

/// A token is renewed this long before it expires at most …
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// … and at most a fifth (1 / this) of its lifetime before.
const RENEW_MARGIN_CAP: u32 = 5;

/// The claims Kore.ai documents for public-API tokens, plus the lifetime.
#[derive(Serialize)]
struct Claims<'a> {
    /// The app's client id; Kore.ai spells the claim exactly `appId`.
    #[serde(rename = "appId")]
    app_id: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
    /// A nonce, so a token minted after a rejection always differs from the
    /// rejected one even within the same second.
    jti: String,
}

/// A [`TokenProvider`] that signs Kore.ai JWTs from an app's client id and
/// secret: HS256, claims `appId` (the client id), `sub`, `iat` and `exp`.
///
/// Tokens live one hour by default ([`with_lifetime`](Self::with_lifetime)),
/// are cached in a [`TokenCache`], renewed a little before they expire (a
/// fifth of the lifetime, at most a minute, early) and after the server
/// rejects one ([`TokenProvider::invalidate`]).
pub struct KoreJwtMinter {
    client_id: String,
    subject: String,
    key: EncodingKey,
    lifetime: Duration,
    cache: TokenCache,
}

impl KoreJwtMinter {
    /// A minter for the app `client_id` signing with `client_secret`; `sub`
    /// defaults to the client id.
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        let client_id = client_id.into();
        Self {
            subject: client_id.clone(),
            key: EncodingKey::from_secret(client_secret.expose().as_bytes()),
            client_id,
            lifetime: Duration::from_secs(3600),
            // Reuse is capped at a day, so an absurd configured lifetime
            // cannot overflow the clock; minting is local and cheap.
            cache: TokenCache::new(RENEW_BEFORE)
                .with_margin_cap(RENEW_MARGIN_CAP)
                .with_max_reuse(MAX_REUSE),
        }
    }

    /// Sets how long each token is valid (`exp - iat`). Default one hour.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the `sub` claim. Default: the client id.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    fn mint(&self) -> Result<Secret, SourceError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            app_id: &self.client_id,
            sub: &self.subject,
            iat,
            exp: iat.saturating_add(self.lifetime.as_secs()),
            jti: format!("{:016x}", rand::random::<u64>()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| {
                SourceError::config(PROVIDER, "could not sign the Kore.ai JWT").with_cause(e)
            })
    }
}

impl fmt::Debug for KoreJwtMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KoreJwtMinter")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenProvider for KoreJwtMinter {
    async fn token(&self) -> Result<Secret, SourceError> {
        self.cache
            .token(|| future::ready(self.mint().map(|token| (token, self.lifetime))))
            .await
    }

    async fn invalidate(&self, rejected: &Secret) {
        self.cache.invalidate(rejected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[derive(serde::Deserialize)]
    struct Decoded {
        #[serde(rename = "appId")]
        app_id: String,
        sub: String,
        iat: u64,
        exp: u64,
    }

    #[tokio::test]
    async fn claims_verify_with_the_secret_and_the_token_is_cached() {
        let minter =
            KoreJwtMinter::new("cs-app-1", Secret::new("s3cret-value")).with_subject("campaigns");
        let token = minter.token().await.unwrap();
        let data = jsonwebtoken::decode::<Decoded>(
            token.expose(),
            &DecodingKey::from_secret(b"s3cret-value"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(data.header.alg, Algorithm::HS256);
        assert_eq!(data.claims.app_id, "cs-app-1");
        assert_eq!(data.claims.sub, "campaigns");
        assert_eq!(data.claims.exp - data.claims.iat, 3600);
        let raw: serde_json::Value = jsonwebtoken::decode(
            token.expose(),
            &DecodingKey::from_secret(b"s3cret-value"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap()
        .claims;
        assert!(raw.get("appId").is_some() && raw.get("app_id").is_none());
        let wrong = jsonwebtoken::decode::<Decoded>(
            token.expose(),
            &DecodingKey::from_secret(b"other"),
            &Validation::new(Algorithm::HS256),
        );
        assert!(wrong.is_err());
        assert_eq!(minter.token().await.unwrap(), token, "cached");
        assert!(!format!("{minter:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn invalidate_renews_only_the_rejected_token() {
        let minter = KoreJwtMinter::new("app", Secret::new("k"));
        let first = minter.token().await.unwrap();
        minter.invalidate(&Secret::new("some-older-token")).await;
        assert_eq!(minter.token().await.unwrap(), first);
        minter.invalidate(&first).await;
        let second = minter.token().await.unwrap();
        assert_ne!(second, first);
    }

    #[tokio::test]
    async fn tokens_inside_the_renewal_margin_are_renewed() {
        // A zero lifetime is always inside the margin: every call mints.
        let minter = KoreJwtMinter::new("app", Secret::new("k")).with_lifetime(Duration::ZERO);
        let a = minter.token().await.unwrap();
        let b = minter.token().await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn an_absurd_lifetime_is_signed_and_cached_without_overflow() {
        let minter = KoreJwtMinter::new("cs-app-1", Secret::new("s3cret-value"))
            .with_lifetime(Duration::from_secs(u64::MAX));
        let first = minter.token().await.unwrap();
        assert_eq!(minter.token().await.unwrap(), first, "cached");
        let data = jsonwebtoken::decode::<Decoded>(
            first.expose(),
            &DecodingKey::from_secret(b"s3cret-value"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(data.claims.exp, u64::MAX);
    }
}
