//! The issue's figures, each measured as ratios within one call.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use campaign_aggregate::{AggregateEvent, Aggregator};
use campaign_core::{
    merge_sorted, walk_pages, walk_positions, Campaign, CampaignId, CampaignQuery, CampaignSource,
    Channel, Sort, SortField, SourcePosition, StaticToken,
};
use campaign_sandbox::{GeneratedData, Sandbox};
use campaign_testkit::{interleaved_campaigns, Gauge, Gauged, InMemorySource, Presorted};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{json, Value};
use source_cms::{CmsConfig, CmsSource};
use source_kore::{KoreConfig, KoreSource};

use crate::process::{self, CampaignsBin, SandboxProcess};
use crate::report::Row;
use crate::sizes::Sizes;

pub(crate) type Res<T> = Result<T, String>;

pub(crate) fn runtime() -> Res<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a Tokio runtime: {e}"))
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(crate) fn per_sec(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2} M/s", n / 1e6)
    } else {
        format!("{:.0} k/s", n / 1e3)
    }
}

pub(crate) fn median(mut walls: Vec<Duration>) -> Duration {
    walls.sort();
    walls.get(walls.len() / 2).copied().unwrap_or_default()
}

/// Times `walk` `repeats` times; returns the median wall and the last count.
pub(crate) async fn timed<F, Fut>(repeats: usize, mut walk: F) -> Res<(Duration, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Res<usize>>,
{
    let mut walls = Vec::new();
    let mut count = 0;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        count = walk().await?;
        walls.push(started.elapsed());
    }
    Ok((median(walls), count))
}

pub(crate) async fn drain(
    mut stream: BoxStream<'static, campaign_core::Result<Campaign>>,
) -> Res<usize> {
    let mut count = 0;
    while let Some(item) = stream.next().await {
        item.map_err(|e| e.to_string())?;
        count += 1;
    }
    Ok(count)
}

async fn drain_events(aggregate: &Aggregator, query: &CampaignQuery) -> Res<usize> {
    let mut events = aggregate.events(query);
    let mut count = 0;
    while let Some(event) = events.next().await {
        match event {
            AggregateEvent::Campaign(_) => count += 1,
            AggregateEvent::SourceFailed(failure) => return Err(failure.error.to_string()),
            _ => {}
        }
    }
    Ok(count)
}

struct Creds {
    cms_url: String,
    kore_url: String,
    cms_token: campaign_core::Secret,
    kore_jwt: campaign_core::Secret,
    stream: String,
    account: String,
    iid: String,
}

impl Creds {
    fn of(sandbox: &Sandbox) -> Self {
        let c = sandbox.credentials();
        Self {
            cms_url: sandbox.cms_url().to_string(),
            kore_url: sandbox.kore_url().to_string(),
            cms_token: c.cms_token.clone(),
            kore_jwt: c.kore_jwt.clone(),
            stream: c.kore_stream_id.clone(),
            account: c.kore_account_id.clone(),
            iid: c.kore_iid.clone(),
        }
    }

    fn cms(&self, id: &str, centers: Vec<i64>) -> Res<Arc<CmsSource>> {
        let config = CmsConfig::new(id, self.cms_url.as_str(), centers);
        let tokens = Arc::new(StaticToken::new(self.cms_token.clone()));
        CmsSource::new(config, tokens)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }

    fn kore(&self, id: &str, channels: Vec<Channel>, prefetch: usize) -> Res<Arc<KoreSource>> {
        let mut config = KoreConfig::new(
            id,
            self.kore_url.as_str(),
            self.stream.clone(),
            self.account.clone(),
        );
        config.iid = Some(self.iid.clone().into());
        config.channels = channels;
        config.prefetch = prefetch;
        // The sandbox has no quota; the default client quota would measure itself.
        config.rate_limit = None;
        let tokens = Arc::new(StaticToken::new(self.kore_jwt.clone()));
        KoreSource::new(config, tokens)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }
}

async fn sandbox(data: GeneratedData, latency: Duration, kore_page: usize) -> Res<Sandbox> {
    Sandbox::builder()
        .generated(data)
        .latency(latency)
        .kore_max_page_size(kore_page)
        .start()
        .await
        .map_err(|e| format!("the sandbox did not start: {e}"))
}

/// Fan-out: 2 CMS sources (3 contact centers each) and 2 Kore sources (both
/// channels) through one aggregate, against the slowest source alone.
pub fn fanout(sizes: &Sizes) -> Res<Vec<Row>> {
    runtime()?.block_on(async {
        let data = GeneratedData {
            seed: 10,
            cms_contact_centers: vec![1, 2, 3],
            cms_per_contact_center: sizes.fanout_cms_per_center,
            kore_voice: sizes.fanout_kore_per_channel,
            kore_sms: sizes.fanout_kore_per_channel,
        };
        let sandbox = sandbox(data, sizes.latency, 100).await?;
        let creds = Creds::of(&sandbox);
        let both = vec![Channel::Voice, Channel::Sms];
        let cms_a = creds.cms("cms-a", vec![1, 2, 3])?;
        let cms_b = creds.cms("cms-b", vec![1, 2, 3])?;
        let kore_a = creds.kore("kore-a", both.clone(), sizes.paging_prefetch)?;
        let kore_b = creds.kore("kore-b", both, sizes.paging_prefetch)?;
        let all: Vec<Arc<dyn CampaignSource>> =
            vec![cms_a.clone(), cms_b.clone(), kore_a.clone(), kore_b.clone()];
        let query = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .page_size(50)
            .build()
            .map_err(|e| e.to_string())?;

        let mut rows = Vec::new();
        let (mut slowest, mut slowest_walker, mut total) = (Duration::ZERO, Duration::ZERO, 0usize);
        for source in &all {
            let (own, count) =
                timed(sizes.repeats, || drain(Arc::clone(source).stream(&query))).await?;
            // The generic walker over fetch_page: what the aggregate walks.
            let (walker, _) = timed(sizes.repeats, || {
                drain(walk_pages(Arc::clone(source), query.clone()))
            })
            .await?;
            rows.push(Row::info(
                "fan-out",
                format!(
                    "{} alone: stream() / fetch_page walker, {count} campaigns",
                    source.id()
                ),
                format!("{} / {}", ms(own), ms(walker)),
            ));
            slowest = slowest.max(own);
            slowest_walker = slowest_walker.max(walker);
            total += count;
        }
        let aggregate = Aggregator::builder("fanout")
            .sources(all.iter().cloned())
            .build()
            .map_err(|e| e.to_string())?;
        let (wall, count) = timed(sizes.repeats, || drain_events(&aggregate, &query)).await?;
        if count != total {
            return Err(format!(
                "fan-out listed {count} campaigns, the sources {total}"
            ));
        }
        rows.push(Row::info(
            "fan-out",
            format!(
                "aggregate of the 4, {count} campaigns, {} latency",
                ms(sizes.latency)
            ),
            ms(wall),
        ));
        let ratio = wall.as_secs_f64() / slowest.as_secs_f64();
        rows.push(Row::check(
            "fan-out",
            "aggregate wall / slowest source's own wall (its stream())",
            format!("{ratio:.2}x"),
            "<= 1.15x",
            ratio <= 1.15,
        ));
        let walker_ratio = wall.as_secs_f64() / slowest_walker.as_secs_f64();
        rows.push(Row::info(
            "fan-out",
            "aggregate wall / slowest source walked whole by fetch_page (what partitions avoid)",
            format!("{walker_ratio:.2}x"),
        ));
        sandbox.shutdown().await;
        Ok(rows)
    })
}

/// Kore paging: one channel walked by the source's stream with prefetch N
/// and 1, against the round-trip limit.
pub fn kore_paging(sizes: &Sizes) -> Res<Vec<Row>> {
    runtime()?.block_on(async {
        let data = GeneratedData {
            seed: 11,
            kore_voice: sizes.paging_campaigns,
            ..GeneratedData::default()
        };
        let sandbox = sandbox(data, sizes.latency, sizes.paging_page).await?;
        let creds = Creds::of(&sandbox);
        let page = u32::try_from(sizes.paging_page).map_err(|e| e.to_string())?;
        let query = CampaignQuery::builder()
            .page_size(page)
            .build()
            .map_err(|e| e.to_string())?;
        let prefetch = sizes.paging_prefetch;
        let fast = creds.kore("kore", vec![Channel::Voice], prefetch)?;
        let slow = creds.kore("kore", vec![Channel::Voice], 1)?;

        let started = Instant::now();
        fast.fetch_page(&query, None).await.map_err(|e| e.to_string())?;
        let round_trip = started.elapsed();
        let (concurrent, count) =
            timed(sizes.repeats, || drain(Arc::clone(&fast).stream(&query))).await?;
        let (sequential, count_seq) = timed(1, || drain(Arc::clone(&slow).stream(&query))).await?;
        if count != sizes.paging_campaigns || count_seq != count {
            return Err(format!(
                "Kore paging listed {count} and {count_seq} of {} campaigns",
                sizes.paging_campaigns
            ));
        }
        let pages = count.div_ceil(sizes.paging_page);
        let waves = 1 + (pages - 1).div_ceil(prefetch);
        let limit = sizes.latency * u32::try_from(waves).map_err(|e| e.to_string())?;
        let mut rows = vec![
            Row::info(
                "Kore paging",
                format!(
                    "{count} voice campaigns, {pages} pages of {}, {} latency (one request: {})",
                    sizes.paging_page,
                    ms(sizes.latency),
                    ms(round_trip)
                ),
                format!(
                    "prefetch {prefetch}: {}, prefetch 1: {}, limit (1 + ceil({}/{prefetch})) x {} = {}",
                    ms(concurrent),
                    ms(sequential),
                    pages - 1,
                    ms(sizes.latency),
                    ms(limit)
                ),
            ),
        ];
        let to_limit = concurrent.as_secs_f64() / limit.as_secs_f64();
        rows.push(Row::check(
            "Kore paging",
            format!("prefetch {prefetch} wall / round-trip limit"),
            format!("{to_limit:.2}x"),
            "<= 1.2x",
            to_limit <= 1.2,
        ));
        let speedup = sequential.as_secs_f64() / concurrent.as_secs_f64();
        rows.push(Row::check(
            "Kore paging",
            format!("prefetch 1 wall / prefetch {prefetch} wall"),
            format!("{speedup:.2}x"),
            ">= 6x",
            speedup >= 6.0,
        ));
        sandbox.shutdown().await;
        Ok(rows)
    })
}

/// Page bodies of `records` generated records, exactly as each provider
/// sends them: (Kore, CMS).
pub fn decode_bodies(records: usize) -> Res<(Vec<u8>, Vec<u8>)> {
    runtime()?.block_on(async {
        let data = GeneratedData {
            seed: 12,
            cms_contact_centers: vec![1],
            cms_per_contact_center: records,
            kore_voice: records,
            kore_sms: 0,
        };
        let sandbox = sandbox(data, Duration::ZERO, 100).await?;
        let creds = Creds::of(&sandbox);
        let page = u32::try_from(records).map_err(|e| e.to_string())?;
        let query = CampaignQuery::builder()
            .page_size(page)
            .build()
            .map_err(|e| e.to_string())?;
        let raws = |items: &[Campaign]| -> Res<Vec<String>> {
            items
                .iter()
                .map(|c| {
                    c.raw
                        .as_ref()
                        .map(|raw| raw.get().to_owned())
                        .ok_or_else(|| format!("{} kept no raw record", c.id))
                })
                .collect()
        };
        let kore = creds.kore("kore", vec![Channel::Voice], 1)?;
        let kore_page = kore.fetch_page(&query, None).await.map_err(|e| e.to_string())?;
        let cms = creds.cms("cms", vec![1])?;
        let cms_page = cms.fetch_page(&query, None).await.map_err(|e| e.to_string())?;
        let kore_body = format!(
            r#"{{"status":"success","message":"Campaign  retrieved successfully","data":{{"results":[{}],"skip":0,"limit":{records},"hasMore":false,"totalPages":1,"totalResults":{records}}}}}"#,
            raws(&kore_page.items)?.join(",")
        );
        let cms_body = format!("[{}]", raws(&cms_page.items)?.join(","));
        sandbox.shutdown().await;
        Ok((kore_body.into_bytes(), cms_body.into_bytes()))
    })
}

/// Iterations per second of `f` over `time`, best of `rounds`.
fn rate(time: Duration, rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut best = 0f64;
    for _ in 0..rounds {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < time {
            for _ in 0..16 {
                f();
            }
            n += 16;
        }
        best = best.max(n as f64 / started.elapsed().as_secs_f64());
    }
    best
}

/// Decode + normalize of 50-record pages (raw kept) against parsing the
/// same bytes into a `serde_json::Value`.
pub fn decode(sizes: &Sizes) -> Res<Vec<Row>> {
    let (kore, cms) = decode_bodies(sizes.decode_records)?;
    let records = sizes.decode_records as f64;
    let mut rows = Vec::new();
    type Decoder<'a> = Box<dyn Fn(&[u8]) -> Res<Vec<Campaign>> + 'a>;
    let sides: [(&str, &[u8], Decoder<'_>); 2] = [
        (
            "Kore",
            &kore,
            Box::new(|body| {
                source_kore::decode_page(
                    "bench",
                    "POST getAllCampaignDetails",
                    &Channel::Voice,
                    body,
                )
                .map(|page| page.campaigns)
                .map_err(|e| e.to_string())
            }),
        ),
        (
            "CMS",
            &cms,
            Box::new(|body| {
                source_cms::decode_campaigns("bench", "GET campaigns contactCenterId=1", body)
                    .map_err(|e| e.to_string())
            }),
        ),
    ];
    for (name, body, decoder) in sides {
        let decoded = decoder(body)?;
        if decoded.len() != sizes.decode_records || decoded.iter().any(|c| c.raw.is_none()) {
            return Err(format!(
                "{name}: the page did not decode to {} campaigns with raw",
                sizes.decode_records
            ));
        }
        // Interleaved rounds so both sides see the same machine.
        let (mut typed, mut generic) = (0f64, 0f64);
        for _ in 0..3 {
            typed = typed.max(rate(sizes.decode_time, 1, || {
                let _ = black_box(decoder(black_box(body)));
            }));
            generic = generic.max(rate(sizes.decode_time, 1, || {
                let _ = black_box(serde_json::from_slice::<Value>(black_box(body)));
            }));
        }
        // The floor of any decoder that reads every byte: validate and skip.
        let scan = rate(sizes.decode_time, 3, || {
            let _ = black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(
                body,
            )));
        });
        let mb = body.len() as f64 / 1e6;
        rows.push(Row::info(
            "decode + normalize",
            format!("{name}: validate-and-skip scan (IgnoredAny), the floor"),
            format!("{:.0} MB/s", scan * mb),
        ));
        rows.push(Row::info(
            "decode + normalize",
            format!(
                "{name} page, {} records, {} bytes: typed / Value",
                sizes.decode_records,
                body.len()
            ),
            format!(
                "{:.0} / {:.0} MB/s; {} / {} campaigns",
                typed * mb,
                generic * mb,
                per_sec(typed * records),
                per_sec(generic * records)
            ),
        ));
        let ratio = typed / generic;
        rows.push(Row::check(
            "decode + normalize",
            format!(
                "{name}: typed decode with raw / from_slice::<Value> (MB/s and campaigns/s alike)"
            ),
            format!("{ratio:.2}x"),
            ">= 2.0x",
            ratio >= 2.0,
        ));
    }
    Ok(rows)
}

/// Drains a stream of results on the current thread, counting items.
fn count_blocking<T, E>(stream: impl futures::Stream<Item = Result<T, E>>) -> usize {
    futures::executor::block_on(stream.fold(0usize, |n, item| async move {
        n + usize::from(item.is_ok())
    }))
}

/// Runs `input` in its own task, handing over up to 256 items per channel
/// message: the read-ahead the aggregate does, in chunks instead of items.
fn chunked_read_ahead<T: Send + 'static>(input: BoxStream<'static, T>) -> BoxStream<'static, T> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<T>>(2);
    tokio::runtime::Handle::current().spawn(async move {
        let mut chunks = input.ready_chunks(256);
        while let Some(chunk) = chunks.next().await {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    stream::poll_fn(move |cx| rx.poll_recv(cx))
        .flat_map(stream::iter)
        .boxed()
}

/// Merge: 10 inputs x 100,000 campaigns through `merge_sorted` on one
/// thread, with a breakdown of the layers the aggregate adds.
pub fn merge(sizes: &Sizes) -> Vec<Row> {
    let (k, n) = (sizes.merge_sources, sizes.merge_per_source);
    let total = k * n;
    let inputs = interleaved_campaigns(k, n);
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .expect("a name sort is a valid query");
    let throughput = |wall: Duration| total as f64 / wall.as_secs_f64();
    let mut rows = Vec::new();

    // The figure: pre-built Campaign streams, CampaignQuery::compare.
    let mut best = Duration::MAX;
    // Reused across rounds so later rounds write to memory already mapped
    // (the first round pays the page faults and is not the best).
    let mut out = Vec::with_capacity(total);
    for _ in 0..sizes.repeats.max(2) {
        out.clear();
        let streams: Vec<BoxStream<'static, Result<Campaign, ()>>> = inputs
            .iter()
            .map(|v| stream::iter(v.clone().into_iter().map(Ok)).boxed())
            .collect();
        let order = query.clone();
        // Merged campaigns go into a reserved Vec and are dropped after the
        // clock stops: freeing them is the consumer's cost, shown below.
        let started = Instant::now();
        futures::executor::block_on(
            merge_sorted(streams, move |a: &Campaign, b: &Campaign| {
                order.compare(a, b)
            })
            .for_each(|item| {
                if let Ok(campaign) = item {
                    out.push(campaign);
                }
                futures::future::ready(())
            }),
        );
        best = best.min(started.elapsed());
        assert_eq!(out.len(), total, "the merge lost items");
    }
    let rate = throughput(best);
    rows.push(Row::check(
        "merge",
        format!("merge_sorted, {k} x {n} Campaigns by name, one thread, into a Vec"),
        per_sec(rate),
        ">= 5 M/s",
        rate >= 5e6,
    ));

    // The same, dropping each merged campaign as it comes out.
    let streams: Vec<BoxStream<'static, Result<Campaign, ()>>> = inputs
        .iter()
        .map(|v| stream::iter(v.clone().into_iter().map(Ok)).boxed())
        .collect();
    let order = query.clone();
    let started = Instant::now();
    let count = count_blocking(merge_sorted(streams, move |a: &Campaign, b: &Campaign| {
        order.compare(a, b)
    }));
    assert_eq!(count, total, "the merge lost items");
    rows.push(Row::info(
        "merge",
        "breakdown: the same merge, each campaign dropped as it comes out",
        per_sec(throughput(started.elapsed())),
    ));

    // The same merge over references: no item moves or drops.
    let refs: Vec<BoxStream<'_, Result<&Campaign, ()>>> = inputs
        .iter()
        .map(|v| stream::iter(v.iter().map(Ok)).boxed())
        .collect();
    let order = query.clone();
    let started = Instant::now();
    let count = count_blocking(merge_sorted(refs, move |a: &&Campaign, b: &&Campaign| {
        order.compare(a, b)
    }));
    assert_eq!(count, total, "the merge lost items");
    rows.push(Row::info(
        "merge",
        format!(
            "breakdown: merge_sorted over &Campaign (no {}-byte moves, no drops)",
            std::mem::size_of::<Campaign>()
        ),
        per_sec(throughput(started.elapsed())),
    ));
    // How many comparisons the binary heap spends per item.
    let compares = std::cell::Cell::new(0u64);
    let refs: Vec<BoxStream<'_, Result<&Campaign, ()>>> = inputs
        .iter()
        .map(|v| stream::iter(v.iter().map(Ok)).boxed())
        .collect();
    let count = count_blocking(merge_sorted(refs, |a: &&Campaign, b: &&Campaign| {
        compares.set(compares.get() + 1);
        query.compare(a, b)
    }));
    assert_eq!(count, total, "the merge lost items");
    rows.push(Row::info(
        "merge",
        format!(
            "breakdown: comparisons per item ({k} inputs; log2 k = {:.1})",
            (k as f64).log2()
        ),
        format!("{:.2}", compares.get() as f64 / total as f64),
    ));

    // Dropping the merged campaigns alone (what the consumer pays above).
    let owned: Vec<Vec<Campaign>> = inputs.clone();
    let started = Instant::now();
    drop(black_box(owned));
    rows.push(Row::info(
        "merge",
        "breakdown: dropping the same campaigns, no merge",
        per_sec(throughput(started.elapsed())),
    ));

    // The merge machinery alone: u64 items.
    let numbers: Vec<BoxStream<'static, Result<u64, ()>>> = (0..k)
        .map(|s| {
            let v: Vec<u64> = (0..n).map(|i| (i * k + s) as u64).collect();
            stream::iter(v.into_iter().map(Ok)).boxed()
        })
        .collect();
    let started = Instant::now();
    let count = count_blocking(merge_sorted(numbers, u64::cmp));
    assert_eq!(count, total, "the merge lost items");
    rows.push(Row::info(
        "merge",
        "breakdown: merge_sorted over u64 (merge machinery only)",
        per_sec(throughput(started.elapsed())),
    ));

    // The walker: pages of 1,000 from pre-sorted sources, not merged.
    let presorted: Vec<Arc<Presorted>> = inputs
        .into_iter()
        .enumerate()
        .map(|(s, v)| Arc::new(Presorted::new(format!("s{s}"), v).with_page_size(1_000)))
        .collect();
    let started = Instant::now();
    let count: usize = presorted
        .iter()
        .map(|source| {
            count_blocking(walk_positions(
                Arc::clone(source),
                query.clone(),
                SourcePosition::default(),
            ))
        })
        .sum();
    assert_eq!(count, total, "the walker lost items");
    rows.push(Row::info(
        "merge",
        "breakdown: walk_positions alone (page copy, dedup hash, residual, position per item)",
        per_sec(throughput(started.elapsed())),
    ));

    // Walker + merge, still one thread, no aggregate.
    let walks: Vec<_> = presorted
        .iter()
        .map(|source| walk_positions(Arc::clone(source), query.clone(), SourcePosition::default()))
        .collect();
    let order = query.clone();
    let started = Instant::now();
    let count = count_blocking(merge_sorted(
        walks,
        move |a: &campaign_core::Positioned, b: &campaign_core::Positioned| {
            order.compare(&a.campaign, &b.campaign)
        },
    ));
    assert_eq!(count, total, "the merge lost items");
    rows.push(Row::info(
        "merge",
        "breakdown: merge_sorted over walk_positions (one thread)",
        per_sec(throughput(started.elapsed())),
    ));

    // The whole aggregate (read-ahead tasks, channels, events), 2 worker threads.
    if let Ok(runtime) = runtime() {
        let aggregate = Aggregator::builder("merge")
            .sources(
                presorted
                    .iter()
                    .map(|s| Arc::clone(s) as Arc<dyn CampaignSource>),
            )
            .build()
            .expect("a valid aggregate");
        let started = Instant::now();
        let count = runtime.block_on(drain_events(&aggregate, &query));
        let wall = started.elapsed();
        let measured = match count {
            Ok(c) if c == total => per_sec(throughput(wall)),
            Ok(c) => format!("listed {c} of {total}"),
            Err(e) => format!("failed: {e}"),
        };
        rows.push(Row::info(
            "merge",
            "breakdown: Aggregator::events over the same sources (multi-thread runtime)",
            measured,
        ));
        // The aggregate's read-ahead hands items over one at a time through a
        // bounded channel; the same pump handing over chunks shows what that costs.
        let _entered = runtime.enter();
        let walks: Vec<_> = presorted
            .iter()
            .map(|source| {
                chunked_read_ahead(walk_positions(
                    Arc::clone(source) as Arc<dyn CampaignSource>,
                    query.clone(),
                    SourcePosition::default(),
                ))
            })
            .collect();
        let order = query.clone();
        let started = Instant::now();
        let count = runtime.block_on(async move {
            merge_sorted(
                walks,
                move |a: &campaign_core::Positioned, b: &campaign_core::Positioned| {
                    order.compare(&a.campaign, &b.campaign)
                },
            )
            .fold(
                0usize,
                |n, item| async move { n + usize::from(item.is_ok()) },
            )
            .await
        });
        assert_eq!(count, total, "the merge lost items");
        rows.push(Row::info(
            "merge",
            "experiment: walkers read ahead in tasks handing over 256-item chunks, merged (multi-thread)",
            per_sec(throughput(started.elapsed())),
        ));
    }
    rows
}

/// Memory: `campaigns list --format ndjson` over the large and the small
/// listing from a sandbox process, peak RSS of the client.
pub fn memory(sizes: &Sizes, bin: &CampaignsBin, dir: &std::path::Path) -> Res<Vec<Row>> {
    let (small, large) = sizes.memory_campaigns;
    let mut runs = Vec::new();
    // Each source alone at both sizes, to tell which one the memory follows.
    let mut alone: Vec<(String, usize, u64)> = Vec::new();
    for n in [small, large] {
        let sandbox = SandboxProcess::start(bin, n, Duration::ZERO, dir)?;
        runs.push((n, process::list_all(bin, &sandbox, &sandbox.config)?));
        for (name, config) in &sandbox.per_source {
            let run = process::list_all(bin, &sandbox, config)?;
            alone.push((name.clone(), run.lines, run.peak_kib));
        }
    }
    let mut attribution = Vec::new();
    let names: Vec<String> = alone.iter().map(|a| a.0.clone()).collect();
    for name in names.iter().take(names.len() / 2) {
        let of: Vec<_> = alone.iter().filter(|a| &a.0 == name).collect();
        if let [small_run, large_run] = of.as_slice() {
            attribution.push(Row::info(
                "memory",
                format!("only the {name} source: lines, client peak RSS, small / large"),
                format!(
                    "{} / {}, {} / {} ({:.2}x)",
                    small_run.1,
                    large_run.1,
                    mib(small_run.2),
                    mib(large_run.2),
                    large_run.2 as f64 / small_run.2.max(1) as f64
                ),
            ));
        }
    }
    let mut rows: Vec<Row> = runs
        .iter()
        .map(|(n, run)| {
            Row::info(
                "memory",
                format!("campaigns list over {n} (sandbox process, no latency): lines, wall, client peak RSS"),
                format!("{}, {}, {}", run.lines, ms(run.wall), mib(run.peak_kib)),
            )
        })
        .collect();
    rows.extend(attribution);
    let (small_peak, large_peak) = (runs[0].1.peak_kib, runs[1].1.peak_kib);
    rows.push(Row::check(
        "memory",
        format!("client peak RSS listing {large}"),
        mib(large_peak),
        "<= 64 MiB",
        large_peak <= 64 * 1024,
    ));
    let ratio = large_peak as f64 / small_peak.max(1) as f64;
    rows.push(Row::check(
        "memory",
        format!("peak RSS {large} / {small}"),
        format!("{ratio:.2}x"),
        "<= 1.25x",
        ratio <= 1.25,
    ));
    Ok(rows)
}

/// First item: time from starting `campaigns list --format ndjson` to its
/// first line, against one request's round trip at the same latency.
pub fn first_item(sizes: &Sizes, bin: &CampaignsBin, dir: &std::path::Path) -> Res<Vec<Row>> {
    let n = sizes.first_item_campaigns;
    let server = SandboxProcess::start(bin, n, sizes.latency, dir)?;
    let start = process::process_start(bin)?;
    let first_of = |extra_args: &[&str]| -> Res<Duration> {
        let mut firsts = Vec::new();
        for _ in 0..sizes.repeats.max(1) {
            firsts.push(process::first_line(
                bin,
                &server,
                &server.config,
                extra_args,
            )?);
        }
        Ok(median(firsts))
    };
    let first = first_of(&[])?;
    let unsorted = first_of(&["--unsorted"])?;
    let mut alone = Vec::new();
    for (name, config) in &server.per_source {
        let first = process::first_line(bin, &server, config, &[])?;
        alone.push(format!("{name} {}", ms(first)));
    }
    drop(server);
    // One Kore page request at the same latency, measured in this process.
    let round_trip = runtime()?.block_on(async {
        let data = GeneratedData {
            seed: 13,
            kore_voice: 100,
            ..GeneratedData::default()
        };
        let sandbox = sandbox(data, sizes.latency, 50).await?;
        let kore = Creds::of(&sandbox).kore("kore", vec![Channel::Voice], 1)?;
        let query = CampaignQuery::builder()
            .page_size(50)
            .build()
            .map_err(|e| e.to_string())?;
        kore.fetch_page(&query, None)
            .await
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        kore.fetch_page(&query, None)
            .await
            .map_err(|e| e.to_string())?;
        let round_trip = started.elapsed();
        sandbox.shutdown().await;
        Ok::<_, String>(round_trip)
    })?;
    let ratio = first.as_secs_f64() / round_trip.as_secs_f64();
    let unsorted_ratio = unsorted.as_secs_f64() / round_trip.as_secs_f64();
    Ok(vec![
        Row::info(
            "first item",
            format!(
                "{n} campaigns, {} latency: first line from spawn / one round trip / process start",
                ms(sizes.latency)
            ),
            format!("{} / {} / {}", ms(first), ms(round_trip), ms(start)),
        ),
        Row::info(
            "first item",
            "first line with only one source configured",
            alone.join(", "),
        ),
        Row::check(
            "first item",
            "first ndjson line (from spawning the client), default sort created_at:desc / one round trip",
            format!("{ratio:.2}x"),
            "<= 2 round trips",
            ratio <= 2.0,
        ),
        Row::check(
            "first item",
            "first ndjson line with --unsorted (arrival order) / one round trip",
            format!("{unsorted_ratio:.2}x ({})", ms(unsorted)),
            "<= 2 round trips",
            unsorted_ratio <= 2.0,
        ),
    ])
}

/// What the many-sources child measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ManyResult {
    /// Aggregate wall, sorted by name.
    pub sorted: Duration,
    /// CPU time (all threads) of one sorted walk.
    pub sorted_cpu: Duration,
    /// Aggregate wall, arrival order.
    pub unsorted: Duration,
    /// One source alone (its stream).
    pub single: Duration,
    /// Requests made by the two aggregate walks.
    pub requests: usize,
    /// Most requests in flight at once across all sources.
    pub peak_in_flight: usize,
}

impl ManyResult {
    /// One JSON line.
    pub fn to_json(&self) -> String {
        json!({
            "sorted_us": self.sorted.as_micros() as u64,
            "sorted_cpu_us": self.sorted_cpu.as_micros() as u64,
            "unsorted_us": self.unsorted.as_micros() as u64,
            "single_us": self.single.as_micros() as u64,
            "requests": self.requests,
            "peak_in_flight": self.peak_in_flight,
        })
        .to_string()
    }

    /// Parses [`to_json`](Self::to_json)'s output.
    pub fn from_json(text: &str) -> Res<Self> {
        let value: Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("bad child output: {e}"))?;
        let num = |key: &str| {
            value[key]
                .as_u64()
                .ok_or_else(|| format!("child output lacks {key}"))
        };
        Ok(Self {
            sorted: Duration::from_micros(num("sorted_us")?),
            sorted_cpu: Duration::from_micros(num("sorted_cpu_us")?),
            unsorted: Duration::from_micros(num("unsorted_us")?),
            single: Duration::from_micros(num("single_us")?),
            requests: usize::try_from(num("requests")?).map_err(|e| e.to_string())?,
            peak_in_flight: usize::try_from(num("peak_in_flight")?).map_err(|e| e.to_string())?,
        })
    }
}

/// This process's user + system CPU time, from `/proc/self/stat` (in
/// clock ticks of 10 ms, the Linux `USER_HZ`).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn many_source(sizes: &Sizes, s: usize) -> InMemorySource {
    let id = format!("m{s:04}");
    let campaigns = (0..sizes.many_per_source)
        .map(|i| {
            Campaign::new(
                CampaignId::new(id.as_str(), i.to_string()),
                "bench",
                format!("campaign-{:07}", i * sizes.many_sources + s),
                Channel::Sms,
            )
        })
        .collect();
    InMemorySource::new(id, campaigns)
        .with_page_size(sizes.many_page)
        .with_latency(sizes.many_latency)
}

/// Many sources, measured in this process: one aggregate over
/// `many_sources` in-memory sources under the concurrency bound.
pub fn many_sources_measure(sizes: &Sizes) -> Res<ManyResult> {
    runtime()?.block_on(async {
        let gauge = Arc::new(Gauge::default());
        let sources: Vec<Arc<dyn CampaignSource>> = (0..sizes.many_sources)
            .map(|s| {
                let inner: Arc<dyn CampaignSource> = Arc::new(many_source(sizes, s));
                Arc::new(Gauged::new(inner, Arc::clone(&gauge))) as Arc<dyn CampaignSource>
            })
            .collect();
        let aggregate = Aggregator::builder("many")
            .sources(sources)
            .concurrency(sizes.many_bound)
            .build()
            .map_err(|e| e.to_string())?;
        let sorted_query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .map_err(|e| e.to_string())?;
        let expected = sizes.many_sources * sizes.many_per_source;
        let cpu_before = process_cpu();
        let (sorted, count) =
            timed(sizes.repeats, || drain_events(&aggregate, &sorted_query)).await?;
        let repeats = u32::try_from(sizes.repeats.max(1)).unwrap_or(1);
        let sorted_cpu = process_cpu().saturating_sub(cpu_before) / repeats;
        let all = CampaignQuery::all();
        let (unsorted, count_unsorted) =
            timed(sizes.repeats, || drain_events(&aggregate, &all)).await?;
        if count != expected || count_unsorted != expected {
            return Err(format!(
                "many sources listed {count} / {count_unsorted} of {expected}"
            ));
        }
        let single: Arc<dyn CampaignSource> = Arc::new(many_source(sizes, 0));
        let (single, _) = timed(5, || drain(Arc::clone(&single).stream(&sorted_query))).await?;
        Ok(ManyResult {
            sorted,
            sorted_cpu,
            unsorted,
            single,
            requests: gauge.started(),
            peak_in_flight: gauge.peak(),
        })
    })
}

/// Many sources: the measurement (in a child process when `child_args` is
/// given, so its peak RSS is its own) turned into rows.
pub fn many_sources(sizes: &Sizes, child_args: Option<&[&str]>) -> Res<Vec<Row>> {
    let (result, peak) = match child_args {
        Some(args) => {
            let (out, peak) = process::rerun_self(args)?;
            let line = out.lines().last().unwrap_or_default();
            (ManyResult::from_json(line)?, Some(peak))
        }
        None => (many_sources_measure(sizes)?, None),
    };
    let bound = sizes.many_bound;
    let waves = sizes.many_sources.div_ceil(bound);
    let limit = result.single * u32::try_from(waves).map_err(|e| e.to_string())?;
    let mut rows = vec![Row::info(
        "many sources",
        format!(
            "{} sources x {}, pages of {}, {} per page, bound {bound}: sorted / unsorted / one source alone",
            sizes.many_sources,
            sizes.many_per_source,
            sizes.many_page,
            ms(sizes.many_latency)
        ),
        format!("{} / {} / {}", ms(result.sorted), ms(result.unsorted), ms(result.single)),
    ),
        Row::info(
            "many sources",
            "CPU time of one sorted walk, all threads (10 ms resolution)",
            ms(result.sorted_cpu),
        ),
    ];
    for (what, wall) in [
        ("sorted by name", result.sorted),
        ("unsorted", result.unsorted),
    ] {
        let ratio = wall.as_secs_f64() / limit.as_secs_f64();
        rows.push(Row::check(
            "many sources",
            format!(
                "wall {what} / (one source's wall x ceil({} / {bound}) = {})",
                sizes.many_sources,
                ms(limit)
            ),
            format!("{ratio:.2}x"),
            "<= 1.5x",
            ratio <= 1.5,
        ));
    }
    rows.push(Row::check(
        "many sources",
        format!("requests in flight at once ({} requests)", result.requests),
        format!("peak {}", result.peak_in_flight),
        format!("<= bound {bound}"),
        result.peak_in_flight <= bound,
    ));
    if let Some(peak) = peak {
        rows.push(Row::check(
            "many sources",
            "peak RSS of the measuring process",
            mib(peak),
            "<= 128 MiB",
            peak <= 128 * 1024,
        ));
    }
    Ok(rows)
}
