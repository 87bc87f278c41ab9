//! Schema changes, on every backend: a store of schema version 3 (each
//! campaign's JSON in its row as well as in the log) moves to version 4
//! (the JSON in the log only) without losing or changing a campaign; on
//! SQLite, a store of version 5 (the log's `seq` an index beside a rowid)
//! moves to version 6 (`seq` the rowid) keeping every entry; a bulk sync
//! that rebuilds the secondary indexes leaves the same ones, even across
//! partitions and after a sync that died with them dropped.

mod common;

use std::sync::Arc;

use campaign_core::{Campaign, CampaignQuery, CampaignSource, Sort, SortField};
use campaign_store::{Store, StoreSource, SyncOptions};
use campaign_testkit::{fetch_pages, fixture_campaigns, InMemorySource};
use common::{backends, connect, index_names, partition, Parted};
use futures::TryStreamExt;
use sqlx::{Connection, Row};

/// The migration that moved each campaign's JSON into the change log.
const VERSION_4: i64 = 20261206000003;
/// The migration that made the change log's `seq` its rowid (SQLite).
const VERSION_6: i64 = 20261206000005;

async fn sync(store: &Store, campaigns: Vec<Campaign>) {
    let run = store.start_run().await.unwrap();
    let source: Arc<dyn CampaignSource> =
        Arc::new(InMemorySource::new("alpha", campaigns).with_page_size(7));
    store
        .sync_source(run, source, &SyncOptions::default())
        .await
        .unwrap();
}

/// Every campaign of the store, newest first, in pages of 4.
async fn listed(store: &Store) -> Vec<Campaign> {
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(4)
        .build()
        .unwrap();
    let source = StoreSource::new(store.clone());
    fetch_pages(&source, &query, None, None).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_store_keeps_every_campaign_when_its_json_moves_to_the_log() {
    for test in backends("version_3").await {
        let label = test.label;
        let store = connect(&test).await;
        let mut campaigns = fixture_campaigns("alpha");
        sync(&store, campaigns.clone()).await;
        // A second version of one campaign and a deletion, so rows point at
        // entries other than their first.
        campaigns[0].name = format!("{} (renamed)", campaigns[0].name);
        let gone = campaigns.pop().unwrap();
        sync(&store, campaigns.clone()).await;
        let before = listed(&store).await;
        store.close().await;
        // Back to version 3: the JSON in the row, no pointer, no record of 4.
        {
            let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
            for statement in [
                "ALTER TABLE campaigns ADD COLUMN campaign TEXT".to_owned(),
                "UPDATE campaigns SET campaign = \
                 (SELECT ch.campaign FROM changes ch WHERE ch.seq = campaigns.seq)"
                    .to_owned(),
                "ALTER TABLE campaigns DROP COLUMN seq".to_owned(),
                format!("DELETE FROM _sqlx_migrations WHERE version = {VERSION_4}"),
            ] {
                sqlx::query(&statement).execute(&mut conn).await.unwrap();
            }
            let _ = conn.close().await;
        }
        let store = Store::connect_existing(&test.url).await.unwrap();
        assert_eq!(listed(&store).await, before, "{label}");
        assert!(store.verify().await.unwrap().is_sound(), "{label}");
        let source = StoreSource::new(store.clone()).including_deleted(true);
        let kept = source.campaign("alpha", &gone.id.native).await.unwrap();
        assert_eq!(
            kept.map(|c| (c.id, c.name)),
            Some((gone.id, gone.name)),
            "{label}: a deleted campaign as it last was"
        );
        store.close().await;
    }
}

/// How an SQLite store's `changes` table is made.
async fn changes_schema(conn: &mut sqlx::AnyConnection) -> String {
    sqlx::query("SELECT sql FROM sqlite_schema WHERE name = 'changes'")
        .fetch_one(conn)
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_5_sqlite_store_keeps_every_change_when_seq_becomes_the_rowid() {
    let test = backends("version_5").await.remove(0);
    assert_eq!(test.label, "sqlite");
    let store = connect(&test).await;
    let mut campaigns = fixture_campaigns("alpha");
    sync(&store, campaigns.clone()).await;
    campaigns[0].name = format!("{} (renamed)", campaigns[0].name);
    campaigns.pop();
    sync(&store, campaigns.clone()).await;
    let before = listed(&store).await;
    let feed: Vec<_> = store.changes(0, None).try_collect().await.unwrap();
    store.close().await;
    // Back to version 5: `seq BIGINT PRIMARY KEY`, no record of 6.
    {
        let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
        for statement in [
            "CREATE TABLE changes_v5 (seq BIGINT PRIMARY KEY, at TEXT NOT NULL, \
             action TEXT NOT NULL CHECK (action IN ('added', 'updated', 'deleted')), \
             source TEXT NOT NULL, native_id TEXT NOT NULL, run BIGINT NOT NULL, \
             campaign TEXT NOT NULL)"
                .to_owned(),
            "INSERT INTO changes_v5 SELECT * FROM changes".to_owned(),
            "DROP TABLE changes".to_owned(),
            "ALTER TABLE changes_v5 RENAME TO changes".to_owned(),
            "CREATE INDEX changes_by_source ON changes (source, seq)".to_owned(),
            format!("DELETE FROM _sqlx_migrations WHERE version = {VERSION_6}"),
        ] {
            sqlx::query(&statement).execute(&mut conn).await.unwrap();
        }
        assert!(changes_schema(&mut conn)
            .await
            .contains("seq BIGINT PRIMARY KEY"));
        let _ = conn.close().await;
    }
    let store = Store::connect_existing(&test.url).await.unwrap();
    assert_eq!(listed(&store).await, before);
    let after: Vec<_> = store.changes(0, None).try_collect().await.unwrap();
    assert_eq!(after, feed);
    assert!(store.verify().await.unwrap().is_sound());
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
    assert!(changes_schema(&mut conn)
        .await
        .contains("seq INTEGER PRIMARY KEY"));
    let _ = conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_sync_leaves_the_indexes_the_schema_made() {
    for test in backends("bulk_indexes").await {
        let store = connect(&test).await;
        let made = index_names(&test.url, test.label).await;
        assert!(made.iter().any(|n| n == "campaigns_by_name"), "{made:?}");
        // Into an empty table: the indexes are built after the rows.
        let mut campaigns = fixture_campaigns("alpha");
        sync(&store, campaigns.clone()).await;
        assert_eq!(index_names(&test.url, test.label).await, made);
        // One change among many rows: the indexes are kept up instead.
        campaigns[0].name = "Renamed".into();
        sync(&store, campaigns.clone()).await;
        assert_eq!(index_names(&test.url, test.label).await, made);
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        // The source names itself as the provider of what it lists.
        let mut expected = campaigns;
        for campaign in &mut expected {
            campaign.provider = "memory".into();
        }
        expected.sort_by(|a, b| query.compare(a, b));
        let source = StoreSource::new(store.clone());
        assert_eq!(fetch_pages(&source, &query, None, None).await.0, expected);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_a_bulk_sync_suspends_come_back_even_after_it_dies() {
    for test in backends("suspended_indexes").await {
        let label = test.label;
        let store = connect(&test).await;
        let made = index_names(&test.url, label).await;
        // Three partitions into an empty table: the first merge drops the
        // indexes, the last one's builds them again.
        let part = |name: &str| {
            let ids: Vec<String> = (0..40).map(|i| format!("{name}{i:02}")).collect();
            partition("crm", name, &ids, 7)
        };
        let run = store.start_run().await.unwrap();
        let report = store
            .sync_source(
                run,
                Parted::new("crm", vec![part("a"), part("b"), part("c")]),
                &SyncOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!((report.added, report.error), (120, None), "{label}");
        assert_eq!(index_names(&test.url, label).await, made, "{label}");
        if label != "sqlite" {
            store.close().await;
            continue;
        }
        // A sync that died between the drop and the build: the next run
        // builds them before it starts.
        {
            let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
            for statement in [
                "BEGIN",
                "INSERT INTO suspended_indexes (name, sql) SELECT name, sql FROM sqlite_schema \
                 WHERE type = 'index' AND tbl_name = 'campaigns' AND sql IS NOT NULL",
                "DROP INDEX campaigns_by_name",
                "DROP INDEX campaigns_by_created",
                "COMMIT",
            ] {
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
            let _ = conn.close().await;
        }
        assert!(!index_names(&test.url, label)
            .await
            .iter()
            .any(|n| n == "campaigns_by_name"));
        store.start_run().await.unwrap();
        assert_eq!(index_names(&test.url, label).await, made);
        store.close().await;
        let mut conn = sqlx::AnyConnection::connect(&test.url).await.unwrap();
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM suspended_indexes")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0);
        let _ = conn.close().await;
    }
}
