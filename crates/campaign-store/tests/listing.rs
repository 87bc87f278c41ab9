//! The whole store as one source, on every backend: pages of several
//! sources follow `CampaignQuery::compare` (missing values last, ties by id)
//! for every sort, direction and page size; a store of schema version 1
//! gains the indexes these pages read on connect.

mod common;

use std::sync::Arc;

use campaign_core::{Campaign, CampaignQuery, CampaignSource, PageToken, Sort, SortField};
use campaign_store::{Store, StoreSource, SyncOptions};
use campaign_testkit::{fixture_campaigns, InMemorySource};
use common::{backends, connect};
use sqlx::{Connection, Row};

/// The indexes of schema version 2, and its version.
const DESCENDING: [&str; 3] = [
    "campaigns_by_created_desc",
    "campaigns_by_updated_desc",
    "campaigns_by_name_desc",
];
const VERSION_2: i64 = 20261206000001;

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

/// Every page of `query`, token after token.
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
                let mut expected = all.clone();
                expected.sort_by(|a, b| query.compare(a, b));
                let expected: Vec<String> = expected.iter().map(|c| c.id.to_string()).collect();
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
async fn a_version_1_store_gains_the_sort_indexes() {
    for test in backends("version_1").await {
        let store = connect(&test).await;
        let all = fill(&store, &["alpha"]).await;
        store.close().await;
        // Back to version 1: its schema, its migration record.
        {
            let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
            for index in DESCENDING {
                sqlx::query(&format!("DROP INDEX {index}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::query(&format!(
                "DELETE FROM _sqlx_migrations WHERE version = {VERSION_2}"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            let _ = conn.close().await;
        }
        let store = Store::connect_existing(&test.url).await.unwrap();
        let indexes = match test.label {
            "postgres" => "SELECT indexname::text FROM pg_indexes WHERE tablename = 'campaigns'",
            _ => "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'campaigns'",
        };
        let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
        let names: Vec<String> = sqlx::query(indexes)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        for index in DESCENDING {
            assert!(
                names.iter().any(|n| n == index),
                "{}: {names:?}",
                test.label
            );
        }
        let _ = conn.close().await;
        let query = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .page_size(4)
            .build()
            .unwrap();
        let mut expected = all.clone();
        expected.sort_by(|a, b| query.compare(a, b));
        let expected: Vec<String> = expected.iter().map(|c| c.id.to_string()).collect();
        let source = StoreSource::new(store.clone());
        assert_eq!(walk(&source, &query).await, expected, "{}", test.label);
        store.close().await;
    }
}
