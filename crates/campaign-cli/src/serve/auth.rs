//! API keys: `[serve] api_keys_env` names a variable of comma-separated
//! keys; a request sends one as `Authorization: Bearer KEY`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The routes answered without a key: a load balancer's liveness probe
/// needs none, and it tells nothing about the campaigns.
pub const OPEN_ROUTES: &[&str] = &["/healthz"];

/// The accepted keys, kept only as SHA-256 digests: comparing digests of
/// equal length in constant time tells nothing about a key's length or
/// content, and the keys themselves are not kept in memory.
#[derive(Clone)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.digests.len())
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

impl ApiKeys {
    /// The keys of a comma-separated list (blanks around them ignored);
    /// `None` when it holds none.
    pub fn parse(list: &str) -> Option<Self> {
        let digests: Vec<[u8; 32]> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| digest(k.as_bytes()))
            .collect();
        (!digests.is_empty()).then_some(Self { digests })
    }

    /// Whether `key` is one of them. Every key is compared, whichever matches.
    pub fn accepts(&self, key: &[u8]) -> bool {
        let given = digest(key);
        let mut found = subtle::Choice::from(0);
        for known in &self.digests {
            found |= known.ct_eq(&given);
        }
        found.into()
    }

    /// Whether the request's `Authorization: Bearer` header holds one of them.
    pub fn authorizes(&self, request: &Request) -> bool {
        let Some(value) = request.headers().get(header::AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        let scheme = b"bearer ";
        if value.len() <= scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return false;
        }
        self.accepts(value[scheme.len()..].trim_ascii())
    }
}

/// The middleware: without keys configured, everything passes.
pub(crate) async fn require_key(
    State(keys): State<Option<ApiKeys>>,
    request: Request,
    next: Next,
) -> Response {
    match &keys {
        Some(keys)
            if !OPEN_ROUTES.contains(&request.uri().path()) && !keys.authorizes(&request) =>
        {
            ApiError::unauthorized().into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: Option<&str>) -> Request {
        let mut builder = Request::builder().uri("/v1/campaigns");
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_a_listed_key_as_bearer_passes() {
        let keys = ApiKeys::parse(" alpha-key , beta-key,,").unwrap();
        assert!(keys.authorizes(&request(Some("Bearer alpha-key"))));
        assert!(keys.authorizes(&request(Some("bearer beta-key"))));
        assert!(!keys.authorizes(&request(Some("Bearer alpha"))));
        assert!(!keys.authorizes(&request(Some("Bearer alpha-key2"))));
        assert!(!keys.authorizes(&request(Some("Basic alpha-key"))));
        assert!(!keys.authorizes(&request(Some("Bearer "))));
        assert!(!keys.authorizes(&request(None)));
        assert!(ApiKeys::parse(" , ").is_none());
        assert!(!format!("{keys:?}").contains("alpha"));
    }
}
