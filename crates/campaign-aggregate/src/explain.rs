//! What an aggregate asks of each source for a query, and at what cost.

use std::fmt;
use std::sync::Arc;

use campaign_core::{CampaignQuery, CampaignSource, Filter, Sort};

/// Roughly how many requests a source needs for one aggregate page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEstimate {
    /// About this many.
    About(u64),
    /// At least this many: local filters drop campaigns, so more pages may
    /// be needed to fill one.
    AtLeast(u64),
    /// The provider cannot sort, so the source reads its whole listing to
    /// sort it: as many requests as the provider has pages.
    WholeListing,
    /// The source's page size is not known (the query sets none and the
    /// provider declares no cap).
    Unknown,
}

impl fmt::Display for RequestEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestEstimate::About(n) => write!(f, "~{n}"),
            RequestEstimate::AtLeast(n) => write!(f, ">={n}"),
            RequestEstimate::WholeListing => f.write_str("all pages"),
            RequestEstimate::Unknown => f.write_str("unknown"),
        }
    }
}

/// The plan for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourcePlan {
    /// The source's id.
    pub source: String,
    /// Its provider kind.
    pub provider: String,
    /// Filters applied at the provider.
    pub pushed_filters: Vec<Filter>,
    /// Filters applied locally, after fetching.
    pub local_filters: Vec<Filter>,
    /// The query's sort, if any.
    pub sort: Option<Sort>,
    /// Whether the provider sorts (otherwise the source sorts locally).
    pub sort_pushed: bool,
    /// Campaigns per provider request, where known.
    pub provider_page_size: Option<u32>,
    /// Requests for one aggregate page.
    pub requests_per_page: RequestEstimate,
}

/// Per source, which parts of a query run at the provider and which are
/// emulated locally, and roughly how many requests a page needs.
/// `Display` prints a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explain {
    /// The aggregate's id.
    pub aggregate: String,
    /// Campaigns per aggregate page.
    pub page_size: usize,
    /// One plan per source, in the aggregate's order.
    pub sources: Vec<SourcePlan>,
}

impl Explain {
    pub(crate) fn new(
        aggregate: &str,
        sources: &[Arc<dyn CampaignSource>],
        query: &CampaignQuery,
        page_size: usize,
    ) -> Self {
        let sources = sources
            .iter()
            .map(|source| plan(source.as_ref(), query, page_size))
            .collect();
        Self {
            aggregate: aggregate.to_owned(),
            page_size,
            sources,
        }
    }
}

fn plan(source: &dyn CampaignSource, query: &CampaignQuery, page_size: usize) -> SourcePlan {
    let capabilities = source.capabilities();
    let mut split = capabilities.split(query);
    if !source.capabilities_at_provider() {
        // The source itself filters and sorts what the provider sent.
        split.local_filters.append(&mut split.pushed_filters);
        split.local_filters.sort();
        split.sort_pushed = false;
    }
    let provider_page_size = if capabilities.server_paging {
        match (query.page_size(), capabilities.max_page_size) {
            (Some(wanted), Some(cap)) => Some(wanted.min(cap)),
            (wanted, cap) => wanted.or(cap),
        }
    } else {
        None
    };
    let requests_per_page = if !capabilities.server_paging {
        // One response holds everything.
        RequestEstimate::About(1)
    } else if split.local_sort {
        RequestEstimate::WholeListing
    } else if let Some(per_request) = provider_page_size {
        let needed = (page_size as u64)
            .div_ceil(u64::from(per_request.max(1)))
            .max(1);
        if split.local_filters.is_empty() {
            RequestEstimate::About(needed)
        } else {
            RequestEstimate::AtLeast(needed)
        }
    } else {
        RequestEstimate::Unknown
    };
    SourcePlan {
        source: source.id().to_owned(),
        provider: source.provider().to_owned(),
        pushed_filters: split.pushed_filters,
        local_filters: split.local_filters,
        sort: query.sort(),
        sort_pushed: split.sort_pushed,
        provider_page_size,
        requests_per_page,
    }
}

fn join(filters: &[Filter]) -> String {
    if filters.is_empty() {
        return "-".to_owned();
    }
    filters
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "aggregate {:?}, {} campaigns per page",
            self.aggregate, self.page_size
        )?;
        let header = [
            "SOURCE",
            "PROVIDER",
            "PUSHED FILTERS",
            "LOCAL FILTERS",
            "SORT",
            "PAGE",
            "REQUESTS/PAGE",
        ];
        let rows: Vec<[String; 7]> = self
            .sources
            .iter()
            .map(|plan| {
                let sort = match plan.sort {
                    None => "-".to_owned(),
                    Some(sort) if plan.sort_pushed => format!("{sort} (provider)"),
                    Some(sort) => format!("{sort} (local)"),
                };
                [
                    plan.source.clone(),
                    plan.provider.clone(),
                    join(&plan.pushed_filters),
                    join(&plan.local_filters),
                    sort,
                    plan.provider_page_size
                        .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                    plan.requests_per_page.to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = |cells: &[&str]| -> fmt::Result {
            let text: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            writeln!(f, "{}", text.join("  ").trim_end())
        };
        line(&header)?;
        for row in &rows {
            line(&row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use campaign_core::{Capabilities, Channel, Page, PageToken, Result, Sort, SortField, Status};
    use campaign_testkit::InMemorySource;

    use super::*;

    /// A source whose provider does nothing: it filters and sorts itself.
    #[derive(Debug)]
    struct DoesItItself(InMemorySource);

    #[async_trait]
    impl CampaignSource for DoesItItself {
        fn id(&self) -> &str {
            self.0.id()
        }
        fn provider(&self) -> &str {
            "self"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                server_paging: false,
                ..Capabilities::everything()
            }
        }
        fn capabilities_at_provider(&self) -> bool {
            false
        }
        async fn fetch_page(
            &self,
            query: &CampaignQuery,
            token: Option<PageToken>,
        ) -> Result<Page> {
            self.0.fetch_page(query, token).await
        }
    }

    #[test]
    fn what_a_source_does_itself_is_reported_as_local() {
        let source: Arc<dyn CampaignSource> =
            Arc::new(DoesItItself(InMemorySource::new("cms-like", vec![])));
        let query = CampaignQuery::builder()
            .status(Status::Ready)
            .channel(Channel::Sms)
            .sort(Sort::desc(SortField::CreatedAt))
            .build()
            .unwrap();
        let plan = plan(source.as_ref(), &query, 50);
        assert!(plan.pushed_filters.is_empty(), "{plan:?}");
        assert_eq!(plan.local_filters, [Filter::Channel, Filter::Status]);
        assert!(!plan.sort_pushed);
        assert_eq!(plan.requests_per_page, RequestEstimate::About(1));
    }
}
