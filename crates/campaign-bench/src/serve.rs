//! The service figures: `campaigns serve` as its own process, loaded by
//! keep-alive HTTP clients in this one.
//!
//! - `GET /v1/campaigns?limit=50` from a SQLite store (synced first with
//!   `campaigns sync` from a `campaigns sandbox` process) against a bare axum
//!   handler in this process that returns the same bytes, under the same load
//!   in the same run.
//! - Identical live requests at once (no store): the providers' requests for
//!   all of them against those for one, from the server's own
//!   `campaigns_provider_requests_total` (the sandbox process does not expose
//!   its request log).
//! - The same load while the server syncs its store from a sandbox that
//!   holds different data, with cursor walks made during the sync.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use crate::figures::{ms, runtime};
use crate::http_load::{
    bare_server, get_json, load, load_urls, metric_sum, walk, ServeProcess, Walk,
};
use crate::process::{CampaignsBin, SandboxProcess};
use crate::report::Row;
use crate::sizes::Sizes;
use crate::store::sync;

type Res<T> = Result<T, String>;

const FIGURE: &str = "serve";
/// The page every load client asks for.
const PAGE: &str = "/v1/campaigns?limit=50";

/// The service figures.
pub fn figures(sizes: &Sizes, bin: &CampaignsBin, dir: &Path) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    rows.extend(store_load(sizes, bin, dir)?);
    rows.extend(coalescing(sizes, bin, dir)?);
    Ok(rows)
}

/// Rows 1 and 3: the store under load, then under load while it syncs.
fn store_load(sizes: &Sizes, bin: &CampaignsBin, dir: &Path) -> Res<Vec<Row>> {
    let n = sizes.serve_campaigns;
    let clients = sizes.serve_clients;
    let mut rows = Vec::new();
    let file = dir.join("serve.db");
    let url = format!("sqlite://{}", file.display());
    let sandbox = SandboxProcess::start(bin, n, Duration::ZERO, dir)?;
    let synced = sync(bin, &sandbox, &sandbox.config, &url, &[])?;
    if synced.added() != n as u64 {
        return Err(format!("the sync added {} of {n}", synced.added()));
    }
    let rt = runtime()?;

    let server = ServeProcess::start(bin, &sandbox, &["--store", &url, "--sync-every", "0"])?;
    let (served, distinct, bare, body_len, alone) = rt.block_on(async {
        let client = reqwest::Client::new();
        let page_url = format!("{}{PAGE}", server.base);
        let started = Instant::now();
        let body = client
            .get(&page_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("GET {page_url}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("GET {page_url}: {e}"))?;
        let alone = started.elapsed();
        let body_len = body.len();
        let bare_base = bare_server(body).await?;
        let bare = load(&format!("{bare_base}{PAGE}"), clients, sizes.serve_load).await?;
        let served = load(&page_url, clients, sizes.serve_load).await?;
        let distinct = load_urls(clients, sizes.serve_load, distinct_page(&server.base)).await?;
        Ok::<_, String>((served, distinct, bare, body_len, alone))
    })?;
    drop(server);
    let ratio = served.throughput() / bare.throughput().max(1e-9);
    let load_what = format!(
        "GET {PAGE}, {clients} keep-alive clients for {:.1} s, store of {n} (SQLite)",
        sizes.serve_load.as_secs_f64()
    );
    rows.push(Row::info(
        FIGURE,
        format!("one GET {PAGE} alone from campaigns serve --store over {n}, before the load"),
        ms(alone),
    ));
    rows.push(Row::info(
        FIGURE,
        format!("{load_what}: campaigns serve --store"),
        served.summary(),
    ));
    rows.push(Row::info(
        FIGURE,
        format!(
            "the same load on a bare axum handler in the bench returning the same {body_len} bytes"
        ),
        bare.summary(),
    ));
    rows.push(Row::info(
        FIGURE,
        format!(
            "{load_what}: campaigns serve --store, every request a different page \
             (limit=50&created_to=T, T one second earlier per request and client)"
        ),
        distinct.summary(),
    ));
    rows.push(Row::check(
        FIGURE,
        "serve --store throughput / bare handler's",
        format!("{ratio:.3}x"),
        ">= 0.25x",
        ratio >= 0.25,
    ));
    let p99 = served.percentile(99.0);
    rows.push(Row::check(
        FIGURE,
        "serve --store p99 latency",
        format!(
            "{}{}",
            ms(p99),
            if served.unfinished > 0 {
                format!(
                    " ({} requests unanswered at the end, not counted)",
                    served.unfinished
                )
            } else {
                String::new()
            }
        ),
        "<= 50 ms",
        p99 <= Duration::from_millis(50) && !served.latencies.is_empty(),
    ));
    rows.push(Row::check(
        FIGURE,
        "serve --store errors (non-200 or transport)",
        served.errors.to_string(),
        "0",
        served.errors == 0,
    ));

    // Row 3: the server syncs the same store from a sandbox holding other
    // data (more campaigns, so adds and updates), under the same load.
    let changed = n + n / 10;
    let other = SandboxProcess::start(bin, changed, Duration::ZERO, dir)?;
    drop(sandbox);
    let every = sync_every_arg(sizes.serve_sync_every);
    let server = ServeProcess::start(bin, &other, &["--store", &url, "--sync-every", &every])?;
    let window = sizes.serve_sync_load;
    let (loaded, sorted, unsorted, runs, changes) = rt.block_on(async {
        let deadline = TokioInstant::now() + window;
        let page_url = format!("{}{PAGE}", server.base);
        let (loaded, sorted, unsorted) = tokio::join!(
            load(&page_url, clients, window),
            walk(&server.base, "", deadline),
            walk(&server.base, "&unsorted=true", deadline),
        );
        // The same walks once more without the load, syncs still running
        // every `--sync-every`: under the load they may not get a page.
        let deadline = TokioInstant::now() + window;
        let (sorted_alone, unsorted_alone) = tokio::join!(
            walk(&server.base, "", deadline),
            walk(&server.base, "&unsorted=true", deadline),
        );
        let client = reqwest::Client::new();
        let runs = metric_sum(&client, &server.base, "campaigns_sync_runs_total").await?;
        let changes = metric_sum(&client, &server.base, "campaigns_sync_changes_total").await?;
        Ok::<_, String>((
            loaded?,
            [sorted, sorted_alone],
            [unsorted, unsorted_alone],
            runs,
            changes,
        ))
    })?;
    drop(server);
    let during = format!(
        "{clients} clients for {:.1} s while serve --store --sync-every {every} syncs from a \
         sandbox of {changed} (store of {n})",
        window.as_secs_f64()
    );
    rows.push(Row::info(
        FIGURE,
        format!(
            "{during}: load; source syncs finished and changes they wrote, in that window and \
             the walks' {:.1} s after it",
            window.as_secs_f64()
        ),
        format!("{}; {runs:.0}; {changes:.0}", loaded.summary()),
    ));
    rows.push(Row::check(
        FIGURE,
        format!("{during}: errors"),
        loaded.errors.to_string(),
        "0",
        loaded.errors == 0,
    ));
    for (order, [under_load, alone]) in [("default sort", &sorted), ("unsorted=true", &unsorted)] {
        let clean = |w: &Walk| w.duplicates == 0 && w.error.is_none();
        rows.push(Row::check(
            FIGURE,
            format!(
                "cursor walk during that sync, limit=50, {order}: campaigns seen twice (under \
                 the load / after it, syncs still running)"
            ),
            format!("{} / {}", under_load.text(), alone.text()),
            "0",
            clean(under_load) && clean(alone) && under_load.walked + alone.walked > 0,
        ));
    }
    Ok(rows)
}

/// Request `n` of `client`: 50 campaigns created before an instant no
/// other request names, so no two requests share a page or a read.
fn distinct_page(base: &str) -> impl Fn(usize, usize) -> String + Clone + Send + 'static {
    let base = base.to_owned();
    move |client, n| {
        let end = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(365 * 56)
            - chrono::Duration::seconds((client * 1_000_000 + n) as i64);
        format!(
            "{base}/v1/campaigns?limit=50&created_to={}",
            end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

fn sync_every_arg(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Row 2: provider requests of `at_once` identical live requests against
/// those of one request. A single request's count varies with timing (pages
/// prefetched before the page is full are counted too), so each is measured
/// on `REPEATS` fresh servers, each warmed the same way.
fn coalescing(sizes: &Sizes, bin: &CampaignsBin, dir: &Path) -> Res<Vec<Row>> {
    const REPEATS: usize = 3;
    let n = sizes.serve_live_campaigns;
    let at_once = sizes.serve_identical;
    let sandbox = SandboxProcess::start(bin, n, sizes.latency, dir)?;
    let rt = runtime()?;
    let measure = |requests: usize| -> Res<Vec<(f64, Duration)>> {
        (0..REPEATS)
            .map(|_| {
                let server = ServeProcess::start(bin, &sandbox, &[])?;
                rt.block_on(identical_requests(&server.base, requests))
            })
            .collect()
    };
    let single = measure(1)?;
    let burst = measure(at_once)?;
    let text = |counts: &[(f64, Duration)]| {
        counts
            .iter()
            .map(|(requests, wall)| format!("{requests:.0} ({})", ms(*wall)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let most = |counts: &[(f64, Duration)]| counts.iter().map(|c| c.0).fold(0.0, f64::max);
    let least = |counts: &[(f64, Duration)]| counts.iter().map(|c| c.0).fold(f64::MAX, f64::min);
    Ok(vec![
        Row::info(
            FIGURE,
            format!(
                "live (no store), sandbox of {n} with {} ms latency, {REPEATS} fresh servers \
                 each warmed by one default request: provider requests (wall) of one \
                 sort=name:asc / of {at_once} sort=name:asc at once",
                sizes.latency.as_millis()
            ),
            format!("{} / {}", text(&single), text(&burst)),
        ),
        Row::check(
            FIGURE,
            format!(
                "{at_once} identical live requests at once (sort=name:asc): provider requests, \
                 most of {REPEATS} runs / most of one request's {REPEATS} runs"
            ),
            format!("{:.0} / {:.0}", most(&burst), most(&single)),
            "not more",
            most(&burst) <= most(&single) && least(&single) > 0.0,
        ),
    ])
}

/// On a fresh server at `base`: one default request (tokens, first
/// contact), then `requests` identical `sort=name:asc` pages at once, one
/// connection each; the provider requests they cost (the server's
/// `campaigns_provider_requests_total`) and their wall time.
async fn identical_requests(base: &str, requests: usize) -> Res<(f64, Duration)> {
    let name = "campaigns_provider_requests_total";
    let client = reqwest::Client::new();
    get_json(&client, &format!("{base}{PAGE}")).await?;
    let url = format!("{base}/v1/campaigns?limit=50&sort=name:asc");
    let before = metric_sum(&client, base, name).await?;
    let started = Instant::now();
    let answers = futures::future::join_all((0..requests).map(|_| {
        let url = url.clone();
        async move { get_json(&reqwest::Client::new(), &url).await }
    }))
    .await;
    let wall = started.elapsed();
    if let Some(error) = answers.into_iter().find_map(Result::err) {
        return Err(error);
    }
    Ok((metric_sum(&client, base, name).await? - before, wall))
}
