//! How long the sandbox takes to generate and serve 100,000 campaigns
//! (target: under a second), from `start()` to listening.

use campaign_sandbox::{GeneratedData, Sandbox};
use criterion::{criterion_group, criterion_main, Criterion};

fn hundred_thousand() -> GeneratedData {
    GeneratedData {
        seed: 1,
        cms_contact_centers: (1..=10).collect(),
        cms_per_contact_center: 5_000,
        kore_voice: 25_000,
        kore_sms: 25_000,
    }
}

fn load(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut group = c.benchmark_group("sandbox");
    group.sample_size(10);
    group.bench_function("start_with_100k_campaigns", |b| {
        b.to_async(&runtime).iter(|| async {
            let sandbox = Sandbox::builder()
                .generated(hundred_thousand())
                .start()
                .await
                .expect("sandbox starts");
            sandbox.shutdown().await;
        })
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
