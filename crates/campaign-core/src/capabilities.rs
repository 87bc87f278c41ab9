//! What a source can do at the provider, and how a query splits into the part
//! pushed down and the part applied locally.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::query::{CampaignQuery, CampaignQueryBuilder, SortField};

/// One kind of filter of a [`CampaignQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// `channels`.
    Channel,
    /// `statuses`.
    Status,
    /// `priorities`.
    Priority,
    /// `dialing_modes`.
    DialingMode,
    /// The `created_at` range.
    CreatedRange,
    /// The `updated_at` range.
    UpdatedRange,
    /// The name substring.
    Name,
}

impl Filter {
    /// Every filter kind.
    pub const ALL: [Filter; 7] = [
        Filter::Channel,
        Filter::Status,
        Filter::Priority,
        Filter::DialingMode,
        Filter::CreatedRange,
        Filter::UpdatedRange,
        Filter::Name,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Channel => "channel",
            Filter::Status => "status",
            Filter::Priority => "priority",
            Filter::DialingMode => "dialing_mode",
            Filter::CreatedRange => "created_range",
            Filter::UpdatedRange => "updated_range",
            Filter::Name => "name",
        }
    }

    /// Whether `query` sets this filter.
    pub fn is_set_in(self, query: &CampaignQuery) -> bool {
        match self {
            Filter::Channel => !query.channels().is_empty(),
            Filter::Status => !query.statuses().is_empty(),
            Filter::Priority => !query.priorities().is_empty(),
            Filter::DialingMode => !query.dialing_modes().is_empty(),
            Filter::CreatedRange => !query.created().is_unbounded(),
            Filter::UpdatedRange => !query.updated().is_unbounded(),
            Filter::Name => query.name_contains().is_some(),
        }
    }

    /// Copies this filter's setting from `from` into `into`.
    fn copy(self, from: &CampaignQuery, into: CampaignQueryBuilder) -> CampaignQueryBuilder {
        match self {
            Filter::Channel => into.channels(from.channels().iter().cloned()),
            Filter::Status => into.statuses(from.statuses().iter().cloned()),
            Filter::Priority => into.priorities(from.priorities().iter().copied()),
            Filter::DialingMode => into.dialing_modes(from.dialing_modes().iter().cloned()),
            Filter::CreatedRange => {
                let range = from.created();
                let into = match range.start {
                    Some(start) => into.created_from(start),
                    None => into,
                };
                match range.end {
                    Some(end) => into.created_to(end),
                    None => into,
                }
            }
            Filter::UpdatedRange => {
                let range = from.updated();
                let into = match range.start {
                    Some(start) => into.updated_from(start),
                    None => into,
                };
                match range.end {
                    Some(end) => into.updated_to(end),
                    None => into,
                }
            }
            Filter::Name => match from.name_contains() {
                Some(text) => into.name_contains(text),
                None => into,
            },
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a source applies at the provider.
///
/// Whatever is not listed here the source (or [`crate::walk_pages`]) applies
/// locally, so results are the same either way; capabilities only change cost.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// Filters the provider applies server-side.
    pub filters: BTreeSet<Filter>,
    /// Fields the provider sorts by server-side.
    pub sorts: BTreeSet<SortField>,
    /// Largest page the provider returns, if it caps pages.
    pub max_page_size: Option<u32>,
    /// Whether the provider pages at all (false: one response holds everything).
    pub server_paging: bool,
}

impl Capabilities {
    /// A source that does everything locally (no filter, sort or paging at the provider).
    pub fn local_only() -> Self {
        Self::default()
    }

    /// A source that applies every filter and sort itself and pages at the
    /// provider, with no page cap: nothing is left for the walker to do.
    pub fn everything() -> Self {
        Self {
            filters: Filter::ALL.into(),
            sorts: SortField::ALL.into(),
            max_page_size: None,
            server_paging: true,
        }
    }

    /// Whether `filter` runs at the provider.
    pub fn pushes_down(&self, filter: Filter) -> bool {
        self.filters.contains(&filter)
    }

    /// Splits `query` into what goes to the provider and what remains to be
    /// applied locally.
    pub fn split(&self, query: &CampaignQuery) -> QueryPlan {
        let mut pushdown = CampaignQuery::builder();
        let mut residual = CampaignQuery::builder();
        let mut pushed = Vec::new();
        let mut local = Vec::new();
        for filter in Filter::ALL {
            if !filter.is_set_in(query) {
                continue;
            }
            if self.pushes_down(filter) {
                pushdown = filter.copy(query, pushdown);
                pushed.push(filter);
            } else {
                residual = filter.copy(query, residual);
                local.push(filter);
            }
        }
        let sort = query.sort();
        let sort_pushed = sort.is_some_and(|s| self.sorts.contains(&s.field));
        if let Some(sort) = sort {
            pushdown = if sort_pushed {
                pushdown.sort(sort)
            } else {
                pushdown
            };
            residual = residual.sort(sort);
        }
        if let Some(size) = query.page_size() {
            pushdown = pushdown.page_size(size);
        }
        QueryPlan {
            // Both builders only copy values from a query that already passed validation.
            pushdown: pushdown.build().unwrap_or_default(),
            residual: residual.build().unwrap_or_default(),
            pushed_filters: pushed,
            local_filters: local,
            sort_pushed,
            local_sort: sort.is_some() && !sort_pushed,
        }
    }
}

/// The result of [`Capabilities::split`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPlan {
    /// The filters (and sort, when supported) to send to the provider.
    pub pushdown: CampaignQuery,
    /// The filters to apply locally, with the query's sort for reference.
    pub residual: CampaignQuery,
    /// Filter kinds sent to the provider.
    pub pushed_filters: Vec<Filter>,
    /// Filter kinds applied locally.
    pub local_filters: Vec<Filter>,
    /// Whether the provider sorts.
    pub sort_pushed: bool,
    /// Whether the source must sort locally.
    pub local_sort: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, DialingMode, Status};
    use crate::query::Sort;

    #[test]
    fn split_sends_supported_filters_and_keeps_the_rest() {
        let caps = Capabilities {
            filters: [Filter::Status, Filter::CreatedRange].into(),
            sorts: [SortField::CreatedAt].into(),
            max_page_size: Some(100),
            server_paging: true,
        };
        let query = CampaignQuery::builder()
            .status(Status::Ready)
            .channel(Channel::Voice)
            .dialing_mode(DialingMode::Preview)
            .created_from("2025-01-01T00:00:00Z".parse().unwrap())
            .name_contains("bill")
            .sort(Sort::desc(SortField::CreatedAt))
            .page_size(25)
            .build()
            .unwrap();
        let plan = caps.split(&query);
        assert_eq!(plan.pushdown.statuses(), [Status::Ready]);
        assert_eq!(plan.pushdown.created(), query.created());
        assert!(plan.pushdown.channels().is_empty());
        assert_eq!(plan.pushdown.sort(), query.sort());
        assert_eq!(plan.pushdown.page_size(), Some(25));
        assert_eq!(plan.residual.channels(), [Channel::Voice]);
        assert_eq!(plan.residual.dialing_modes(), [DialingMode::Preview]);
        assert_eq!(plan.residual.name_contains(), Some("bill"));
        assert!(plan.residual.statuses().is_empty());
        assert_eq!(plan.pushed_filters, [Filter::Status, Filter::CreatedRange]);
        assert_eq!(
            plan.local_filters,
            [Filter::Channel, Filter::DialingMode, Filter::Name]
        );
        assert!(plan.sort_pushed && !plan.local_sort);
    }

    #[test]
    fn local_only_source_keeps_everything_local() {
        let query = CampaignQuery::builder()
            .priority(3)
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let plan = Capabilities::local_only().split(&query);
        assert!(plan.pushdown.has_no_filter());
        assert_eq!(plan.pushdown.sort(), None);
        assert_eq!(plan.residual.priorities(), [3]);
        assert!(plan.local_sort);
        // Residual ∧ pushdown is the original query.
        assert_eq!(plan.residual.fingerprint(), query.fingerprint());
    }
}
