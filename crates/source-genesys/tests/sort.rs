//! Every sort runs locally over the listing read whole: against the
//! sandbox's sort behaviours (ties in reverse id order, the sort ignored,
//! names ordered case-insensitively), a walk lists every campaign once, in
//! the unified order (key, then id), with nothing to warn about.

mod common;

use std::collections::HashSet;

use campaign_core::{Campaign, CampaignId, CampaignQuery, Channel, Sort, SortField, Status};
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
async fn an_ignored_sort_changes_nothing() {
    let sandbox = sandbox().await;
    sandbox.genesys().inject(Fault::SortIgnored, None);
    let source = source(&sandbox, 10);
    for sort in sorts() {
        let warnings = walk_checked(&source, &query(sort), COUNT).await;
        assert!(warnings.is_empty(), "{sort}: {warnings:?}");
    }
    let (campaigns, warnings, error) = walk(&source, &CampaignQuery::all()).await;
    let ids: HashSet<_> = campaigns.iter().map(|c| c.id.clone()).collect();
    assert!(
        error.is_none() && warnings.is_empty(),
        "{error:?} {warnings:?}"
    );
    assert_eq!((campaigns.len(), ids.len()), (COUNT, COUNT));
}

#[tokio::test]
async fn names_a_server_orders_case_insensitively_come_in_byte_order() {
    // The server's first page (`alpha`, `bravo`) looks sorted byte by byte;
    // `Charlie` and `Echo`, which sort before both, come on later pages.
    let sandbox = Sandbox::builder()
        .genesys_name_order_case_insensitive(true)
        .start()
        .await
        .unwrap();
    let names = ["alpha", "bravo", "Charlie", "delta", "Echo", "foxtrot"];
    let campaigns: Vec<Campaign> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut c = Campaign::new(
                CampaignId::new("genesys", format!("c-{i}")),
                "genesys",
                *name,
                Channel::Voice,
            );
            c.created_at = Some("2026-01-05T10:00:00Z".parse().unwrap());
            c
        })
        .collect();
    assert_eq!(sandbox.genesys().load_campaigns(&campaigns).len(), 6);
    let source = source(&sandbox, 2);
    for sort in [Sort::asc(SortField::Name), Sort::desc(SortField::Name)] {
        let warnings = walk_checked(&source, &query(sort), names.len()).await;
        assert!(warnings.is_empty(), "{sort}: {warnings:?}");
    }
}
