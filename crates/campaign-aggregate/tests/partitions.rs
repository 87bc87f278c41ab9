//! Partitioned sources (`CampaignSource::partitions`): each part is its own
//! merge input with its own prefetch and cursor position, while counts,
//! failures and ends stay per source.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_aggregate::{AggregateEvent, Aggregator, Cursor};
use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken, Result,
    Sort, SortField,
};
use campaign_testkit::{Gauge, Gauged, InMemorySource};
use common::*;
use futures::StreamExt;

/// A source listing two (or more) parts; walked whole it pages through the
/// union (`whole`), which a partition-aware aggregate never asks.
#[derive(Debug, Clone)]
struct Split {
    whole: InMemorySource,
    parts: Vec<InMemorySource>,
    /// Requests in flight across the parts.
    gauge: Arc<Gauge>,
}

#[async_trait]
impl CampaignSource for Split {
    fn id(&self) -> &str {
        self.whole.id()
    }
    fn provider(&self) -> &str {
        "split"
    }
    fn capabilities(&self) -> Capabilities {
        self.whole.capabilities()
    }
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        self.whole.fetch_page(query, token).await
    }
    fn partitions(&self, _query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        self.parts
            .iter()
            .map(|inner| {
                Arc::new(Gauged::new(
                    Arc::new(inner.clone()),
                    Arc::clone(&self.gauge),
                )) as Arc<dyn CampaignSource>
            })
            .collect()
    }
}

/// `n` campaigns of part `tag`, names interleaving with the other parts'.
fn part_campaigns(tag: &str, n: usize, seed: usize) -> Vec<Campaign> {
    (0..n)
        .map(|i| {
            let key = (i * 7 + seed * 3) % 40;
            campaign("split", &format!("{tag}{i}"), &format!("c{key:03}"), None)
        })
        .collect()
}

/// Two parts of `n` campaigns each, provider pages of 5, prefetch 4.
fn split(n: usize, latency: Duration) -> Split {
    let make = |tag: &str, seed: usize| {
        capped("split", part_campaigns(tag, n, seed), 5)
            .with_prefetch(4)
            .with_latency(latency)
    };
    let parts = vec![
        make("a", 0).with_partition("part=a"),
        make("b", 1).with_partition("part=b"),
    ];
    let all = parts
        .iter()
        .flat_map(|p| p.campaigns().iter().cloned())
        .collect();
    Split {
        whole: capped("split", all, 5).with_latency(latency),
        parts,
        gauge: Arc::default(),
    }
}

fn by_name() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn parts_are_walked_concurrently_each_with_its_prefetch() {
    let source = split(40, Duration::from_millis(10));
    let plain = capped("plain", generated("plain", 30, 2), 5);
    let aggregate = Aggregator::builder("all")
        .source(Arc::new(source.clone()))
        .source(dyn_source(&plain))
        .concurrency(16)
        .build()
        .unwrap();
    let query = by_name();
    let events: Vec<_> = aggregate.events(&query).collect().await;

    let items: Vec<Campaign> = events
        .iter()
        .filter_map(|e| match e {
            AggregateEvent::Campaign(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let mut sources: Vec<&InMemorySource> = source.parts.iter().collect();
    sources.push(&plain);
    assert_eq!(ids(&items), expected(&sources, &query));
    let done: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AggregateEvent::SourceDone { source, items } => Some((source.as_str(), *items)),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 2, "one SourceDone per source: {done:?}");
    assert!(done.contains(&("split", 80)), "{done:?}");
    assert!(done.contains(&("plain", 30)), "{done:?}");

    // The parts were walked, never the whole source, each page once.
    assert_eq!(source.whole.requests(), 0);
    for part in &source.parts {
        assert_eq!(part.requests(), 8, "40 campaigns in pages of 5");
        assert!(
            part.in_flight_peak() > 1,
            "announced pages are prefetched within a part (peak {})",
            part.in_flight_peak()
        );
    }
    let peak = source.gauge.peak();
    let per_part = source.parts.iter().map(InMemorySource::in_flight_peak);
    assert!(
        peak > per_part.max().unwrap_or(0),
        "both parts had requests in flight at once (peak {peak})"
    );
}

#[tokio::test(start_paused = true)]
async fn prefetch_of_parts_stays_under_the_bound_in_pages_too() {
    let source = split(40, Duration::from_millis(10));
    let aggregate = Aggregator::builder("all")
        .source(Arc::new(source.clone()))
        .concurrency(3)
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(30)
        .build()
        .unwrap();
    let (items, pages) = walk(&aggregate, &query).await;
    let parts: Vec<&InMemorySource> = source.parts.iter().collect();
    assert_eq!(ids(&items), expected(&parts, &query));
    assert!(pages.iter().all(|p| p.failures.is_empty()));
    let peak = source.gauge.peak();
    assert!(peak <= 3, "in flight {peak} above the bound of 3");
    assert!(peak > 1, "pages of the parts were fetched concurrently");
    assert_eq!(source.whole.requests(), 0);
}

#[tokio::test]
async fn cursors_resume_across_parts_after_re_creating_the_aggregate() {
    let source = split(23, Duration::ZERO);
    let plain = capped("plain", generated("plain", 17, 2), 4);
    let build = || {
        Aggregator::builder("all")
            .source(Arc::new(source.clone()))
            .source(dyn_source(&plain))
            .build()
            .unwrap()
    };
    let mut sources: Vec<&InMemorySource> = source.parts.iter().collect();
    sources.push(&plain);
    for size in [1, 3, 7, 50] {
        let query = CampaignQuery::builder()
            .sort(Sort::desc(SortField::Name))
            .page_size(size)
            .build()
            .unwrap();
        let mut items = Vec::new();
        let mut cursor: Option<Cursor> = None;
        let mut split_counted = 0;
        loop {
            let page = build().page(&query, cursor.as_ref()).await.unwrap();
            assert!(page.failures.is_empty());
            assert_eq!(page.per_source.len(), 2, "counts stay per source");
            split_counted += page.per_source[0].items;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next.as_str().parse().unwrap()),
                None => {
                    assert!(page.per_source.iter().all(|s| s.done));
                    break;
                }
            }
        }
        assert_eq!(ids(&items), expected(&sources, &query), "page size {size}");
        assert_eq!(split_counted, 46, "page size {size}");
    }
    assert_eq!(source.whole.requests(), 0);
}

#[tokio::test]
async fn a_failing_part_is_reported_once_under_its_source() {
    let mut source = split(20, Duration::ZERO);
    source.parts[1] = source.parts[1].clone().fail_after(1, ErrorKind::Server);
    let aggregate = Aggregator::builder("all")
        .source(Arc::new(source.clone()))
        .build()
        .unwrap();
    let events: Vec<_> = aggregate.events(&by_name()).collect().await;
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AggregateEvent::SourceFailed(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].source, "split");
    assert_eq!(failures[0].error.kind(), ErrorKind::Server);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AggregateEvent::SourceDone { .. })),
        "a source with a failed part is not done"
    );
    // Best effort: the healthy part's campaigns all came.
    let listed = events
        .iter()
        .filter(|e| matches!(e, AggregateEvent::Campaign(c) if c.id.native.starts_with('a')))
        .count();
    assert_eq!(listed, 20);
}

/// Each failing part is its own failure, naming its partition; once only
/// failed parts remain, `next` ends the loop and `retry` offers another try.
#[tokio::test]
async fn parts_failing_on_one_page_are_one_failure_each() {
    let mut source = split(20, Duration::ZERO);
    for part in &mut source.parts {
        *part = part.clone().fail_after(1, ErrorKind::Timeout);
    }
    let aggregate = Aggregator::builder("all")
        .source(Arc::new(source.clone()))
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(30)
        .build()
        .unwrap();
    let page = aggregate.page(&query, None).await.unwrap();
    assert_eq!(page.failures.len(), 2, "{:?}", page.failures);
    let mut labels: Vec<Option<&str>> = page.failures.iter().map(|f| f.partition()).collect();
    labels.sort();
    assert_eq!(labels, [Some("part=a"), Some("part=b")]);
    for failure in &page.failures {
        assert_eq!(failure.source, "split");
        assert_eq!(failure.error.kind(), ErrorKind::Timeout);
    }
    assert_eq!(page.per_source.len(), 1);
    assert!(!page.per_source[0].done);
    // Each part got its first page of 5 in; nothing healthy is left, so
    // the loop ends here, and `retry` resumes the failed parts where they stopped.
    assert_eq!(page.items.len(), page.per_source[0].items);
    assert!(page.next.is_none());
    let retried = aggregate.page(&query, page.retry.as_ref()).await.unwrap();
    assert_eq!(retried.failures.len(), 2);
    assert!(retried.items.is_empty() && retried.next.is_none());
}

/// A provider whose ids repeat across its partitions (the CMS spec calls
/// `campaignContextId` unique without saying across what): the campaign is
/// yielded once, as first listed, and the repeat is a warning naming the
/// partition, never a silent loss; in events and in pages alike.
#[tokio::test]
async fn an_id_listed_by_two_partitions_is_kept_once_and_said() {
    let make = |tag: &str, name: &str| {
        capped(
            "split",
            vec![
                campaign("split", "shared", name, None),
                campaign("split", &format!("{tag}-own"), &format!("{tag} own"), None),
            ],
            5,
        )
        .with_partition(format!("part={tag}"))
    };
    let parts = vec![make("a", "from a"), make("b", "from b")];
    let all = parts
        .iter()
        .flat_map(|p| p.campaigns().iter().cloned())
        .collect();
    let source = Split {
        whole: capped("split", all, 5),
        parts,
        gauge: Arc::default(),
    };
    let aggregate = Aggregator::builder("agg")
        .source(Arc::new(source))
        .build()
        .unwrap();
    let query = by_name();
    let events: Vec<AggregateEvent> = aggregate.events(&query).collect().await;
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AggregateEvent::Campaign(c) => Some(c.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["a own", "b own", "from a"]);
    let warnings: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AggregateEvent::SourceWarning(w) => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(warnings[0].partition.as_deref(), Some("part=b"));
    assert!(warnings[0].message.contains("split:shared"), "{warnings:?}");

    let page = aggregate.page(&query, None).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
    assert_eq!(page.warnings[0].partition.as_deref(), Some("part=b"));
}
