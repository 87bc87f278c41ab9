//! `Store::verify` on every backend: a store written by syncs is sound, and
//! each kind of damage to the rows or the log is counted where it belongs.

mod common;

use std::sync::Arc;

use campaign_core::{Campaign, CampaignSource};
use campaign_store::{Store, SyncOptions, Verification};
use campaign_testkit::{fixture_campaigns, InMemorySource};
use common::{backends, connect};
use sqlx::Connection;

async fn sync(store: &Store, campaigns: Vec<Campaign>) {
    let run = store.start_run().await.unwrap();
    let source: Arc<dyn CampaignSource> = Arc::new(InMemorySource::new("alpha", campaigns));
    store
        .sync_source(run, source, &SyncOptions::default())
        .await
        .unwrap();
}

/// Runs `damage` on the database behind `store`, verifies, and runs `mend`.
async fn verified_after(url: &str, store: &Store, damage: &str, mend: &str) -> Verification {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(damage).execute(&mut conn).await.unwrap();
    let found = store.verify().await.unwrap();
    sqlx::query(mend).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_counts_each_kind_of_damage() {
    for test in backends("verify").await {
        let label = test.label;
        let store = connect(&test).await;
        let mut campaigns = fixture_campaigns("alpha");
        sync(&store, campaigns.clone()).await;
        // One campaign with two entries, one deleted (three entries).
        let renamed = campaigns[0].id.native.clone();
        campaigns[0].name = format!("{} (renamed)", campaigns[0].name);
        let gone = campaigns.pop().unwrap().id.native;
        sync(&store, campaigns).await;
        assert!(store.verify().await.unwrap().is_sound(), "{label}");

        // A row pointing at an entry older than its last.
        let found = verified_after(
            &test.url,
            &store,
            &format!("UPDATE campaigns SET seq = seq + 100000 WHERE native_id = '{renamed}'"),
            &format!("UPDATE campaigns SET seq = seq - 100000 WHERE native_id = '{renamed}'"),
        )
        .await;
        assert_eq!(found.rows_unlike_their_log, 1, "{label}: {found:?}");
        // A deleted row whose log says it lives, and the other way round.
        for (native, damage, mend) in [
            (&renamed, "last_seen_at", "NULL"),
            (&gone, "NULL", "last_seen_at"),
        ] {
            let set = |to: &str| {
                format!("UPDATE campaigns SET deleted_at = {to} WHERE native_id = '{native}'")
            };
            let found = verified_after(&test.url, &store, &set(damage), &set(mend)).await;
            assert_eq!(
                found.rows_unlike_their_log, 1,
                "{label} {native}: {found:?}"
            );
        }
        assert!(store.verify().await.unwrap().is_sound(), "{label}");
        // An entry logged twice: a repeat, and a number past the counter.
        let found = verified_after(
            &test.url,
            &store,
            &format!(
                "INSERT INTO changes (seq, at, action, source, native_id, run, campaign) \
                 SELECT seq + 100000, at, action, source, native_id, run, campaign \
                 FROM changes WHERE native_id = '{gone}' AND action = 'deleted'"
            ),
            "DELETE FROM changes WHERE seq > 100000",
        )
        .await;
        assert_eq!(
            (
                found.repeated_changes,
                found.seq_gaps,
                found.rows_unlike_their_log
            ),
            (1, 1, 0),
            "{label}: {found:?}"
        );
        // A campaign whose row is gone.
        let found = verified_after(
            &test.url,
            &store,
            &format!("UPDATE campaigns SET native_id = 'moved' WHERE native_id = '{gone}'"),
            &format!("UPDATE campaigns SET native_id = '{gone}' WHERE native_id = 'moved'"),
        )
        .await;
        assert_eq!(
            (found.logged_without_row, found.rows_unlike_their_log),
            (1, 1),
            "{label}: {found:?}"
        );
        assert!(store.verify().await.unwrap().is_sound(), "{label}");
        store.close().await;
    }
}
