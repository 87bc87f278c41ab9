//! Genesys sources pointed at the sandbox's emulator, shared by the test
//! files that run against it.
#![allow(dead_code)]

pub mod fake;

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    walk_position_chunks, Campaign, CampaignQuery, CampaignSource, Result, SourcePosition, Warning,
};
use campaign_sandbox::{GeneratedData, Sandbox, SandboxBuilder};
use futures::StreamExt;
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};

/// The four divisions of generated data (the first three are the samples').
pub const HOME: &str = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9";
pub const RETENTION: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";
pub const SALES: &str = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a";

/// A sandbox with `count` generated Genesys campaigns.
pub fn generated(count: usize) -> SandboxBuilder {
    Sandbox::builder()
        .generated(GeneratedData {
            seed: 7,
            ..GeneratedData::default()
        })
        .genesys_generated(count)
}

/// `name`'s config for `sandbox`: no client-side rate limit, quick retries.
pub fn config(sandbox: &Sandbox, name: &str) -> GenesysConfig {
    let mut c = GenesysConfig::new(name, sandbox.genesys_url().as_str())
        .with_login_url(sandbox.genesys_login_url().as_str());
    c.rate_limit = None;
    c.http.retry.initial_backoff = Duration::from_millis(10);
    c.http.retry.max_backoff = Duration::from_millis(50);
    c
}

/// The sandbox's OAuth client.
pub fn client_credentials(sandbox: &Sandbox) -> GenesysCredentials {
    let creds = sandbox.credentials();
    GenesysCredentials::client_credentials(
        creds.genesys_client_id.clone(),
        creds.genesys_client_secret.clone(),
    )
}

/// A source with `config`, authenticating with the sandbox's OAuth client.
pub fn source_with(sandbox: &Sandbox, config: GenesysConfig) -> Arc<GenesysSource> {
    Arc::new(GenesysSource::new(config, client_credentials(sandbox)).unwrap())
}

/// A source named "genesys" with page size `page_size`.
pub fn source(sandbox: &Sandbox, page_size: u32) -> Arc<GenesysSource> {
    source_with(
        sandbox,
        config(sandbox, "genesys").with_page_size(page_size),
    )
}

/// Every campaign of a walk, its warnings, or the error that ended it.
pub async fn walk(
    source: &Arc<GenesysSource>,
    query: &CampaignQuery,
) -> (
    Vec<Campaign>,
    Vec<Warning>,
    Option<campaign_core::SourceError>,
) {
    let dynamic: Arc<dyn CampaignSource> = source.clone();
    let mut chunks = walk_position_chunks(dynamic, query.clone(), SourcePosition::default());
    let (mut campaigns, mut warnings, mut error) = (Vec::new(), Vec::new(), None);
    while let Some(chunk) = chunks.next().await {
        warnings.extend(chunk.warnings);
        for item in chunk.items {
            match item {
                Ok(p) => campaigns.push(p.campaign),
                Err(e) => error = Some(e),
            }
        }
    }
    (campaigns, warnings, error)
}

/// Every campaign of a walk that must succeed.
pub async fn all(source: &Arc<GenesysSource>, query: &CampaignQuery) -> Result<Vec<Campaign>> {
    let (campaigns, _, error) = walk(source, query).await;
    error.map_or(Ok(campaigns), Err)
}

/// The listing requests the sandbox received, as their query strings.
pub fn listing_queries(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .genesys()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v2/outbound/campaigns")
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

/// How many token requests the sandbox received.
pub fn token_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .genesys()
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count()
}

/// The `pageNumber` of a listing query string.
pub fn page_number(query: &str) -> Option<u64> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("pageNumber="))
        .and_then(|n| n.parse().ok())
}
