//! Source warnings (`Page::warnings`) reach the aggregate's consumer, in
//! pages and events, as the page that carried them arrives.

mod common;

use std::sync::Arc;

use campaign_aggregate::{AggregateEvent, Aggregator, SourceWarning};
use campaign_core::{CampaignId, CampaignQuery, ErrorKind, Sort, SortField};
use campaign_testkit::InMemorySource;
use common::*;
use futures::StreamExt;

const NOTE: &str = "voice: totalResults changed from 12 to 14 during the walk";

fn queries() -> [CampaignQuery; 2] {
    [
        CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .page_size(4)
            .build()
            .unwrap(),
        CampaignQuery::builder().page_size(4).build().unwrap(),
    ]
}

/// "a" pages by 3 and its second page (campaigns 3..6 in query order) warns.
fn sources() -> (InMemorySource, InMemorySource) {
    (
        capped("a", generated("a", 12, 0), 3).warn_at(4, NOTE),
        capped("b", generated("b", 9, 1), 2),
    )
}

fn aggregate(a: &InMemorySource, b: &InMemorySource) -> Aggregator {
    Aggregator::builder("all")
        .source(dyn_source(a))
        .source(dyn_source(b))
        .build()
        .unwrap()
}

#[tokio::test]
async fn events_carry_a_warning_right_before_its_pages_campaigns() {
    let (a, b) = sources();
    let all = aggregate(&a, &b);
    for query in queries() {
        let sorted = query.sort().is_some();
        let events: Vec<AggregateEvent> = all.events(&query).collect().await;
        let warnings: Vec<(usize, &SourceWarning)> = events
            .iter()
            .enumerate()
            .filter_map(|(at, e)| match e {
                AggregateEvent::SourceWarning(w) => Some((at, w)),
                _ => None,
            })
            .collect();
        assert_eq!(warnings.len(), 1, "sorted {sorted}: {warnings:?}");
        let (at, warning) = warnings[0];
        assert_eq!(warning.source, "a");
        assert_eq!(warning.message, NOTE);
        assert_eq!(warning.to_string(), format!("source \"a\": {NOTE}"));

        // After "a"'s first page, before any campaign of its second.
        let position = |id: &CampaignId| {
            events
                .iter()
                .position(|e| matches!(e, AggregateEvent::Campaign(c) if c.id == *id))
                .unwrap()
        };
        let order_of_a = expected(&[&a], &query);
        assert!(position(&order_of_a[2]) < at, "sorted {sorted}");
        assert!(at < position(&order_of_a[3]), "sorted {sorted}");

        // Nothing else changed: same campaigns, no failures, both done.
        let campaigns: Vec<CampaignId> = events
            .iter()
            .filter_map(|e| match e {
                AggregateEvent::Campaign(c) => Some(c.id.clone()),
                _ => None,
            })
            .collect();
        let mut want = expected(&[&a, &b], &query);
        if sorted {
            assert_eq!(campaigns, want);
        } else {
            let mut got = campaigns;
            got.sort();
            want.sort();
            assert_eq!(got, want);
        }
        assert!(!events
            .iter()
            .any(|e| matches!(e, AggregateEvent::SourceFailed(_))));
        let done = events
            .iter()
            .filter(|e| matches!(e, AggregateEvent::SourceDone { .. }))
            .count();
        assert_eq!(done, 2);
    }
}

#[tokio::test]
async fn pages_carry_the_warnings_of_the_source_pages_they_read() {
    let (a, b) = sources();
    let all = aggregate(&a, &b);
    for query in queries() {
        let sorted = query.sort().is_some();
        let (items, pages) = walk(&all, &query).await;
        assert_unique(&items);
        assert_eq!(items.len(), 21);
        let warned: Vec<&SourceWarning> = pages.iter().flat_map(|p| &p.warnings).collect();
        assert!(!warned.is_empty(), "sorted {sorted}");
        for warning in &warned {
            assert_eq!(**warning, SourceWarning::new("a", NOTE));
        }
        // The page that delivers the first campaign of "a"'s warning page
        // read that page, so it reports the warning.
        let first_of_warned_page = &expected(&[&a], &query)[3];
        let page = pages
            .iter()
            .find(|p| p.items.iter().any(|c| c.id == *first_of_warned_page))
            .unwrap();
        assert_eq!(
            page.warnings,
            [SourceWarning::new("a", NOTE)],
            "sorted {sorted}"
        );
        assert!(pages.iter().all(|p| p.failures.is_empty()));
    }
}

#[tokio::test]
async fn a_nested_aggregate_passes_its_sources_failures_and_warnings_up_promptly() {
    let x = capped("x", generated("x", 6, 2), 3).warn_at(0, "x noticed an odd page");
    let down =
        InMemorySource::new("down", generated("down", 4, 3)).fail_after(0, ErrorKind::Server);
    let inner = Aggregator::builder("inner")
        .source(dyn_source(&x))
        .source(dyn_source(&down))
        .build()
        .unwrap();
    let y = capped("y", generated("y", 5, 4), 2);
    let outer = Aggregator::builder("outer")
        .source(Arc::new(inner))
        .source(dyn_source(&y))
        .build()
        .unwrap();
    for query in queries() {
        let sorted = query.sort().is_some();
        let events: Vec<AggregateEvent> = outer.events(&query).collect().await;
        let first_from_inner = events
            .iter()
            .position(|e| matches!(e, AggregateEvent::Campaign(c) if &*c.id.source == "x"))
            .unwrap();
        // The inner aggregate's first page carries both notes, and they come
        // out before that page's campaigns.
        let early: Vec<&SourceWarning> = events[..first_from_inner]
            .iter()
            .filter_map(|e| match e {
                AggregateEvent::SourceWarning(w) => Some(w),
                _ => None,
            })
            .collect();
        assert!(early.iter().all(|w| w.source == "inner"), "{early:?}");
        assert!(
            early.iter().any(|w| w.message.contains("\"down\" failed")
                && w.message.contains("injected server failure")),
            "sorted {sorted}: {early:?}"
        );
        assert!(
            early
                .iter()
                .any(|w| w.message == "source \"x\": x noticed an odd page"),
            "sorted {sorted}: {early:?}"
        );
        // Once only the failing source is left, the inner aggregate fails.
        let failed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                AggregateEvent::SourceFailed(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].source, "inner");
        let campaigns = events
            .iter()
            .filter(|e| matches!(e, AggregateEvent::Campaign(_)))
            .count();
        assert_eq!(campaigns, 11);

        // The same through pages: the first one reports the inner failure.
        let first = outer.page(&query, None).await.unwrap();
        assert!(first.failures.is_empty());
        assert!(
            first
                .warnings
                .iter()
                .any(|w| w.source == "inner" && w.message.contains("\"down\" failed")),
            "{:?}",
            first.warnings
        );
    }
}
