//! A run of equal names spanning many pages, sorted by name (locally, over
//! the listing read whole): every campaign listed once, in order, each
//! server page read once, and a walk resumed in the middle of the run (by
//! another source, as after a restart) lists the rest exactly.

mod common;

use campaign_core::{CampaignQuery, Sort, SortField};
use campaign_sandbox::Sandbox;
use campaign_testkit::{assert_listed_once_in_order, fetch_pages};
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

#[tokio::test]
async fn a_tie_across_ninety_pages_is_listed_whole_reading_each_page_once() {
    let sandbox = tied().await;
    sandbox.genesys().clear_requests();
    let query = by_name();
    let got = all(&source(&sandbox, PAGE), &query).await.unwrap();
    assert_listed_once_in_order(&query, &got, CAMPAIGNS);
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
    // Well inside the run.
    let (listed, token) = fetch_pages(&*source(&sandbox, PAGE), &query, None, Some(70)).await;
    assert_eq!(listed.len(), 70 * PAGE as usize);
    assert!(token.is_some(), "the walk ended inside the run");
    let (rest, _) = fetch_pages(&*source(&sandbox, PAGE), &query, token, None).await;
    let whole: Vec<_> = listed.into_iter().chain(rest).collect();
    assert_listed_once_in_order(&query, &whole, CAMPAIGNS);
}

/// A listing read whole asks the server for the source's page size (100
/// unless configured), not the listing's own: pages of 5 out cost no more
/// requests than pages of 100.
#[tokio::test]
async fn a_listing_read_whole_asks_for_the_sources_page_size() {
    let sandbox = generated(250).start().await.unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(5)
        .build()
        .unwrap();
    sandbox.genesys().clear_requests();
    let got = all(&source(&sandbox, 100), &query).await.unwrap();
    assert_listed_once_in_order(&query, &got, 250);
    let listing = listing_queries(&sandbox);
    assert!(
        listing.iter().all(|q| q.contains("pageSize=100")),
        "{listing:?}"
    );
    let mut pages: Vec<u64> = listing.iter().filter_map(|q| page_number(q)).collect();
    pages.sort_unstable();
    pages.dedup();
    assert_eq!(pages, [1, 2, 3], "{listing:?}");
}
