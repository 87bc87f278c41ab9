//! How big each measurement is: the sizes, a quick mode and a tiny
//! mode for the smoke test.

use std::time::Duration;

/// The sizes and latencies of every figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizes {
    /// Repetitions of each timed walk (the median is reported).
    pub repeats: usize,
    /// Latency the sandbox adds to every request (fan-out, Kore paging, first item).
    pub latency: Duration,
    /// Fan-out: CMS campaigns per contact center (3 contact centers).
    pub fanout_cms_per_center: usize,
    /// Fan-out: Kore campaigns per channel.
    pub fanout_kore_per_channel: usize,
    /// Kore paging: voice campaigns walked.
    pub paging_campaigns: usize,
    /// Kore paging: page size.
    pub paging_page: usize,
    /// Kore paging: the prefetch measured against sequential paging.
    pub paging_prefetch: usize,
    /// Decode: records per page.
    pub decode_records: usize,
    /// Decode: time spent on each side of each round.
    pub decode_time: Duration,
    /// Merge: inputs.
    pub merge_sources: usize,
    /// Merge: items per input.
    pub merge_per_source: usize,
    /// Memory: the small and the large listing.
    pub memory_campaigns: (usize, usize),
    /// Many sources: how many.
    pub many_sources: usize,
    /// Many sources: campaigns in each.
    pub many_per_source: usize,
    /// Many sources: page size.
    pub many_page: usize,
    /// Many sources: latency per page.
    pub many_latency: Duration,
    /// Many sources: the aggregate's concurrency bound.
    pub many_bound: usize,
    /// First item: campaigns listed.
    pub first_item_campaigns: usize,
    /// Store: campaigns in the small and the large sandbox; the large one is
    /// synced, re-synced and read back, the small one read back for the
    /// memory ratio.
    pub store_campaigns: (usize, usize),
    /// Store: how long one `list --store` may read before it is stopped (an
    /// unfinished listing is reported as such, not waited for).
    pub store_list_budget: Duration,
    /// Serve: campaigns in the store the HTTP load reads.
    pub serve_campaigns: usize,
    /// Serve: concurrent keep-alive clients.
    pub serve_clients: usize,
    /// Serve: how long each load (the server's and the bare handler's) runs.
    pub serve_load: Duration,
    /// Serve: how long the load runs while the server syncs its store.
    pub serve_sync_load: Duration,
    /// Serve: the server's `--sync-every` during that load.
    pub serve_sync_every: Duration,
    /// Serve: campaigns in the sandbox the live (no store) server reads.
    pub serve_live_campaigns: usize,
    /// Serve: identical live requests sent at once.
    pub serve_identical: usize,
}

impl Sizes {
    /// The sizes.
    pub fn full() -> Self {
        Self {
            repeats: 3,
            latency: Duration::from_millis(50),
            fanout_cms_per_center: 500,
            fanout_kore_per_channel: 1_000,
            paging_campaigns: 5_000,
            paging_page: 50,
            paging_prefetch: 8,
            decode_records: 50,
            decode_time: Duration::from_millis(400),
            merge_sources: 10,
            merge_per_source: 100_000,
            memory_campaigns: (20_000, 200_000),
            many_sources: 1_000,
            many_per_source: 100,
            many_page: 50,
            many_latency: Duration::from_millis(5),
            many_bound: 100,
            first_item_campaigns: 200_000,
            store_campaigns: (20_000, 200_000),
            store_list_budget: Duration::from_secs(10),
            serve_campaigns: 200_000,
            serve_clients: 64,
            serve_load: Duration::from_secs(10),
            serve_sync_load: Duration::from_secs(30),
            serve_sync_every: Duration::from_secs(1),
            serve_live_campaigns: 3_000,
            serve_identical: 64,
        }
    }

    /// About a tenth of the sizes, shorter latencies: the CI mode.
    pub fn quick() -> Self {
        Self {
            repeats: 1,
            latency: Duration::from_millis(20),
            fanout_cms_per_center: 50,
            fanout_kore_per_channel: 100,
            paging_campaigns: 1_000,
            paging_page: 50,
            paging_prefetch: 8,
            decode_records: 50,
            decode_time: Duration::from_millis(50),
            merge_sources: 10,
            merge_per_source: 10_000,
            memory_campaigns: (2_000, 20_000),
            many_sources: 100,
            many_per_source: 100,
            many_page: 50,
            many_latency: Duration::from_millis(5),
            many_bound: 10,
            first_item_campaigns: 20_000,
            store_campaigns: (2_000, 20_000),
            store_list_budget: Duration::from_secs(2),
            serve_campaigns: 20_000,
            serve_clients: 64,
            serve_load: Duration::from_secs(2),
            serve_sync_load: Duration::from_secs(5),
            serve_sync_every: Duration::from_secs(1),
            serve_live_campaigns: 600,
            serve_identical: 64,
        }
    }

    /// Just enough to exercise the harness (the smoke test).
    pub fn tiny() -> Self {
        Self {
            repeats: 1,
            latency: Duration::from_millis(1),
            fanout_cms_per_center: 5,
            fanout_kore_per_channel: 10,
            paging_campaigns: 100,
            paging_page: 10,
            paging_prefetch: 4,
            decode_records: 5,
            decode_time: Duration::from_millis(5),
            merge_sources: 3,
            merge_per_source: 200,
            memory_campaigns: (100, 1_000),
            many_sources: 10,
            many_per_source: 20,
            many_page: 10,
            many_latency: Duration::from_millis(1),
            many_bound: 3,
            first_item_campaigns: 1_000,
            store_campaigns: (100, 1_000),
            store_list_budget: Duration::from_secs(20),
            serve_campaigns: 1_000,
            serve_clients: 8,
            serve_load: Duration::from_millis(300),
            serve_sync_load: Duration::from_secs(1),
            serve_sync_every: Duration::from_millis(200),
            serve_live_campaigns: 60,
            serve_identical: 8,
        }
    }
}
