//! A third provider, written the way `docs/PROVIDERS.md` describes: a
//! `CampaignSource` over "TinyCRM" (`examples/src/tinycrm.rs`), a small REST
//! API that this example serves itself on 127.0.0.1. The example proves the source with the conformance
//! suite, then lists it together with the CMS and Kore.ai sources (over the
//! embedded sandbox) in one aggregate.
//!
//! Run it with `cargo run -p examples --example custom_provider`.

use std::sync::Arc;

use async_trait::async_trait;
use campaign_aggregate::Aggregator;
use campaign_core::{Campaign, CampaignQuery, CampaignSource, Sort, SortField, StaticToken};
use campaign_http::{HttpConfig, Url};
use campaign_testkit::{fixture_campaigns, Conformance, SourceFactory};
use examples::tinycrm::{serve_tinycrm, TinySource, API_KEY};

// ---------------------------------------------------------------------------
// Proving it: the conformance suite, then one aggregate with CMS and Kore.ai.
// ---------------------------------------------------------------------------

struct TinyFactory {
    base: Url,
}

#[async_trait]
impl SourceFactory for TinyFactory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        Arc::new(
            TinySource::new(
                "tiny",
                self.base.as_str(),
                Arc::new(StaticToken::new(API_KEY)),
                HttpConfig::default(),
            )
            .expect("valid config"),
        )
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        let source = TinySource::new(
            "tiny",
            self.base.as_str(),
            Arc::new(StaticToken::new("wrong-key")),
            HttpConfig::default(),
        );
        Some(Arc::new(source.expect("valid config")))
    }

    fn expected(&self) -> Vec<Campaign> {
        fixture_campaigns("tiny")
    }

    fn secrets(&self) -> Vec<String> {
        vec![API_KEY.to_owned()]
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tiny_url = serve_tinycrm(fixture_campaigns("tiny")).await?;
    println!("TinyCRM serving the kit's fixture at {tiny_url}");

    let report = Conformance::new(TinyFactory {
        base: tiny_url.clone(),
    })
    .run()
    .await;
    for result in &report.results {
        println!("  conformance: {result}");
    }
    report.assert_passed();

    let sandbox = campaign_sandbox::Sandbox::start_default().await?;
    let credentials = sandbox.credentials();
    let cms = source_cms::CmsSource::new(
        source_cms::CmsConfig::new(
            "cms",
            sandbox.cms_url().as_str(),
            sandbox.cms_contact_center_ids(),
        ),
        Arc::new(StaticToken::new(credentials.cms_token.clone())),
    )?;
    let mut kore_config = source_kore::KoreConfig::new(
        "kore",
        sandbox.kore_url().as_str(),
        credentials.kore_stream_id.clone(),
        credentials.kore_account_id.clone(),
    );
    kore_config.rate_limit = None;
    let kore = source_kore::KoreSource::new(
        kore_config,
        Arc::new(StaticToken::new(credentials.kore_jwt.clone())),
    )?;
    let tiny = TinySource::new(
        "tiny",
        tiny_url.as_str(),
        Arc::new(StaticToken::new(API_KEY)),
        HttpConfig::default(),
    )?;

    let aggregate = Aggregator::builder("all")
        .source(Arc::new(cms))
        .source(Arc::new(kore))
        .source(Arc::new(tiny))
        .build()?;
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(10)
        .build()?;
    let page = aggregate.page(&query, None).await?;
    println!("\nFirst page of the unified view (newest first):");
    for campaign in &page.items {
        let created = campaign
            .created_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        println!(
            "  {:<28} {:<10} {:<26} {}",
            campaign.id.to_string(),
            campaign.provider,
            created,
            campaign.name
        );
    }
    for count in &page.per_source {
        println!(
            "  from {:<5} {:>2} items (done: {})",
            count.source, count.items, count.done
        );
    }
    assert!(
        page.failures.is_empty(),
        "no source failed: {:?}",
        page.failures
    );
    sandbox.shutdown().await;
    Ok(())
}
