//! Genesys paging: the listing walked with the pages `pageCount` announces
//! fetched [`Sizes::paging_prefetch`] at a time, against one at a time and
//! against the round-trip limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use campaign_core::{CampaignQuery, CampaignSource, Sort, SortField};
use campaign_sandbox::{GeneratedData, Sandbox};
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};

use crate::figures::{drain, ms, runtime, timed, Res};
use crate::{Row, Sizes};

const FIGURE: &str = "Genesys paging";

/// A source over `sandbox`'s Genesys emulator with its ready token (no
/// token request inside the measured walks), `prefetch` pages in flight.
fn source(sandbox: &Sandbox, page: u32, prefetch: usize) -> Res<Arc<GenesysSource>> {
    let mut config = GenesysConfig::new("genesys", sandbox.genesys_url().as_str())
        .with_login_url(sandbox.genesys_login_url().as_str())
        .with_page_size(page);
    config.prefetch = prefetch;
    // The sandbox has no quota; the default client quota would measure itself.
    config.rate_limit = None;
    let token = GenesysCredentials::Token(sandbox.credentials().genesys_token.clone());
    GenesysSource::new(config, token)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Genesys paging in the name order the server is asked for (and the source
/// verifies): prefetch N against prefetch 1 and the round-trip limit.
pub fn paging(sizes: &Sizes) -> Res<Vec<Row>> {
    runtime()?.block_on(async {
        let sandbox = Sandbox::builder()
            .generated(GeneratedData {
                seed: 13,
                ..GeneratedData::default()
            })
            .genesys_generated(sizes.paging_campaigns)
            .latency(sizes.latency)
            .start()
            .await
            .map_err(|e| format!("the sandbox did not start: {e}"))?;
        let page = u32::try_from(sizes.paging_page).map_err(|e| e.to_string())?;
        let query = CampaignQuery::builder()
            .page_size(page)
            .sort(Sort::asc(SortField::Name))
            .build()
            .map_err(|e| e.to_string())?;
        let prefetch = sizes.paging_prefetch;
        let fast = source(&sandbox, page, prefetch)?;
        let slow = source(&sandbox, page, 1)?;

        let started = Instant::now();
        fast.fetch_page(&query, None)
            .await
            .map_err(|e| e.to_string())?;
        let round_trip = started.elapsed();
        let walk = |source: &Arc<GenesysSource>| {
            let source: Arc<dyn CampaignSource> = source.clone();
            let query = query.clone();
            move || drain(Arc::clone(&source).stream(&query))
        };
        let (concurrent, count) = timed(sizes.repeats, walk(&fast)).await?;
        let (sequential, count_seq) = timed(1, walk(&slow)).await?;
        if count != sizes.paging_campaigns || count_seq != count {
            return Err(format!(
                "Genesys paging listed {count} and {count_seq} of {} campaigns",
                sizes.paging_campaigns
            ));
        }
        let requests = sandbox.genesys().requests().len();
        sandbox.shutdown().await;
        rows(sizes, count, round_trip, concurrent, sequential, requests)
    })
}

/// The figure's rows from what was measured.
fn rows(
    sizes: &Sizes,
    count: usize,
    round_trip: Duration,
    concurrent: Duration,
    sequential: Duration,
    requests: usize,
) -> Res<Vec<Row>> {
    let prefetch = sizes.paging_prefetch;
    let pages = count.div_ceil(sizes.paging_page);
    // The first page tells `pageCount`; the rest go `prefetch` at a time.
    let waves = 1 + (pages - 1).div_ceil(prefetch);
    let limit = sizes.latency * u32::try_from(waves).map_err(|e| e.to_string())?;
    let to_limit = concurrent.as_secs_f64() / limit.as_secs_f64();
    let speedup = sequential.as_secs_f64() / concurrent.as_secs_f64();
    Ok(vec![
        Row::info(
            FIGURE,
            format!(
                "{count} campaigns by name, {pages} pages of {}, {} latency (one request: {})",
                sizes.paging_page,
                ms(sizes.latency),
                ms(round_trip)
            ),
            format!(
                "prefetch {prefetch}: {}, prefetch 1: {}, limit (1 + ceil({}/{prefetch})) x {} = {}; \
                 {requests} requests to the emulator in all",
                ms(concurrent),
                ms(sequential),
                pages - 1,
                ms(sizes.latency),
                ms(limit)
            ),
        ),
        Row::check(
            FIGURE,
            format!("prefetch {prefetch} wall / round-trip limit"),
            format!("{to_limit:.2}x"),
            "<= 1.2x",
            to_limit <= 1.2,
        ),
        Row::check(
            FIGURE,
            format!("prefetch 1 wall / prefetch {prefetch} wall"),
            format!("{speedup:.2}x"),
            ">= 6x",
            speedup >= 6.0,
        ),
    ])
}
