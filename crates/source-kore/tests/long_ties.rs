//! A run of equal sort keys spanning many pages: every campaign listed once,
//! in order, each page read once, and a walk resumed in the middle of the run
//! (by another source, as after a restart) lists the rest exactly.

mod sandboxed;

use std::sync::Arc;

use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Channel, Sort, SortField, StaticToken,
};
use campaign_sandbox::{GeneratedData, Sandbox};
use campaign_testkit::{assert_listed_once_in_order, fetch_pages};
use futures::TryStreamExt;
use serde_json::Value;
use source_kore::{KoreConfig, KoreSource};

const CAMPAIGNS: usize = 900;
const PAGE: u32 = 10;

/// A sandbox whose voice campaigns all share one `updatedAt`: a run of 90
/// pages of 10.
async fn tied() -> (Sandbox, Vec<Campaign>) {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 3,
            kore_voice: CAMPAIGNS,
            kore_sms: 0,
            ..GeneratedData::default()
        })
        .start()
        .await
        .unwrap();
    let all: Vec<Campaign> = source(&sandbox)
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    let at = all[0].updated_at;
    let tied: Vec<Campaign> = all
        .into_iter()
        .map(|mut c| {
            c.updated_at = at;
            c
        })
        .collect();
    let loaded = sandbox.kore().load_campaigns(&tied);
    assert_eq!(loaded.len(), CAMPAIGNS);
    (sandbox, tied)
}

fn config(sandbox: &Sandbox) -> KoreConfig {
    let mut config = sandboxed::config(sandbox, "kore");
    config.page_size = PAGE;
    config.channels = vec![Channel::Voice];
    config
}

fn source(sandbox: &Sandbox) -> Arc<KoreSource> {
    let tokens = Arc::new(StaticToken::new(sandbox.credentials().kore_jwt.clone()));
    Arc::new(KoreSource::new(config(sandbox), tokens).unwrap())
}

fn newest_first() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::desc(SortField::UpdatedAt))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_tie_across_ninety_pages_is_listed_whole_reading_each_page_once() {
    let (sandbox, _) = tied().await;
    sandbox.kore().clear_requests();
    let query = newest_first();
    let got: Vec<Campaign> = source(&sandbox).stream(&query).try_collect().await.unwrap();
    assert_listed_once_in_order(&query, &got, CAMPAIGNS);
    let (mut pages, mut checks) = (Vec::new(), 0);
    for request in sandbox.kore().requests() {
        let body: Value = serde_json::from_str(request.body.as_deref().unwrap_or("{}")).unwrap();
        match body["limit"].as_u64() {
            Some(1) => checks += 1,
            _ => pages.push(body["skip"].as_u64().unwrap()),
        }
    }
    let read = pages.len();
    pages.sort_unstable();
    pages.dedup();
    assert_eq!(pages.len(), CAMPAIGNS / PAGE as usize);
    assert_eq!((read, checks), (pages.len(), 1), "pages read again");
}

#[tokio::test]
async fn a_walk_resumed_inside_the_tie_by_another_source_lists_the_rest() {
    let (sandbox, _) = tied().await;
    let query = newest_first();
    // Well inside the run: nothing of it was listed yet.
    let (listed, token) = fetch_pages(&*source(&sandbox), &query, None, Some(70)).await;
    assert!(
        listed.is_empty(),
        "a page inside the run listed {}",
        listed.len()
    );
    assert!(token.is_some(), "the walk ended inside the run");
    let (rest, _) = fetch_pages(&*source(&sandbox), &query, token, None).await;
    assert_listed_once_in_order(&query, &rest, CAMPAIGNS);
}

/// The listing requests of the sandbox since the last call: (pages, checks).
fn requests(sandbox: &Sandbox) -> (usize, usize) {
    let requests = sandbox.kore().requests();
    sandbox.kore().clear_requests();
    let checks = requests
        .iter()
        .filter(|r| {
            r.body
                .as_deref()
                .is_some_and(|b| b.contains("\"limit\":1,"))
        })
        .count();
    (requests.len() - checks, checks)
}

#[tokio::test]
async fn a_tie_older_than_the_range_ends_the_walk_at_its_first_page() {
    let (sandbox, tied) = tied().await;
    let at = tied[0].updated_at.unwrap();
    sandbox.kore().clear_requests();
    // Newest first from just after the tie: its first page is older than
    // the range, so nothing after it can match and no run is held back.
    let after = CampaignQuery::builder()
        .sort(Sort::desc(SortField::UpdatedAt))
        .updated_from(at + chrono::TimeDelta::milliseconds(1))
        .build()
        .unwrap();
    let got: Vec<Campaign> = source(&sandbox).stream(&after).try_collect().await.unwrap();
    assert!(got.is_empty());
    assert_eq!(requests(&sandbox), (1, 1), "the first page and the check");
    // A caller that verified the sort spares the check.
    let verified = after.to_builder().sort_verified(true).build().unwrap();
    let got: Vec<Campaign> = source(&sandbox)
        .stream(&verified)
        .try_collect()
        .await
        .unwrap();
    assert!(got.is_empty());
    assert_eq!(requests(&sandbox), (1, 0));
    // From the tie's own instant the whole run matches and is listed.
    let from = after.to_builder().updated_from(at).build().unwrap();
    let got: Vec<Campaign> = source(&sandbox).stream(&from).try_collect().await.unwrap();
    assert_listed_once_in_order(&from, &got, CAMPAIGNS);
    assert_eq!(requests(&sandbox), (CAMPAIGNS / PAGE as usize, 1));
}
