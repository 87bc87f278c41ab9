//! Failures, timeouts and policies: a failure is reported with its source
//! and error, never swallowed, never an empty success.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use campaign_aggregate::{AggregateEvent, Aggregator, FailurePolicy};
use campaign_core::{
    CampaignQuery, CampaignSource, Capabilities, ErrorKind, Page, PageToken, Result, Sort,
    SortField, SourceError, WalkOptions,
};
use campaign_testkit::InMemorySource;
use common::*;
use futures::StreamExt;

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

/// A mock whose every fetch fails with a 503 naming the request.
fn broken(id: &'static str) -> MockSource {
    let mut source = MockSource::new();
    source.expect_id().return_const(id.to_owned());
    source.expect_provider().return_const("mock".to_owned());
    source
        .expect_capabilities()
        .return_const(InMemorySource::full_capabilities());
    source
        .expect_walk_options()
        .return_const(WalkOptions::default());
    source.expect_fetch_page().returning(move |_, _| {
        Err(
            SourceError::new(ErrorKind::Server, id, "service unavailable")
                .with_status(503)
                .with_request("GET /campaigns"),
        )
    });
    source
}

fn by_name(size: u32) -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .page_size(size)
        .build()
        .unwrap()
}

fn healthy() -> (InMemorySource, InMemorySource) {
    (
        capped("a", generated("a", 12, 0), 3),
        capped("b", generated("b", 9, 1), 2),
    )
}

#[tokio::test]
async fn best_effort_reports_the_failure_and_the_others_still_flow() {
    let (a, b) = healthy();
    let all = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(Arc::new(broken("down")))
        .source(dyn_source(&b))
        .build()
        .unwrap();
    let events: Vec<AggregateEvent> = all.events(&by_name(4)).collect().await;
    let mut campaigns = Vec::new();
    let mut failures = Vec::new();
    let mut done = Vec::new();
    for event in events {
        match event {
            AggregateEvent::Campaign(c) => campaigns.push(c),
            AggregateEvent::SourceFailed(f) => failures.push(f),
            AggregateEvent::SourceDone { source, items } => done.push((source, items)),
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(ids(&campaigns), expected(&[&a, &b], &by_name(1)));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].source, "down");
    assert_eq!(failures[0].error.kind(), ErrorKind::Server);
    assert_eq!(failures[0].error.status(), Some(503));
    assert_eq!(failures[0].error.request(), Some("GET /campaigns"));
    done.sort();
    assert_eq!(done, [("a".to_owned(), 12), ("b".to_owned(), 9)]);

    // Pages: every page retries and reports the failure, and the loop over
    // `next` ends once the healthy sources are exhausted: within
    // ceil(N / limit) + 1 pages, the last one reporting the failure.
    let (items, pages) = walk(&all, &by_name(4)).await;
    assert_eq!(ids(&items), expected(&[&a, &b], &by_name(1)));
    for page in &pages {
        assert_eq!(page.failures.len(), 1);
        assert_eq!(page.failures[0].source, "down");
        assert_eq!(page.failures[0].partition(), None);
        let down = page.per_source.iter().find(|c| c.source == "down").unwrap();
        assert!(!down.done && down.items == 0);
    }
    assert!(
        pages.len() <= (12 + 9usize).div_ceil(4) + 1,
        "{} pages",
        pages.len()
    );
    let last = pages.last().unwrap();
    assert!(
        last.next.is_none(),
        "the failed source does not keep the cursor alive"
    );
    assert_eq!(last.failures.len(), 1);
}

#[tokio::test]
async fn a_source_failing_midway_keeps_its_position_for_the_next_page() {
    let (a, _) = healthy();
    // Pages 1-2 succeed, page 3 fails once, then it recovers.
    let flaky = capped("flaky", generated("flaky", 10, 5), 2);
    let flaky_source = FailOnce::new(flaky.clone(), 2);
    let all = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(Arc::new(flaky_source))
        .build()
        .unwrap();
    let (items, pages) = walk(&all, &by_name(5)).await;
    assert_unique(&items);
    let failed: usize = pages.iter().map(|p| p.failures.len()).sum();
    assert_eq!(failed, 1);
    let mut got = ids(&items);
    got.sort();
    let mut want = expected(&[&a, &flaky], &by_name(1));
    want.sort();
    assert_eq!(got, want, "nothing lost after the retry");
}

/// Fails the fetch number `fail_at` once (a transient outage).
#[derive(Debug)]
struct FailOnce {
    inner: InMemorySource,
    fail_at: usize,
    calls: std::sync::atomic::AtomicUsize,
}

impl FailOnce {
    fn new(inner: InMemorySource, fail_at: usize) -> Self {
        Self {
            inner,
            fail_at,
            calls: Default::default(),
        }
    }
}

#[async_trait]
impl CampaignSource for FailOnce {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn provider(&self) -> &str {
        self.inner.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if call == self.fail_at {
            return Err(SourceError::new(
                ErrorKind::Transport,
                self.id(),
                "connection reset",
            ));
        }
        self.inner.fetch_page(query, token).await
    }
}

#[tokio::test]
async fn fail_fast_stops_at_the_first_failure() {
    let (a, b) = healthy();
    let all = Aggregator::builder("all")
        .source(dyn_source(
            &a.clone().with_latency(Duration::from_millis(5)),
        ))
        .source(dyn_source(
            &capped("down", generated("down", 5, 3), 5).fail_after(0, ErrorKind::Unauthorized),
        ))
        .source(dyn_source(&b))
        .failure_policy(FailurePolicy::FailFast)
        .build()
        .unwrap();
    let e = all.page(&by_name(4), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(e.source_id(), "down");

    let events: Vec<AggregateEvent> = all.events(&by_name(4)).collect().await;
    let last = events.last().unwrap();
    assert!(
        matches!(last, AggregateEvent::SourceFailed(f) if f.source == "down"),
        "the stream ends with the failure: {last:?}"
    );
    let failures = events
        .iter()
        .filter(|e| matches!(e, AggregateEvent::SourceFailed(_)))
        .count();
    assert_eq!(failures, 1);
    assert!(
        events.len() < 1 + 12 + 9,
        "fail fast does not list everything"
    );

    let through_trait: Vec<_> = Arc::new(all).stream(&by_name(4)).collect().await;
    assert!(through_trait.last().unwrap().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_slow_source_times_out_under_best_effort_and_fails_fast_otherwise() {
    let (a, b) = healthy();
    let slow = capped("slow", generated("slow", 4, 2), 4).with_latency(Duration::from_secs(30));
    let build = |policy| {
        Aggregator::builder("all")
            .sources([dyn_source(&a), dyn_source(&slow), dyn_source(&b)])
            .source_timeout(Duration::from_secs(2))
            .failure_policy(policy)
            .build()
            .unwrap()
    };
    let page = build(FailurePolicy::BestEffort)
        .page(&by_name(100), None)
        .await
        .unwrap();
    assert_eq!(ids(&page.items), expected(&[&a, &b], &by_name(1)));
    assert_eq!(page.failures.len(), 1);
    assert_eq!(page.failures[0].source, "slow");
    assert_eq!(page.failures[0].error.kind(), ErrorKind::Timeout);
    assert!(
        page.next.is_none(),
        "the healthy sources are exhausted: the slow one alone keeps no cursor"
    );
    // With more healthy campaigns than a page, the next page retries it.
    let page = build(FailurePolicy::BestEffort)
        .page(&by_name(5), None)
        .await
        .unwrap();
    assert_eq!(page.failures.len(), 1);
    assert!(page.next.is_some(), "the slow source can be retried");

    let e = build(FailurePolicy::FailFast)
        .page(&by_name(100), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.source_id(), "slow");
}

#[tokio::test(start_paused = true)]
async fn a_slow_source_within_its_timeout_is_waited_for() {
    let (a, b) = healthy();
    let slow = capped("slow", generated("slow", 4, 2), 4).with_latency(Duration::from_secs(3));
    let all = Aggregator::builder("all")
        .sources([dyn_source(&a), dyn_source(&slow), dyn_source(&b)])
        .source_timeout(Duration::from_secs(10))
        .failure_policy(FailurePolicy::FailFast)
        .build()
        .unwrap();
    let (items, _) = walk(&all, &by_name(7)).await;
    assert_eq!(ids(&items), expected(&[&a, &slow, &b], &by_name(1)));
}

#[tokio::test(start_paused = true)]
async fn the_overall_deadline_reports_open_sources_as_timeouts() {
    let (a, _) = healthy();
    let slow = capped("slow", generated("slow", 40, 2), 2).with_latency(Duration::from_secs(1));
    let all = Aggregator::builder("all")
        .sources([dyn_source(&a), dyn_source(&slow)])
        .deadline(Duration::from_millis(4_500))
        .build()
        .unwrap();
    let unsorted = CampaignQuery::all();
    let events: Vec<AggregateEvent> = all.events(&unsorted).collect().await;
    let failure = events
        .iter()
        .find_map(|e| match e {
            AggregateEvent::SourceFailed(f) => Some(f),
            _ => None,
        })
        .expect("the slow source is reported");
    assert_eq!(failure.source, "slow");
    assert_eq!(failure.error.kind(), ErrorKind::Timeout);
    assert!(
        failure.error.message().contains("deadline"),
        "{}",
        failure.error
    );
    let listed = events
        .iter()
        .filter(|e| matches!(e, AggregateEvent::Campaign(_)))
        .count();
    assert!(
        (12..12 + 40).contains(&listed),
        "a's campaigns and part of slow's: {listed}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, AggregateEvent::SourceDone { source, .. } if source == "a")));
}

#[tokio::test]
async fn configuration_errors_fail_at_build() {
    let (a, _) = healthy();
    let twice = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(dyn_source(&a))
        .build()
        .unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::Config);
    assert!(twice.message().contains("\"a\""), "{twice}");
    for builder in [
        Aggregator::builder(" "),
        Aggregator::builder("x").concurrency(0),
        Aggregator::builder("x").source_timeout(Duration::ZERO),
        Aggregator::builder("x").deadline(Duration::ZERO),
    ] {
        assert_eq!(builder.build().unwrap_err().kind(), ErrorKind::Config);
    }
    let empty = Aggregator::builder("none").build().unwrap();
    let page = empty.page(&by_name(3), None).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none() && page.failures.is_empty());
}

/// A page size is the caller's number: the largest one lists what there is
/// instead of reserving room for four billion campaigns.
#[tokio::test]
async fn the_largest_page_size_reserves_only_what_arrives() {
    let (a, b) = healthy();
    let expected = a.campaigns().len() + b.campaigns().len();
    let all = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(dyn_source(&b))
        .build()
        .unwrap();
    let page = all.page(&by_name(u32::MAX), None).await.unwrap();
    assert_eq!(page.items.len(), expected);
    assert!(page.next.is_none() && page.failures.is_empty());
}

/// `page_each` hands over, one by one, exactly the campaigns `page` returns,
/// and the rest of the page (cursor, counts, failures) is the same.
#[tokio::test]
async fn page_each_hands_over_what_page_returns() {
    let (a, b) = healthy();
    let all = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(dyn_source(&b))
        .source(Arc::new(broken("down")))
        .build()
        .unwrap();
    let query = by_name(7);
    fn send<T: Send>(_: &T) {}
    send(&all.page(&query, None));
    send(&all.page_each(&query, None, |_| std::ops::ControlFlow::Continue(())));
    let mut cursor = None;
    // A failed source keeps its position, so the cursor never ends: three
    // pages hold the 21 campaigns of the healthy two.
    for _ in 0..3 {
        let page = all.page(&query, cursor.as_ref()).await.unwrap();
        let mut handed = Vec::new();
        let streamed = all
            .page_each(&query, cursor.as_ref(), |c| {
                handed.push(c.id);
                std::ops::ControlFlow::Continue(())
            })
            .await
            .unwrap();
        let ids: Vec<_> = page.items.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), 7);
        assert_eq!(handed, ids);
        assert!(streamed.items.is_empty());
        assert_eq!(streamed.next, page.next);
        assert_eq!(streamed.per_source, page.per_source);
        assert_eq!(streamed.failures.len(), 1);
        assert_eq!(page.failures.len(), 1);
        cursor = page.next;
    }
}

/// Breaking out of `page_each` ends the page after that campaign, and its
/// cursor resumes right after it.
#[tokio::test]
async fn page_each_stops_where_its_consumer_stops() {
    let (a, b) = healthy();
    let all = Aggregator::builder("all")
        .source(dyn_source(&a))
        .source(dyn_source(&b))
        .build()
        .unwrap();
    let query = by_name(10);
    let whole = all.page(&query, None).await.unwrap();
    let mut handed = Vec::new();
    let stopped = all
        .page_each(&query, None, |c| {
            handed.push(c.id);
            if handed.len() == 3 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .await
        .unwrap();
    let first: Vec<_> = whole.items.iter().map(|c| c.id.clone()).collect();
    assert_eq!(handed, first[..3]);
    let next = all.page(&query, stopped.next.as_ref()).await.unwrap();
    assert_eq!(next.items[0].id, first[3]);
}
