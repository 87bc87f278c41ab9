//! Walking 5,000 voice campaigns at page size 50 against the sandbox with
//! 50 ms latency per request: prefetch 8 versus sequential paging.

use std::sync::Arc;
use std::time::Duration;

use campaign_core::{CampaignQuery, CampaignSource, Channel, StaticToken};
use campaign_sandbox::{GeneratedData, Sandbox};
use criterion::{criterion_group, criterion_main, Criterion};
use futures::TryStreamExt;
use source_kore::{KoreConfig, KoreSource};

fn paging(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime.block_on(async {
        Sandbox::builder()
            .generated(GeneratedData {
                seed: 1,
                kore_voice: 5_000,
                ..GeneratedData::default()
            })
            .kore_max_page_size(50)
            .latency(Duration::from_millis(50))
            .start()
            .await
            .expect("sandbox starts")
    });
    let creds = sandbox.credentials();
    let query = CampaignQuery::builder()
        .page_size(50)
        .build()
        .expect("query");
    let mut group = c.benchmark_group("kore_walk_5000_page_50_latency_50ms");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for prefetch in [8, 1] {
        let mut config = KoreConfig::new(
            "bench",
            sandbox.kore_url().as_str(),
            creds.kore_stream_id.clone(),
            creds.kore_account_id.clone(),
        );
        config.iid = Some(creds.kore_iid.clone().into());
        config.channels = vec![Channel::Voice];
        config.prefetch = prefetch;
        config.rate_limit = None;
        let source = Arc::new(
            KoreSource::new(config, Arc::new(StaticToken::new(creds.kore_jwt.clone())))
                .expect("config is valid"),
        );
        group.bench_function(format!("prefetch_{prefetch}"), |b| {
            b.to_async(&runtime).iter(|| {
                let source = Arc::clone(&source);
                let query = query.clone();
                async move {
                    let all: Vec<_> = source.stream(&query).try_collect().await.expect("walks");
                    assert_eq!(all.len(), 5_000);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, paging);
criterion_main!(benches);
