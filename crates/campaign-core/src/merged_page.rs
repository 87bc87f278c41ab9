//! One page of a partitioned source, merged from its partitions' pages.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::Campaign;
use crate::paging::TokenEnvelope;
use crate::query::CampaignQuery;
use crate::source::{CampaignSource, Page, PageToken};

/// Plain JSON, not base64: the parts' own tokens inside are opaque already.
const TOKENS: TokenEnvelope = TokenEnvelope::json("parts1:");

/// One part's place in a merged walk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PartPos {
    /// The part's page token (`None`: its first page).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    token: Option<PageToken>,
    /// Items of that page already listed.
    #[serde(rename = "o", default, skip_serializing_if = "is_zero")]
    offset: usize,
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    done: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize)]
struct Positions {
    p: Vec<PartPos>,
}

/// A page of `parts` (a source's [partitions](CampaignSource::partitions))
/// merged in `query`'s order, for that source's own
/// [`fetch_page`](CampaignSource::fetch_page): each part's page is read at
/// the part's own position, campaigns are taken in order until a part that
/// has more runs out of read ones (its next campaign could sort before
/// anything left), and the token records where each part stands. An
/// aggregate walks the parts separately instead; this is for callers of the
/// source's pages.
///
/// A part's error fails the page (it names the part); a token from another
/// query or source is an `InvalidCursor` error of `source_id`.
pub async fn fetch_merged_page(
    source_id: &str,
    parts: &[Arc<dyn CampaignSource>],
    query: &CampaignQuery,
    token: Option<PageToken>,
) -> Result<Page> {
    let positions = decode(source_id, query, parts.len(), token.as_ref())?;
    let pages =
        futures::future::try_join_all(parts.iter().zip(&positions).map(|(part, pos)| async move {
            if pos.done {
                return Ok(None);
            }
            part.fetch_page(query, pos.token.clone()).await.map(Some)
        }))
        .await?;
    let mut warnings = Vec::new();
    let mut total = Some(0u64);
    let mut state: Vec<PartState> = Vec::with_capacity(parts.len());
    for (page, pos) in pages.into_iter().zip(&positions) {
        let Some(mut page) = page else {
            state.push(PartState::done());
            continue;
        };
        // Resuming inside this page must read it again, not start anew.
        let token = page.this_page.take().or_else(|| pos.token.clone());
        if pos.offset == 0 {
            // A page resumed inside was read, and its warnings reported, before.
            warnings.append(&mut page.warnings);
        }
        total = total
            .zip(page.total_hint)
            .map(|(sum, part)| sum.saturating_add(part));
        let offset = pos.offset.min(page.items.len());
        let mut left: VecDeque<Campaign> = page.items.into();
        left.drain(..offset);
        state.push(PartState {
            left,
            token,
            offset,
            next: page.next,
            done: false,
        });
    }
    // A part with nothing left on its page but more to come could hold the
    // next campaign of all: it is moved on first, before anything is taken.
    let mut items = Vec::new();
    if !state.iter().any(PartState::starved) {
        loop {
            let best = state
                .iter()
                .enumerate()
                .filter_map(|(index, part)| part.left.front().map(|head| (index, head)))
                .min_by(|(_, a), (_, b)| query.compare(a, b))
                .map(|(index, _)| index);
            let Some(index) = best else { break };
            let part = &mut state[index];
            items.extend(part.left.pop_front());
            part.offset += 1;
            if part.starved() {
                break;
            }
        }
    }
    let next_positions: Vec<PartPos> = state.into_iter().map(PartState::position).collect();
    let next = (!next_positions.iter().all(|p| p.done)).then(|| encode(query, next_positions));
    let mut page = Page::new(items, next);
    page.total_hint = total;
    page.warnings = warnings;
    Ok(page)
}

/// What is left of one part's page while a merged page is taken.
struct PartState {
    left: VecDeque<Campaign>,
    token: Option<PageToken>,
    /// Items of the part's page listed, this page included.
    offset: usize,
    next: Option<PageToken>,
    done: bool,
}

impl PartState {
    fn done() -> Self {
        Self {
            left: VecDeque::new(),
            token: None,
            offset: 0,
            next: None,
            done: true,
        }
    }

    /// Out of read campaigns while more follow.
    fn starved(&self) -> bool {
        self.left.is_empty() && self.next.is_some()
    }

    fn position(self) -> PartPos {
        if self.done {
            return PartPos {
                done: true,
                ..PartPos::default()
            };
        }
        if self.left.is_empty() {
            return PartPos {
                done: self.next.is_none(),
                token: self.next,
                offset: 0,
            };
        }
        PartPos {
            token: self.token,
            offset: self.offset,
            done: false,
        }
    }
}

fn encode(query: &CampaignQuery, parts: Vec<PartPos>) -> PageToken {
    TOKENS.seal(query, &Positions { p: parts })
}

fn decode(
    source_id: &str,
    query: &CampaignQuery,
    parts: usize,
    token: Option<&PageToken>,
) -> Result<Vec<PartPos>> {
    let Some(token) = token else {
        return Ok(vec![PartPos::default(); parts]);
    };
    let positions: Positions = TOKENS.open(source_id, query, token)?;
    if positions.p.len() != parts {
        return Err(TokenEnvelope::invalid(
            source_id,
            "it covers different partitions",
        ));
    }
    Ok(positions.p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::Capabilities;
    use crate::error::ErrorKind;
    use crate::model::{CampaignId, Channel};
    use crate::query::{Sort, SortField};
    use async_trait::async_trait;

    /// A part serving fixed pages of names, in order.
    #[derive(Debug)]
    struct Pages(Vec<Vec<&'static str>>);

    #[async_trait]
    impl CampaignSource for Pages {
        fn id(&self) -> &str {
            "s"
        }
        fn provider(&self) -> &str {
            "test"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::everything()
        }
        async fn fetch_page(&self, _: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
            let at: usize = token.map_or(0, |t| t.as_str().parse().unwrap_or(0));
            let items = self.0[at]
                .iter()
                .map(|n| Campaign::new(CampaignId::new("s", *n), "test", *n, Channel::Voice))
                .collect();
            let next = (at + 1 < self.0.len()).then(|| PageToken::new((at + 1).to_string()));
            Ok(Page::new(items, next))
        }
    }

    #[tokio::test]
    async fn parts_merge_in_order_across_their_pages() {
        let parts: Vec<Arc<dyn CampaignSource>> = vec![
            Arc::new(Pages(vec![vec!["a", "d"], vec![], vec!["e", "h"]])),
            Arc::new(Pages(vec![vec!["b", "c", "f"], vec!["g"]])),
        ];
        let query = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let mut token = None;
        let mut names = Vec::new();
        for _ in 0..20 {
            let page = fetch_merged_page("s", &parts, &query, token).await.unwrap();
            names.extend(page.items.into_iter().map(|c| c.name));
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(names, ["a", "b", "c", "d", "e", "f", "g", "h"]);
        let foreign = PageToken::new("parts1:{\"q\":\"0\",\"p\":[]}");
        let e = fetch_merged_page("s", &parts, &query, Some(foreign))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCursor);
    }
}
