//! What the fault matrix found wrong in `source-genesys`, one test each,
//! kept so the fixes stay: page drift past the first page's `pageCount`, and
//! a 429 that gives only `inin-ratelimit-reset`.

use std::collections::HashSet;
use std::time::Duration;

use campaign_core::{CampaignId, CampaignQuery, Sort, SortField};
use campaign_e2e::{Rig, RigOptions, GENESYS};
use campaign_sandbox::Fault;

async fn rig(campaigns: usize) -> Rig {
    Rig::start(RigOptions {
        genesys_campaigns: Some(campaigns),
        ..RigOptions::default()
    })
    .await
    .unwrap()
}

/// Campaigns created while a listing runs (`Fault::PageDrift`: after each
/// request a new campaign that sorts first by name and is the newest) shift
/// the listing's later pages by one per request. Every campaign that
/// existed before must still arrive, or a failure must say the listing is
/// incomplete. Newest first, the source reads the listing whole (pages 2 to
/// the first page's `pageCount`, prefetched) and stops there although the
/// later pages report a larger `pageCount` and a `nextUri`: the campaigns
/// pushed past it are dropped without a failure or warning. By name, the
/// walk warns that `total` changed, falls back to that same whole read,
/// and also loses campaigns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_drift_loses_no_campaign_without_a_report() {
    let rig = rig(27).await;
    let by_name = rig
        .query
        .to_builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let mut report = Vec::new();
    for (label, query) in [("newest first", rig.query.clone()), ("by name", by_name)] {
        let before = genesys_ids(&rig, &query).await;
        rig.sandbox.genesys().inject(Fault::PageDrift, None);
        rig.sandbox.genesys().clear_requests();
        let listing = rig.list_events_with(&query).await;
        rig.sandbox.genesys().clear_faults();
        let pages: Vec<String> = rig
            .sandbox
            .genesys()
            .requests()
            .iter()
            .filter_map(|r| r.query.clone())
            .filter(|q| q.starts_with("pageSize=5&"))
            .filter_map(|q| q.split('&').nth(1).map(str::to_owned))
            .collect();
        let got: HashSet<CampaignId> = listing.of_source(GENESYS).into_iter().collect();
        let lost: Vec<&CampaignId> = before.iter().filter(|id| !got.contains(*id)).collect();
        let failures = listing.failures_of(GENESYS).len();
        let warnings: Vec<&str> = listing
            .warnings
            .iter()
            .filter(|w| w.source == GENESYS)
            .map(|w| w.message.as_str())
            .collect();
        println!(
            "{label}: {} of {} earlier campaigns lost, {failures} failure(s), warnings: \
             {warnings:?}, pages read: {pages:?}",
            lost.len(),
            before.len()
        );
        if !lost.is_empty() && failures == 0 {
            report.push(format!("{label}: {} lost without a failure", lost.len()));
        }
    }
    assert!(report.is_empty(), "{}", report.join("; "));
}

async fn genesys_ids(rig: &Rig, query: &CampaignQuery) -> Vec<CampaignId> {
    let listing = rig.list_events_with(query).await;
    assert!(listing.failures.is_empty(), "{:?}", listing.failures);
    listing.of_source(GENESYS)
}

/// A 429 that carries no `Retry-After` but `inin-ratelimit-reset: N` should
/// be retried after those N seconds (`genesys-outbound-campaigns.md` §5.3:
/// "If the header is missing, fall back to `inin-ratelimit-reset`, then to
/// about 3 s"). The source reads only `Retry-After` and retries after its
/// backoff, so against a server still inside its window the retries are
/// spent at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_only_inin_ratelimit_reset_is_retried_after_the_reset() {
    let rig = rig(10).await;
    rig.sandbox
        .genesys()
        .inject(Fault::RateLimitedResetHeader(1), Some(1));
    let listing = rig.list_events().await;
    assert!(listing.failures.is_empty(), "{:?}", listing.failures);

    let requests: Vec<_> = rig
        .sandbox
        .genesys()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v2/outbound/campaigns")
        .collect();
    let limited = &requests[0];
    let retry = requests[1..]
        .iter()
        .find(|r| r.query == limited.query)
        .expect("the rate-limited request is sent again");
    let waited = retry.at.duration_since(limited.at).unwrap_or_default();
    assert!(
        waited >= Duration::from_secs(1),
        "retried {} ms after a 429 with inin-ratelimit-reset: 1",
        waited.as_millis()
    );
}
