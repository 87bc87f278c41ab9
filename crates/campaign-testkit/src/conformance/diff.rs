//! Readable differences between id lists, for failure messages.

use std::collections::{BTreeMap, BTreeSet};

use campaign_core::{Campaign, CampaignId, CampaignQuery, PageToken, SortField};

use super::checks::RawPage;

/// The ids of `campaigns`, in order.
pub(crate) fn ids(campaigns: &[Campaign]) -> Vec<CampaignId> {
    campaigns.iter().map(|c| c.id.clone()).collect()
}

/// `[a:1, a:2]`.
pub(crate) fn show(ids: &[CampaignId]) -> String {
    let parts: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// Ids occurring more than once in `ids`, with their counts.
pub(crate) fn repeated(ids: &[CampaignId]) -> Vec<(CampaignId, usize)> {
    let mut counts: BTreeMap<&CampaignId, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| (id.clone(), n))
        .collect()
}

/// None when `actual` equals `expected`; otherwise what is missing,
/// unexpected, repeated and where the order first differs, then both lists.
pub(crate) fn compare(expected: &[CampaignId], actual: &[CampaignId]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let want: BTreeSet<&CampaignId> = expected.iter().collect();
    let got: BTreeSet<&CampaignId> = actual.iter().collect();
    let missing: Vec<CampaignId> = expected
        .iter()
        .filter(|id| !got.contains(id))
        .cloned()
        .collect();
    let unexpected: Vec<CampaignId> = actual
        .iter()
        .filter(|id| !want.contains(id))
        .cloned()
        .collect();
    let mut lines = Vec::new();
    if !missing.is_empty() {
        lines.push(format!("missing: {}", show(&missing)));
    }
    if !unexpected.is_empty() {
        lines.push(format!("unexpected: {}", show(&unexpected)));
    }
    let repeats = repeated(actual);
    if !repeats.is_empty() {
        let parts: Vec<String> = repeats.iter().map(|(id, n)| format!("{id} x{n}")).collect();
        lines.push(format!("repeated: [{}]", parts.join(", ")));
    }
    if missing.is_empty() && unexpected.is_empty() && repeats.is_empty() {
        if let Some(at) = expected.iter().zip(actual).position(|(e, a)| e != a) {
            lines.push(format!(
                "order differs at position {at}: expected {}, got {}",
                expected[at], actual[at]
            ));
        }
    }
    lines.push(format!("expected ({}): {}", expected.len(), show(expected)));
    lines.push(format!("actual   ({}): {}", actual.len(), show(actual)));
    Some(lines.join("\n  "))
}

/// What `query` must give over `all`: matching campaigns in query order.
pub(crate) fn expected_for(query: &CampaignQuery, all: &[Campaign]) -> Vec<CampaignId> {
    let mut matching: Vec<&Campaign> = all.iter().filter(|c| query.matches(c)).collect();
    matching.sort_by(|a, b| query.compare(a, b));
    matching.into_iter().map(|c| c.id.clone()).collect()
}

/// None when `got` is what `query` gives over `all`; otherwise the
/// difference. Without a sort only the set (and repeats) count, since an
/// unsorted query promises no order; with one, the first adjacent pair in
/// the wrong order is named with its sort keys.
pub(crate) fn check_query(
    query: &CampaignQuery,
    all: &[Campaign],
    got: &[Campaign],
) -> Option<String> {
    let mut expected = expected_for(query, all);
    let mut actual = ids(got);
    let Some(sort) = query.sort() else {
        expected.sort();
        actual.sort();
        return compare(&expected, &actual)
            .map(|diff| format!("{diff}\n  (ids sorted: the query has no sort)"));
    };
    let diff = compare(&expected, &actual)?;
    let got: Vec<&Campaign> = got.iter().collect();
    Some(match first_out_of_order(query, &got) {
        Some(pair) => format!("{diff}\n  first out-of-order pair for sort={sort}: {pair}"),
        None => diff,
    })
}

/// The first adjacent pair of `got` out of `query`'s order, described.
pub(crate) fn first_out_of_order(query: &CampaignQuery, got: &[&Campaign]) -> Option<String> {
    let sort = query.sort()?;
    let w = got.windows(2).find(|w| query.compare(w[0], w[1]).is_gt())?;
    Some(format!(
        "{} ({}) came before {} ({})",
        w[0].id,
        sort_key(sort.field, w[0]),
        w[1].id,
        sort_key(sort.field, w[1]),
    ))
}

/// The campaign's value of `field`, for messages.
pub(crate) fn sort_key(field: SortField, c: &Campaign) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "none".to_owned(), |t| t.to_rfc3339())
    };
    match field {
        SortField::Name => format!("name {:?}", c.name),
        SortField::CreatedAt => format!("created_at {}", time(c.created_at)),
        SortField::UpdatedAt => format!("updated_at {}", time(c.updated_at)),
    }
}

/// A secret shown only by its first characters and length, so a failure
/// message does not spread the credential it warns about.
pub(crate) fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(3).collect();
    format!("{head}… ({} chars)", secret.chars().count())
}

/// Up to 40 characters either side of the first `secret` in `text`, with
/// every occurrence masked, so a failure shows where the leak is.
pub(crate) fn leak_context(text: &str, secret: &str) -> String {
    let Some(at) = text.find(secret) else {
        return String::new();
    };
    let before: String = text[..at]
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[at + secret.len()..].chars().take(40).collect();
    let masked = format!("<{}>", mask(secret));
    format!("…{}{masked}{}…", before, after.replace(secret, &masked))
}

pub(crate) fn token_text(token: &Option<PageToken>) -> String {
    token
        .as_ref()
        .map_or_else(|| "none".to_owned(), |t| format!("{:?}", t.as_str()))
}

/// Pages listed in failure messages before the rest are only counted.
const SHOWN_PAGES: usize = 10;

pub(crate) fn show_page(index: usize, page: &RawPage) -> String {
    format!(
        "page {index} (token {}): {}",
        token_text(&page.token),
        show(&ids(&page.items))
    )
}

pub(crate) fn show_pages(pages: &[RawPage]) -> String {
    let mut lines: Vec<String> = pages
        .iter()
        .take(SHOWN_PAGES)
        .enumerate()
        .map(|(i, p)| show_page(i, p))
        .collect();
    if pages.len() > SHOWN_PAGES {
        let more = pages.len() - SHOWN_PAGES;
        let noun = if more == 1 { "page" } else { "pages" };
        lines.push(format!("... and {more} more {noun}"));
    }
    lines.join("\n  ")
}

#[cfg(test)]
mod tests {
    use campaign_core::{Channel, Sort};

    use super::*;

    fn campaign(native: &str, name: &str) -> Campaign {
        Campaign::new(CampaignId::new("s", native), "p", name, Channel::Voice)
    }

    #[test]
    fn compare_names_missing_unexpected_repeated_and_order() {
        let id = |n: &str| CampaignId::new("s", n);
        let diff = compare(&[id("1"), id("2")], &[id("1"), id("3"), id("3")]).unwrap();
        assert!(diff.starts_with("missing: [s:2]\n  unexpected: [s:3, s:3]\n  repeated: [s:3 x2]"));
        let diff = compare(&[id("1"), id("2")], &[id("2"), id("1")]).unwrap();
        assert!(diff.starts_with("order differs at position 0: expected s:1, got s:2"));
        assert_eq!(compare(&[id("1")], &[id("1")]), None);
    }

    #[test]
    fn check_query_ignores_order_only_without_a_sort() {
        let all = vec![campaign("1", "b"), campaign("2", "a")];
        let reversed = vec![all[1].clone(), all[0].clone()];
        assert_eq!(check_query(&CampaignQuery::all(), &all, &reversed), None);
        let by_name = CampaignQuery::builder()
            .sort(Sort::desc(SortField::Name))
            .build()
            .unwrap();
        assert_eq!(check_query(&by_name, &all, &all), None);
        let diff = check_query(&by_name, &all, &reversed).unwrap();
        assert!(
            diff.contains("first out-of-order pair for sort=name:desc: s:2 (name \"a\") came before s:1 (name \"b\")"),
            "{diff}"
        );
    }

    #[test]
    fn leak_context_masks_every_occurrence() {
        let text = "Source { token: \"hunter22\", again: hunter22 }";
        let shown = leak_context(text, "hunter22");
        assert!(!shown.contains("hunter22"), "{shown}");
        assert_eq!(
            shown,
            "…Source { token: \"<hun… (8 chars)>\", again: <hun… (8 chars)> }…"
        );
    }
}
