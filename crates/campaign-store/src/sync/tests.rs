//! How a sync uses the store's connections.

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{Campaign, CampaignId, CampaignSource, Channel};
use campaign_testkit::InMemorySource;

use super::SyncOptions;
use crate::store::{Store, PARTITIONS_AT_ONCE, READER_CONNECTIONS};

/// A source of `count` campaigns whose every page takes `latency`.
fn slow_source(name: &str, count: usize, latency: Duration) -> Arc<dyn CampaignSource> {
    let campaigns = (0..count)
        .map(|i| {
            let id = CampaignId::new(name, i.to_string());
            Campaign::new(id, "memory", format!("{name} {i}"), Channel::Voice)
        })
        .collect();
    Arc::new(
        InMemorySource::new(name, campaigns)
            .with_page_size(2)
            .with_latency(latency),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_being_read_leave_every_reader_connection_free() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::connect(&url).await.unwrap();
    let run = store.start_run().await.unwrap();
    // One partition more than are read at once: every staging connection
    // is taken, and a partition waits for one.
    let sources: Vec<_> = (0..=PARTITIONS_AT_ONCE)
        .map(|i| slow_source(&format!("slow{i}"), 3, Duration::from_secs(1)))
        .collect();
    let syncs = tokio::spawn({
        let store = store.clone();
        async move {
            let options = SyncOptions::default();
            let syncs = sources
                .into_iter()
                .map(|source| store.sync_source(run, source, &options));
            futures::future::join_all(syncs).await
        }
    });
    // The partitions are inside their first page's wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!syncs.is_finished());
    let readers = (0..READER_CONNECTIONS).map(|_| store.pool.acquire());
    let held = tokio::time::timeout(
        Duration::from_secs(1),
        futures::future::try_join_all(readers),
    )
    .await
    .expect("every reader connection while partitions are read")
    .unwrap();
    drop(held);

    for report in syncs.await.unwrap() {
        let report = report.unwrap();
        assert!(!report.failed(), "{report:?}");
        assert_eq!((report.added, report.requests), (3, 2), "{report:?}");
    }
    store.close().await;
}
