//! Drives the provided `stream()` through a mockall mock of `CampaignSource`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Filter,
    Page, PageToken, Result, SourceError, Status, WalkOptions,
};
use futures::{StreamExt, TryStreamExt};
use mockall::predicate::eq;

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

fn campaign(native: &str, status: Status) -> Campaign {
    let mut c = Campaign::new(
        CampaignId::new("mock", native),
        "mock",
        native,
        Channel::Sms,
    );
    c.status = Some(status);
    c
}

fn mock_with(capabilities: Capabilities, options: WalkOptions) -> MockSource {
    let mut source = MockSource::new();
    source.expect_id().return_const("mock".to_string());
    source.expect_provider().return_const("mock".to_string());
    source.expect_capabilities().return_const(capabilities);
    source.expect_walk_options().return_const(options);
    source
}

#[tokio::test]
async fn walks_pages_in_order_and_drops_a_repeated_item() {
    let mut source = mock_with(Capabilities::local_only(), WalkOptions::default());
    source
        .expect_fetch_page()
        .with(mockall::predicate::always(), eq(None))
        .times(1)
        .returning(|_, _| {
            Ok(Page::new(
                vec![campaign("a", Status::Ready), campaign("b", Status::Ready)],
                Some(PageToken::new("2")),
            ))
        });
    source
        .expect_fetch_page()
        .with(mockall::predicate::always(), eq(Some(PageToken::new("2"))))
        .times(1)
        // Data moved between requests: "b" shows up again at the top.
        .returning(|_, _| {
            Ok(Page::new(
                vec![campaign("b", Status::Ready), campaign("c", Status::Ready)],
                Some(PageToken::new("3")),
            ))
        });
    source
        .expect_fetch_page()
        .with(mockall::predicate::always(), eq(Some(PageToken::new("3"))))
        .times(1)
        .returning(|_, _| Ok(Page::new(vec![campaign("d", Status::Paused)], None)));

    let source: Arc<dyn CampaignSource> = Arc::new(source);
    let ids: Vec<String> = source
        .stream(&CampaignQuery::all())
        .map_ok(|c| c.id.native)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn applies_the_residual_filter_locally() {
    let mut source = mock_with(Capabilities::local_only(), WalkOptions::default());
    source.expect_fetch_page().times(1).returning(|_, _| {
        Ok(Page::new(
            vec![campaign("a", Status::Ready), campaign("b", Status::Paused)],
            None,
        ))
    });
    let query = CampaignQuery::builder()
        .status(Status::Paused)
        .build()
        .unwrap();
    let ids: Vec<String> = Arc::new(source)
        .stream(&query)
        .map_ok(|c| c.id.native)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["b"]);
}

#[tokio::test]
async fn pushed_down_filters_are_trusted_not_reapplied() {
    let caps = Capabilities {
        filters: [Filter::Status].into(),
        ..Capabilities::default()
    };
    let mut source = mock_with(caps, WalkOptions::default());
    source
        .expect_fetch_page()
        .times(1)
        .returning(|_, _| Ok(Page::new(vec![campaign("a", Status::Ready)], None)));
    let query = CampaignQuery::builder()
        .status(Status::Paused)
        .build()
        .unwrap();
    let items: Vec<Campaign> = Arc::new(source).stream(&query).try_collect().await.unwrap();
    assert_eq!(
        items.len(),
        1,
        "the walker trusts what the source claims to push down"
    );
}

#[tokio::test]
async fn an_error_is_yielded_once_and_ends_the_stream() {
    let mut source = mock_with(Capabilities::local_only(), WalkOptions::default());
    source
        .expect_fetch_page()
        .with(mockall::predicate::always(), eq(None))
        .returning(|_, _| {
            Ok(Page::new(
                vec![campaign("a", Status::Ready)],
                Some(PageToken::new("2")),
            ))
        });
    source
        .expect_fetch_page()
        .with(mockall::predicate::always(), eq(Some(PageToken::new("2"))))
        .times(1)
        .returning(
            |_, _| Err(SourceError::new(ErrorKind::Server, "mock", "boom").with_status(500)),
        );
    let out: Vec<Result<Campaign>> = Arc::new(source)
        .stream(&CampaignQuery::all())
        .collect()
        .await;
    assert_eq!(out.len(), 2);
    assert!(out[0].is_ok());
    assert_eq!(out[1].as_ref().unwrap_err().kind(), ErrorKind::Server);
}

#[tokio::test]
async fn a_server_repeating_the_same_page_stops_with_a_protocol_error() {
    let mut source = mock_with(Capabilities::local_only(), WalkOptions::default());
    source.expect_fetch_page().times(2).returning(|_, _| {
        Ok(Page::new(
            vec![campaign("a", Status::Ready), campaign("b", Status::Ready)],
            Some(PageToken::new("again")),
        ))
    });
    let out: Vec<Result<Campaign>> = Arc::new(source)
        .stream(&CampaignQuery::all())
        .collect()
        .await;
    assert_eq!(out.len(), 3);
    let error = out[2].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert!(error.message().contains("repeated"), "{error}");
}

#[tokio::test]
async fn the_page_cap_stops_an_endless_source() {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut source = mock_with(
        Capabilities::local_only(),
        WalkOptions {
            prefetch: 1,
            max_pages: 5,
            ..WalkOptions::default()
        },
    );
    let seen = counter.clone();
    source.expect_fetch_page().returning(move |_, _| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        Ok(Page::new(
            vec![campaign(&n.to_string(), Status::Ready)],
            Some(PageToken::new((n + 1).to_string())),
        ))
    });
    let out: Vec<Result<Campaign>> = Arc::new(source)
        .stream(&CampaignQuery::all())
        .collect()
        .await;
    assert_eq!(counter.load(Ordering::SeqCst), 5);
    assert_eq!(out.iter().filter(|r| r.is_ok()).count(), 5);
    assert_eq!(
        out.last().unwrap().as_ref().unwrap_err().kind(),
        ErrorKind::Protocol
    );
}

/// Pages announced through `following` are fetched concurrently, yet yielded in order.
#[derive(Debug)]
struct Announcing {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl CampaignSource for Announcing {
    fn id(&self) -> &str {
        "announcing"
    }
    fn provider(&self) -> &str {
        "test"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::local_only()
    }
    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            prefetch: 4,
            max_pages: 100,
            ..WalkOptions::default()
        }
    }
    async fn fetch_page(&self, _query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let page: usize = token.map_or(0, |t| t.as_str().parse().unwrap());
        // Later pages answer faster, so ordering must come from the walker.
        tokio::time::sleep(std::time::Duration::from_millis(40 - 3 * page as u64)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let items = vec![campaign(&format!("p{page}"), Status::Ready)];
        let next = (page < 9).then(|| PageToken::new((page + 1).to_string()));
        let mut result = Page::new(items, next);
        if page == 0 {
            result =
                result.with_following((2..10).map(|p| PageToken::new(p.to_string())).collect());
        }
        Ok(result)
    }
}

#[tokio::test]
async fn announced_pages_are_prefetched_concurrently_and_yielded_in_order() {
    let source = Arc::new(Announcing {
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let ids: Vec<String> = source
        .clone()
        .stream(&CampaignQuery::all())
        .map_ok(|c| c.id.native)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<String> = (0..10).map(|p| format!("p{p}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(source.peak.load(Ordering::SeqCst), 4);
}

/// Nine campaigns in pages of three, with every other one filtered out locally.
#[derive(Debug)]
struct Paged;

#[async_trait]
impl CampaignSource for Paged {
    fn id(&self) -> &str {
        "paged"
    }
    fn provider(&self) -> &str {
        "test"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::local_only()
    }
    async fn fetch_page(&self, _query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let start: usize = token.map_or(0, |t| t.as_str().parse().unwrap());
        let items = (start..(start + 3).min(9))
            .map(|i| {
                let status = if i % 2 == 0 {
                    Status::Ready
                } else {
                    Status::Paused
                };
                campaign(&i.to_string(), status)
            })
            .collect();
        let next = (start + 3 < 9).then(|| PageToken::new((start + 3).to_string()));
        Ok(Page::new(items, next))
    }
}

#[tokio::test]
async fn resuming_from_any_position_continues_exactly_after_it() {
    let query = CampaignQuery::builder()
        .status(Status::Ready)
        .build()
        .unwrap();
    let source = Arc::new(Paged);
    let all: Vec<campaign_core::Positioned> =
        campaign_core::walk_positions(source.clone(), query.clone(), Default::default())
            .try_collect()
            .await
            .unwrap();
    let ids: Vec<&str> = all.iter().map(|p| p.campaign.id.native.as_str()).collect();
    assert_eq!(ids, ["0", "2", "4", "6", "8"]);
    for (i, item) in all.iter().enumerate() {
        let rest: Vec<String> =
            campaign_core::walk_positions(source.clone(), query.clone(), item.after.clone())
                .map_ok(|p| p.campaign.id.native)
                .try_collect()
                .await
                .unwrap();
        let expected: Vec<String> = ids[i + 1..].iter().map(|s| s.to_string()).collect();
        assert_eq!(rest, expected, "resume after {}", ids[i]);
    }
}

#[tokio::test]
async fn position_chunks_are_pages_with_the_resume_offset_skipped_once() {
    let query = CampaignQuery::builder()
        .status(Status::Ready)
        .build()
        .unwrap();
    let chunks_from = |from: campaign_core::SourcePosition| {
        campaign_core::walk_position_chunks(Arc::new(Paged), query.clone(), from).map(|chunk| {
            assert!(chunk.warnings.is_empty());
            chunk
                .items
                .into_iter()
                .map(|item| item.unwrap().campaign.id.native)
                .collect::<Vec<_>>()
        })
    };
    let pages: Vec<Vec<String>> = chunks_from(Default::default()).collect().await;
    // Pages [0 1 2] [3 4 5] [6 7 8], odd ones filtered out.
    assert_eq!(pages, [vec!["0", "2"], vec!["4"], vec!["6", "8"]]);
    let after_first =
        campaign_core::walk_positions(Arc::new(Paged), query.clone(), Default::default())
            .try_next()
            .await
            .unwrap()
            .unwrap()
            .after;
    let resumed: Vec<Vec<String>> = chunks_from(after_first).collect().await;
    assert_eq!(resumed, [vec!["2"], vec!["4"], vec!["6", "8"]]);
}

/// Three pages; the first and second warn, the second has only campaigns the
/// query filters out.
#[derive(Debug)]
struct Warns;

#[async_trait]
impl CampaignSource for Warns {
    fn id(&self) -> &str {
        "warns"
    }
    fn provider(&self) -> &str {
        "test"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::local_only()
    }
    async fn fetch_page(&self, _query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        Ok(match token.as_ref().map(PageToken::as_str) {
            None => Page::new(
                vec![campaign("1", Status::Ready), campaign("2", Status::Ready)],
                Some(PageToken::new("p2")),
            )
            .with_warning("totalResults changed from 5 to 7"),
            Some("p2") => Page::new(
                vec![campaign("3", Status::Paused)],
                Some(PageToken::new("p3")),
            )
            .with_warning("an odd page")
            .with_warning("another note"),
            _ => Page::new(vec![campaign("4", Status::Ready)], None),
        })
    }
}

#[tokio::test]
async fn position_chunks_carry_each_pages_warnings_even_without_items() {
    let query = CampaignQuery::builder()
        .status(Status::Ready)
        .build()
        .unwrap();
    let chunks: Vec<(Vec<String>, Vec<String>)> =
        campaign_core::walk_position_chunks(Arc::new(Warns), query.clone(), Default::default())
            .map(|chunk| {
                let ids = chunk
                    .items
                    .into_iter()
                    .map(|item| item.unwrap().campaign.id.native)
                    .collect();
                let warnings = chunk.warnings.iter().map(|w| w.message.clone()).collect();
                (ids, warnings)
            })
            .collect()
            .await;
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        chunks,
        [
            (
                owned(&["1", "2"]),
                owned(&["totalResults changed from 5 to 7"])
            ),
            (owned(&[]), owned(&["an odd page", "another note"])),
            (owned(&["4"]), owned(&[])),
        ]
    );
    // The item streams only log them.
    let ids: Vec<String> = Arc::new(Warns)
        .stream(&query)
        .map_ok(|c| c.id.native)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["1", "2", "4"]);
}

#[tokio::test]
async fn a_sorted_walk_ends_at_the_first_page_past_the_range_of_its_sort_field() {
    let updated = |native: &str, day: u32| {
        let mut c = campaign(native, Status::Ready);
        c.updated_at = Some(format!("2025-12-{day:02}T00:00:00Z").parse().unwrap());
        c
    };
    let sorting = Capabilities {
        sorts: [campaign_core::SortField::UpdatedAt].into(),
        ..Capabilities::default()
    };
    for (caps, pages) in [(sorting, 2), (Capabilities::local_only(), 3)] {
        let mut source = mock_with(caps.clone(), WalkOptions::default());
        let (page_a, page_b, page_c) = (
            vec![updated("a", 9), updated("b", 8)],
            vec![updated("c", 7), updated("d", 3)],
            vec![updated("e", 2)],
        );
        source
            .expect_fetch_page()
            .times(pages)
            .returning(move |_, token| {
                Ok(match token.as_ref().map(PageToken::as_str) {
                    None => Page::new(page_a.clone(), Some(PageToken::new("2"))),
                    Some("2") => Page::new(page_b.clone(), Some(PageToken::new("3"))),
                    _ => Page::new(page_c.clone(), None),
                })
            });
        // Newest first since the 5th: page 2 ends before it, so page 3
        // (older still) is only read from a source that does not sort.
        let query = CampaignQuery::builder()
            .sort(campaign_core::Sort::desc(
                campaign_core::SortField::UpdatedAt,
            ))
            .updated_from("2025-12-05T00:00:00Z".parse().unwrap())
            .build()
            .unwrap();
        let ids: Vec<String> = campaign_core::walk_pages(Arc::new(source), query)
            .map_ok(|c| c.id.native)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, ["a", "b", "c"], "{caps:?}");
    }
}
