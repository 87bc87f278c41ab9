//! The raw-record hint: a query that does not want `Campaign::raw`
//! (`keep_raw(false)`) lists the same campaigns, and never leaves records
//! out of a query that wants them.

use campaign_core::{Campaign, CampaignQuery, Sort, SortField};

use super::checks::{summarize, Suite};
use super::diff::ids;
use super::queries::describe;

impl Suite {
    /// For the default sort, a sort by name and no sort, at the crossing
    /// page size: walking `fetch_page` without records gives the campaigns
    /// of the walk with them, in order, each the same but for its record
    /// (kept or left out); and a walk begun without records and continued
    /// by the query that wants them (a cursor resumes either way) gives
    /// exactly what the walk with records gave from there: nothing a
    /// source keeps between pages without records reaches it.
    pub(super) async fn raw_hint(&mut self) -> Result<(), String> {
        let source = self.source().await;
        let mut failures = Vec::new();
        for sort in [
            Some(Sort::desc(SortField::CreatedAt)),
            Some(Sort::asc(SortField::Name)),
            None,
        ] {
            let mut builder = CampaignQuery::builder();
            builder = match sort {
                Some(sort) => builder.sort(sort),
                None => builder.unsorted(),
            };
            if let Some(size) = self.crossing_page_size() {
                builder = builder.page_size(size);
            }
            let kept = builder.build().map_err(|e| e.to_string())?;
            let left_out = kept
                .to_builder()
                .keep_raw(false)
                .build()
                .map_err(|e| e.to_string())?;
            let label = describe(&kept);
            let with = items(self.walk_raw(&source, &kept, None).await?);
            let without = items(self.walk_raw(&source, &left_out, None).await?);
            if ids(&with) != ids(&without) {
                failures.push(format!(
                    "{label}: without records, fetch_page listed other campaigns or another order"
                ));
                continue;
            }
            for (kept, left) in with.iter().zip(&without) {
                if kept != left && (left.raw.is_some() || &without_raw(kept) != left) {
                    failures.push(format!(
                        "{label}: campaign {} differs without records beyond its record",
                        kept.id
                    ));
                }
            }
            let first = self.fetch_one(&source, &left_out, None).await?;
            if let Some(next) = first.next {
                let rest = items(self.walk_raw(&source, &kept, Some(next)).await?);
                if with.get(first.items.len()..) != Some(&rest[..]) {
                    failures.push(format!(
                        "{label}: a walk begun without records and continued with them did \
                         not give what a walk with records gives (records left out?)"
                    ));
                }
            }
        }
        summarize(failures)
    }
}

fn items(pages: Vec<super::checks::RawPage>) -> Vec<Campaign> {
    pages.into_iter().flat_map(|page| page.items).collect()
}

fn without_raw(campaign: &Campaign) -> Campaign {
    let mut campaign = campaign.clone();
    campaign.raw = None;
    campaign
}
