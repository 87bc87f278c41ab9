//! Load: 64 concurrent consumers page the aggregate over the sandbox
//! (loopback only) for a bounded time, 2 s by default or
//! `CAMPAIGNS_LOAD_SECS`. Every completed walk must list exactly the
//! baseline; no errors; every consumer task finishes; once the rig is
//! dropped, the runtime's live tasks and this process's open descriptors are
//! back where they started. Prints requests/s, p99 page latency, RSS and fd
//! counts; only generous sanity bounds are asserted (noisy machines).

use std::time::{Duration, Instant};

use campaign_core::CampaignId;
use campaign_e2e::{Rig, RigOptions};
use campaign_http::RetryPolicy;
use campaign_sandbox::GeneratedData;
use tokio::task::JoinSet;

const CONSUMERS: usize = 64;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// Resident set size in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Default)]
struct ConsumerReport {
    walks: usize,
    pages: usize,
    errors: Vec<String>,
    latencies: Vec<Duration>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_consumers_page_without_errors_or_leaks() {
    let seconds: f64 = std::env::var("CAMPAIGNS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let duration = Duration::from_secs_f64(seconds);
    let tasks_before = alive_tasks();
    let fds_before = open_fds();

    let options = RigOptions {
        data: GeneratedData {
            seed: 64,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 40,
            kore_voice: 60,
            kore_sms: 60,
        },
        page_size: 20,
        kore_prefetch: 2,
        attempt_timeout: Duration::from_secs(20),
        retry: RetryPolicy::default(),
        concurrency: CONSUMERS,
        ..RigOptions::default()
    };
    let rig = std::sync::Arc::new(Rig::start(options).await.expect("rig"));
    let baseline: Vec<CampaignId> = rig.list_pages(1_000).await.expect("baseline").ids;
    assert_eq!(baseline.len(), 200);
    let rss_before = rss_kib();
    let requests_before = rig.sandbox.cms().request_count() + rig.sandbox.kore().request_count();

    let started = Instant::now();
    let mut consumers = JoinSet::new();
    for _ in 0..CONSUMERS {
        let rig = std::sync::Arc::clone(&rig);
        let baseline = baseline.clone();
        consumers.spawn(async move {
            let mut report = ConsumerReport::default();
            // At least one walk each, then until the time is up.
            loop {
                let mut ids = Vec::with_capacity(baseline.len());
                let mut cursor = None;
                loop {
                    let t = Instant::now();
                    let page = match rig.aggregate.page(&rig.query, cursor.as_ref()).await {
                        Ok(page) => page,
                        Err(e) => {
                            report.errors.push(e.to_string());
                            break;
                        }
                    };
                    report.latencies.push(t.elapsed());
                    report.pages += 1;
                    report
                        .errors
                        .extend(page.failures.iter().map(|f| f.error.to_string()));
                    ids.extend(page.items.into_iter().map(|c| c.id));
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                if ids != baseline {
                    report
                        .errors
                        .push(format!("a walk listed {} ids, not the baseline", ids.len()));
                }
                report.walks += 1;
                if started.elapsed() >= duration {
                    break;
                }
            }
            report
        });
    }
    // RSS over time: flat memory means the second half holds no more than the first.
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while started.elapsed() < duration {
            samples.push(rss_kib());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        samples
    });
    let mut peak_fds = open_fds();
    let mut reports = Vec::new();
    let joined = tokio::time::timeout(duration + Duration::from_secs(60), async {
        while let Some(joined) = consumers.join_next().await {
            peak_fds = peak_fds.max(open_fds());
            reports.push(joined.expect("a consumer panicked"));
        }
    })
    .await;
    assert!(
        joined.is_ok(),
        "consumers did not finish within a minute of the deadline"
    );
    let elapsed = started.elapsed();
    let rss_after = rss_kib();
    let samples = sampler.await.expect("sampler");
    let rss_mid = samples.get(samples.len() / 2).copied().unwrap_or(rss_after);
    let requests =
        rig.sandbox.cms().request_count() + rig.sandbox.kore().request_count() - requests_before;
    let fds_loaded = open_fds();

    // Tear down: the sources, the aggregate and the sandbox go; their tasks
    // and sockets must go with them.
    let rig = std::sync::Arc::into_inner(rig).expect("every consumer dropped its handle");
    rig.into_sandbox().shutdown().await;
    let mut tasks_after = alive_tasks();
    let mut fds_after = open_fds();
    for _ in 0..50 {
        if tasks_after <= tasks_before && fds_after <= fds_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        tasks_after = alive_tasks();
        fds_after = open_fds();
    }

    let errors: Vec<&String> = reports.iter().flat_map(|r| &r.errors).collect();
    let walks: usize = reports.iter().map(|r| r.walks).sum();
    let pages: usize = reports.iter().map(|r| r.pages).sum();
    let mut latencies: Vec<Duration> = reports.iter().flat_map(|r| r.latencies.clone()).collect();
    latencies.sort();
    let secs = elapsed.as_secs_f64();
    println!(
        "load: {CONSUMERS} consumers, {secs:.2} s, {walks} walks, {pages} pages ({:.0} pages/s), \
         {requests} HTTP requests ({:.0} requests/s), page latency p50 {:?} p99 {:?} max {:?}, \
         RSS {} KiB before / {} KiB mid-run / {} KiB after, fds {fds_before} before / {peak_fds} peak / {fds_loaded} loaded / {fds_after} after, \
         live tasks {tasks_before} before / {tasks_after} after, errors {}",
        pages as f64 / secs,
        requests as f64 / secs,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        rss_before,
        rss_mid,
        rss_after,
        errors.len()
    );
    assert!(errors.is_empty(), "errors under load: {errors:?}");
    assert_eq!(reports.len(), CONSUMERS, "every consumer finished");
    assert!(
        walks >= CONSUMERS,
        "every consumer completed at least one walk"
    );
    assert!(
        tasks_after <= tasks_before,
        "leaked tasks: {tasks_before} -> {tasks_after}"
    );
    assert!(
        fds_after <= fds_before,
        "leaked descriptors: {fds_before} -> {fds_after}"
    );
    // Sockets stay bounded by the concurrency, not the number of pages.
    assert!(
        peak_fds < fds_before + 8 * CONSUMERS,
        "{peak_fds} descriptors open at peak"
    );
    // Memory: generous; the point is that it does not grow with the work done.
    assert!(
        rss_after < rss_before + 256 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
}
