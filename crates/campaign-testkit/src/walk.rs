//! Walking a source page by page, as a caller that keeps its place between
//! pages (or hands it to another process) does, and checking what a walk
//! listed.

use campaign_core::{Campaign, CampaignQuery, CampaignSource, PageToken};

/// Fetches pages of `query` from `source` starting at `token` (`None`: the
/// first page) until the listing ends or `pages` pages were read (`None`: no
/// bound). Returns what they listed and the token of the page after them
/// (`None` once the listing ended).
///
/// # Panics
/// When a page fails: this is a test helper, and the failure is the test's.
pub async fn fetch_pages(
    source: &dyn CampaignSource,
    query: &CampaignQuery,
    mut token: Option<PageToken>,
    pages: Option<usize>,
) -> (Vec<Campaign>, Option<PageToken>) {
    let mut listed = Vec::new();
    let mut read = 0;
    loop {
        if pages.is_some_and(|pages| read >= pages) {
            return (listed, token);
        }
        let page = source
            .fetch_page(query, token.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: page {} failed: {e}", source.id(), read + 1));
        read += 1;
        listed.extend(page.items);
        token = page.next;
        if token.is_none() {
            return (listed, None);
        }
    }
}

/// Asserts that `listed` holds `count` campaigns, each sorting strictly
/// before the next under `query` (so each is listed once, in order).
///
/// # Panics
/// On the wrong count, or at the first pair out of order or repeated.
pub fn assert_listed_once_in_order(query: &CampaignQuery, listed: &[Campaign], count: usize) {
    assert_eq!(listed.len(), count, "campaigns listed");
    if let Some(pair) = listed
        .windows(2)
        .find(|pair| !query.compare(&pair[0], &pair[1]).is_lt())
    {
        panic!(
            "{} listed before {}: out of order or repeated",
            pair[0].id, pair[1].id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fixture_campaigns, InMemorySource};
    use campaign_core::{Sort, SortField};

    fn by_name() -> CampaignQuery {
        CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .page_size(3)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_walk_handed_over_between_sources_lists_everything_once() {
        let campaigns = fixture_campaigns("mem");
        let source = InMemorySource::new("mem", campaigns.clone());
        let query = by_name();
        let (mut listed, token) = fetch_pages(&source, &query, None, Some(2)).await;
        assert_eq!(listed.len(), 6);
        assert!(token.is_some());
        let other = InMemorySource::new("mem", campaigns.clone());
        let (rest, end) = fetch_pages(&other, &query, token, None).await;
        assert!(end.is_none());
        listed.extend(rest);
        assert_listed_once_in_order(&query, &listed, campaigns.len());
    }

    #[test]
    #[should_panic(expected = "out of order or repeated")]
    fn a_repeated_campaign_fails() {
        let mut campaigns = fixture_campaigns("mem");
        let query = by_name();
        campaigns.sort_by(|a, b| query.compare(a, b));
        campaigns.insert(1, campaigns[0].clone());
        assert_listed_once_in_order(&query, &campaigns, campaigns.len());
    }

    #[test]
    #[should_panic(expected = "campaigns listed")]
    fn a_missing_campaign_fails() {
        let query = by_name();
        assert_listed_once_in_order(&query, &[], 1);
    }
}
