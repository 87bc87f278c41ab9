//! Tokens, rate limits, error bodies and malformed records against the
//! sandbox's Genesys emulator.

mod common;

use std::time::{Duration, Instant};

use campaign_core::{CampaignQuery, CampaignSource, ErrorKind, Secret};
use campaign_sandbox::{Fault, RetryAfter, Sandbox};
use common::{all, config, generated, listing_queries, source, source_with, token_requests, walk};
use source_genesys::{GenesysCredentials, GenesysSource};

fn secrets(sandbox: &Sandbox) -> [String; 2] {
    let creds = sandbox.credentials();
    [
        creds.genesys_client_secret.expose().to_owned(),
        creds.genesys_token.expose().to_owned(),
    ]
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_after_the_401() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox, 3);
    assert_eq!(all(&source, &CampaignQuery::all()).await.unwrap().len(), 7);
    assert_eq!(token_requests(&sandbox), 1);
    sandbox.genesys().expire_tokens();
    assert_eq!(all(&source, &CampaignQuery::all()).await.unwrap().len(), 7);
    assert_eq!(
        token_requests(&sandbox),
        2,
        "one renewal for the whole walk"
    );
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let sandbox = Sandbox::builder()
        .genesys_token_lifetime(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let source = source(&sandbox, 100);
    all(&source, &CampaignQuery::all()).await.unwrap();
    all(&source, &CampaignQuery::all()).await.unwrap();
    assert_eq!(token_requests(&sandbox), 1, "reused while fresh");
    // Reused for half its lifetime at most, so renewed before it lapses.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    sandbox.genesys().clear_requests();
    all(&source, &CampaignQuery::all()).await.unwrap();
    assert_eq!(token_requests(&sandbox), 1);
    assert_eq!(listing_queries(&sandbox).len(), 1, "no 401 and retry");
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized_and_never_quoted() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let creds = sandbox.credentials();
    let wrong = GenesysCredentials::client_credentials(
        creds.genesys_client_id.clone(),
        Secret::new("not-the-secret-123"),
    );
    let bad = std::sync::Arc::new(GenesysSource::new(config(&sandbox, "genesys"), wrong).unwrap());
    let error = all(&bad, &CampaignQuery::all()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized, "{error}");
    assert_eq!(error.code(), Some("invalid_client"));
    assert!(error.request().unwrap().contains("oauth/token"), "{error}");
    let shown = format!("{error} {error:?} {bad:?}");
    assert!(!shown.contains("not-the-secret-123"), "{shown}");
    // A ready token that lapsed cannot be renewed.
    let token = GenesysCredentials::Token(creds.genesys_token.clone());
    let ready =
        std::sync::Arc::new(GenesysSource::new(config(&sandbox, "genesys"), token).unwrap());
    assert_eq!(all(&ready, &CampaignQuery::all()).await.unwrap().len(), 7);
    sandbox.genesys().expire_tokens();
    let error = all(&ready, &CampaignQuery::all()).await.unwrap_err();
    assert_eq!(
        (error.kind(), error.code()),
        (ErrorKind::Unauthorized, Some("bad.credentials"))
    );
    let shown = format!("{error} {error:?} {ready:?}");
    for secret in secrets(&sandbox) {
        assert!(!shown.contains(&secret), "{shown}");
    }
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let sandbox = generated(30).start().await.unwrap();
    let source = source(&sandbox, 10);
    sandbox
        .genesys()
        .inject(Fault::RateLimited(RetryAfter::Seconds(1)), Some(1));
    let started = Instant::now();
    assert_eq!(all(&source, &CampaignQuery::all()).await.unwrap().len(), 30);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Without Retry-After (only inin-ratelimit-reset): retried with backoff.
    sandbox
        .genesys()
        .inject(Fault::RateLimitedResetHeader(1), Some(1));
    assert_eq!(all(&source, &CampaignQuery::all()).await.unwrap().len(), 30);
    // A wait beyond the longest honoured fails at once, saying how long.
    sandbox
        .genesys()
        .inject(Fault::RateLimited(RetryAfter::Seconds(120)), None);
    let started = Instant::now();
    let error = all(&source, &CampaignQuery::all()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.code(), Some("too.many.requests"));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
}

#[tokio::test]
async fn the_emulators_own_rate_limit_is_met_by_the_client_side_quota() {
    let sandbox = generated(50)
        .genesys_rate_limit(1000)
        .start()
        .await
        .unwrap();
    let mut c = config(&sandbox, "genesys").with_page_size(5);
    c.rate_limit = Some(600);
    let source = source_with(&sandbox, c);
    let started = Instant::now();
    assert_eq!(all(&source, &CampaignQuery::all()).await.unwrap().len(), 50);
    // 10 requests: a burst of 600 a minute lets them all through at once.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn error_bodies_become_typed_errors() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let mut c = config(&sandbox, "genesys-errors");
    c.http.retry.max_retries = 1;
    let source = source_with(&sandbox, c);
    for (status, kind, code) in [
        (403, ErrorKind::Forbidden, "missing.any.permissions"),
        (404, ErrorKind::NotFound, "not.found"),
        (400, ErrorKind::BadRequest, "bad.request"),
        (500, ErrorKind::Server, "internal.server.error"),
        (503, ErrorKind::Server, "service.unavailable"),
    ] {
        sandbox.genesys().inject(Fault::Status(status), None);
        let error = all(&source, &CampaignQuery::all()).await.unwrap_err();
        sandbox.genesys().clear_faults();
        assert_eq!(
            (error.kind(), error.status(), error.code()),
            (kind, Some(status), Some(code))
        );
        assert_eq!(error.source_id(), "genesys-errors");
        assert!(
            error
                .request()
                .unwrap()
                .starts_with("GET outbound/campaigns"),
            "{error}"
        );
        let text = error.to_string();
        assert!(
            text.contains("Injected failure") && text.contains("contextId"),
            "{text}"
        );
    }
    sandbox.genesys().inject(Fault::HtmlError, None);
    let error = all(&source, &CampaignQuery::all()).await.unwrap_err();
    assert_eq!(
        (error.kind(), error.status()),
        (ErrorKind::Server, Some(502))
    );
    sandbox.genesys().clear_faults();
    // The real 403 of a client without the view permission anywhere.
    let denied = Sandbox::builder()
        .genesys_divisions(Vec::<String>::new())
        .start()
        .await
        .unwrap();
    let error = all(
        &source_with(&denied, config(&denied, "g")),
        &CampaignQuery::all(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (error.kind(), error.code()),
        (ErrorKind::Forbidden, Some("missing.any.permissions"))
    );
    // Messages are quoted short (120 characters) by the HTTP client.
    assert!(
        error.to_string().contains("permissions assigned"),
        "{error}"
    );
}

#[tokio::test]
async fn malformed_records_are_skipped_and_reported_or_fail_strictly() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let lenient = source(&sandbox, 100);
    for fault in [Fault::WrongFieldType, Fault::BadOptionalField] {
        sandbox.genesys().inject(fault.clone(), Some(1));
        let (campaigns, warnings, error) = walk(&lenient, &CampaignQuery::all()).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(campaigns.len(), 6, "{fault:?}");
        let skipped: Vec<_> = warnings.iter().filter(|w| w.skipped.is_some()).collect();
        assert_eq!(skipped.len(), 1, "{warnings:?}");
        let skip = skipped[0].skipped.as_ref().unwrap();
        assert_eq!(skip.index, 0);
        assert!(skip.id.is_some());
        assert!(skipped[0]
            .request
            .as_deref()
            .unwrap()
            .contains("pageNumber 1"));
        assert!(skipped[0].message.contains("entities[0]"), "{}", skipped[0]);
    }
    let mut c = config(&sandbox, "genesys");
    c.strict = true;
    let strict = source_with(&sandbox, c);
    sandbox.genesys().inject(Fault::WrongFieldType, Some(1));
    let error = all(&strict, &CampaignQuery::all()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("record 0"), "{error}");
    // Empty arrays left out (§4.4) decode the same.
    sandbox.genesys().inject(Fault::OmitEmptyArrays, Some(1));
    let (campaigns, warnings, error) = walk(&lenient, &CampaignQuery::all()).await;
    assert!(
        error.is_none() && warnings.is_empty(),
        "{error:?} {warnings:?}"
    );
    assert_eq!(campaigns.len(), 7);
    // A truncated body fails the page (after retries) as a decode error.
    sandbox.genesys().inject(Fault::TruncatedJson, None);
    let error = all(&lenient, &CampaignQuery::all()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox, 100);
    all(&source, &CampaignQuery::all()).await.unwrap();
    let shown = format!("{source:?} {:?}", common::client_credentials(&sandbox));
    for secret in secrets(&sandbox) {
        assert!(!shown.contains(&secret), "{shown}");
    }
    assert!(
        !shown.contains(&sandbox.credentials().genesys_client_id),
        "{shown}"
    );
    assert_eq!(source.provider(), "genesys");
}
