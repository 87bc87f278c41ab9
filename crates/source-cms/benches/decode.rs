//! Decoding and normalizing a 50-record CMS page, against parsing the same
//! bytes into a generic `serde_json::Value` (the floor any decoder pays).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

const TYPES: [&str; 6] = [
    "Interaction Campaign",
    "Chat Campaign",
    "Outbound Voice Campaign",
    "Parallel Predictive Voice Campaign",
    "Voice Blast Campaign",
    "Interactive Voice Application Campaign",
];

/// A page of `records`, pretty-printed or compact (as the sandbox and most
/// servers send it; the whitespace changes the ratio).
fn page(records: usize, pretty: bool) -> Vec<u8> {
    let records: Vec<Value> = (0..records)
        .map(|i| {
            json!({
                "campaignContextId": 1000 + i,
                "campaignContextName": format!("Mumbai Sales Dept {i}"),
                "campaignContextType": TYPES[i % TYPES.len()],
                "contactCenterId": 1 + i % 3,
                "processId": 1 + i % 7,
                "description": "Campaign related to Sales Management",
                "dateAdded": "2026-03-24T12:28:52.354Z",
                "dateModified": "2026-03-25T08:00:00.000Z",
                "ref": 0,
                "version": i % 4
            })
        })
        .collect();
    if pretty {
        serde_json::to_vec_pretty(&records).expect("a JSON value serializes")
    } else {
        serde_json::to_vec(&records).expect("a JSON value serializes")
    }
}

fn decode(c: &mut Criterion) {
    for (name, pretty) in [("cms_page_50", true), ("cms_page_50_compact", false)] {
        let body = page(50, pretty);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("decode_campaigns", |b| {
            b.iter(|| {
                source_cms::decode_campaigns(
                    "cms",
                    "GET campaigns contactCenterId=1",
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
}

criterion_group!(benches, decode);
criterion_main!(benches);
