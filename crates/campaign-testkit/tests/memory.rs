//! The in-memory source's paging, pushdown, failure injection and counters.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Filter, PageToken, Sort,
    SortField, Status,
};
use campaign_testkit::{fixture_campaigns, InMemorySource, DEFAULT_PAGE_SIZE};
use futures::{StreamExt, TryStreamExt};

fn natives(items: &[campaign_core::Campaign]) -> Vec<String> {
    items.iter().map(|c| c.id.native.clone()).collect()
}

#[test]
fn fixture_is_varied_and_ids_are_unique_integers() {
    let fixture = fixture_campaigns("s");
    assert_eq!(fixture.len(), 40);
    let ids: HashSet<_> = fixture.iter().map(|c| c.id.native.clone()).collect();
    assert_eq!(ids.len(), fixture.len());
    assert!(ids.iter().all(|id| id.parse::<i64>().is_ok()));
    for status in Status::KNOWN {
        assert!(
            fixture.iter().any(|c| c.status.as_ref() == Some(status)),
            "{status}"
        );
    }
    for channel in Channel::KNOWN {
        assert!(fixture.iter().any(|c| &c.channel == channel), "{channel}");
    }
    assert!(fixture.iter().any(|c| c.status.is_none()));
    assert!(fixture
        .iter()
        .any(|c| matches!(c.status, Some(Status::Other(_)))));
    assert!(fixture
        .iter()
        .any(|c| matches!(c.channel, Channel::Other(_))));
    for p in 1..=5u8 {
        assert!(fixture.iter().any(|c| c.priority == Some(p)));
    }
    assert!(fixture.iter().any(|c| c.priority.is_none()));
    assert!(fixture.iter().any(|c| c.created_at.is_none()));
    assert!(fixture.iter().any(|c| !c.name.is_ascii()));
}

#[tokio::test]
async fn pages_by_offset_in_query_order_and_rejects_bad_tokens() {
    let source = InMemorySource::new("mem", fixture_campaigns("other")).with_page_size(7);
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .build()
        .unwrap();
    let first = source.fetch_page(&query, None).await.unwrap();
    assert_eq!(first.items.len(), 7);
    assert_eq!(first.next, Some(PageToken::new("7")));
    assert!(first
        .items
        .iter()
        .all(|c| &*c.id.source == "mem" && c.provider == "memory"));
    let mut expected = source.campaigns().to_vec();
    expected.sort_by(|a, b| query.compare(a, b));
    assert_eq!(natives(&first.items), natives(&expected[..7]));

    for bad in ["x", "-1", "41", ""] {
        let err = source
            .fetch_page(&query, Some(PageToken::new(bad)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{bad:?}");
    }
    let sized = CampaignQuery::builder().page_size(3).build().unwrap();
    assert_eq!(
        source.fetch_page(&sized, None).await.unwrap().items.len(),
        3
    );
    let capped = source.clone().with_capabilities(Capabilities {
        max_page_size: Some(2),
        ..InMemorySource::full_capabilities()
    });
    assert_eq!(
        capped.fetch_page(&sized, None).await.unwrap().items.len(),
        2
    );
    let default = InMemorySource::new("mem", fixture_campaigns("mem"));
    let page = default
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), DEFAULT_PAGE_SIZE.min(40));
}

#[tokio::test]
async fn applies_exactly_the_filters_it_declares() {
    let query = CampaignQuery::builder()
        .status(Status::Active)
        .build()
        .unwrap();
    let pushing = InMemorySource::new("mem", fixture_campaigns("mem"));
    let page = pushing.fetch_page(&query, None).await.unwrap();
    assert!(page.items.iter().all(|c| c.status == Some(Status::Active)));

    let local = pushing.clone().with_capabilities(Capabilities {
        filters: [Filter::Channel].into(),
        ..InMemorySource::full_capabilities()
    });
    let page = local.fetch_page(&query, None).await.unwrap();
    assert_eq!(page.items.len(), 40, "status is left to the walker");
    let local: Arc<dyn CampaignSource> = Arc::new(local);
    let streamed: Vec<_> = local.stream(&query).try_collect().await.unwrap();
    assert!(!streamed.is_empty());
    assert!(streamed.iter().all(|c| c.status == Some(Status::Active)));
}

#[tokio::test]
async fn injected_failures_follow_the_request_count_across_clones() {
    let source = InMemorySource::new("mem", fixture_campaigns("mem"))
        .with_page_size(10)
        .fail_after(2, ErrorKind::Server);
    let counter = source.clone();
    let dyn_source: Arc<dyn CampaignSource> = Arc::new(source);
    let results: Vec<_> = dyn_source.stream(&CampaignQuery::all()).collect().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 20);
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(counter.requests(), 3);

    let flaky =
        InMemorySource::new("mem", fixture_campaigns("mem")).fail_times(2, ErrorKind::Timeout);
    let q = CampaignQuery::all();
    assert_eq!(
        flaky.fetch_page(&q, None).await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
    assert_eq!(
        flaky.fetch_page(&q, None).await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
    assert!(flaky.fetch_page(&q, None).await.is_ok());
}

#[tokio::test]
async fn tokens_are_checked_and_never_printed() {
    let locked = InMemorySource::new("mem", fixture_campaigns("mem")).require_token("s3cret-abc");
    let wrong = locked.clone().with_token("guess");
    let err = wrong
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let right = locked.with_token("s3cret-abc");
    assert!(right.fetch_page(&CampaignQuery::all(), None).await.is_ok());
    let debug = format!("{right:?} {err:?}");
    assert!(
        !debug.contains("s3cret-abc") && !debug.contains("guess"),
        "{debug}"
    );
}

#[tokio::test]
async fn prefetch_announces_pages_and_fetches_them_concurrently() {
    let source = InMemorySource::new("mem", fixture_campaigns("mem"))
        .with_page_size(5)
        .with_prefetch(4)
        .with_latency(Duration::from_millis(20));
    let first = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(first.next, Some(PageToken::new("5")));
    let following: Vec<_> = first
        .following
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(following, ["10", "15", "20", "25", "30", "35"]);

    let counter = source.clone();
    let source: Arc<dyn CampaignSource> = Arc::new(source);
    let all: Vec<_> = source
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    // The announced pages are all polled before any of their sleeps ends.
    assert_eq!(counter.in_flight_peak(), 4);
}

/// The sorted order is cached per source; a clone given other capabilities
/// must not serve the order its original pushed its filters into.
#[tokio::test]
async fn a_clone_with_other_capabilities_keeps_its_own_order() {
    let everything = InMemorySource::new("m", fixture_campaigns("m")).with_page_size(100);
    let query = CampaignQuery::builder()
        .status(Status::Active)
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let filtered = everything.fetch_page(&query, None).await.unwrap().items;
    let local = everything
        .clone()
        .with_capabilities(Capabilities::local_only());
    let unfiltered = local.fetch_page(&query, None).await.unwrap().items;
    assert!(filtered.iter().all(|c| c.status == Some(Status::Active)));
    assert!(filtered.len() < unfiltered.len());
    assert_eq!(unfiltered.len(), fixture_campaigns("m").len());
    // And the original still serves its own.
    let again = everything.fetch_page(&query, None).await.unwrap().items;
    assert_eq!(natives(&again), natives(&filtered));
}
