//! A run of equal names spanning many pages: every campaign listed once, in
//! order, each page read once, and a walk resumed in the middle of the run
//! (by another source, as after a restart) lists the rest exactly.

mod common;

use campaign_core::{Campaign, CampaignQuery, CampaignSource, Sort, SortField};
use campaign_sandbox::Sandbox;
use common::{all, generated, listing_queries, page_number, source};

const CAMPAIGNS: usize = 900;
const PAGE: u32 = 10;

/// A sandbox whose campaigns all have one name: a run of 90 pages of 10.
async fn tied() -> Sandbox {
    let sandbox = generated(CAMPAIGNS).start().await.unwrap();
    let mut campaigns = all(&source(&sandbox, 100), &CampaignQuery::all())
        .await
        .unwrap();
    for c in &mut campaigns {
        c.name = "Renewals".to_owned();
    }
    assert_eq!(
        sandbox.genesys().load_campaigns(&campaigns).len(),
        CAMPAIGNS
    );
    sandbox
}

fn by_name() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap()
}

fn assert_listed_once_in_order(query: &CampaignQuery, got: &[Campaign]) {
    assert_eq!(got.len(), CAMPAIGNS);
    for pair in got.windows(2) {
        assert!(
            query.compare(&pair[0], &pair[1]).is_lt(),
            "{} then {}",
            pair[0].id,
            pair[1].id
        );
    }
}

#[tokio::test]
async fn a_tie_across_ninety_pages_is_listed_whole_reading_each_page_once() {
    let sandbox = tied().await;
    sandbox.genesys().clear_requests();
    let query = by_name();
    let got = all(&source(&sandbox, PAGE), &query).await.unwrap();
    assert_listed_once_in_order(&query, &got);
    let listing = listing_queries(&sandbox);
    let mut pages: Vec<u64> = listing
        .iter()
        .filter(|q| q.contains(&format!("pageSize={PAGE}")))
        .filter_map(|q| page_number(q))
        .collect();
    let read = pages.len();
    pages.sort_unstable();
    pages.dedup();
    assert_eq!(pages.len(), CAMPAIGNS / PAGE as usize);
    assert_eq!(read, pages.len(), "pages read again: {listing:?}");
}

#[tokio::test]
async fn a_walk_resumed_inside_the_tie_by_another_source_lists_the_rest() {
    let sandbox = tied().await;
    let query = by_name();
    let first = source(&sandbox, PAGE);
    let mut got = Vec::new();
    let mut token = None;
    // Well inside the run: nothing of it was listed yet.
    for _ in 0..70 {
        let page = first.fetch_page(&query, token).await.unwrap();
        got.extend(page.items);
        token = page.next;
    }
    assert!(got.is_empty(), "a page inside the run listed {}", got.len());
    let restarted = source(&sandbox, PAGE);
    while let Some(at) = token {
        let page = restarted.fetch_page(&query, Some(at)).await.unwrap();
        got.extend(page.items);
        token = page.next;
    }
    assert_listed_once_in_order(&query, &got);
}
