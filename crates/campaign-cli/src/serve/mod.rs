//! `campaigns serve`: the unified view over HTTP.
//!
//! Routes (see `GET /openapi.json`): `GET /v1/campaigns` (one page, the
//! document `list --format json` prints), `GET /v1/campaigns/{id}`,
//! `GET /v1/changes` (store only), `GET /v1/sources`, `GET /healthz`,
//! `GET /metrics`, `GET /openapi.json`. Every error is
//! `{"error": {"kind", "message", "param"}}` ([`ApiError`]). The web page,
//! `GET /` and `GET /campaigns/{id}` (HTML, left out of the OpenAPI
//! document), shows the same answers to a person and its errors in HTML.
//!
//! Without a store the answers are live, through the aggregate, identical
//! requests in flight sharing one provider walk; with one they come from
//! the store, which a background task syncs every `--sync-every`.
//!
//! Guards: API keys (`[serve] api_keys_env`, `Authorization: Bearer`; only
//! `/healthz` is open); a non-loopback address without keys is refused
//! unless `--insecure-no-auth`; next cursors are signed (HMAC-SHA256 with
//! `[serve] cursor_key_env`'s key, else a key drawn at start); a request
//! timeout, body, URI and header limits, and a bound on requests in flight.

mod auth;
mod cursor;
mod error;
mod live;
mod metrics;
mod openapi;
mod page;
mod page_markup;
mod params;
mod routes;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use campaign_core::CampaignSource;
use campaign_registry::Registry;
use campaign_store::{Store, SyncOptions};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::args::ServeArgs;
use crate::config::{Config, ServeSettings};
use crate::progress::Progress;
use crate::run::{build_failure, Failure, EXIT_OK};
use crate::sandbox_cmd::setup;
use crate::store_cmd::{store_aggregate, STORE_VAR};

pub use auth::ApiKeys;
pub use cursor::{CursorSigner, InvalidCursor, MAX_CURSOR_LEN};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use live::Coalescer;
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use params::{CampaignsParams, ListRequest, DEFAULT_LIMIT, MAX_LIMIT};

use routes::{AppState, Backend};

/// The longest a request may take, waiting for a slot included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a live page may take: sources still answering then (one
/// waiting out a provider's rate limit, say) are reported as timed out in
/// the page, which comes back with the others' campaigns before
/// [`REQUEST_TIMEOUT`] would end the whole request.
pub const LIVE_PAGE_DEADLINE: Duration = Duration::from_secs(50);
const _: () = assert!(LIVE_PAGE_DEADLINE.as_secs() < REQUEST_TIMEOUT.as_secs());
/// Requests handled at once; more wait (within [`REQUEST_TIMEOUT`]).
pub const MAX_CONCURRENT_REQUESTS: usize = 256;
/// The largest request body (the API takes none).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The largest request URI, query included.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names and values) and headers a request may send.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// See [`MAX_HEADER_BYTES`].
pub const MAX_HEADERS: usize = 64;
/// The shortest cursor key `[serve] cursor_key_env` may hold.
pub const MIN_CURSOR_KEY_LEN: usize = 32;

/// `campaigns serve`: answers until SIGINT or SIGTERM, then lets requests
/// in flight finish; returns the exit code. `progress` counts the
/// providers' requests and retries for `/metrics`.
pub async fn serve(
    args: ServeArgs,
    registry: &Registry,
    progress: Progress,
) -> Result<u8, Failure> {
    let setup = setup(args.config.as_deref(), registry, false).await?;
    let config = &setup.config;
    let keys = api_keys(config)?;
    if keys.is_none() && !args.listen.ip().is_loopback() && !args.insecure_no_auth {
        return Err(Failure::Usage(format!(
            "refusing to serve on {} without API keys: set [serve] api_keys_env in the config, \
             listen on a loopback address, or pass --insecure-no-auth",
            args.listen
        )));
    }
    let signer = cursor_signer(config)?;
    let metrics = Metrics::new(progress);
    let url = args
        .store
        .clone()
        .or_else(|| {
            std::env::var(STORE_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| config.store.url.clone());
    let syncing = !args.sync_every.is_zero();
    let backend = match &url {
        None => Backend::Live {
            aggregate: Arc::new(
                config
                    .aggregate_builder()
                    .deadline(LIVE_PAGE_DEADLINE)
                    .build()
                    .map_err(|e| build_failure(&config.file, e))?,
            ),
        },
        Some(url) => {
            // A syncing server writes, so it creates a missing store; a
            // read-only one refuses it, as `list --store` does.
            let opened = if syncing {
                Store::connect(url).await
            } else {
                Store::connect_existing(url).await
            };
            let store = opened.map_err(|e| match e {
                campaign_store::StoreError::Database { .. } => Failure::Fetch(e.to_string()),
                _ => Failure::Usage(e.to_string()),
            })?;
            Backend::Store {
                current: Arc::new(store_aggregate(url, false).await?),
                with_deleted: Arc::new(store_aggregate(url, true).await?),
                store,
            }
        }
    };
    let state = Arc::new(AppState {
        backend,
        inflight: Arc::default(),
        sources: config.sources.clone(),
        signer,
        metrics: metrics.clone(),
        health: Mutex::new(BTreeMap::new()),
        last_sync: Mutex::new(BTreeMap::new()),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::Fetch(format!("cannot read the bound address: {e}")))?;
    let sync = match (&state.backend, syncing) {
        (Backend::Store { store, .. }, true) => Some(tokio::spawn(sync_forever(
            store.clone(),
            config
                .sources
                .iter()
                .map(|s| Arc::clone(&s.source))
                .collect(),
            sync_options(config),
            args.sync_every,
            Arc::clone(&state),
        ))),
        _ => None,
    };
    let mode = match &url {
        Some(_) if syncing => format!(
            "from the store, synced every {}",
            humantime::format_duration(args.sync_every)
        ),
        Some(_) => "from the store (not synced)".to_owned(),
        None => format!("live from {} sources", config.sources.len()),
    };
    eprintln!("campaigns: listening on http://{bound}/ ({mode})");
    let served = axum::serve(listener, router(state, keys, metrics))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    // A sync in progress is dropped: the partition being written rolls
    // back, those already committed stay.
    if let Some(sync) = sync {
        sync.abort();
    }
    drop(setup);
    served.map_err(|e| Failure::Fetch(format!("the server failed: {e}")))?;
    eprintln!("campaigns: stopped");
    Ok(EXIT_OK)
}

/// The API keys `[serve] api_keys_env` names, if it does.
fn api_keys(config: &Config) -> Result<Option<ApiKeys>, Failure> {
    let ServeSettings { api_keys_env, .. } = &config.serve;
    let Some(var) = api_keys_env else {
        return Ok(None);
    };
    let list = secret_var(config, "serve.api_keys_env", var)?;
    ApiKeys::parse(&list).map(Some).ok_or_else(|| {
        Failure::Usage(format!(
            "config error in {}, key `serve.api_keys_env`: {var} holds no key",
            config.file.display()
        ))
    })
}

/// The cursor signer: `[serve] cursor_key_env`'s key, else a random one.
fn cursor_signer(config: &Config) -> Result<CursorSigner, Failure> {
    let Some(var) = &config.serve.cursor_key_env else {
        return Ok(CursorSigner::random());
    };
    let key = secret_var(config, "serve.cursor_key_env", var)?;
    if key.len() < MIN_CURSOR_KEY_LEN {
        return Err(Failure::Usage(format!(
            "config error in {}, key `serve.cursor_key_env`: {var} must hold at least \
             {MIN_CURSOR_KEY_LEN} bytes",
            config.file.display()
        )));
    }
    Ok(CursorSigner::new(key.as_bytes()))
}

/// The value of the variable `var` named by `key`; the message never shows it.
fn secret_var(config: &Config, key: &str, var: &str) -> Result<String, Failure> {
    std::env::var(var).map_err(|_| {
        Failure::Usage(format!(
            "config error in {}, key `{key}`: {var} is not set",
            config.file.display()
        ))
    })
}

/// The sync's options from `[store]`, as `campaigns sync` reads them.
fn sync_options(config: &Config) -> SyncOptions {
    let mut options = SyncOptions::default();
    if let Some(overlap) = config.store.overlap {
        options.overlap = overlap;
    }
    if let Some(every) = config.store.full_refresh_every {
        options.full_refresh_every = every;
    }
    options
}

/// Syncs every source now, then every `every`, until aborted.
async fn sync_forever(
    store: Store,
    sources: Vec<Arc<dyn CampaignSource>>,
    options: SyncOptions,
    every: Duration,
    state: Arc<AppState>,
) {
    loop {
        match store.start_run().await {
            Ok(run) => {
                let reports = futures::future::join_all(
                    sources
                        .iter()
                        .map(|source| store.sync_source(run, Arc::clone(source), &options)),
                )
                .await;
                for report in reports {
                    match report {
                        Ok(report) => {
                            if let Some(error) = &report.error {
                                tracing::warn!(source = %report.source, %error, "sync failed");
                            }
                            state.note_sync(run, &report);
                        }
                        Err(error) => tracing::warn!(%error, "sync failed"),
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot start a sync run"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    eprintln!("campaigns: stopping: finishing the requests in flight");
}

/// The routes and their layers (outermost last).
fn router(state: Arc<AppState>, keys: Option<ApiKeys>, metrics: Metrics) -> Router {
    Router::new()
        .route("/v1/campaigns", get(routes::list_campaigns))
        .route("/v1/campaigns/{id}", get(routes::get_campaign))
        .route("/v1/changes", get(routes::list_changes))
        .route("/v1/sources", get(routes::list_sources))
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .route("/openapi.json", get(routes::openapi))
        // The web page: HTML over the same functions as the JSON routes,
        // behind the same key guard; not in the OpenAPI document, which
        // describes the JSON API.
        .route("/", get(page::campaigns_page))
        .route("/campaigns/{id}", get(page::campaign_page))
        .fallback(routes::fallback)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
        .layer(from_fn_with_state(keys, auth::require_key))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(error::layer_error))
                .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT))
                // One bound for the whole server, whichever route.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    MAX_CONCURRENT_REQUESTS,
                )),
        )
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(limit_request))
        .layer(from_fn(json_errors))
        .layer(from_fn_with_state(metrics, metrics::track))
        .layer(CatchPanicLayer::custom(error::panicked))
}

/// Refuses an oversized URI or header set before any handler reads it.
async fn limit_request(request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::from_status(StatusCode::URI_TOO_LONG).into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::from_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    next.run(request).await
}

/// Gives an error answer that is not ours yet (axum's rejections, a
/// layer's bare status) the API's error shape; the web page's own error
/// pages (HTML) pass.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| {
            let t = t.as_bytes();
            t.starts_with(b"application/json") || t.starts_with(b"text/html")
        });
    if (status.is_client_error() || status.is_server_error()) && !ours {
        return ApiError::from_status(status).into_response();
    }
    response
}
