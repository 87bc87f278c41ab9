//! Checking a provider's sort instead of trusting it, and resuming a
//! locally sorted listing.
//!
//! A provider that documents a sort rarely documents how it breaks ties,
//! how it compares names or where it puts missing values, and some servers
//! accept a sort and ignore it. A source that pushes a sort down therefore
//! checks what comes back with [`order_break`] (ties in any id order are
//! fine: [`tie_run_start`] finds the run of equal keys at a page's end so
//! the source can order it by id once the next page shows where it ends),
//! and on a break reads the listing whole and sorts it locally, paging it
//! with a [`KeysetMark`].

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Campaign, CampaignId, Channel};
use crate::query::{CampaignQuery, SortField};

/// Where the sort keys of `items` (following `previous`, the last campaign
/// of the page before, if any) first go backwards in `query`'s order: the
/// index of the first item whose key sorts before its predecessor's.
/// `None` when the keys never decrease (equal keys in any id order pass).
///
/// ```
/// use campaign_core::{order_break, Campaign, CampaignId, CampaignQuery, Channel, Sort, SortField};
///
/// let named = |id: &str, name: &str| Campaign::new(CampaignId::new("s", id), "p", name, Channel::Voice);
/// let query = CampaignQuery::builder().sort(Sort::asc(SortField::Name)).build()?;
/// let tied = [named("2", "a"), named("1", "a"), named("3", "b")];
/// assert_eq!(order_break(&query, None, &tied), None);
/// let broken = [named("1", "b"), named("2", "a")];
/// assert_eq!(order_break(&query, None, &broken), Some(1));
/// assert_eq!(order_break(&query, Some(&named("0", "c")), &tied), Some(0));
/// # Ok::<(), campaign_core::QueryError>(())
/// ```
pub fn order_break(
    query: &CampaignQuery,
    previous: Option<&Campaign>,
    items: &[Campaign],
) -> Option<usize> {
    let mut before = previous;
    for (index, item) in items.iter().enumerate() {
        if before.is_some_and(|b| query.compare_key(b, item) == Ordering::Greater) {
            return Some(index);
        }
        before = Some(item);
    }
    None
}

/// The index where the run of items sharing the last item's sort key
/// begins (`items.len()` for an empty slice, `0` when every key is equal).
/// Those are the items whose order among campaigns with the same key on
/// the next page is not known yet.
pub fn tie_run_start(query: &CampaignQuery, items: &[Campaign]) -> usize {
    let Some(last) = items.last() else {
        return items.len();
    };
    items
        .iter()
        .rposition(|item| query.compare_key(item, last) != Ordering::Equal)
        .map_or(0, |before| before + 1)
}

/// A campaign's place in a query's order, kept in a page token: its sort
/// key and native id. A listing sorted locally resumes right after it
/// (keyset paging), so campaigns added or removed in between shift nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetMark {
    /// The native id.
    #[serde(rename = "i")]
    pub id: String,
    /// The name, when the query sorts by name.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sorted timestamp, when the query sorts by one.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl KeysetMark {
    /// The mark of `campaign` under `query`'s sort.
    pub fn of(query: &CampaignQuery, campaign: &Campaign) -> Self {
        let (name, at) = match query.sort().map(|s| s.field) {
            None => (None, None),
            Some(SortField::Name) => (Some(campaign.name.clone()), None),
            Some(SortField::CreatedAt) => (None, campaign.created_at),
            Some(SortField::UpdatedAt) => (None, campaign.updated_at),
        };
        Self {
            id: campaign.id.native.clone(),
            name,
            at,
        }
    }

    /// A campaign of source `source` that `query.compare` finds equal to the
    /// marked one: what to compare a listing's campaigns against.
    pub fn probe(&self, source: &str, query: &CampaignQuery) -> Campaign {
        let mut probe = Campaign::new(
            CampaignId::new(Arc::<str>::from(source), self.id.clone()),
            "",
            self.name.clone().unwrap_or_default(),
            Channel::Other(String::new()),
        );
        match query.sort().map(|s| s.field) {
            Some(SortField::CreatedAt) => probe.created_at = self.at,
            Some(SortField::UpdatedAt) => probe.updated_at = self.at,
            _ => {}
        }
        probe
    }

    /// How many of `sorted` (in `query`'s order, from `source`) come at or
    /// before the mark: where the listing resumes.
    pub fn resume_at(&self, source: &str, query: &CampaignQuery, sorted: &[Campaign]) -> usize {
        let probe = self.probe(source, query);
        sorted.partition_point(|c| query.compare(c, &probe).is_le())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Sort;

    fn campaign(id: &str, name: &str, created: Option<&str>) -> Campaign {
        let mut c = Campaign::new(CampaignId::new("s", id), "p", name, Channel::Voice);
        c.created_at = created.map(|t| t.parse().unwrap());
        c
    }

    #[test]
    fn breaks_ties_and_missing_values_follow_the_query_order() {
        let desc = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .build()
            .unwrap();
        let items = [
            campaign("3", "x", Some("2026-01-02T00:00:00Z")),
            campaign("1", "x", Some("2026-01-01T00:00:00Z")),
            campaign("2", "x", Some("2026-01-01T00:00:00Z")),
            campaign("0", "x", None),
        ];
        assert_eq!(order_break(&desc, None, &items), None);
        assert_eq!(tie_run_start(&desc, &items), 3);
        assert_eq!(tie_run_start(&desc, &items[..3]), 1);
        assert_eq!(tie_run_start(&desc, &items[1..3]), 0);
        assert_eq!(tie_run_start(&desc, &[]), 0);
        // Missing first is out of order in either direction.
        let missing_first = [items[3].clone(), items[0].clone()];
        assert_eq!(order_break(&desc, None, &missing_first), Some(1));
        let unsorted = CampaignQuery::all();
        assert_eq!(order_break(&unsorted, None, &missing_first), None);
    }

    #[test]
    fn marks_resume_right_after_the_marked_campaign() {
        for sort in [
            Sort::asc(SortField::Name),
            Sort::desc(SortField::CreatedAt),
            Sort::asc(SortField::UpdatedAt),
        ] {
            let query = CampaignQuery::builder().sort(sort).build().unwrap();
            let mut sorted: Vec<Campaign> = (0..9)
                .map(|i| {
                    let day = 1 + i % 3;
                    let mut c = campaign(
                        &i.to_string(),
                        &format!("n{}", i % 4),
                        Some(&format!("2026-01-0{day}T00:00:00Z")),
                    );
                    c.updated_at = c.created_at;
                    c
                })
                .collect();
            sorted.sort_by(|a, b| query.compare(a, b));
            for (at, campaign) in sorted.iter().enumerate() {
                let mark = KeysetMark::of(&query, campaign);
                let text = serde_json::to_string(&mark).unwrap();
                let mark: KeysetMark = serde_json::from_str(&text).unwrap();
                assert_eq!(mark.resume_at("s", &query, &sorted), at + 1, "{sort:?}");
            }
        }
    }
}
