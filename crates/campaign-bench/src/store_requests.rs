//! The store's re-sync figures as the Kore provider sees them: requests per
//! channel. The `campaigns sandbox` process does not expose its request log,
//! so this runs an in-process sandbox with the same generated data and
//! syncs it with `Store::sync_source` on a `KoreSource`, configured as
//! `campaigns sync` configures it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use campaign_core::{Campaign, CampaignQuery, CampaignSource, Channel, StaticToken};
use campaign_sandbox::{GeneratedData, Sandbox};
use campaign_store::{SourceReport, Store, SyncOptions};
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use serde_json::Value;
use source_kore::{KoreConfig, KoreSource, DEFAULT_PAGE_SIZE};

use crate::figures::{ms, runtime};
use crate::report::Row;
use crate::sizes::Sizes;

type Res<T> = Result<T, String>;

/// One in every `CHANGED_EVERY` Kore campaigns changes: 1 %.
const CHANGED_EVERY: usize = 100;

/// Kore's share of `campaigns sandbox --campaigns total` (voice, sms): the
/// CLI gives CMS three equal contact centers out of half, Kore the rest.
pub(crate) fn kore_split(total: usize) -> (usize, usize) {
    let kore = total - total / 2 / 3 * 3;
    (kore / 2, kore - kore / 2)
}

/// One channel's requests.
#[derive(Debug, Default)]
struct Requests {
    /// The listing pages asked for (1 = the first), sorted.
    pages: Vec<u64>,
    /// Requests of one record: the source's reversed-sort check.
    checks: usize,
}

impl Requests {
    fn all(&self) -> usize {
        self.pages.len() + self.checks
    }

    /// `6 (pages 1-5 + 1 check)`, or `9 (8 requests of pages 1-5 + 1 check)`
    /// when pages were asked again.
    fn text(&self) -> String {
        let mut distinct = self.pages.clone();
        distinct.dedup();
        let pages = match (distinct.first(), distinct.last()) {
            (Some(first), Some(last)) if first == last => format!("page {first}"),
            // Without gaps in practice; the counts tell otherwise.
            (Some(first), Some(last)) => format!("pages {first}-{last}"),
            _ => "no page".to_owned(),
        };
        let pages = if distinct.len() < self.pages.len() {
            format!("{} requests of {pages}", self.pages.len())
        } else {
            pages
        };
        format!("{} ({pages} + {} check)", self.all(), self.checks)
    }
}

/// What one re-sync asked of Kore and wrote.
struct Resync {
    /// Requests per channel (`voice`, `sms`).
    requests: BTreeMap<String, Requests>,
    report: SourceReport,
    /// Change-log entries the re-sync added (`last_seq` after less before).
    logged: i64,
    wall: Duration,
}

impl Resync {
    fn requests_text(&self) -> String {
        self.requests
            .iter()
            .map(|(channel, requests)| format!("{channel} {}", requests.text()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn max_requests(&self) -> usize {
        self.requests.values().map(Requests::all).max().unwrap_or(0)
    }
}

/// One data set synced whole, then re-synced unchanged twice and with 1 %
/// changed.
struct Scenario {
    full_wall: Duration,
    /// The first re-sync after the full one: it also checks the sort.
    first: Resync,
    /// A later one, nothing changed either.
    unchanged: Resync,
    changed: Resync,
    /// Per channel: campaigns changed, and the pages of 50 they fill.
    changed_pages: BTreeMap<String, (usize, usize)>,
}

fn channel_name(channel: &Channel) -> String {
    channel.as_str().to_owned()
}

fn kore_source(sandbox: &Sandbox) -> Res<Arc<dyn CampaignSource>> {
    let creds = sandbox.credentials();
    let mut config = KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        creds.kore_stream_id.clone(),
        creds.kore_account_id.clone(),
    );
    config.iid = Some(creds.kore_iid.clone().into());
    // As the sandbox's config for `campaigns sync`: no client quota, else defaults.
    config.rate_limit = None;
    let tokens = Arc::new(StaticToken::new(creds.kore_jwt.clone()));
    KoreSource::new(config, tokens)
        .map(|source| Arc::new(source) as Arc<dyn CampaignSource>)
        .map_err(|e| e.to_string())
}

async fn all_campaigns(source: Arc<dyn CampaignSource>) -> Res<Vec<Campaign>> {
    let mut stream = source.stream(&CampaignQuery::all());
    let mut all = Vec::new();
    while let Some(item) = stream.next().await {
        all.push(item.map_err(|e| e.to_string())?);
    }
    Ok(all)
}

async fn sync(store: &Store, source: &Arc<dyn CampaignSource>, full: bool) -> Res<SourceReport> {
    let run = store.start_run().await.map_err(|e| e.to_string())?;
    let options = SyncOptions {
        full,
        ..SyncOptions::default()
    };
    let report = store
        .sync_source(run, Arc::clone(source), &options)
        .await
        .map_err(|e| e.to_string())?;
    match &report.error {
        Some(error) => Err(format!("the Kore sync failed: {error}")),
        None => Ok(report),
    }
}

async fn resync(store: &Store, source: &Arc<dyn CampaignSource>, sandbox: &Sandbox) -> Res<Resync> {
    let before = store.last_seq().await.map_err(|e| e.to_string())?;
    sandbox.kore().clear_requests();
    let started = Instant::now();
    let report = sync(store, source, false).await?;
    let wall = started.elapsed();
    let mut requests: BTreeMap<String, Requests> = BTreeMap::new();
    for request in sandbox.kore().requests() {
        let body: Value = request
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default();
        let channel = body["type"].as_str().unwrap_or("other").to_owned();
        let entry = requests.entry(channel).or_default();
        match (body["limit"].as_u64(), body["skip"].as_u64()) {
            (Some(1), _) => entry.checks += 1,
            (Some(limit), Some(skip)) => entry.pages.push(skip / limit + 1),
            _ => entry.pages.push(0),
        }
    }
    for entry in requests.values_mut() {
        entry.pages.sort_unstable();
    }
    let after = store.last_seq().await.map_err(|e| e.to_string())?;
    Ok(Resync {
        requests,
        report,
        logged: after - before,
        wall,
    })
}

/// Loads `campaigns` into the sandbox, syncs them whole into a fresh store
/// at `db`, re-syncs unchanged, then with 1 % moved to now.
async fn scenario(sandbox: &Sandbox, mut campaigns: Vec<Campaign>, db: &Path) -> Res<Scenario> {
    let loaded = sandbox.kore().load_campaigns(&campaigns);
    if loaded.len() != campaigns.len() {
        return Err(format!(
            "the sandbox loaded {} of {} Kore campaigns",
            loaded.len(),
            campaigns.len()
        ));
    }
    let _ = std::fs::remove_file(db);
    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .map_err(|e| e.to_string())?;
    let source = kore_source(sandbox)?;
    let started = Instant::now();
    let first = sync(&store, &source, false).await?;
    let full_wall = started.elapsed();
    if first.added as usize != campaigns.len() {
        return Err(format!(
            "the first Kore sync added {} of {}",
            first.added,
            campaigns.len()
        ));
    }
    let first = resync(&store, &source, sandbox).await?;
    let unchanged = resync(&store, &source, sandbox).await?;

    // Distinct instants, as separate edits would have, newest first.
    let now = Utc::now();
    let mut changed_pages: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (k, campaign) in campaigns.iter_mut().step_by(CHANGED_EVERY).enumerate() {
        let k = i64::try_from(k).map_err(|e| e.to_string())?;
        campaign.updated_at = Some(now - TimeDelta::milliseconds(k));
        changed_pages
            .entry(channel_name(&campaign.channel))
            .or_default()
            .0 += 1;
    }
    for (count, pages) in changed_pages.values_mut() {
        *pages = count.div_ceil(DEFAULT_PAGE_SIZE as usize);
    }
    sandbox.kore().load_campaigns(&campaigns);
    let changed = resync(&store, &source, sandbox).await?;
    store.close().await;
    // Hundreds of MB at full size: gone before the next store is written.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(Scenario {
        full_wall,
        first,
        unchanged,
        changed,
        changed_pages,
    })
}

/// Whether every channel asked at most the pages holding its changes + 1,
/// and the text saying so.
fn within_pages(scenario: &Scenario) -> (bool, String) {
    let mut ok = true;
    let mut parts = Vec::new();
    for (channel, requests) in &scenario.changed.requests {
        let all = requests.all();
        let (count, pages) = scenario
            .changed_pages
            .get(channel)
            .copied()
            .unwrap_or_default();
        ok &= all <= pages + 1;
        parts.push(format!(
            "{channel} {} / {} ({count} changed: {pages} pages + 1)",
            requests.text(),
            pages + 1
        ));
    }
    (ok && !parts.is_empty(), parts.join(", "))
}

/// Kore requests per channel of re-syncs: nothing changed, and 1 % changed.
pub(crate) fn kore_requests(sizes: &Sizes, dir: &Path) -> Res<Vec<Row>> {
    let (_, large) = sizes.store_campaigns;
    let (voice, sms) = kore_split(large);
    runtime()?.block_on(async {
        // The default seed and tie groups: the data `campaigns sandbox` serves.
        let data = GeneratedData {
            kore_voice: voice,
            kore_sms: sms,
            ..GeneratedData::default()
        };
        let sandbox = Sandbox::builder()
            .generated(data)
            .start()
            .await
            .map_err(|e| format!("the sandbox did not start: {e}"))?;
        // Read back and loaded again, so the 1 % change below is the only
        // difference between what is stored and what the provider serves.
        let campaigns = all_campaigns(kore_source(&sandbox)?).await?;
        let generated = scenario(&sandbox, campaigns, &dir.join("kore.db")).await?;
        sandbox.shutdown().await;
        Ok(rows(voice, sms, &generated))
    })
}

fn rows(voice: usize, sms: usize, g: &Scenario) -> Vec<Row> {
    let figure = "store";
    let mut rows = vec![Row::info(
        figure,
        format!(
            "in process: {voice} voice + {sms} SMS Kore campaigns (the sandbox's data), \
             KoreSource (pages of {DEFAULT_PAGE_SIZE}, prefetch 4) into SQLite: first sync; \
             the first re-sync after it, nothing changed (it also checks the provider's sort \
             once for the day)"
        ),
        format!(
            "{}; {} ({} logged, {})",
            ms(g.full_wall),
            g.first.requests_text(),
            g.first.logged,
            ms(g.first.wall)
        ),
    )];
    rows.push(Row::check(
        figure,
        "re-sync, nothing changed: Kore requests per channel of a later re-sync (the \
         sandbox's request log)",
        format!(
            "{} ({} campaigns re-read, {} logged, {}; the sync's report: {} pages asked)",
            g.unchanged.requests_text(),
            g.unchanged.report.unchanged,
            g.unchanged.logged,
            ms(g.unchanged.wall),
            g.unchanged.report.requests
        ),
        "1 per channel",
        g.unchanged.max_requests() <= 1 && g.unchanged.logged == 0,
    ));
    let (ok, text) = within_pages(g);
    rows.push(Row::check(
        figure,
        "re-sync, 1 % of Kore campaigns changed (updatedAt moved to now): Kore requests per \
         channel / (pages holding changes + 1)",
        format!(
            "{text}; {} updated, {} re-read unchanged, {} logged; the sync's report: {} pages \
             asked",
            g.changed.report.updated,
            g.changed.report.unchanged,
            g.changed.logged,
            g.changed.report.requests
        ),
        "<= pages holding changes + 1",
        ok,
    ));
    rows
}
