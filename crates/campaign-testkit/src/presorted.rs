//! A source over campaigns already in query order, for benchmarks.

use async_trait::async_trait;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel, ErrorKind, Page,
    PageToken, Result, SourceError,
};

use crate::memory::DEFAULT_PAGE_SIZE;

/// Serves offset-paged slices of campaigns that are already in the order of
/// the queries it will serve: no filtering or sorting per request (unlike
/// [`InMemorySource`](crate::InMemorySource)), so a benchmark measures what
/// consumes the source rather than the source. Claims every capability.
///
/// ```
/// use std::sync::Arc;
/// use campaign_core::{CampaignQuery, CampaignSource};
/// use campaign_testkit::{interleaved_campaigns, Presorted};
/// use futures::TryStreamExt;
///
/// # futures::executor::block_on(async {
/// let mut inputs = interleaved_campaigns(2, 5);
/// let source = Arc::new(Presorted::new("s1", inputs.remove(1)).with_page_size(2));
/// let all: Vec<_> = source.stream(&CampaignQuery::all()).try_collect().await?;
/// assert_eq!(all.len(), 5);
/// assert_eq!(all[0].name, "campaign-000000001");
/// # Ok::<(), campaign_core::SourceError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Presorted {
    id: String,
    campaigns: Vec<Campaign>,
    page_size: usize,
}

impl Presorted {
    /// A source named `id` over `campaigns` (kept as given, ids included).
    pub fn new(id: impl Into<String>, campaigns: Vec<Campaign>) -> Self {
        Self {
            id: id.into(),
            campaigns,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// The page size when the query sets none (default [`DEFAULT_PAGE_SIZE`]).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }
}

#[async_trait]
impl CampaignSource for Presorted {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        "bench"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::everything()
    }

    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        let offset = match token {
            None => 0,
            Some(token) => token.as_str().parse::<usize>().map_err(|_| {
                SourceError::new(ErrorKind::InvalidCursor, &self.id, "bad offset token")
            })?,
        };
        let size = query
            .page_size()
            .map_or(self.page_size, |n| (n as usize).max(1));
        let end = offset.saturating_add(size).min(self.campaigns.len());
        let items = self.campaigns.get(offset..end).unwrap_or_default().to_vec();
        let next = (end < self.campaigns.len()).then(|| PageToken::new(end.to_string()));
        Ok(Page::new(items, next))
    }
}

/// `sources` lists of `per_source` campaigns whose names interleave: list
/// `s` (source `s{s}`, provider `bench`) holds every `sources`-th name, in
/// name order, so a merge by name takes from every list in turn.
pub fn interleaved_campaigns(sources: usize, per_source: usize) -> Vec<Vec<Campaign>> {
    (0..sources)
        .map(|s| {
            let id = format!("s{s}");
            (0..per_source)
                .map(|i| {
                    let key = i * sources + s;
                    Campaign::new(
                        CampaignId::new(id.as_str(), key.to_string()),
                        "bench",
                        format!("campaign-{key:09}"),
                        Channel::Voice,
                    )
                })
                .collect()
        })
        .collect()
}
