//! Decoding and normalizing a 50-record page versus parsing it into a
//! generic `serde_json::Value`.

use campaign_core::Channel;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

fn page_body() -> Vec<u8> {
    let sample: Value = serde_json::from_str(include_str!("../tests/data/voice-response.json"))
        .expect("the sample is JSON");
    let records = sample["data"]["results"]
        .as_array()
        .expect("results")
        .clone();
    let results: Vec<Value> = (0..50)
        .map(|i| {
            let mut record = records[i % records.len()].clone();
            record["_id"] = json!(format!("cd-bench-{i:04}"));
            record
        })
        .collect();
    json!({
        "status": "success",
        "message": "Campaign  retrieved successfully",
        "data": {"results": results, "skip": 0, "limit": 50, "hasMore": true, "totalPages": 10, "totalResults": 500}
    })
    .to_string()
    .into_bytes()
}

fn decode(c: &mut Criterion) {
    let body = page_body();
    let mut group = c.benchmark_group("kore_page_50");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("decode_page", |b| {
        b.iter(|| {
            source_kore::decode_page(
                "bench",
                "POST getAllCampaignDetails",
                &Channel::Voice,
                black_box(&body),
            )
            .expect("decodes")
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).expect("parses"))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
