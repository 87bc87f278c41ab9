//! Keeping a local copy: sync a CMS and a Kore.ai source into an SQLite
//! store, change the providers' data, sync again, and follow the change
//! feed from where the last reader stopped.
//!
//! Run it with `cargo run -p examples --example change_feed`.
//! Pass a store URL (`sqlite://PATH` or `postgres://...`) to keep the copy.

use std::sync::Arc;

use campaign_core::{CampaignSource, StaticToken};
use campaign_sandbox::{GeneratedData, Sandbox};
use campaign_store::{Store, StoreSource, SyncOptions};
use futures::TryStreamExt;
use source_cms::{CmsConfig, CmsSource};
use source_kore::{KoreConfig, KoreSource};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 7,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 5,
            kore_voice: 6,
            kore_sms: 4,
        })
        .start()
        .await?;
    let credentials = sandbox.credentials();
    let cms: Arc<dyn CampaignSource> = Arc::new(CmsSource::new(
        CmsConfig::new(
            "cms",
            sandbox.cms_url().as_str(),
            sandbox.cms_contact_center_ids(),
        ),
        Arc::new(StaticToken::new(credentials.cms_token.clone())),
    )?);
    let mut kore_config = KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        credentials.kore_stream_id.clone(),
        credentials.kore_account_id.clone(),
    );
    kore_config.rate_limit = None; // the sandbox does not rate-limit
    let kore: Arc<dyn CampaignSource> = Arc::new(KoreSource::new(
        kore_config,
        Arc::new(StaticToken::new(credentials.kore_jwt.clone())),
    )?);

    // The CMS emulator's data as the campaigns it lists, so that changing
    // one of them below changes only that one.
    let mut cms_campaigns: Vec<_> = Arc::clone(&cms)
        .stream(&campaign_core::CampaignQuery::all())
        .try_collect()
        .await?;
    sandbox.cms().load_campaigns(&cms_campaigns);

    let dir = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("campaigns.db").display()));
    let store = Store::connect(&url).await?;

    // Two syncs: everything is added, then nothing changes.
    let mut reader_position = store.last_seq().await?;
    for _ in 0..2 {
        let run = store.start_run().await?;
        for source in [&cms, &kore] {
            let report = store
                .sync_source(run, Arc::clone(source), &SyncOptions::default())
                .await?;
            println!(
                "run {run} {:>4}: {} added, {} updated, {} deleted, {} unchanged ({} requests, {})",
                report.source,
                report.added,
                report.updated,
                report.deleted,
                report.unchanged,
                report.requests,
                if report.full { "full" } else { "incremental" },
            );
        }
    }

    // A campaign renamed and one gone at the CMS; a full sync sees both.
    cms_campaigns[0].name.push_str(" (renamed)");
    cms_campaigns.pop();
    sandbox.cms().load_campaigns(&cms_campaigns);
    let run = store.start_run().await?;
    store
        .sync_source(run, Arc::clone(&cms), &SyncOptions::default())
        .await?;

    // The change feed since the reader's last position: what the first
    // sync added, then the rename and the deletion.
    let mut feed = store.changes(reader_position, None);
    while let Some(change) = feed.try_next().await? {
        reader_position = change.seq;
        println!(
            "#{:<3} {:<7} {:<40} {}",
            change.seq,
            change.action.as_str(),
            change.id,
            change.campaign.name
        );
    }
    println!("the reader continues after #{reader_position}");

    // The store is a source too: the same queries as on live sources.
    let stored: Vec<_> = Arc::new(StoreSource::new(store.clone()))
        .stream(&campaign_core::CampaignQuery::all())
        .try_collect()
        .await?;
    println!(
        "{} campaigns in the store (deleted ones hidden)",
        stored.len()
    );
    store.close().await;
    Ok(())
}
