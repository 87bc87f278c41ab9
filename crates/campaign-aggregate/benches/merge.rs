//! Aggregate benchmarks:
//! - merge throughput: 10 sources x 100,000 campaigns through the aggregate's
//!   fan-out and k-way merge, in campaigns per second;
//! - many sources: 1,000 in-memory sources x 100 campaigns, 5 ms per page,
//!   under a concurrency bound, against the round-trip limit
//!   `ceil(requests / bound) x 5 ms`.

use std::sync::Arc;
use std::time::Duration;

use campaign_aggregate::{AggregateEvent, Aggregator};
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Channel, Sort, SortField,
};
use campaign_testkit::{interleaved_campaigns, InMemorySource, Presorted};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;

const SOURCES: usize = 10;
const PER_SOURCE: usize = 100_000;
const PAGE_SIZE: u32 = 1_000;

fn sources() -> Vec<Arc<dyn CampaignSource>> {
    interleaved_campaigns(SOURCES, PER_SOURCE)
        .into_iter()
        .enumerate()
        .map(|(s, campaigns)| {
            Arc::new(Presorted::new(format!("s{s}"), campaigns)) as Arc<dyn CampaignSource>
        })
        .collect()
}

fn merge_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime for the bench");
    let aggregate = Aggregator::builder("bench")
        .sources(sources())
        .build()
        .expect("valid bench aggregate");
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(PAGE_SIZE)
        .build()
        .expect("valid bench query");

    let mut group = c.benchmark_group("aggregate");
    group.sample_size(10);
    group.throughput(Throughput::Elements((SOURCES * PER_SOURCE) as u64));
    group.bench_function("merge_10x100k_sorted", |b| {
        b.to_async(&runtime).iter(|| async {
            let campaigns = aggregate
                .events(&query)
                .filter(|e| futures::future::ready(matches!(e, AggregateEvent::Campaign(_))))
                .count()
                .await;
            assert_eq!(campaigns, SOURCES * PER_SOURCE);
        });
    });
    group.finish();
}

const MANY: usize = 1_000;
const MANY_PER_SOURCE: usize = 100;
const MANY_PAGE: usize = 50;
const MANY_BOUND: usize = 100;
const MANY_LATENCY: Duration = Duration::from_millis(5);

fn many_sources(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime for the bench");
    let sources: Vec<InMemorySource> = (0..MANY)
        .map(|s| {
            let id = format!("m{s:04}");
            let campaigns = (0..MANY_PER_SOURCE)
                .map(|i| {
                    Campaign::new(
                        CampaignId::new(id.as_str(), i.to_string()),
                        "bench",
                        format!("campaign-{:06}", i * MANY + s),
                        Channel::Sms,
                    )
                })
                .collect();
            InMemorySource::new(id, campaigns)
                .with_page_size(MANY_PAGE)
                .with_latency(MANY_LATENCY)
        })
        .collect();
    let aggregate = Aggregator::builder("many")
        .sources(
            sources
                .iter()
                .map(|s| Arc::new(s.clone()) as Arc<dyn CampaignSource>),
        )
        .concurrency(MANY_BOUND)
        .build()
        .expect("valid bench aggregate");
    let requests = MANY * MANY_PER_SOURCE.div_ceil(MANY_PAGE);
    let limit = MANY_LATENCY * u32::try_from(requests.div_ceil(MANY_BOUND)).unwrap_or(u32::MAX);
    eprintln!(
        "many sources: {requests} requests, bound {MANY_BOUND}: round-trip limit {limit:?} per listing"
    );
    let mut group = c.benchmark_group("aggregate");
    group.sample_size(10);
    group.throughput(Throughput::Elements((MANY * MANY_PER_SOURCE) as u64));
    for (name, query) in [
        ("many_sources_1000x100_unsorted", CampaignQuery::all()),
        (
            "many_sources_1000x100_sorted",
            CampaignQuery::builder()
                .sort(Sort::asc(SortField::Name))
                .build()
                .expect("valid bench query"),
        ),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let campaigns = aggregate
                    .events(&query)
                    .filter(|e| futures::future::ready(matches!(e, AggregateEvent::Campaign(_))))
                    .count()
                    .await;
                assert_eq!(campaigns, MANY * MANY_PER_SOURCE);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, merge_throughput, many_sources);
criterion_main!(benches);
