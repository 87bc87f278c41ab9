//! Sync semantics, on every backend: upserts without needless writes,
//! deletes only from complete evidence, failures that write nothing, a
//! change log without gaps.

mod common;

use std::sync::Arc;

use campaign_core::{Campaign, CampaignSource, ErrorKind};
use campaign_store::{Action, Change, Store, SyncOptions};
use campaign_testkit::InMemorySource;
use common::{backends, campaign, connect, partition, Parted};
use futures::TryStreamExt;

fn crm(campaigns: Vec<Campaign>) -> Arc<dyn CampaignSource> {
    Arc::new(InMemorySource::new("crm", campaigns).with_page_size(3))
}

fn five() -> Vec<Campaign> {
    (1..=5)
        .map(|i| {
            campaign(
                "crm",
                &i.to_string(),
                &format!("c{i}"),
                "2026-01-01T00:00:00Z",
            )
        })
        .collect()
}

async fn changes(store: &Store, since: i64) -> Vec<Change> {
    store.changes(since, None).try_collect().await.unwrap()
}

async fn sync(store: &Store, source: Arc<dyn CampaignSource>) -> campaign_store::SourceReport {
    let run = store.start_run().await.unwrap();
    store
        .sync_source(run, source, &SyncOptions::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_write_only_changes_and_log_each_once() {
    for test in backends("upserts").await {
        let store = connect(&test).await;
        let label = test.label;
        let first = sync(&store, crm(five())).await;
        assert_eq!(
            (first.added, first.updated, first.deleted, first.unchanged),
            (5, 0, 0, 0),
            "{label}"
        );
        assert_eq!(first.requests, 2, "{label}: pages of 3");
        let log = changes(&store, 0).await;
        assert_eq!(
            log.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(log.iter().all(|c| c.action == Action::Added));
        assert_eq!(
            log[0].campaign,
            five()[0],
            "{label}: the campaign as stored"
        );

        // Nothing changed: nothing written, nothing logged.
        let again = sync(&store, crm(five())).await;
        assert_eq!(
            (again.added, again.updated, again.deleted, again.unchanged),
            (0, 0, 0, 5),
            "{label}"
        );
        assert_eq!(store.last_seq().await.unwrap(), 5);

        // One updated, one gone, one new.
        let mut next = five();
        next[1].name = "c2, renamed".into();
        next.remove(3);
        next.push(campaign("crm", "6", "c6", "2026-01-02T00:00:00Z"));
        let third = sync(&store, crm(next.clone())).await;
        assert_eq!(
            (third.added, third.updated, third.deleted, third.unchanged),
            (1, 1, 1, 3),
            "{label}"
        );
        let log = changes(&store, 5).await;
        let seen: Vec<(i64, Action, &str)> = log
            .iter()
            .map(|c| (c.seq, c.action, c.campaign.id.native.as_str()))
            .collect();
        assert_eq!(
            seen,
            // A partition's changes in id order, its deletions last.
            [
                (6, Action::Updated, "2"),
                (7, Action::Added, "6"),
                (8, Action::Deleted, "4")
            ],
            "{label}"
        );
        assert_eq!(log[0].campaign.name, "c2, renamed");

        // A deleted campaign that comes back is added again.
        let back = sync(&store, crm(five())).await;
        assert_eq!(
            (back.added, back.updated, back.deleted),
            (1, 1, 1),
            "{label}"
        );
        let log = changes(&store, 8).await;
        assert!(log
            .iter()
            .any(|c| c.action == Action::Added && c.campaign.id.native == "4"));
        assert_eq!(store.last_seq().await.unwrap(), 11, "{label}: no gap");
        let verified = store.verify().await.unwrap();
        assert!(verified.is_sound(), "{}: {verified:?}", test.label);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_incomplete_partition_deletes_nothing() {
    for test in backends("partitions").await {
        let store = connect(&test).await;
        let label = test.label;
        let part = |name: &str, ids: &[&str]| partition("crm", name, ids, 2);
        let whole = Parted::new(
            "crm",
            vec![part("a", &["a1", "a2", "a3"]), part("b", &["b1", "b2"])],
        );
        let first = sync(&store, whole).await;
        assert_eq!(first.added, 5, "{label}");
        assert_eq!(first.partitions.len(), 2);

        // Partition b fails on its second page and a lost a2: a is synced
        // (a2 deleted), b keeps all its rows.
        let failing = Parted::new(
            "crm",
            vec![
                part("a", &["a1", "a3"]),
                part("b", &["b1", "b2", "b9"]).fail_after(1, ErrorKind::Server),
            ],
        );
        let report = sync(&store, failing).await;
        assert!(report.failed() && !report.failed_entirely(), "{label}");
        let b = &report.partitions[1];
        assert_eq!(b.partition.as_deref(), Some("part=b"));
        assert_eq!(b.error.as_ref().map(|e| e.kind()), Some(ErrorKind::Server));
        assert_eq!(
            (b.added, b.deleted),
            (0, 0),
            "{label}: a failed partition writes nothing"
        );
        assert_eq!(report.partitions[0].deleted, 1, "{label}");
        assert!(
            report.error.as_deref().unwrap().contains("part=b"),
            "{label}"
        );

        // A listing that skipped a record is incomplete: no deletions.
        let skipping = Parted::new(
            "crm",
            vec![
                part("a", &["a1"]).skip_record_at(0, "a3"),
                part("b", &["b1", "b2"]),
            ],
        );
        let report = sync(&store, skipping).await;
        let a = &report.partitions[0];
        assert_eq!((a.skipped, a.deleted), (1, 0), "{label}");
        let log = changes(&store, 0).await;
        assert_eq!(
            log.iter().filter(|c| c.action == Action::Deleted).count(),
            1
        );
        let verified = store.verify().await.unwrap();
        assert!(verified.is_sound(), "{}: {verified:?}", test.label);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_store_is_refused_never_reset() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "these are not the campaigns you are looking for\n".repeat(100),
    )
    .unwrap();
    let e = Store::connect(&format!("sqlite://{}", text.display()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a campaigns store"), "{e}");
    assert!(std::fs::read_to_string(&text)
        .unwrap()
        .starts_with("these are"));

    for test in backends("not_a_store").await {
        // Someone else's tables.
        let store = connect(&test).await;
        store.close().await;
        let other = test.url.clone();
        {
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(&other).await.unwrap();
            sqlx::query("DROP TABLE _sqlx_migrations")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let e = Store::connect(&other).await.unwrap_err();
        assert!(
            e.to_string().contains("not a campaigns store"),
            "{}: {e}",
            test.label
        );

        // A newer version's schema.
        let fresh = backends("newer")
            .await
            .into_iter()
            .find(|t| t.label == test.label)
            .unwrap();
        let store = connect(&fresh).await;
        store.close().await;
        {
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(&fresh.url).await.unwrap();
            let checksum = if fresh.label == "postgres" {
                "'\\x00'::bytea"
            } else {
                "x'00'"
            };
            sqlx::query(&format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (99990101000000, 'from the future', TRUE, {checksum}, 0)"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        }
        let e = Store::connect(&fresh.url).await.unwrap_err();
        assert!(
            e.to_string().contains("newer version"),
            "{}: {e}",
            fresh.label
        );
    }
}

/// Two syncs of one source at once: one takes the source's lease, the other
/// is told it is busy; nothing is written twice. The lease is released at
/// the end, so the next sync goes ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_of_one_source_never_write_at_once() {
    for test in backends("leases").await {
        let label = test.label;
        let store = connect(&test).await;
        let other = connect(&test).await;
        let slow = || -> Arc<dyn CampaignSource> {
            Arc::new(
                InMemorySource::new("crm", five())
                    .with_page_size(1)
                    .with_latency(std::time::Duration::from_millis(20)),
            )
        };
        let (a, b) = tokio::join!(sync(&store, slow()), sync(&other, slow()));
        let busy = [&a, &b].iter().filter(|r| r.busy.is_some()).count();
        assert_eq!(busy, 1, "{label}: one of them was turned away");
        assert_eq!(a.added + b.added, 5, "{label}: each campaign added once");
        assert_eq!(store.last_seq().await.unwrap(), 5, "{label}");
        let again = sync(&store, crm(five())).await;
        assert!(again.busy.is_none(), "{label}: the lease was released");
        assert_eq!(again.unchanged, 5);
        // A lease dropped without release (a cancelled sync) frees the source too.
        let lease = store.try_lease("crm").await.unwrap().expect("free");
        assert!(other.try_lease("crm").await.unwrap().is_none(), "{label}");
        lease.release().await.unwrap();
        assert!(other.try_lease("crm").await.unwrap().is_some(), "{label}");
        store.close().await;
        other.close().await;
    }
}

/// A partition that promises ids that never repeat, and repeats one: the
/// store refuses it (its staging key is unique).
#[derive(Debug)]
struct RepeatsAnId(InMemorySource);

#[async_trait::async_trait]
impl CampaignSource for RepeatsAnId {
    fn id(&self) -> &str {
        self.0.id()
    }
    fn provider(&self) -> &str {
        self.0.provider()
    }
    fn capabilities(&self) -> campaign_core::Capabilities {
        self.0.capabilities()
    }
    fn walk_options(&self) -> campaign_core::WalkOptions {
        campaign_core::WalkOptions {
            ids_unique: true,
            ..self.0.walk_options()
        }
    }
    fn partition(&self) -> Option<String> {
        self.0.partition()
    }
    async fn fetch_page(
        &self,
        query: &campaign_core::CampaignQuery,
        token: Option<campaign_core::PageToken>,
    ) -> campaign_core::Result<campaign_core::Page> {
        self.0.fetch_page(query, token).await
    }
}

/// A partition the store itself fails on is that partition's failure: the
/// source's other partitions, slower or faster, sync to the end and are
/// reported, and the failed one writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_the_store_fails_on_leaves_the_others_synced() {
    for test in backends("store_fails_a_partition").await {
        let label = test.label;
        let store = connect(&test).await;
        let c = |id: &str| campaign("crm", id, id, "2026-01-01T00:00:00Z");
        let repeats = RepeatsAnId(
            InMemorySource::new("crm", vec![c("a1"), c("a1")]).with_partition("part=a"),
        );
        let slow = InMemorySource::new("crm", (1..=6).map(|i| c(&format!("b{i}"))).collect())
            .with_partition("part=b")
            .with_page_size(2)
            .with_latency(std::time::Duration::from_millis(100));
        let fast = InMemorySource::new("crm", (1..=3).map(|i| c(&format!("f{i}"))).collect())
            .with_partition("part=f");
        let source = Arc::new(Parted {
            id: "crm".into(),
            parts: vec![Arc::new(repeats), Arc::new(slow), Arc::new(fast)],
        });
        let run = store.start_run().await.unwrap();
        let report = store
            .sync_source(run, source, &SyncOptions::default())
            .await
            .unwrap();
        assert!(report.failed() && !report.failed_entirely(), "{label}");
        assert_eq!(report.added, 9, "{label}: b's 6 and f's 3");
        let failed: Vec<_> = report
            .partitions
            .iter()
            .filter(|p| p.error.is_some())
            .map(|p| p.partition.clone())
            .collect();
        assert_eq!(failed, [Some("part=a".to_owned())], "{label}");
        let mut ids: Vec<String> = changes(&store, 0)
            .await
            .into_iter()
            .map(|change| change.id)
            .collect();
        ids.sort();
        let expected: Vec<String> = ["b1", "b2", "b3", "b4", "b5", "b6", "f1", "f2", "f3"]
            .iter()
            .map(|native| format!("crm:{native}"))
            .collect();
        assert_eq!(ids, expected, "{label}");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_the_database_refuses_fails_its_partition_without_stalling_the_read() {
    for test in backends("refused").await {
        let store = connect(&test).await;
        let label = test.label;
        // Far more batches than the read runs ahead of its staging; the
        // tenth campaign's name holds a NUL, which PostgreSQL's text refuses
        // (SQLite takes it).
        let mut campaigns: Vec<Campaign> = (0..5000)
            .map(|i| {
                let id = format!("b{i:04}");
                campaign("crm", &id, &id, "2026-01-01T00:00:00Z")
            })
            .collect();
        campaigns[9].name = "nul\0here".into();
        let odd = InMemorySource::new("crm", campaigns)
            .with_partition("part=b")
            .with_page_size(100);
        let source = Parted::new("crm", vec![partition("crm", "a", &["a1", "a2"], 2), odd]);
        let report = tokio::time::timeout(std::time::Duration::from_secs(60), sync(&store, source))
            .await
            .unwrap_or_else(|_| panic!("{label}: the sync stalled"));
        let (a, b) = (&report.partitions[0], &report.partitions[1]);
        assert_eq!((a.added, a.error.is_none()), (2, true), "{label}");
        if label == "postgres" {
            assert!(b.error.is_some(), "{label}: {b:?}");
            assert_eq!(b.added, 0, "{label}");
        } else {
            assert_eq!((b.added, b.error.is_none()), (5000, true), "{label}: {b:?}");
        }
        store.close().await;
    }
}
