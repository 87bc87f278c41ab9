//! Credentials the emulators issue and check.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use campaign_core::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Deserialize;

/// The credentials a sandbox accepts. `Debug` hides secrets, the CMS account
/// SID, the Kore identifiers (which double as credentials) and the Genesys
/// client id.
#[derive(Clone)]
pub struct SandboxCredentials {
    /// A ready `Bearer` token the CMS campaigns endpoint accepts (issued at
    /// start, so it follows the token lifetime and `expire_tokens`).
    pub cms_token: Secret,
    /// The account SID for `POST /v2/accounts/{account_sid}/configuration/basicauth`.
    pub cms_account_sid: String,
    /// The API key (Basic auth user) for the token endpoint.
    pub cms_api_key: String,
    /// The API token (Basic auth password) for the token endpoint.
    pub cms_api_token: Secret,
    /// A ready JWT the Kore emulator accepts (HS256, `appId` = client id).
    pub kore_jwt: Secret,
    /// The Kore app's client id: the `appId` claim of accepted JWTs.
    pub kore_client_id: String,
    /// The Kore app's client secret: accepted JWTs are HS256-signed with it.
    pub kore_client_secret: Secret,
    /// The Kore stream (bot) id in the path.
    pub kore_stream_id: String,
    /// The Kore account id (query parameter and `accountId` header).
    pub kore_account_id: String,
    /// The `iid` header value; equal to the stream id.
    pub kore_iid: String,
    /// The Genesys OAuth client id (Basic auth user of `POST /oauth/token`).
    pub genesys_client_id: String,
    /// The Genesys OAuth client secret (Basic auth password).
    pub genesys_client_secret: Secret,
    /// A ready `Bearer` token the Genesys API accepts (issued at start, so it
    /// follows the token lifetime and `expire_tokens`).
    pub genesys_token: Secret,
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HIDDEN: &str = "[REDACTED]";
        f.debug_struct("SandboxCredentials")
            .field("cms_token", &self.cms_token)
            .field("cms_account_sid", &HIDDEN)
            .field("cms_api_key", &HIDDEN)
            .field("cms_api_token", &self.cms_api_token)
            .field("kore_jwt", &self.kore_jwt)
            .field("kore_client_id", &self.kore_client_id)
            .field("kore_client_secret", &self.kore_client_secret)
            .field("kore_stream_id", &HIDDEN)
            .field("kore_account_id", &HIDDEN)
            .field("kore_iid", &HIDDEN)
            .field("genesys_client_id", &HIDDEN)
            .field("genesys_client_secret", &self.genesys_client_secret)
            .field("genesys_token", &self.genesys_token)
            .finish()
    }
}

fn random_text(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn random_hex(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Fresh random identifiers and secrets for one sandbox.
pub(crate) struct Identities {
    pub(crate) cms_account_sid: String,
    pub(crate) cms_api_key: String,
    pub(crate) cms_api_token: Secret,
    pub(crate) kore_client_id: String,
    pub(crate) kore_client_secret: Secret,
    pub(crate) kore_stream_id: String,
    pub(crate) kore_account_id: String,
    pub(crate) genesys_client_id: String,
    pub(crate) genesys_client_secret: Secret,
}

impl Identities {
    pub(crate) fn random() -> Self {
        Self {
            cms_account_sid: format!("sandbox{}", random_hex(8)),
            cms_api_key: random_text(24),
            cms_api_token: Secret::new(random_text(40)),
            kore_client_id: format!("cs-{}", random_hex(32)),
            kore_client_secret: Secret::new(random_text(44)),
            kore_stream_id: format!("st-{}", random_hex(32)),
            kore_account_id: random_hex(24),
            // Genesys client ids are UUIDs and secrets 43 characters.
            genesys_client_id: format!(
                "{}-{}-4{}-a{}-{}",
                random_hex(8),
                random_hex(4),
                random_hex(3),
                random_hex(3),
                random_hex(12)
            ),
            genesys_client_secret: Secret::new(random_text(43)),
        }
    }
}

/// One bearer token: when it lapses and which `expire_tokens` era issued it.
#[derive(Debug)]
struct IssuedToken {
    expires_at: Instant,
    era: u64,
}

/// Opaque bearer tokens issued by a token endpoint (CMS, Genesys). `Debug` shows only how
/// many there are: the map is keyed by the tokens themselves.
pub(crate) struct BearerTokens {
    lifetime: Duration,
    era: u64,
    issued: HashMap<String, IssuedToken>,
}

impl std::fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokens")
            .field("lifetime", &self.lifetime)
            .field("era", &self.era)
            .field("issued", &self.issued.len())
            .finish()
    }
}

impl BearerTokens {
    pub(crate) fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            era: 0,
            issued: HashMap::new(),
        }
    }

    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub(crate) fn issue(&mut self) -> String {
        let token = random_text(48);
        // Drop lapsed tokens so a long run does not grow the map without bound.
        let now = Instant::now();
        let era = self.era;
        self.issued
            .retain(|_, t| t.expires_at > now && t.era == era);
        self.issued.insert(
            token.clone(),
            IssuedToken {
                expires_at: now + self.lifetime,
                era,
            },
        );
        token
    }

    pub(crate) fn accepts(&self, token: &str) -> bool {
        self.issued
            .get(token)
            .is_some_and(|t| t.era == self.era && t.expires_at > Instant::now())
    }

    pub(crate) fn expire_all(&mut self) {
        self.era += 1;
        self.issued.clear();
    }
}

#[derive(Deserialize)]
struct KoreClaims {
    #[serde(rename = "appId")]
    app_id: Option<String>,
    iat: Option<f64>,
}

/// Why a Kore JWT was refused (never includes the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtRejection {
    Invalid,
    WrongApp,
    Revoked,
}

/// Checks Kore JWTs and remembers what `expire_tokens` revoked. `Debug`
/// shows no tokens, client id or key.
pub(crate) struct KoreTokens {
    client_id: String,
    key: DecodingKey,
    validation: Validation,
    /// Tokens issued (`iat`) before this many seconds since the epoch are revoked.
    revoked_before: Option<f64>,
    /// Every token accepted since the last revocation; moved to `revoked` by it,
    /// so a token minted in the revocation's own second is refused too.
    seen: HashSet<String>,
    revoked: HashSet<String>,
}

/// HS256 with no required claims, no audience and no leeway (built once per
/// server, not per request).
fn jwt_validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    validation.leeway = 0;
    validation
}

impl std::fmt::Debug for KoreTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KoreTokens")
            .field("revoked_before", &self.revoked_before)
            .field("seen", &self.seen.len())
            .field("revoked", &self.revoked.len())
            .finish_non_exhaustive()
    }
}

impl KoreTokens {
    pub(crate) fn new(client_id: &str, secret: &Secret) -> Self {
        Self {
            client_id: client_id.to_owned(),
            key: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation: jwt_validation(),
            revoked_before: None,
            seen: HashSet::new(),
            revoked: HashSet::new(),
        }
    }

    pub(crate) fn check(&mut self, token: &str) -> Result<(), JwtRejection> {
        let data = jsonwebtoken::decode::<KoreClaims>(token, &self.key, &self.validation)
            .map_err(|_| JwtRejection::Invalid)?;
        if data.claims.app_id.as_deref() != Some(self.client_id.as_str()) {
            return Err(JwtRejection::WrongApp);
        }
        if self.revoked.contains(token) {
            return Err(JwtRejection::Revoked);
        }
        if let Some(cutoff) = self.revoked_before {
            if data.claims.iat.is_none_or(|iat| iat < cutoff) {
                return Err(JwtRejection::Revoked);
            }
        }
        if !self.seen.contains(token) {
            self.seen.insert(token.to_owned());
        }
        Ok(())
    }

    pub(crate) fn expire_all(&mut self) {
        self.revoked_before = Some(now_secs().floor());
        self.revoked.extend(self.seen.drain());
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Mints a Kore JWT the way a client app does: HS256, `appId` claim.
pub(crate) fn mint_kore_jwt(
    client_id: &str,
    secret: &Secret,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = serde_json::json!({
        "sub": "campaign-sandbox",
        "appId": client_id,
        "iat": now_secs().floor() as u64,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_tokens_expire_by_lifetime_and_by_revocation() {
        let mut tokens = BearerTokens::new(Duration::from_secs(60));
        let first = tokens.issue();
        assert!(tokens.accepts(&first));
        assert!(!tokens.accepts("made-up"));
        tokens.expire_all();
        assert!(!tokens.accepts(&first));
        let second = tokens.issue();
        assert!(tokens.accepts(&second));
        let mut short = BearerTokens::new(Duration::ZERO);
        let lapsed = short.issue();
        assert!(!short.accepts(&lapsed));
    }

    #[test]
    fn token_stores_do_not_debug_print_tokens_or_keys() {
        let mut cms = BearerTokens::new(Duration::from_secs(60));
        let token = cms.issue();
        let debug = format!("{cms:?}");
        assert!(!debug.contains(&token), "{debug}");
        assert!(debug.contains("issued: 1"), "{debug}");

        let secret = Secret::new("kore-client-s3cret");
        let mut kore = KoreTokens::new("cs-app-id", &secret);
        let jwt = mint_kore_jwt("cs-app-id", &secret).unwrap();
        assert_eq!(kore.check(&jwt), Ok(()));
        let seen = format!("{kore:?}");
        kore.expire_all();
        let revoked = format!("{kore:?}");
        for debug in [seen, revoked] {
            for hidden in [jwt.as_str(), secret.expose(), "cs-app-id"] {
                assert!(!debug.contains(hidden), "{debug}");
            }
        }
    }

    #[test]
    fn kore_jwts_need_the_secret_and_app_id_and_can_be_revoked() {
        let secret = Secret::new("s3cret");
        let mut tokens = KoreTokens::new("cs-app", &secret);
        let good = mint_kore_jwt("cs-app", &secret).unwrap();
        assert_eq!(tokens.check(&good), Ok(()));
        let other_app = mint_kore_jwt("cs-other", &secret).unwrap();
        assert_eq!(tokens.check(&other_app), Err(JwtRejection::WrongApp));
        let wrong_key = mint_kore_jwt("cs-app", &Secret::new("nope")).unwrap();
        assert_eq!(tokens.check(&wrong_key), Err(JwtRejection::Invalid));
        assert_eq!(tokens.check("not.a.jwt"), Err(JwtRejection::Invalid));
        tokens.expire_all();
        assert_eq!(tokens.check(&good), Err(JwtRejection::Revoked));
        let claims = serde_json::json!({"appId": "cs-app", "iat": now_secs() + 5.0});
        let fresh = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert_eq!(tokens.check(&fresh), Ok(()));
        let expired = serde_json::json!({"appId": "cs-app", "exp": 1_000});
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert_eq!(tokens.check(&expired), Err(JwtRejection::Invalid));
    }
}
