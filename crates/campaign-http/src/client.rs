//! The retrying, size-limited, redirect-refusing HTTP client providers share.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use bytes::{Bytes, BytesMut};
use campaign_core::{ErrorKind, RetryBudget, Secret, SourceError, TokenProvider};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::config::HttpConfig;
use crate::limiter::RateLimiter;
use crate::redact::Redactor;
use crate::response::{parse_retry_after, ErrorBodyParser};

/// Error bodies are read only this far: enough for any provider's message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest success body checked for a rate-limit message: an error envelope
/// is far smaller, a listing far larger.
const RATE_LIMIT_BODY_MAX: usize = 1024;

/// One request, described without secrets.
///
/// Its `Debug` shows the method, the description, header names and the URL's
/// scheme, host and port only: header values, the path and the query may
/// carry credentials or ids.
#[derive(Clone)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Full URL. Its query may hold ids; it is never logged or put in errors.
    pub url: Url,
    /// Headers other than credentials (mark secret ones sensitive).
    pub headers: HeaderMap,
    /// A JSON body, sent with `Content-Type: application/json`.
    pub json_body: Option<Bytes>,
    /// What errors and logs call this request, e.g. `GET campaigns (contact center 1)`.
    /// Must not contain credentials or ids that act as credentials.
    pub description: String,
}

impl ApiRequest {
    /// A `GET` of `url` with no headers of its own (credentials come from
    /// the [`Auth`] it is executed with) and no body, called `description`
    /// in errors and logs.
    pub fn get(url: Url, description: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            json_body: None,
            description: description.into(),
        }
    }
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = &self.url;
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let origin = format!("{}://{}{port}", url.scheme(), url.host_str().unwrap_or(""));
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("description", &self.description)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("url", &origin)
            .field(
                "json_body",
                &self
                    .json_body
                    .as_ref()
                    .map(|b| format!("{} bytes", b.len())),
            )
            .finish()
    }
}

/// Builds the credential headers for a token (marked sensitive).
pub type AuthHeaders = dyn Fn(&Secret) -> Result<HeaderMap, SourceError> + Send + Sync;

/// The usual [`AuthHeaders`]: one header `name` holding `prefix` and the
/// token, marked sensitive so no log shows it. A token that is not a valid
/// header value (CR, LF, other control characters) is a configuration error
/// of `source_id` saying `invalid`, with nothing sent.
pub fn token_header(
    source_id: &str,
    name: HeaderName,
    prefix: &'static str,
    invalid: &'static str,
) -> Box<AuthHeaders> {
    let source_id = source_id.to_owned();
    Box::new(move |token: &Secret| {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", token.expose()))
            .map_err(|_| SourceError::config(&source_id, invalid))?;
        value.set_sensitive(true);
        Ok(HeaderMap::from_iter([(name.clone(), value)]))
    })
}

/// How a request is authorized.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// No token (credentials, if any, are in [`ApiRequest::headers`]).
    None,
    /// A token from `tokens`, placed by `headers`; a 401 invalidates it and
    /// retries once with a fresh one.
    Token {
        /// Where the token comes from.
        tokens: &'a dyn TokenProvider,
        /// Puts the token into headers.
        headers: &'a AuthHeaders,
    },
}

impl std::fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Token { tokens, .. } => f
                .debug_struct("Auth::Token")
                .field("tokens", tokens)
                .finish(),
        }
    }
}

/// A provider's HTTP client: retries with exponential backoff and jitter
/// (via `backon`), honours and caps `Retry-After`, shares a retry budget,
/// refuses bodies above a size limit, follows no redirect (so no credential
/// header can reach another host), refreshes the token once on 401, and puts
/// the whole retry loop under one deadline.
#[derive(Debug, Clone)]
pub struct HttpClient {
    source_id: Arc<str>,
    client: reqwest::Client,
    config: HttpConfig,
    budget: Arc<RetryBudget>,
    limiter: Option<Arc<RateLimiter>>,
    parse_error: ErrorBodyParser,
    rate_limit_fallback: Option<RateLimitFallback>,
}

/// What a rate-limited answer without `Retry-After` waits for: the
/// provider's own reset header (seconds) if it has one, else a fixed wait.
#[derive(Debug, Clone)]
struct RateLimitFallback {
    reset_header: Option<HeaderName>,
    default_wait: Duration,
}

impl HttpClient {
    /// A client for source `source_id`, reading error bodies with `parse_error`.
    pub fn new(
        source_id: &str,
        config: HttpConfig,
        parse_error: ErrorBodyParser,
    ) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| {
                SourceError::config(source_id, "could not build the HTTP client")
                    .with_cause(e.without_url())
            })?;
        let budget = config.retry_budget.clone().unwrap_or_default();
        Ok(Self {
            source_id: Arc::from(source_id),
            client,
            config,
            budget,
            limiter: None,
            parse_error,
            rate_limit_fallback: None,
        })
    }

    /// For a rate-limited answer without `Retry-After`: wait the seconds
    /// `reset_header` gives (e.g. Genesys's `inin-ratelimit-reset`), else
    /// `default_wait` (at most [`RetryPolicy::max_retry_after`](crate::RetryPolicy)),
    /// instead of the ordinary backoff. The reset header's wait is capped
    /// like `Retry-After`: above the cap, the request fails at once.
    /// Replaces a [`HttpClient::with_rate_limit_wait`] (the last call wins).
    pub fn with_rate_limit_fallback(
        mut self,
        reset_header: HeaderName,
        default_wait: Duration,
    ) -> Self {
        self.rate_limit_fallback = Some(RateLimitFallback {
            reset_header: Some(reset_header),
            default_wait,
        });
        self
    }

    /// For a rate-limited answer without `Retry-After`: wait `wait` instead
    /// of the ordinary backoff (of milliseconds, which a provider counting
    /// its quota per minute would refuse again at once), at most
    /// [`RetryPolicy::max_retry_after`](crate::RetryPolicy). Replaces a
    /// [`HttpClient::with_rate_limit_fallback`] (the last call wins).
    pub fn with_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.rate_limit_fallback = Some(RateLimitFallback {
            reset_header: None,
            default_wait: wait,
        });
        self
    }

    /// Puts every request of this client (and its clones) under `limiter`.
    pub fn with_rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The source this client serves.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The configuration in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends `request`, retrying as configured, and returns the success body.
    pub async fn execute(
        &self,
        request: &ApiRequest,
        auth: Auth<'_>,
    ) -> Result<Bytes, SourceError> {
        let policy = &self.config.retry;
        let started = Instant::now();
        // Atomics, not Cells: the retry closures borrow these across awaits and
        // the future must stay `Send` for `CampaignSource::fetch_page`.
        let attempts = AtomicUsize::new(0);
        let budget_refused = AtomicBool::new(false);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_max_times(policy.max_retries)
            .with_jitter();
        let attempt = || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(request, auth).await
        };
        let retrying = attempt
            .retry(backoff)
            .when(SourceError::is_retryable)
            .adjust(|error: &SourceError, delay: Option<Duration>| {
                let delay = delay?;
                let delay = match error.retry_after() {
                    Some(wait) if wait > policy.max_retry_after => return None,
                    Some(wait) => wait,
                    None => delay,
                };
                if !self.budget.try_acquire(error.kind() == ErrorKind::Timeout) {
                    budget_refused.store(true, Ordering::Relaxed);
                    return None;
                }
                tracing::debug!(
                    source = %self.source_id,
                    request = %request.description,
                    attempt = attempts.load(Ordering::Relaxed),
                    error = %error.kind(),
                    wait_ms = delay.as_millis() as u64,
                    "{}",
                    crate::events::RETRYING
                );
                Some(delay)
            });
        let outcome = match tokio::time::timeout(policy.deadline, retrying).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SourceError::new(
                ErrorKind::Timeout,
                &*self.source_id,
                format!("gave up at the retry deadline of {:?}", policy.deadline),
            )
            .with_request(&request.description)),
        };
        let tries = attempts.load(Ordering::Relaxed);
        match outcome {
            Ok(body) => {
                self.budget.on_success(tries > 1);
                tracing::debug!(
                    source = %self.source_id,
                    request = %request.description,
                    attempts = tries,
                    bytes = body.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "{}",
                    crate::events::OK
                );
                Ok(body)
            }
            Err(error) => {
                let error = match (tries, budget_refused.load(Ordering::Relaxed)) {
                    (_, true) => {
                        error.with_context(format!("retry budget exhausted after {tries} attempts"))
                    }
                    (1, false) => error,
                    (n, false) => error.with_context(format!("after {n} attempts")),
                };
                tracing::debug!(source = %self.source_id, request = %request.description, error = %error, "failed");
                Err(error)
            }
        }
    }

    /// One attempt, including the single token refresh after a 401.
    async fn attempt(&self, request: &ApiRequest, auth: Auth<'_>) -> Result<Bytes, SourceError> {
        let Auth::Token { tokens, headers } = auth else {
            let response = self.send(request, &HeaderMap::new()).await?;
            return self.read(request, response, &HeaderMap::new(), None).await;
        };
        // A token provider may not know the source's name (the Kore minter
        // names its provider): its errors are this source's.
        let naming = |e: SourceError| name_request(e, request).with_source_id(&*self.source_id);
        let token = tokens.token().await.map_err(naming)?;
        let credentials = headers(&token).map_err(naming)?;
        let response = self.send(request, &credentials).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return self
                .read(request, response, &credentials, Some(&token))
                .await;
        }
        tracing::debug!(source = %self.source_id, request = %request.description, "401: renewing the token once");
        tokens.invalidate(&token).await;
        let fresh = tokens.token().await.map_err(naming)?;
        let credentials = headers(&fresh).map_err(naming)?;
        let response = self.send(request, &credentials).await?;
        self.read(request, response, &credentials, Some(&fresh))
            .await
    }

    /// Sends `request` with the `credentials` headers added.
    async fn send(
        &self,
        request: &ApiRequest,
        credentials: &HeaderMap,
    ) -> Result<reqwest::Response, SourceError> {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone())
            .headers(credentials.clone());
        if let Some(body) = &request.json_body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        builder
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport_error(request, e))
    }

    /// Reads a response: the body of a success, a typed error otherwise.
    /// `credentials` and `token` are what the request carried besides its
    /// own headers; none of them is ever quoted from an error body.
    async fn read(
        &self,
        request: &ApiRequest,
        response: reqwest::Response,
        credentials: &HeaderMap,
        token: Option<&Secret>,
    ) -> Result<Bytes, SourceError> {
        let status = response.status();
        if status.is_success() {
            let body = self
                .read_body(request, response, self.config.max_body_bytes)
                .await?;
            // A provider may answer its rate-limit message with a 2xx; only
            // a body as small as an error envelope is worth asking about.
            if body.len() <= RATE_LIMIT_BODY_MAX {
                if let Some(parsed) = (self.parse_error)(&body).filter(|p| p.rate_limited) {
                    let message = parsed.message.unwrap_or_default();
                    let wait = self.guessed_rate_limit_wait();
                    self.on_rate_limited(wait);
                    let error = self
                        .error(ErrorKind::RateLimited, request, status)
                        .with_context(
                            Redactor::new(&request.url, [&request.headers, credentials], token)
                                .quote(&message),
                        );
                    return Err(match wait {
                        Some(wait) => error.with_retry_after(wait),
                        None => error,
                    });
                }
            }
            return Ok(body);
        }
        if status.is_redirection() {
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| request.url.join(l).ok())
                .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?")))
                .unwrap_or_else(|| "an unknown location".into());
            return Err(self
                .error(ErrorKind::Transport, request, status)
                .with_context(format!(
                    "refused to follow a redirect to {target}; credentials are never forwarded"
                )));
        }
        let header_wait = |name: &HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()))
        };
        let retry_after = header_wait(&RETRY_AFTER);
        // Read now: the body read below consumes the response.
        // The server's own reset is capped like `Retry-After` (above the
        // cap, the request fails at once); without one, the guess.
        let fallback_wait = self
            .rate_limit_fallback
            .as_ref()
            .and_then(|f| f.reset_header.as_ref())
            .and_then(header_wait)
            .or_else(|| self.guessed_rate_limit_wait());
        let body = self
            .read_body(request, response, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        let parsed = (self.parse_error)(&body);
        let kind = match &parsed {
            // The documented rate-limit message, under whatever status.
            Some(p) if p.rate_limited => ErrorKind::RateLimited,
            _ => ErrorKind::from_status(status.as_u16()),
        };
        let mut error = self.error(kind, request, status);
        // An error body may echo the request, credentials included.
        let redactor = || Redactor::new(&request.url, [&request.headers, credentials], token);
        match parsed {
            Some(parsed) => {
                let redactor = redactor();
                if let Some(code) = parsed.code {
                    error = error.with_code(redactor.quote(&code));
                }
                if let Some(message) = parsed.message {
                    error = error.with_context(redactor.quote(&message));
                }
            }
            None if !body.is_empty() => {
                let quoted = redactor().quote(&String::from_utf8_lossy(&body));
                error = error.with_context(format!("body starts: {quoted:?}"));
            }
            None => {}
        }
        let retry_after = match retry_after {
            None if kind == ErrorKind::RateLimited => fallback_wait,
            given => given,
        };
        if kind == ErrorKind::RateLimited {
            self.on_rate_limited(retry_after);
        }
        if let Some(wait) = retry_after {
            error = error.with_retry_after(wait);
        }
        Err(error)
    }

    /// What a rate-limited answer that names no wait waits, if this client
    /// was given one: only a guess, so at most the cap (where a
    /// `Retry-After` above it fails the request at once).
    fn guessed_rate_limit_wait(&self) -> Option<Duration> {
        self.rate_limit_fallback
            .as_ref()
            .map(|f| f.default_wait.min(self.config.retry.max_retry_after))
    }

    /// Slows the client-side limiter down after the provider said "too many".
    fn on_rate_limited(&self, retry_after: Option<Duration>) {
        if let Some(limiter) = &self.limiter {
            // A wait above the cap fails this request at once (see
            // `execute`), so other requests wait only the cap, then try.
            let cap = self.config.retry.max_retry_after;
            limiter.on_rate_limited(retry_after.map(|wait| wait.min(cap)));
        }
    }

    async fn read_body(
        &self,
        request: &ApiRequest,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Bytes, SourceError> {
        let status = response.status().as_u16();
        let too_large = || {
            SourceError::new(
                ErrorKind::Decode,
                &*self.source_id,
                format!("response body exceeds the limit of {limit} bytes; refused"),
            )
            .with_request(&request.description)
            .with_status(status)
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // The announced length is within the limit (checked above), so the
        // body is read into one buffer instead of one that keeps doubling.
        let announced = response.content_length().map_or(0, |n| n as usize);
        let mut body = BytesMut::with_capacity(announced);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(request, e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn error(&self, kind: ErrorKind, request: &ApiRequest, status: StatusCode) -> SourceError {
        let reason = status.canonical_reason().unwrap_or("unexpected status");
        SourceError::new(kind, &*self.source_id, reason)
            .with_status(status.as_u16())
            .with_request(&request.description)
    }

    fn transport_error(&self, request: &ApiRequest, error: reqwest::Error) -> SourceError {
        let (kind, what) = if error.is_timeout() {
            (ErrorKind::Timeout, "no complete answer within the timeout")
        } else if error.is_connect() {
            (ErrorKind::Transport, "could not connect")
        } else if error.is_body() || error.is_decode() {
            (
                ErrorKind::Transport,
                "the connection failed while reading the body",
            )
        } else {
            (ErrorKind::Transport, "the request failed")
        };
        // Never quote the URL: its query may carry an account id.
        SourceError::new(kind, &*self.source_id, what)
            .with_request(&request.description)
            .with_cause(error.without_url())
    }
}

/// `error` naming `request` when it names none yet (token and credential
/// errors are built before any request exists).
fn name_request(error: SourceError, request: &ApiRequest) -> SourceError {
    match error.request() {
        Some(_) => error,
        None => error.with_request(&request.description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// `CampaignSource::fetch_page` futures must be `Send`, so this one must be.
    #[test]
    fn execute_returns_a_send_future() {
        fn no_body(_: &[u8]) -> Option<crate::ProviderError> {
            None
        }
        let client = HttpClient::new("s", crate::HttpConfig::default(), no_body).unwrap();
        let request = ApiRequest {
            method: reqwest::Method::GET,
            url: url::Url::parse("http://127.0.0.1:9/").unwrap(),
            headers: HeaderMap::new(),
            json_body: None,
            description: "GET /".into(),
        };
        let future = client.execute(&request, Auth::None);
        assert_send(&future);
    }
}
