//! Helpers shared by the aggregate's integration tests.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;

use campaign_aggregate::{AggregatePage, Aggregator, Cursor};
use campaign_core::{Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel};
use campaign_testkit::InMemorySource;
use chrono::{DateTime, TimeZone, Utc};

/// A campaign with a name and an optional creation day (days after 2025-01-01).
pub fn campaign(source: &str, native: &str, name: &str, day: Option<i64>) -> Campaign {
    let mut c = Campaign::new(
        CampaignId::new(source, native),
        "memory",
        name,
        Channel::Voice,
    );
    c.created_at = day.map(at_day);
    c
}

pub fn at_day(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(day)
}

/// `n` campaigns whose names and days interleave with other sources' and
/// repeat (sort ties); every seventh has no creation day.
pub fn generated(source: &str, n: usize, seed: usize) -> Vec<Campaign> {
    (0..n)
        .map(|i| {
            let key = (i * 7 + seed * 3) % 40;
            let day = (i % 7 != 3).then_some(((i * 5 + seed) % 30) as i64);
            campaign(source, &format!("{i}"), &format!("c{key:03}"), day)
        })
        .collect()
}

/// An in-memory source whose provider pages hold at most `cap` campaigns,
/// whatever page size the aggregate asks for.
pub fn capped(id: &str, campaigns: Vec<Campaign>, cap: u32) -> InMemorySource {
    let caps = Capabilities {
        max_page_size: Some(cap),
        ..InMemorySource::full_capabilities()
    };
    InMemorySource::new(id, campaigns)
        .with_capabilities(caps)
        .with_page_size(cap as usize)
}

pub fn dyn_source(source: &InMemorySource) -> Arc<dyn CampaignSource> {
    Arc::new(source.clone())
}

/// What a correct aggregate returns: the union, filtered and sorted by the query.
pub fn expected(sources: &[&InMemorySource], query: &CampaignQuery) -> Vec<CampaignId> {
    let mut all: Vec<Campaign> = sources
        .iter()
        .flat_map(|s| s.campaigns().iter().cloned())
        .filter(|c| query.matches(c))
        .collect();
    all.sort_by(|a, b| query.compare(a, b));
    all.into_iter().map(|c| c.id).collect()
}

pub fn ids(campaigns: &[Campaign]) -> Vec<CampaignId> {
    campaigns.iter().map(|c| c.id.clone()).collect()
}

/// Walks every page (each through a cursor round-tripped as text) and
/// returns the concatenated items and the pages.
pub async fn walk(
    aggregate: &Aggregator,
    query: &CampaignQuery,
) -> (Vec<Campaign>, Vec<AggregatePage>) {
    let mut items = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..10_000 {
        let page = aggregate
            .page(query, cursor.as_ref())
            .await
            .expect("a page");
        items.extend(page.items.iter().cloned());
        // A page with no campaigns carries a cursor only while a source is
        // still advancing; a failing source never keeps it alive alone.
        assert!(
            !(page.items.is_empty() && page.next.is_some() && !page.failures.is_empty()),
            "an empty page kept the cursor alive for a failing source"
        );
        cursor = page
            .next
            .as_ref()
            .map(|c| c.to_string().parse().expect("own cursor parses"));
        pages.push(page);
        if cursor.is_none() {
            return (items, pages);
        }
    }
    panic!("the listing did not end within 10,000 pages");
}

/// Asserts no id repeats.
pub fn assert_unique(items: &[Campaign]) {
    let mut seen = HashSet::new();
    for c in items {
        assert!(seen.insert(&c.id), "{:?} yielded twice", c.id);
    }
}
