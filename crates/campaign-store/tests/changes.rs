//! The change log read back, on every backend: over several pages, in
//! order, of every source or one, whole or up to a limit; each campaign as
//! stored is the JSON its parsed campaign writes, so passing it on unparsed
//! prints the same line.

mod common;

use std::sync::Arc;

use campaign_store::{Change, StoredChange, SyncOptions};
use campaign_testkit::{fixture_campaigns, InMemorySource};
use common::{backends, campaign, connect};
use futures::TryStreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_reads_in_pages_and_as_stored() {
    for test in backends("changes").await {
        let store = connect(&test).await;
        let run = store.start_run().await.unwrap();
        // Enough entries for several pages of the log (100, then 1000).
        let many: Vec<_> = (0..1500)
            .map(|i| campaign("bulk", &format!("{i:05}"), "c", "2026-01-01T00:00:00Z"))
            .collect();
        for (id, campaigns) in [("bulk", many), ("fixture", fixture_campaigns("fixture"))] {
            let source = Arc::new(InMemorySource::new(id, campaigns));
            store
                .sync_source(run, source, &SyncOptions::default())
                .await
                .unwrap();
        }
        let last = store.last_seq().await.unwrap();
        let stored: Vec<StoredChange> = store.stored_changes(0, None).try_collect().await.unwrap();
        let seqs: Vec<i64> = stored.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "{}", test.label);
        let parsed: Vec<Change> = store.changes(0, None).try_collect().await.unwrap();
        assert_eq!(parsed.len(), stored.len(), "{}", test.label);
        for (raw, change) in stored.iter().zip(&parsed) {
            assert_eq!(raw.seq, change.seq);
            assert_eq!(
                raw.campaign.get(),
                serde_json::to_string(&change.campaign).unwrap(),
                "{}: {}",
                test.label,
                change.id
            );
        }
        let since = 1200;
        let bulk: Vec<StoredChange> = store
            .stored_changes(since, Some("bulk"))
            .try_collect()
            .await
            .unwrap();
        let expected: Vec<i64> = parsed
            .iter()
            .filter(|c| c.seq > since && c.source == "bulk")
            .map(|c| c.seq)
            .collect();
        assert!(!expected.is_empty());
        let seqs: Vec<i64> = bulk.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, expected, "{}", test.label);
        // At most `limit`: the same entries as the whole feed's first ones,
        // at each page's edge and either side of it.
        for limit in [0, 1, 99, 100, 101, 1099, 1100, 1101, 5000] {
            for (since, source) in [(0, None), (since, Some("bulk"))] {
                let some: Vec<i64> = store
                    .stored_changes_up_to(since, source, limit)
                    .map_ok(|c| c.seq)
                    .try_collect()
                    .await
                    .unwrap();
                let all: Vec<i64> = store
                    .stored_changes(since, source)
                    .map_ok(|c| c.seq)
                    .try_collect()
                    .await
                    .unwrap();
                let want = &all[..limit.min(all.len())];
                assert_eq!(some, want, "{} limit {limit} after {since}", test.label);
            }
        }
        store.close().await;
    }
}
