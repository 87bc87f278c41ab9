//! Property: for random sources and page sizes, all pages concatenated equal
//! the sorted union of the sources.

mod common;

use campaign_aggregate::Aggregator;
use campaign_core::{Campaign, CampaignQuery, Sort, SortField};
use campaign_testkit::InMemorySource;
use common::*;
use proptest::prelude::*;

fn source_data() -> impl Strategy<Value = (Vec<(u8, Option<u8>)>, u32)> {
    (
        prop::collection::vec((0u8..12, prop::option::weighted(0.8, 0u8..10)), 0..25),
        1u32..8,
    )
}

fn sort_strategy() -> impl Strategy<Value = Option<Sort>> {
    prop_oneof![
        Just(None),
        Just(Some(Sort::asc(SortField::Name))),
        Just(Some(Sort::desc(SortField::Name))),
        Just(Some(Sort::asc(SortField::CreatedAt))),
        Just(Some(Sort::desc(SortField::CreatedAt))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn pages_concatenated_equal_the_sorted_union(
        data in prop::collection::vec(source_data(), 1..5),
        sort in sort_strategy(),
        page_size in 1u32..20,
    ) {
        let sources: Vec<InMemorySource> = data
            .iter()
            .enumerate()
            .map(|(s, (rows, cap))| {
                let id = format!("s{s}");
                let campaigns: Vec<Campaign> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, (name, day))| campaign(&id, &i.to_string(), &format!("n{name:02}"), day.map(i64::from)))
                    .collect();
                capped(&id, campaigns, *cap)
            })
            .collect();
        let all = Aggregator::builder("all").sources(sources.iter().map(dyn_source)).build().unwrap();
        let mut query = CampaignQuery::builder().page_size(page_size);
        if let Some(sort) = sort {
            query = query.sort(sort);
        }
        let query = query.build().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (items, pages) = runtime.block_on(walk(&all, &query));
        let refs: Vec<&InMemorySource> = sources.iter().collect();
        let mut want = expected(&refs, &query);
        let mut got = ids(&items);
        if sort.is_none() {
            // Arrival order: compare as sets (ids are unique).
            want.sort();
            got.sort();
        }
        prop_assert_eq!(got, want);
        let total = items.len();
        prop_assert_eq!(pages.len(), total.div_ceil(page_size as usize).max(1));
    }
}
