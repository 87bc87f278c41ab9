//! Telling a server that sorts from one that only looks as if it did.

use std::future::Future;

use crate::error::{Result, SourceError};
use crate::model::Campaign;
use crate::query::{CampaignQuery, Sort, SortDirection};
use crate::warning::Warning;

/// Whether the server ignores the sort it was asked for, by asking once for
/// the first campaign the other way round (`read_first` sends `query` with
/// the sort reversed and a page size of 1, and answers that page's first
/// campaign): a server that sorts starts the reversed listing with one that
/// sorts at or after `first_page`'s first; one that ignores the sort answers
/// in its own order both times, so with the same campaign.
///
/// A first page can look sorted by chance (small pages, many equal keys);
/// this one request per walk catches that before anything is listed.
/// `Some(reason)` when the server ignores the sort, or when the check
/// itself failed (the order is then not trusted); `None` when it sorts, or
/// when there is nothing to tell (no sort, an empty page, an empty answer),
/// and without a request when the query says the caller verified the sort
/// ([`CampaignQuery::sort_verified`]).
pub async fn sort_ignored<F, Fut>(
    source_id: &str,
    query: &CampaignQuery,
    first_page: &[Campaign],
    read_first: F,
) -> Result<Option<String>>
where
    F: FnOnce(CampaignQuery) -> Fut,
    Fut: Future<Output = Result<Option<Campaign>>>,
{
    let (Some(first), Some(sort)) = (first_page.first(), query.sort()) else {
        return Ok(None);
    };
    if query.sort_verified() {
        return Ok(None);
    }
    let reversed = match sort.direction {
        SortDirection::Asc => Sort::desc(sort.field),
        SortDirection::Desc => Sort::asc(sort.field),
    };
    let probe = query
        .to_builder()
        .sort(reversed)
        .page_size(1)
        .build()
        .map_err(|e| SourceError::config(source_id, e.to_string()))?;
    let last = match read_first(probe).await {
        Ok(Some(last)) => last,
        Ok(None) => return Ok(None),
        // A check that could not be made proves nothing: the order is not
        // trusted, and the caller lists from a local sort (whole either way).
        Err(error) => {
            return Ok(Some(format!(
                "asked for {reversed} with a page of 1 to check its sort, it failed ({error})"
            )))
        }
    };
    if query.compare_key(&last, first).is_lt() {
        return Ok(Some(format!(
            "asked for {reversed}, it starts with a campaign that sorts before the first one it \
             gave for {sort}"
        )));
    }
    let varied = first_page
        .iter()
        .any(|c| query.compare_key(c, first).is_ne());
    Ok((last.id == first.id && varied)
        .then(|| format!("asked for {reversed}, it starts with the same campaign as for {sort}")))
}

/// The warning of a walk that found the server's order broken for `reason`
/// and lists `rest` (e.g. "the rest of the channel") from a local sort;
/// marked [`sorted_locally`](Warning::sorted_locally).
pub fn order_broken_warning(query: &CampaignQuery, reason: &str, rest: &str) -> Warning {
    let sort = query.sort().map(|s| s.to_string()).unwrap_or_default();
    Warning::new(format!(
        "the server did not sort by {sort}: {reason}; reading {rest} whole and sorting it locally"
    ))
    .sorted_locally()
}

/// A warning when some campaigns of a local listing (sorted, the listed
/// ones left out) sort before `last_listed`, the last campaign the
/// server-ordered part of the walk listed: the server's order hid them, so
/// they are listed after campaigns they precede. Campaigns that sort after
/// it, even with a key of a run held back, are in order and not counted.
pub fn late_warning(
    query: &CampaignQuery,
    last_listed: Option<&Campaign>,
    listing: &[Campaign],
) -> Option<Warning> {
    let key = last_listed?;
    let late = listing
        .iter()
        .take_while(|c| query.compare(c, key).is_lt())
        .count();
    (late > 0).then(|| {
        Warning::new(format!(
            "{late} campaign(s) sort before campaigns already listed: the server's order hid \
             them until now, so they are listed late, first in the local listing"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::testing::{by_name, named};
    use crate::query::SortField;

    async fn probe(first_page: &[Campaign], answer: Option<Campaign>) -> Option<String> {
        sort_ignored("s", &by_name(), first_page, |probe| async move {
            assert_eq!(probe.sort(), Some(Sort::desc(SortField::Name)));
            assert_eq!(probe.page_size(), Some(1));
            Ok(answer)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_reversed_probe_tells_an_ignored_sort() {
        let page = [named("1", "a"), named("2", "b")];
        // A server that sorts starts the other way round at the end.
        assert_eq!(probe(&page, Some(named("9", "z"))).await, None);
        assert_eq!(probe(&page, None).await, None);
        // The same campaign both ways: the server kept its own order.
        let same = probe(&page, Some(named("1", "a"))).await.unwrap();
        assert!(same.contains("same campaign"), "{same}");
        // One that sorts before the first: no sort at all.
        let page = [named("2", "b"), named("3", "c")];
        let before = probe(&page, Some(named("1", "a"))).await.unwrap();
        assert!(before.contains("sorts before"), "{before}");
        // Equal keys throughout prove nothing.
        let ties = [named("1", "a"), named("2", "a")];
        assert_eq!(probe(&ties, Some(named("1", "a"))).await, None);
    }

    #[tokio::test]
    async fn a_check_that_fails_leaves_the_order_untrusted() {
        let page = [named("1", "a"), named("2", "b")];
        let failed = sort_ignored("s", &by_name(), &page, |_| async {
            Err(SourceError::new(
                crate::ErrorKind::BadRequest,
                "s",
                "limit must be at least 10",
            ))
        })
        .await
        .unwrap()
        .unwrap();
        assert!(
            failed.contains("failed") && failed.contains("limit must be at least 10"),
            "{failed}"
        );
    }

    #[test]
    fn only_campaigns_before_the_last_listed_one_are_late() {
        let query = by_name();
        let listing = [
            named("1", "a"),
            named("2", "b"),
            named("5", "c"),
            named("6", "d"),
        ];
        // The walk listed up to ("4", "c"): a and b are late, ("5", "c") sorts after it.
        let late = late_warning(&query, Some(&named("4", "c")), &listing).unwrap();
        assert!(
            late.message.starts_with("2 campaign(s)"),
            "{}",
            late.message
        );
        let late = late_warning(&query, Some(&named("7", "c")), &listing).unwrap();
        assert!(
            late.message.starts_with("3 campaign(s)"),
            "{}",
            late.message
        );
        assert!(late_warning(&query, Some(&named("0", "a")), &listing).is_none());
        assert!(late_warning(&query, None, &listing).is_none());
        let broken = order_broken_warning(&query, "why", "the listing");
        assert!(broken.sorted_locally);
        assert_eq!(
            broken.message,
            "the server did not sort by name:asc: why; reading the listing whole and sorting it \
             locally"
        );
    }
}
