//! The server's name sort is checked, not trusted: against the sandbox's
//! sort behaviours (ties in reverse id order, the sort ignored), a walk
//! lists every campaign once, in the unified order (key, then id), across
//! page seams; sorts the server is not asked for are done locally.

mod common;

use std::collections::HashSet;

use campaign_core::{Campaign, CampaignQuery, Sort, SortField, Status};
use campaign_sandbox::{Fault, Sandbox};
use common::{generated, source, walk};

const COUNT: usize = 173;

async fn sandbox() -> Sandbox {
    // Every 4th campaign starts a run of three with equal keys.
    generated(COUNT).genesys_ties(4).start().await.unwrap()
}

fn query(sort: Sort) -> CampaignQuery {
    CampaignQuery::builder().sort(sort).build().unwrap()
}

fn sorts() -> Vec<Sort> {
    SortField::ALL
        .into_iter()
        .flat_map(|field| [Sort::asc(field), Sort::desc(field)])
        .collect()
}

/// Every campaign once, in `query.compare` order; returns the warnings.
async fn walk_checked(
    source: &std::sync::Arc<source_genesys::GenesysSource>,
    query: &CampaignQuery,
    expected: usize,
) -> Vec<campaign_core::Warning> {
    let (campaigns, warnings, error) = walk(source, query).await;
    assert!(error.is_none(), "{query:?}: {error:?}");
    let ids: HashSet<_> = campaigns.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        (campaigns.len(), ids.len()),
        (expected, expected),
        "{query:?}"
    );
    if let Some(w) = campaigns
        .windows(2)
        .find(|w: &&[Campaign]| query.compare(&w[0], &w[1]).is_gt())
    {
        panic!(
            "{query:?}: {} ({}) before {} ({})",
            w[0].id, w[0].name, w[1].id, w[1].name
        );
    }
    warnings
}

#[tokio::test]
async fn every_sort_lists_every_campaign_once_in_order() {
    let sandbox = sandbox().await;
    let source = source(&sandbox, 10);
    for sort in sorts() {
        let warnings = walk_checked(&source, &query(sort), COUNT).await;
        assert!(
            warnings.iter().all(|w| !w.sorted_locally),
            "{sort}: {warnings:?}"
        );
    }
    // Filters run locally, after the sort.
    let active = CampaignQuery::builder()
        .status(Status::Active)
        .sort(Sort::desc(SortField::Name))
        .build()
        .unwrap();
    let (campaigns, _, _) = walk(&source, &active).await;
    assert!(!campaigns.is_empty() && campaigns.len() < COUNT);
    walk_checked(&source, &active, campaigns.len()).await;
}

#[tokio::test]
async fn ties_in_reverse_id_order_are_listed_in_id_order_across_pages() {
    let sandbox = sandbox().await;
    sandbox.genesys().inject(Fault::TiesReversed, None);
    for size in [3, 10] {
        let source = source(&sandbox, size);
        for sort in [Sort::asc(SortField::Name), Sort::desc(SortField::Name)] {
            let warnings = walk_checked(&source, &query(sort), COUNT).await;
            assert!(
                warnings.iter().all(|w| !w.sorted_locally),
                "{sort}: {warnings:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_ignored_sort_is_caught_and_done_locally() {
    let sandbox = sandbox().await;
    sandbox.genesys().inject(Fault::SortIgnored, None);
    let source = source(&sandbox, 10);
    for sort in [Sort::asc(SortField::Name), Sort::desc(SortField::Name)] {
        let warnings = walk_checked(&source, &query(sort), COUNT).await;
        let local: Vec<_> = warnings.iter().filter(|w| w.sorted_locally).collect();
        assert_eq!(local.len(), 1, "{sort}: {warnings:?}");
        assert!(
            local[0].message.contains("did not sort by name"),
            "{}",
            local[0]
        );
    }
}

#[tokio::test]
async fn an_ignored_sort_is_caught_even_when_the_first_page_looks_sorted() {
    // The samples' storage order: a one-campaign first page is always
    // "sorted"; the reversed probe shows the server ignores the sort.
    let sandbox = Sandbox::start_default().await.unwrap();
    sandbox.genesys().inject(Fault::SortIgnored, None);
    let source = source(&sandbox, 1);
    let warnings = walk_checked(&source, &query(Sort::asc(SortField::Name)), 7).await;
    assert!(warnings.iter().any(|w| w.sorted_locally), "{warnings:?}");
    assert!(
        warnings.iter().all(|w| !w.message.contains("listed late")),
        "{warnings:?}"
    );
}
