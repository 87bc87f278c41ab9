//! The library's main job: one ordered, paginated view over a CMS and a
//! Kore.ai source, here both served by the embedded sandbox.
//!
//! Run it with `cargo run -p examples --example unified_view`.

use std::sync::Arc;

use campaign_aggregate::{AggregateEvent, Aggregator};
use campaign_core::{CampaignQuery, Sort, SortField, StaticToken};
use campaign_sandbox::{GeneratedData, Sandbox};
use futures::StreamExt;
use source_cms::{CmsConfig, CmsSource};
use source_kore::{KoreConfig, KoreJwtMinter, KoreSource};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 42,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 10,
            kore_voice: 12,
            kore_sms: 8,
        })
        .start()
        .await?;
    let credentials = sandbox.credentials();

    // A CMS source over two contact centers, with a ready Bearer token.
    let cms = CmsSource::new(
        CmsConfig::new(
            "cms",
            sandbox.cms_url().as_str(),
            sandbox.cms_contact_center_ids(),
        ),
        Arc::new(StaticToken::new(credentials.cms_token.clone())),
    )?;

    // A Kore.ai source that mints its own JWTs from the app's client credentials.
    let mut kore_config = KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        credentials.kore_stream_id.clone(),
        credentials.kore_account_id.clone(),
    );
    kore_config.rate_limit = None; // the sandbox does not rate-limit
    let minter = KoreJwtMinter::new(
        credentials.kore_client_id.clone(),
        credentials.kore_client_secret.clone(),
    );
    let kore = KoreSource::new(kore_config, Arc::new(minter))?;

    let aggregate = Aggregator::builder("all")
        .source(Arc::new(cms))
        .source(Arc::new(kore))
        .build()?;

    // Pages with an opaque cursor: every campaign once, in global order.
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(15)
        .build()?;
    println!("{}", aggregate.explain(&query));
    let mut cursor = None;
    let mut page_number = 1;
    loop {
        let page = aggregate.page(&query, cursor.as_ref()).await?;
        println!("page {page_number}: {} campaigns", page.items.len());
        for campaign in &page.items {
            println!(
                "  {:<12} {:<6} {}",
                campaign.id.to_string(),
                campaign.channel.as_str(),
                campaign.name
            );
        }
        for failure in &page.failures {
            println!("  source {} failed: {}", failure.source, failure.error);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        page_number += 1;
    }

    // Or as a stream of events, failures included, as they happen.
    let mut events = aggregate.events(&CampaignQuery::all());
    let mut count = 0;
    while let Some(event) = events.next().await {
        match event {
            AggregateEvent::Campaign(_) => count += 1,
            AggregateEvent::SourceFailed(failure) => {
                println!("{} failed: {}", failure.source, failure.error)
            }
            AggregateEvent::SourceWarning(warning) => println!("warning: {warning}"),
            AggregateEvent::SourceDone { source, items } => {
                println!("{source}: done after {items} campaigns")
            }
            _ => {}
        }
    }
    println!("{count} campaigns in all");
    sandbox.shutdown().await;
    Ok(())
}
