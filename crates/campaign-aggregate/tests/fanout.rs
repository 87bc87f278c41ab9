//! Fan-out: the concurrency bound, cancellation, nesting, de-duplication,
//! and what `explain` reports.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_aggregate::{AggregateEvent, Aggregator, RequestEstimate};
use campaign_core::{
    CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Filter, Page, PageToken,
    Result, Sort, SortField, Status, WalkOptions,
};
use campaign_testkit::{Gauge, Gauged, InMemorySource};
use common::*;
use futures::StreamExt;
use mockall::predicate::{always, eq};

fn gauged(
    n: usize,
    per_source: usize,
    latency: Duration,
) -> (Vec<Arc<dyn CampaignSource>>, Arc<Gauge>) {
    let gauge = Arc::new(Gauge::default());
    let sources = (0..n)
        .map(|i| {
            let id = format!("s{i:02}");
            let inner = capped(&id, generated(&id, per_source, i), 3).with_latency(latency);
            Arc::new(Gauged::new(Arc::new(inner), Arc::clone(&gauge))) as Arc<dyn CampaignSource>
        })
        .collect();
    (sources, gauge)
}

#[tokio::test(start_paused = true)]
async fn in_flight_requests_never_exceed_the_bound() {
    let (sources, gauge) = gauged(12, 10, Duration::from_millis(50));
    let all = Aggregator::builder("all")
        .sources(sources)
        .concurrency(3)
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let listed = all
        .events(&query)
        .filter(|e| futures::future::ready(matches!(e, AggregateEvent::Campaign(_))))
        .count()
        .await;
    assert_eq!(listed, 120);
    let peak = gauge.peak();
    assert!((2..=3).contains(&peak), "peak {peak} with a bound of 3");
}

#[tokio::test(start_paused = true)]
async fn prefetching_sources_stay_under_the_bound() {
    let source = InMemorySource::new("pre", generated("pre", 200, 0))
        .with_page_size(5)
        .with_prefetch(8)
        .with_latency(Duration::from_millis(20));
    let all = Aggregator::builder("all")
        .source(dyn_source(&source))
        .concurrency(2)
        .build()
        .unwrap();
    let listed = all.events(&CampaignQuery::all()).count().await;
    assert_eq!(listed, 200 + 1, "campaigns and the SourceDone event");
    assert_eq!(
        source.in_flight_peak(),
        2,
        "prefetch is cut to the aggregate's bound"
    );
    assert_eq!(source.requests(), 40);
}

/// A listing read slowly holds only a bounded read-ahead per source, not the
/// whole listing, whatever the page size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_bounds_how_far_sources_run_ahead() {
    for page_size in [10, 50, 1_000] {
        let source =
            InMemorySource::new("big", generated("big", 20_000, 0)).with_page_size(page_size);
        let all = Aggregator::builder("all")
            .source(dyn_source(&source))
            .build()
            .unwrap();
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let mut events = all.events(&query);
        assert!(events.next().await.is_some());
        // Time for the read-ahead to run as far as it is allowed to (the
        // source has no latency: unbounded, it would read every page).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let read = source.requests() * page_size;
        assert!(
            read <= 256 + 3 * page_size,
            "pages of {page_size}: {read} campaigns read ahead of one consumed"
        );
        assert!(read < 20_000);
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_cancels_upstream_requests() {
    let (sources, gauge) = gauged(6, 30, Duration::from_secs(3600));
    let all = Aggregator::builder("all")
        .sources(sources)
        .concurrency(4)
        .build()
        .unwrap();
    let mut events = all.events(&CampaignQuery::all());
    // Poll once so the requests start; they then hang.
    let first = tokio::time::timeout(Duration::from_secs(1), events.next()).await;
    assert!(
        first.is_err(),
        "nothing arrives within a second of an hour-long fetch"
    );
    let started = gauge.started();
    assert_eq!(started, 4, "the bound admits four requests");
    drop(events);
    for _ in 0..100 {
        if gauge.now() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(gauge.now(), 0, "every request was dropped");
    assert_eq!(gauge.cancelled(), 4);
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(gauge.started(), started, "no request starts after the drop");
}

#[tokio::test]
async fn aggregates_nest_and_their_cursors_nest() {
    let a = capped("a", generated("a", 14, 0), 2);
    let b = capped("b", generated("b", 11, 1), 5);
    let c = capped("c", generated("c", 9, 2), 3);
    let inner = Aggregator::builder("inner")
        .sources([dyn_source(&a), dyn_source(&b)])
        .build()
        .unwrap();
    let outer = Aggregator::builder("outer")
        .source(Arc::new(inner))
        .source(dyn_source(&c))
        .build()
        .unwrap();
    assert_eq!(outer.sources()[0].provider(), "aggregate");
    for sort in [Sort::asc(SortField::Name), Sort::desc(SortField::CreatedAt)] {
        for size in [1, 4, 50] {
            let query = CampaignQuery::builder()
                .sort(sort)
                .page_size(size)
                .build()
                .unwrap();
            let (items, pages) = walk(&outer, &query).await;
            assert_eq!(
                ids(&items),
                expected(&[&a, &b, &c], &query),
                "{sort} {size}"
            );
            let from_inner: usize = pages
                .iter()
                .flat_map(|p| &p.per_source)
                .filter(|s| s.source == "inner")
                .map(|s| s.items)
                .sum();
            assert_eq!(from_inner, 25);
        }
    }
    let filtered = CampaignQuery::builder()
        .channel(Channel::Voice)
        .name_contains("c01")
        .sort(Sort::asc(SortField::Name))
        .page_size(2)
        .build()
        .unwrap();
    let (items, _) = walk(&outer, &filtered).await;
    assert_eq!(ids(&items), expected(&[&a, &b, &c], &filtered));
    assert!(!items.is_empty());
}

#[tokio::test]
async fn a_failure_deep_down_reaches_the_top() {
    let a = capped("a", generated("a", 6, 0), 2);
    let down = capped("down", generated("down", 6, 1), 2).fail_after(0, ErrorKind::Forbidden);
    let inner = Aggregator::builder("inner")
        .sources([dyn_source(&a), dyn_source(&down)])
        .build()
        .unwrap();
    let outer = Aggregator::builder("outer")
        .source(Arc::new(inner))
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(4)
        .build()
        .unwrap();
    let events: Vec<AggregateEvent> = outer.events(&query).collect().await;
    let listed = events
        .iter()
        .filter(|e| matches!(e, AggregateEvent::Campaign(_)))
        .count();
    assert_eq!(listed, 6, "the healthy source's campaigns still arrive");
    let failure = events
        .iter()
        .find_map(|e| match e {
            AggregateEvent::SourceFailed(f) => Some(f),
            _ => None,
        })
        .expect("the failure is reported, not an empty success");
    assert_eq!(failure.source, "inner");
    assert_eq!(failure.error.source_id(), "down");
    assert_eq!(failure.error.kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn one_campaign_reached_by_two_paths_is_yielded_once() {
    let a = capped("a", generated("a", 13, 0), 3);
    let b = capped("b", generated("b", 8, 1), 2);
    let inner = Aggregator::builder("inner")
        .sources([dyn_source(&a), dyn_source(&b)])
        .build()
        .unwrap();
    // `a` is listed directly and through `inner`.
    let outer = Aggregator::builder("outer")
        .source(dyn_source(&a))
        .source(Arc::new(inner))
        .build()
        .unwrap();
    for size in [1, 2, 5, 100] {
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .page_size(size)
            .build()
            .unwrap();
        let (items, _) = walk(&outer, &query).await;
        assert_eq!(ids(&items), expected(&[&a, &b], &query), "page size {size}");
        let events: Vec<_> = outer.events(&query).collect().await;
        let listed = events
            .iter()
            .filter(|e| matches!(e, AggregateEvent::Campaign(_)))
            .count();
        assert_eq!(listed, 21);
    }
}

mockall::mock! {
    #[derive(Debug)]
    pub Source {}

    #[async_trait]
    impl CampaignSource for Source {
        fn id(&self) -> &str;
        fn provider(&self) -> &str;
        fn capabilities(&self) -> Capabilities;
        async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page>;
        fn walk_options(&self) -> WalkOptions;
    }
}

#[tokio::test]
async fn each_source_gets_back_the_tokens_it_issued() {
    let mut source = MockSource::new();
    source.expect_id().return_const("mock".to_owned());
    source.expect_provider().return_const("mock".to_owned());
    source
        .expect_capabilities()
        .return_const(InMemorySource::full_capabilities());
    source
        .expect_walk_options()
        .return_const(WalkOptions::default());
    source
        .expect_fetch_page()
        .with(always(), eq(None))
        .times(1)
        .returning(|_, _| {
            Ok(Page::new(
                vec![
                    campaign("mock", "1", "alpha", None),
                    campaign("mock", "2", "bravo", None),
                ],
                Some(PageToken::new("opaque-2")),
            ))
        });
    source
        .expect_fetch_page()
        .with(always(), eq(Some(PageToken::new("opaque-2"))))
        .times(1)
        .returning(|_, _| {
            Ok(Page::new(
                vec![campaign("mock", "3", "charlie", None)],
                None,
            ))
        });
    let all = Aggregator::builder("all")
        .source(Arc::new(source))
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let names: Vec<String> = Arc::new(all)
        .stream(&query)
        .map(|c| c.unwrap().name)
        .collect()
        .await;
    assert_eq!(names, ["alpha", "bravo", "charlie"]);
}

#[test]
fn explain_shows_what_runs_where() {
    let pushes = InMemorySource::new("full", vec![]);
    let partial = InMemorySource::new("partial", vec![]).with_capabilities(Capabilities {
        filters: [Filter::Status].into(),
        sorts: [].into(),
        max_page_size: Some(10),
        server_paging: true,
    });
    let all = Aggregator::builder("all")
        .sources([dyn_source(&pushes), dyn_source(&partial)])
        .build()
        .unwrap();
    let query = CampaignQuery::builder()
        .status(Status::Ready)
        .channel(Channel::Sms)
        .sort(Sort::asc(SortField::Name))
        .page_size(25)
        .build()
        .unwrap();
    let plan = all.explain(&query);
    assert_eq!(plan.page_size, 25);
    let full = &plan.sources[0];
    assert_eq!(full.pushed_filters, [Filter::Channel, Filter::Status]);
    assert!(full.local_filters.is_empty() && full.sort_pushed);
    assert_eq!(full.requests_per_page, RequestEstimate::About(1));
    let part = &plan.sources[1];
    assert_eq!(part.pushed_filters, [Filter::Status]);
    assert_eq!(part.local_filters, [Filter::Channel]);
    assert!(!part.sort_pushed);
    assert_eq!(part.provider_page_size, Some(10));
    assert_eq!(part.requests_per_page, RequestEstimate::WholeListing);

    let unsorted = query.to_builder().unsorted().build().unwrap();
    assert_eq!(
        all.explain(&unsorted).sources[1].requests_per_page,
        RequestEstimate::AtLeast(3)
    );
    let text = plan.to_string();
    assert!(
        text.contains("partial") && text.contains("name:asc (local)"),
        "{text}"
    );
}
