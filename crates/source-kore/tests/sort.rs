//! The server's sort is checked, not trusted: against the sandbox's sort
//! behaviours (the spec's `sortBy.name` rule enforced, ties in reverse id
//! order, the sort ignored), a walk lists every campaign once, in the
//! unified order (key, then id), across page seams.

mod sandboxed;

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Channel, ErrorKind, Sort, SortField, StaticToken,
};
use campaign_sandbox::{Fault, GeneratedData, Sandbox};
use futures::TryStreamExt;
use source_kore::{KoreConfig, KoreSource, RateLimit};

const VOICE: usize = 173;
const SMS: usize = 61;

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .generated(GeneratedData {
            seed: 11,
            kore_voice: VOICE,
            kore_sms: SMS,
            ..GeneratedData::default()
        })
        // Every 4th campaign starts a run of three with equal keys.
        .kore_ties(4)
        .kore_max_page_size(100)
        .start()
        .await
        .unwrap()
}

fn config(sandbox: &Sandbox) -> KoreConfig {
    let mut c = sandboxed::config(sandbox, "kore");
    c.page_size = 10;
    c
}

fn source(sandbox: &Sandbox) -> Arc<KoreSource> {
    let tokens = Arc::new(StaticToken::new(sandbox.credentials().kore_jwt.clone()));
    Arc::new(KoreSource::new(config(sandbox), tokens).unwrap())
}

fn sorts() -> Vec<Sort> {
    [SortField::Name, SortField::CreatedAt, SortField::UpdatedAt]
        .into_iter()
        .flat_map(|field| [Sort::asc(field), Sort::desc(field)])
        .collect()
}

fn query(sort: Sort) -> CampaignQuery {
    CampaignQuery::builder().sort(sort).build().unwrap()
}

/// Every campaign once, in `query.compare` order; returns the page warnings.
async fn walk_checked(source: &Arc<KoreSource>, query: &CampaignQuery) -> Vec<String> {
    let got: Vec<Campaign> = Arc::clone(source)
        .stream(query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), VOICE + SMS, "{query:?}");
    for pair in got.windows(2) {
        assert!(
            query.compare(&pair[0], &pair[1]).is_lt(),
            "out of order under {:?}: {} then {}",
            query.sort(),
            pair[0].id,
            pair[1].id
        );
    }
    // The warnings travel with the pages (the stream only logs them).
    let mut warnings = Vec::new();
    for part in source.partitions(query) {
        let mut token = None;
        loop {
            let page = part.fetch_page(query, token).await.unwrap();
            warnings.extend(page.warnings.iter().map(ToString::to_string));
            token = page.next;
            if token.is_none() {
                break;
            }
        }
    }
    warnings
}

#[tokio::test]
async fn a_server_that_sorts_and_breaks_ties_by_id_is_trusted() {
    let sandbox = sandbox().await;
    let source = source(&sandbox);
    for sort in sorts() {
        let warnings = walk_checked(&source, &query(sort)).await;
        assert!(warnings.is_empty(), "{sort:?}: {warnings:?}");
    }
}

#[tokio::test]
async fn ties_in_reverse_id_order_are_put_right_across_page_seams() {
    let sandbox = sandbox().await;
    sandbox.kore().inject(Fault::TiesReversed, None);
    let source = source(&sandbox);
    for sort in sorts() {
        // Ties are the server's business: no fallback, no warning.
        let warnings = walk_checked(&source, &query(sort)).await;
        assert!(warnings.is_empty(), "{sort:?}: {warnings:?}");
    }
}

#[tokio::test]
async fn a_server_that_ignores_the_sort_is_sorted_locally_with_a_warning() {
    let sandbox = sandbox().await;
    sandbox.kore().inject(Fault::SortIgnored, None);
    let source = source(&sandbox);
    for sort in sorts() {
        let warnings = walk_checked(&source, &query(sort)).await;
        assert!(
            warnings.iter().any(|w| w.contains("did not sort")),
            "{sort:?}: {warnings:?}"
        );
    }
}

#[tokio::test]
async fn the_sortby_name_rule_is_met_when_the_server_enforces_it() {
    let sandbox = sandbox().await;
    sandbox.kore().inject(Fault::SortNameRequired, None);
    let source = source(&sandbox);
    for sort in sorts() {
        let warnings = walk_checked(&source, &query(sort)).await;
        assert!(warnings.is_empty(), "{sort:?}: {warnings:?}");
    }
    // One refused request taught the source; every later one names `name`.
    let without_name = sandbox
        .kore()
        .requests()
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(r.body.as_deref()?).ok())
        .filter(|body| {
            body["sortBy"]
                .as_object()
                .is_some_and(|sort| !sort.contains_key("name"))
        })
        .count();
    // The two channels' first requests go out together, before either answer.
    assert!((1..=2).contains(&without_name), "{without_name}");
}

/// Broken order found mid-walk (the server starts ignoring the sort after
/// some pages): what was listed stays listed, the rest comes from a local
/// sort, and campaigns that sort before what was already listed are
/// listed late with a warning, never lost.
#[tokio::test]
async fn a_sort_that_breaks_mid_walk_loses_nothing() {
    let sandbox = sandbox().await;
    let source = source(&sandbox);
    let query = CampaignQuery::builder()
        .channel(Channel::Voice)
        .sort(Sort::desc(SortField::CreatedAt))
        .build()
        .unwrap();
    let mut token = None;
    let mut ids = Vec::new();
    let mut warnings = Vec::new();
    for page_number in 0..100 {
        if page_number == 3 {
            sandbox.kore().inject(Fault::SortIgnored, None);
        }
        let page = source.fetch_page(&query, token).await.unwrap();
        ids.extend(page.items.iter().map(|c| c.id.native.clone()));
        warnings.extend(page.warnings.iter().map(ToString::to_string));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no campaign twice");
    assert_eq!(ids.len(), VOICE, "none lost");
    assert!(
        warnings.iter().any(|w| w.contains("did not sort")),
        "{warnings:?}"
    );
}

/// The documented rate-limit message is retried with backoff whatever
/// status carries it, and sources on one account share one quota.
#[tokio::test]
async fn the_rate_limit_message_is_retried_under_any_status() {
    let sandbox = sandbox().await;
    // The message names no wait, so each retry waits Kore's one-minute
    // window, capped at `max_retry_after`: kept short here.
    let mut quick = config(&sandbox);
    quick.http.retry.max_retry_after = Duration::from_millis(50);
    let tokens = Arc::new(StaticToken::new(sandbox.credentials().kore_jwt.clone()));
    let source = Arc::new(KoreSource::new(quick, tokens).unwrap());
    let query = query(Sort::desc(SortField::CreatedAt));
    for status in [200, 400, 403, 500] {
        sandbox.kore().clear_faults();
        sandbox
            .kore()
            .inject(Fault::RateLimitedWithStatus(status), Some(2));
        let page = Arc::clone(&source)
            .fetch_page(
                &query
                    .to_builder()
                    .page_size(10 + status as u32 % 7)
                    .build()
                    .unwrap(),
                None,
            )
            .await;
        assert!(page.is_ok(), "{status}: {page:?}");
    }
    // Without retries left, it is a rate limit, not a bad request.
    let mut once = config(&sandbox);
    once.http.retry.max_retries = 0;
    let tokens = Arc::new(StaticToken::new(sandbox.credentials().kore_jwt.clone()));
    let once = KoreSource::new(once, tokens).unwrap();
    sandbox.kore().clear_faults();
    sandbox
        .kore()
        .inject(Fault::RateLimitedWithStatus(400), Some(1));
    let e = once
        .fetch_page(&query.to_builder().page_size(33).build().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
}

#[tokio::test]
async fn sources_on_one_account_share_one_rate_limit() {
    let sandbox = sandbox().await;
    let tokens = Arc::new(StaticToken::new(sandbox.credentials().kore_jwt.clone()));
    let limited = |name: &str, channel: Channel| {
        let mut c = config(&sandbox);
        c.source_id = name.into();
        c.channels = vec![channel];
        // A burst of 2, then one request a second, for the whole account.
        c.rate_limit = Some(RateLimit {
            per_minute: 60,
            burst: 2,
        });
        Arc::new(KoreSource::new(c, tokens.clone()).unwrap())
    };
    let voice = limited("voice-only", Channel::Voice);
    let sms = limited("sms-only", Channel::Sms);
    let started = tokio::time::Instant::now();
    let query = query(Sort::desc(SortField::CreatedAt));
    let pages =
        futures::future::join_all([&voice, &sms, &voice, &sms].into_iter().enumerate().map(
            |(i, source)| {
                let query = query.to_builder().page_size(20 + i as u32).build().unwrap();
                async move { source.fetch_page(&query, None).await }
            },
        ))
        .await;
    assert!(pages.iter().all(Result::is_ok));
    // Four requests through one quota (burst 2, then 1 a second): two waited.
    assert!(
        started.elapsed() >= Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
}
