//! The paging check: raw token walks, re-fetched tokens, resumed walks and
//! announced `following` pages.

use std::collections::HashMap;
use std::sync::Arc;

use campaign_core::{Campaign, CampaignId, CampaignQuery, CampaignSource};

use super::checks::{summarize, RawPage, Suite};
use super::diff::{check_query, compare, ids, show_page, show_pages, token_text};
use super::queries::{describe, paging_queries};

impl Suite {
    pub(super) async fn paging(&mut self) -> Result<(), String> {
        let all = self.all().await?;
        let source = self.source().await;
        let residual_of = |q: &CampaignQuery| source.capabilities().split(q).residual;
        let mut failures = Vec::new();
        for size in self.page_sizes.clone() {
            for query in paging_queries(size) {
                let residual = residual_of(&query);
                if let Err(message) = self.walk_and_resume(&source, &query, &residual, &all).await {
                    failures.push(message);
                }
            }
        }
        summarize(failures)
    }

    /// Walks `query` by tokens, then re-fetches every token and resumes a
    /// whole walk from the middle one.
    async fn walk_and_resume(
        &mut self,
        source: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        residual: &CampaignQuery,
        all: &[Campaign],
    ) -> Result<(), String> {
        let label = describe(query);
        let pages = self.walk_raw(source, query, None).await?;
        let mut first_seen: HashMap<&CampaignId, usize> = HashMap::new();
        for (index, page) in pages.iter().enumerate() {
            for campaign in &page.items {
                if let Some(&earlier) = first_seen.get(&campaign.id) {
                    return Err(format!(
                        "walking fetch_page for {label}: {} on page {index} (token {}) repeats \
                         an item of page {earlier} (token {}):\n  {}\n  {}",
                        campaign.id,
                        token_text(&page.token),
                        token_text(&pages[earlier].token),
                        show_page(earlier, &pages[earlier]),
                        show_page(index, page),
                    ));
                }
                first_seen.insert(&campaign.id, index);
            }
        }
        let walked: Vec<Campaign> = pages
            .iter()
            .flat_map(|p| p.items.iter().filter(|c| residual.matches(c)).cloned())
            .collect();
        if let Some(diff) = check_query(query, all, &walked) {
            return Err(format!(
                "walking fetch_page for {label} (residual filter applied) gave a gap, \
                 repeat or wrong order:\n  {diff}\n  pages were:\n  {}",
                show_pages(&pages)
            ));
        }
        // Fetching each token again must give the same page: a token is a
        // position, not a session cursor that moves on with every call.
        for (index, page) in pages.iter().enumerate().skip(1) {
            let again = self.fetch_one(source, query, page.token.clone()).await?;
            let want = ids(&page.items);
            let got = ids(&again.items);
            let more = index + 1 < pages.len();
            if let Some(diff) = compare(&want, &got) {
                return Err(format!(
                    "fetching page {index} of {label} again from its token {} gave a \
                     different page:\n  {diff}",
                    token_text(&page.token)
                ));
            }
            if again.next.is_some() != more {
                return Err(format!(
                    "fetching page {index} of {label} again from its token {} {} a next \
                     page, the first walk {}",
                    token_text(&page.token),
                    if again.next.is_some() {
                        "announced"
                    } else {
                        "did not announce"
                    },
                    if more { "had one" } else { "ended there" }
                ));
            }
        }
        // One whole walk from the middle proves the re-fetched pages' own
        // tokens lead on (once per walk keeps the cost linear in pages).
        let middle = pages.len() / 2;
        if middle > 0 {
            let resumed = self
                .walk_raw(source, query, pages[middle].token.clone())
                .await?;
            let want: Vec<CampaignId> =
                pages[middle..].iter().flat_map(|p| ids(&p.items)).collect();
            let got: Vec<CampaignId> = resumed.iter().flat_map(|p| ids(&p.items)).collect();
            if let Some(diff) = compare(&want, &got) {
                return Err(format!(
                    "resuming fetch_page for {label} from page {middle} (token {}) did not \
                     continue the first walk:\n  {diff}",
                    token_text(&pages[middle].token)
                ));
            }
        }
        self.check_following(source, query, &pages).await
    }

    /// Pages announced in the first page's `following` (fetched concurrently
    /// by the walker) must be the pages the `next` chain reaches.
    async fn check_following(
        &mut self,
        source: &Arc<dyn CampaignSource>,
        query: &CampaignQuery,
        pages: &[RawPage],
    ) -> Result<(), String> {
        let Some(first) = pages.first() else {
            return Ok(());
        };
        for (j, token) in first.following.iter().enumerate() {
            let index = j + 2;
            let page = self.fetch_one(source, query, Some(token.clone())).await?;
            let want = pages.get(index).map(|p| ids(&p.items)).unwrap_or_default();
            if let Some(diff) = compare(&want, &ids(&page.items)) {
                return Err(format!(
                    "the first page of {} announced token {:?} as page {index} in `following`, \
                     but it differs from page {index} of the `next` chain:\n  {diff}",
                    describe(query),
                    token.as_str()
                ));
            }
        }
        Ok(())
    }
}
