//! The whole store as one source, on every backend: pages of several
//! sources follow `CampaignQuery::compare` (missing values last, ties by id)
//! for every sort, direction and page size; a store of schema version 1
//! gains the indexes these pages read on connect.

mod common;

use std::sync::Arc;

use campaign_core::{Campaign, CampaignQuery, CampaignSource, PageToken, Sort, SortField};
use campaign_store::{Store, StoreSource, SyncOptions};
use campaign_testkit::{fixture_campaigns, InMemorySource};
use common::{backends, connect, index_names};
use sqlx::Connection;

/// The indexes of schema version 2, and its version.
const DESCENDING: [&str; 3] = [
    "campaigns_by_created_desc",
    "campaigns_by_updated_desc",
    "campaigns_by_name_desc",
];
const VERSION_2: i64 = 20261206000001;
/// The migration that dropped them again (their upkeep slowed every sync).
const VERSION_3: i64 = 20261206000002;

/// Syncs the fixture campaigns of `sources` (the same rows in each, so
/// every sort value ties across sources) and returns them all.
async fn fill(store: &Store, sources: &[&str]) -> Vec<Campaign> {
    let mut all = Vec::new();
    let run = store.start_run().await.unwrap();
    for id in sources {
        let campaigns = fixture_campaigns(id);
        all.extend(campaigns.iter().cloned());
        let source = Arc::new(InMemorySource::new(*id, campaigns).with_page_size(7));
        store
            .sync_source(run, source, &SyncOptions::default())
            .await
            .unwrap();
    }
    all
}

/// Syncs `campaigns` as the whole of the source `alpha`, in a run of its own.
async fn sync_alpha(store: &Store, campaigns: Vec<Campaign>) {
    let run = store.start_run().await.unwrap();
    let source = Arc::new(InMemorySource::new("alpha", campaigns));
    store
        .sync_source(run, source, &SyncOptions::default())
        .await
        .unwrap();
}

/// Every page of `query`, token after token.
/// The ids of `campaigns` in `query`'s order: what a walk must list.
fn ids_in_order(query: &CampaignQuery, campaigns: &[Campaign]) -> Vec<String> {
    let mut sorted = campaigns.to_vec();
    sorted.sort_by(|a, b| query.compare(a, b));
    sorted.iter().map(|c| c.id.to_string()).collect()
}

async fn walk(source: &StoreSource, query: &CampaignQuery) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = source.fetch_page(query, token.take()).await.unwrap();
        ids.extend(page.items.iter().map(|c| c.id.to_string()));
        match page.next {
            Some(next) => token = Some(next),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_every_source_follow_compare() {
    for test in backends("listing").await {
        let store = connect(&test).await;
        let all = fill(&store, &["alpha", "beta", "gamma"]).await;
        let source = StoreSource::new(store.clone());
        let mut sorts = vec![None];
        for field in SortField::ALL {
            sorts.extend([Some(Sort::asc(field)), Some(Sort::desc(field))]);
        }
        for sort in sorts {
            for size in [1, 2, 3, 5, 8, 1000] {
                let mut builder = CampaignQuery::builder().page_size(size);
                if let Some(sort) = sort {
                    builder = builder.sort(sort);
                }
                let query = builder.build().unwrap();
                let expected = ids_in_order(&query, &all);
                assert_eq!(
                    walk(&source, &query).await,
                    expected,
                    "{}: {sort:?}, pages of {size}",
                    test.label
                );
            }
        }
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_store_migrates_to_ascending_indexes_only() {
    for test in backends("version_1").await {
        let store = connect(&test).await;
        let all = fill(&store, &["alpha"]).await;
        store.close().await;
        // Back to version 1 (version 3 left its schema): its migration record.
        {
            let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
            sqlx::query(&format!(
                "DELETE FROM _sqlx_migrations WHERE version IN ({VERSION_2}, {VERSION_3})"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            let _ = conn.close().await;
        }
        let store = Store::connect_existing(&test.url).await.unwrap();
        let names = index_names(&test.url, test.label).await;
        assert!(
            names.iter().any(|n| n == "campaigns_by_created"),
            "{names:?}"
        );
        for index in DESCENDING {
            assert!(
                !names.iter().any(|n| n == index),
                "{}: {names:?}",
                test.label
            );
        }
        let query = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .page_size(4)
            .build()
            .unwrap();
        let expected = ids_in_order(&query, &all);
        let source = StoreSource::new(store.clone());
        assert_eq!(walk(&source, &query).await, expected, "{}", test.label);
        store.close().await;
    }
}

/// A sync that inserts campaigns inside the page an aggregate's cursor
/// stands in, between two of its pages: the walk resumes after the last
/// campaign it handed out, so none is listed twice and none is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_resumes_after_its_last_campaign_while_a_sync_inserts() {
    use campaign_aggregate::Aggregator;
    use common::campaign;

    let minute = |n: u32| format!("2026-01-01T00:{n:02}:00Z");
    for test in backends("resume").await {
        let store = connect(&test).await;
        // Minutes 2, 4, ..., 40: room for later campaigns between any two.
        let first: Vec<Campaign> = (1..=20)
            .map(|n| campaign("alpha", &format!("e{n}"), "even", &minute(2 * n)))
            .collect();
        sync_alpha(&store, first.clone()).await;
        let aggregate = Aggregator::builder("all")
            .source(Arc::new(StoreSource::new(store.clone())))
            .build()
            .unwrap();
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::CreatedAt))
            .page_size(5)
            .build()
            .unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut inserted = Vec::new();
        loop {
            let page = aggregate.page(&query, cursor.as_ref()).await.unwrap();
            assert!(
                page.failures.is_empty(),
                "{}: {:?}",
                test.label,
                page.failures
            );
            seen.extend(page.items.iter().map(|c| c.id.to_string()));
            let Some(next) = page.next else { break };
            cursor = Some(next);
            // Two odd minutes before the position reached: inside the page
            // the cursor's source page began at, before its last campaign
            // (one would shift the position onto that campaign itself,
            // which the aggregate's memory of its last id already covers).
            let reached = seen.len() as u32;
            for minute_before in [2 * reached - 1, 2 * reached - 3] {
                let native = format!("o{minute_before}");
                inserted.push(campaign("alpha", &native, "odd", &minute(minute_before)));
            }
            let mut now = first.clone();
            now.extend(inserted.iter().cloned());
            sync_alpha(&store, now).await;
        }
        let expected: Vec<String> = first.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(
            seen, expected,
            "{}: every campaign once, in order",
            test.label
        );
    }
}

/// One campaign read by its key: found as listed, unknown ids and ids of
/// another source are `None`, a deleted one only when deleted ones are asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_campaign_is_read_by_its_id() {
    for test in backends("by_id").await {
        let store = connect(&test).await;
        let all = fill(&store, &["alpha", "beta"]).await;
        let whole = StoreSource::new(store.clone());
        let everything = CampaignQuery::builder().page_size(1000).build().unwrap();
        let listed = whole.fetch_page(&everything, None).await.unwrap().items;
        let wanted = listed.iter().find(|c| c.id == all[3].id).unwrap();
        let found = whole
            .campaign(&wanted.id.source, &wanted.id.native)
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(wanted), "{}", test.label);
        let missing = whole.campaign("alpha", "no-such-id").await.unwrap();
        assert_eq!(missing, None, "{}", test.label);
        let beta_only = StoreSource::for_source(store.clone(), "beta");
        let other = beta_only
            .campaign("alpha", &all[0].id.native)
            .await
            .unwrap();
        assert_eq!(other, None, "{}: limited to beta", test.label);

        // A full sync without it deletes it.
        let kept: Vec<Campaign> = fixture_campaigns("alpha")
            .into_iter()
            .filter(|c| c.id != all[0].id)
            .collect();
        sync_alpha(&store, kept).await;
        let gone = &all[0].id;
        assert_eq!(
            whole.campaign(&gone.source, &gone.native).await.unwrap(),
            None
        );
        let with_deleted = StoreSource::new(store.clone()).including_deleted(true);
        let kept = with_deleted
            .campaign(&gone.source, &gone.native)
            .await
            .unwrap();
        assert_eq!(kept.map(|c| c.id), Some(gone.clone()), "{}", test.label);
    }
}

/// Years past 9999 are stored as `+10000-...`, which sorts before `2026-...`
/// as text: pages follow the stored text (as their keyset marks do), so
/// every campaign is listed once, whatever the page size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_past_9999_is_listed_in_pages_of_any_size() {
    use common::campaign;
    for test in backends("far_year").await {
        let store = connect(&test).await;
        let mut campaigns: Vec<Campaign> = (1..=6)
            .map(|n| {
                campaign(
                    "alpha",
                    &format!("c{n}"),
                    "c",
                    &format!("2026-01-0{n}T00:00:00Z"),
                )
            })
            .collect();
        let mut far = campaign("alpha", "far", "far", "2026-01-01T00:00:00Z");
        far.created_at = Some("+10000-01-01T00:00:00Z".parse().expect("a far timestamp"));
        campaigns.push(far);
        sync_alpha(&store, campaigns).await;
        let source = StoreSource::new(store.clone());
        for direction in [
            Sort::asc(SortField::CreatedAt),
            Sort::desc(SortField::CreatedAt),
        ] {
            let whole = CampaignQuery::builder()
                .sort(direction)
                .page_size(100)
                .build()
                .unwrap();
            let all = walk(&source, &whole).await;
            assert_eq!(all.len(), 7, "{}: {all:?}", test.label);
            for size in [1, 2, 3] {
                let query = CampaignQuery::builder()
                    .sort(direction)
                    .page_size(size)
                    .build()
                    .unwrap();
                assert_eq!(
                    walk(&source, &query).await,
                    all,
                    "{}: pages of {size}",
                    test.label
                );
            }
        }
    }
}

/// Descending sorts read the ascending index backwards: a run of equal
/// values longer than several pages (with campaigns before and after it,
/// and some without the value) is listed whole, by id, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descending_sort_lists_a_long_run_of_equal_values_by_id() {
    use common::campaign;

    for test in backends("descending_run").await {
        let store = connect(&test).await;
        let mut campaigns: Vec<Campaign> = (0..23)
            .map(|n| {
                campaign(
                    "alpha",
                    &format!("t{n:02}"),
                    "Renewals",
                    "2026-01-01T00:05:00Z",
                )
            })
            .collect();
        campaigns.push(campaign("alpha", "early", "Early", "2026-01-01T00:01:00Z"));
        campaigns.push(campaign("alpha", "late", "Zeta", "2026-01-01T00:09:00Z"));
        let mut undated = campaign("alpha", "undated", "Renewals", "2026-01-01T00:05:00Z");
        undated.created_at = None;
        campaigns.push(undated);
        sync_alpha(&store, campaigns.clone()).await;
        let source = StoreSource::new(store.clone());
        for field in [SortField::CreatedAt, SortField::Name] {
            for size in [1, 4, 5, 30] {
                let query = CampaignQuery::builder()
                    .sort(Sort::desc(field))
                    .page_size(size)
                    .build()
                    .unwrap();
                let expected = ids_in_order(&query, &campaigns);
                assert_eq!(
                    walk(&source, &query).await,
                    expected,
                    "{}: {field:?}, pages of {size}",
                    test.label
                );
            }
        }
        store.close().await;
    }
}
