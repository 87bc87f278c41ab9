//! Incremental syncs against the sandbox's Kore emulator, on every backend:
//! newest change first, stopping at the bookmark (less the overlap); no
//! deletions from a partial read; a full read when asked, when the last
//! one is too old, or when the server's order cannot be trusted.

mod common;

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{Campaign, CampaignId, CampaignSource, Channel, StaticToken, Status};
use campaign_sandbox::{Fault, Sandbox};
use campaign_store::{Store, SyncOptions};
use chrono::{DateTime, TimeDelta, Utc};
use common::{backends, connect};
use source_kore::{KoreConfig, KoreSource};

const VOICE: usize = 90;
const SMS: usize = 60;

/// Campaigns updated one hour apart, the newest now.
fn campaigns(now: DateTime<Utc>) -> Vec<Campaign> {
    (0..VOICE + SMS)
        .map(|i| {
            let channel = if i < VOICE {
                Channel::Voice
            } else {
                Channel::Sms
            };
            let mut c = Campaign::new(
                CampaignId::new("kore", format!("cd-{i:04}")),
                "kore",
                format!("Campaign {i}"),
                channel,
            );
            c.status = Some(Status::Ready);
            c.priority = Some(3);
            c.created_at = Some(now - TimeDelta::days(30) + TimeDelta::minutes(i as i64));
            c.updated_at = Some(now - TimeDelta::hours(i as i64));
            c
        })
        .collect()
}

fn source(sandbox: &Sandbox) -> Arc<dyn CampaignSource> {
    let creds = sandbox.credentials();
    let mut config = KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        creds.kore_stream_id.clone(),
        creds.kore_account_id.clone(),
    );
    config.iid = Some(creds.kore_iid.clone().into());
    config.rate_limit = None;
    config.page_size = 20;
    config.http.retry.initial_backoff = Duration::from_millis(5);
    let tokens = Arc::new(StaticToken::new(creds.kore_jwt.clone()));
    Arc::new(KoreSource::new(config, tokens).unwrap())
}

async fn sync(
    store: &Store,
    sandbox: &Sandbox,
    options: &SyncOptions,
) -> campaign_store::SourceReport {
    let run = store.start_run().await.unwrap();
    store
        .sync_source(run, source(sandbox), options)
        .await
        .unwrap()
}

/// A Kore emulator serving pages of up to 20.
async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .kore_max_page_size(20)
        .start()
        .await
        .unwrap()
}

fn listing_requests(sandbox: &Sandbox) -> usize {
    let n = sandbox.kore().requests().len();
    sandbox.kore().clear_requests();
    n
}

/// The requests per channel since the last count: (voice, sms).
fn requests_per_channel(sandbox: &Sandbox) -> (usize, usize) {
    let requests = sandbox.kore().requests();
    sandbox.kore().clear_requests();
    let of = |channel: &str| {
        let body = format!("\"type\":\"{channel}\"");
        requests
            .iter()
            .filter(|r| r.body.as_deref().is_some_and(|b| b.contains(&body)))
            .count()
    };
    (of("voice"), of("sms"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_reads_stop_at_the_bookmark_and_never_delete() {
    for test in backends("incremental").await {
        let label = test.label;
        let sandbox = sandbox().await;
        let now = Utc::now();
        let mut data = campaigns(now);
        sandbox.kore().load_campaigns(&data);
        let store = connect(&test).await;
        let options = SyncOptions::default();

        let first = sync(&store, &sandbox, &options).await;
        assert!(first.full, "{label}: a first sync reads whole");
        assert_eq!(first.added as usize, VOICE + SMS, "{label}");
        listing_requests(&sandbox);

        // Nothing changed: each channel reads its newest page (the changes
        // within the 5-minute overlap are re-read, found unchanged). The
        // first sync read each channel whole newest first and found it
        // sorted on every page, so the provider is trusted to sort for a
        // day: one request per channel, no probe.
        let again = sync(&store, &sandbox, &options).await;
        assert!(!again.full, "{label}");
        assert_eq!(
            (again.added, again.updated, again.deleted),
            (0, 0, 0),
            "{label}"
        );
        assert_eq!(requests_per_channel(&sandbox), (1, 1), "{label}");
        let quiet = sync(&store, &sandbox, &options).await;
        assert_eq!((quiet.full, quiet.updated), (false, 0), "{label}");
        assert_eq!(requests_per_channel(&sandbox), (1, 1), "{label}");

        // One campaign changed, one removed at the provider.
        data[5].name = "Campaign 5, renamed".into();
        data[5].updated_at = Some(now + TimeDelta::minutes(1));
        let removed = data.remove(VOICE + 3);
        sandbox.kore().load_campaigns(&data);
        let third = sync(&store, &sandbox, &options).await;
        assert!(!third.full, "{label}");
        assert_eq!(
            (third.added, third.updated, third.deleted),
            (0, 1, 0),
            "{label}: no deletion seen"
        );

        // 45 voice campaigns changed, the newest ones: pages 1-3 of 20 hold
        // them and the first unchanged one. Exactly those pages are asked
        // for (none read ahead past it).
        for (k, c) in data.iter_mut().take(45).enumerate() {
            c.updated_at = Some(now + TimeDelta::minutes(10) - TimeDelta::seconds(k as i64));
            c.priority = Some(4);
        }
        sandbox.kore().load_campaigns(&data);
        requests_per_channel(&sandbox);
        let many = sync(&store, &sandbox, &options).await;
        assert!(!many.full, "{label}");
        assert_eq!((many.updated, many.deleted), (45, 0), "{label}");
        assert_eq!(requests_per_channel(&sandbox), (3, 1), "{label}");

        // A full read (asked for) sees the deletion.
        let full = sync(
            &store,
            &sandbox,
            &SyncOptions {
                full: true,
                ..SyncOptions::default()
            },
        )
        .await;
        assert!(full.full, "{label}");
        assert_eq!((full.updated, full.deleted), (0, 1), "{label}");
        let deleted: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(store.changes(0, None))
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.action == campaign_store::Action::Deleted)
            .map(|c| c.campaign.id)
            .collect();
        assert_eq!(deleted, std::slice::from_ref(&removed.id), "{label}");

        // A last full read older than full_refresh_every: read whole again.
        let stale = SyncOptions {
            full_refresh_every: Duration::ZERO,
            ..SyncOptions::default()
        };
        assert!(sync(&store, &sandbox, &stale).await.full, "{label}");

        // A server that ignores the sort cannot be trusted to stop early:
        // the listing is read whole (and sorted locally), nothing lost.
        data[40].updated_at = Some(now + TimeDelta::minutes(2));
        data[40].name = "Campaign 40, renamed".into();
        sandbox.kore().load_campaigns(&data);
        sandbox.kore().inject(Fault::SortIgnored, None);
        let unsorted = sync(&store, &sandbox, &options).await;
        let full = |report: &campaign_store::SourceReport| {
            let of = |channel: &str| {
                report
                    .partitions
                    .iter()
                    .find(|p| p.partition.as_deref().is_some_and(|l| l.contains(channel)))
                    .map(|p| p.full)
            };
            (of("voice"), of("sms"))
        };
        // Voice met the broken order (its third page) and was read whole;
        // SMS, whose sort was found honoured within the day, took its one
        // page as the end of what changed.
        assert_eq!(full(&unsorted), (Some(true), Some(false)), "{label}");
        assert_eq!((unsorted.updated, unsorted.deleted), (1, 0), "{label}");
        // And the day's next reads of voice are whole from the start: 90
        // campaigns in pages of 20, newest first, so each checks the sort
        // again (the reversed-sort probe: one request) and renews the
        // verdict rather than letting it lapse into an incremental read.
        requests_per_channel(&sandbox);
        let distrusted = sync(&store, &sandbox, &options).await;
        assert_eq!(full(&distrusted), (Some(true), Some(false)), "{label}");
        assert_eq!(distrusted.updated, 0, "{label}");
        assert_eq!(requests_per_channel(&sandbox), (6, 1), "{label}");
        let verified = store.verify().await.unwrap();
        assert!(verified.is_sound(), "{}: {verified:?}", test.label);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_campaigns_changed_at_one_instant_long_ago_is_not_read_again() {
    for test in backends("long_ago").await {
        let label = test.label;
        let sandbox = sandbox().await;
        // Every campaign changed at one instant a day ago (a bulk edit):
        // 5 voice and 3 SMS pages of one tie, all older than the last read.
        let long_ago = Utc::now() - TimeDelta::days(1);
        let data: Vec<Campaign> = campaigns(long_ago)
            .into_iter()
            .map(|mut c| {
                c.updated_at = Some(long_ago);
                c
            })
            .collect();
        sandbox.kore().load_campaigns(&data);
        let store = connect(&test).await;
        let options = SyncOptions::default();
        assert!(sync(&store, &sandbox, &options).await.full, "{label}");
        requests_per_channel(&sandbox);
        // The read starts where the last began (less the overlap), not at
        // the tie: each channel's first page ends it.
        let again = sync(&store, &sandbox, &options).await;
        assert_eq!((again.full, again.unchanged), (false, 0), "{label}");
        assert_eq!(requests_per_channel(&sandbox), (1, 1), "{label}");
        // A change made since, even one stamped a little before the last
        // read began (a late commit, a clock behind), is found.
        let mut changed = data.clone();
        changed[7].name = "Campaign 7, renamed".into();
        changed[7].updated_at = Some(Utc::now() - TimeDelta::minutes(2));
        sandbox.kore().load_campaigns(&changed);
        let found = sync(&store, &sandbox, &options).await;
        assert_eq!((found.full, found.updated), (false, 1), "{label}");
        assert_eq!(requests_per_channel(&sandbox), (1, 1), "{label}");
        store.close().await;
    }
}

/// A server that sorts each page alone passes any check made inside one
/// page (the reversed-sort probe included). A whole read newest first sees
/// the order break across pages, so the partition is not read
/// incrementally, and a change on a later page is not missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_sorting_each_page_alone_is_never_read_incrementally() {
    for test in backends("sorted_per_page").await {
        let label = test.label;
        let sandbox = sandbox().await;
        let now = Utc::now();
        // Stored oldest first: the first page holds the oldest campaigns
        // (the reversed-sort probe's answer among them) and sorted alone
        // looks newest first.
        let mut data = campaigns(now - TimeDelta::days(1));
        data.reverse();
        sandbox.kore().load_campaigns(&data);
        sandbox.kore().inject(Fault::SortedPerPage, None);
        let store = connect(&test).await;
        let options = SyncOptions::default();
        let first = sync(&store, &sandbox, &options).await;
        assert!(first.full, "{label}");
        assert_eq!(first.added as usize, VOICE + SMS, "{label}");

        // The newest voice campaign, on the last voice page, changes: an
        // incremental read trusting the first page would end before it.
        let newest_voice = data.len() - 1;
        assert_eq!(data[newest_voice].id.native, "cd-0000");
        data[newest_voice].name = "Renamed at the end".into();
        data[newest_voice].updated_at = Some(now);
        sandbox.kore().load_campaigns(&data);
        let second = sync(&store, &sandbox, &options).await;
        assert!(second.full, "{label}: {second:?}");
        assert_eq!(second.updated, 1, "{label}");
        let verified = store.verify().await.unwrap();
        assert!(verified.is_sound(), "{label}: {verified:?}");
        store.close().await;
    }
}

/// A partition that runs `edit` once, right after serving the first page of
/// a read newest first: the provider's data changes mid-read.
#[derive(Debug)]
struct EditedMidRead {
    inner: Arc<dyn CampaignSource>,
    edit: Arc<Edit>,
}

struct Edit {
    done: std::sync::atomic::AtomicBool,
    apply: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Edit")
    }
}

#[async_trait::async_trait]
impl CampaignSource for EditedMidRead {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn provider(&self) -> &str {
        self.inner.provider()
    }
    fn capabilities(&self) -> campaign_core::Capabilities {
        self.inner.capabilities()
    }
    fn capabilities_at_provider(&self) -> bool {
        self.inner.capabilities_at_provider()
    }
    fn walk_options(&self) -> campaign_core::WalkOptions {
        self.inner.walk_options()
    }
    fn partition(&self) -> Option<String> {
        self.inner.partition()
    }
    fn lists_changes_cheaply(&self) -> bool {
        self.inner.lists_changes_cheaply()
    }
    fn token_after(
        &self,
        query: &campaign_core::CampaignQuery,
        campaign: &Campaign,
    ) -> Option<campaign_core::PageToken> {
        self.inner.token_after(query, campaign)
    }
    fn partitions(&self, query: &campaign_core::CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        self.inner
            .partitions(query)
            .into_iter()
            .map(|part| {
                Arc::new(EditedMidRead {
                    inner: part,
                    edit: Arc::clone(&self.edit),
                }) as Arc<dyn CampaignSource>
            })
            .collect()
    }
    async fn fetch_page(
        &self,
        query: &campaign_core::CampaignQuery,
        token: Option<campaign_core::PageToken>,
    ) -> campaign_core::Result<campaign_core::Page> {
        let first = token.is_none();
        let page = self.inner.fetch_page(query, token).await?;
        let voice = self.inner.partition().is_some_and(|p| p.contains("voice"));
        if first
            && voice
            && query.sort().is_some()
            && !self
                .edit
                .done
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            (self.edit.apply)();
        }
        Ok(page)
    }
}

/// A full read newest first pages by offset over an order that edits
/// change: a campaign edited while later pages are still to be read moves
/// to a page already read and is not listed. It still exists, so it must
/// not be deleted (nor logged as deleted and added again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_edited_during_a_full_read_is_not_deleted() {
    for test in backends("edited_mid_read").await {
        let label = test.label;
        let sandbox = sandbox().await;
        let now = Utc::now();
        let data = campaigns(now - TimeDelta::days(1));
        sandbox.kore().load_campaigns(&data);
        let store = connect(&test).await;
        let first = sync(&store, &sandbox, &SyncOptions::default()).await;
        assert_eq!(first.added as usize, VOICE + SMS, "{label}");

        // The oldest voice campaign (the last voice page) is edited right
        // after the full read's first voice page.
        let mut edited = data.clone();
        edited[VOICE - 1].name = "Edited mid-read".into();
        edited[VOICE - 1].updated_at = Some(Utc::now());
        let control = sandbox.kore().clone();
        let source = Arc::new(EditedMidRead {
            inner: source(&sandbox),
            edit: Arc::new(Edit {
                done: Default::default(),
                apply: Box::new(move || {
                    control.load_campaigns(&edited);
                }),
            }),
        });
        let full = SyncOptions {
            full: true,
            ..SyncOptions::default()
        };
        let run = store.start_run().await.unwrap();
        let report = store.sync_source(run, source, &full).await.unwrap();
        assert!(report.full && !report.failed(), "{label}: {report:?}");
        assert_eq!(report.deleted, 0, "{label}: {report:?}");

        // The next sync reads the edit as what it is: an update.
        let next = sync(&store, &sandbox, &SyncOptions::default()).await;
        assert_eq!(
            (next.added, next.updated, next.deleted),
            (0, 1, 0),
            "{label}"
        );
        let verified = store.verify().await.unwrap();
        assert!(verified.is_sound(), "{label}: {verified:?}");
        store.close().await;
    }
}
