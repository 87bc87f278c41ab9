//! Scripted servers that page in ways the sandbox does not: one that
//! always sends `nextUri` and ignores `divisionId` (the walk still ends at
//! `pageCount`, campaigns in other divisions are left out with a warning),
//! one that answers 404 past the last page, one that refuses `sortBy`.

mod common;

use campaign_core::{CampaignQuery, ErrorKind, Sort, SortField};
use common::fake::{self, campaign, error_body};
use common::page_number;

fn by_name() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap()
}

/// The page numbers a fake server was asked for, sorted.
fn pages_asked(targets: &fake::Targets) -> Vec<u64> {
    let mut pages: Vec<u64> = targets
        .lock()
        .unwrap()
        .iter()
        .filter_map(|t| page_number(fake::query(t)))
        .collect();
    pages.sort_unstable();
    pages
}

/// Page `n` of a listing that claims 3 pages but links to a next page always.
fn page(n: u64) -> String {
    let campaign = |i: u64, division: &str| {
        format!(
            r#"{{"id":"c-{n}-{i}","name":"Campaign {n} {i}","dateCreated":"2026-01-0{n}T00:00:00.000Z","division":{{"id":"{division}","name":"D"}}}}"#
        )
    };
    format!(
        r#"{{"entities":[{},{}],"pageSize":2,"pageNumber":{n},"total":6,"pageCount":3,"selfUri":"/api/v2/outbound/campaigns?pageNumber={n}","nextUri":"/api/v2/outbound/campaigns?pageNumber={}"}}"#,
        campaign(1, "d-wanted"),
        campaign(2, if n == 2 { "d-other" } else { "d-wanted" }),
        n + 1
    )
}

#[tokio::test]
async fn next_uri_forever_stops_at_page_count_and_divisions_are_checked() {
    let (url, targets) =
        fake::serve(|target| (200, page(page_number(fake::query(target)).unwrap_or(1)))).await;
    let source = fake::source(&url, |c| {
        c.division_ids = vec!["d-wanted".into()];
        c.page_size = 2;
    });
    let (campaigns, warnings, error) = common::walk(&source, &CampaignQuery::all()).await;
    assert!(error.is_none(), "{error:?}");
    let ids: Vec<&str> = campaigns.iter().map(|c| c.id.native.as_str()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.contains(&"c-2-2"));
    assert!(
        warnings.iter().any(|w| w
            .message
            .contains("\"c-2-2\" is not in a configured division")),
        "{warnings:?}"
    );
    assert_eq!(pages_asked(&targets), [1, 2, 3], "never past pageCount");
}

#[tokio::test]
async fn a_404_past_the_last_page_ends_the_listing_with_a_warning() {
    // Pages without counts or links: a full page 2 may have a page 3
    // after it, which this server answers with 404 instead of an empty 200.
    let (url, _) = fake::serve(|target| match page_number(fake::query(target)) {
        Some(n @ (1 | 2)) => {
            let (a, b) = (format!("c-{n}a"), format!("c-{n}b"));
            let body = format!(
                r#"{{"entities":[{},{}]}}"#,
                campaign(&a, &format!("Z {a}")),
                campaign(&b, &format!("A {b}"))
            );
            (200, body)
        }
        _ => error_body(404, "not.found", "The requested resource was not found."),
    })
    .await;
    let source = fake::source(&url, |c| c.page_size = 2);
    for query in [CampaignQuery::all(), by_name()] {
        let (campaigns, warnings, error) = common::walk(&source, &query).await;
        assert!(error.is_none(), "{query:?}: {error:?}");
        assert_eq!(campaigns.len(), 4, "{query:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = &warnings[0];
        assert!(
            warning.message.contains("404") && warning.message.contains("end of the listing"),
            "{warning}"
        );
        assert!(
            warning.request.as_deref().unwrap().contains("pageNumber 3"),
            "{warning}"
        );
    }
    // Page 1 answering 404 is an error, not an empty listing.
    let (url, _) = fake::serve(|_| error_body(404, "not.found", "No such thing.")).await;
    let error = common::all(&fake::source(&url, |_| {}), &CampaignQuery::all())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}

/// A listing of 5 campaigns in pages of 2 from a server that answers
/// `refusal` to any request carrying `sortBy`.
async fn refusing_sort(refusal: (u16, String)) -> (String, fake::Targets) {
    fake::serve(move |target| {
        let query = fake::query(target);
        if query.contains("sortBy") {
            return refusal.clone();
        }
        let n = page_number(query).unwrap_or(1);
        let ids: Vec<String> = ((n - 1) * 2..(n * 2).min(5))
            .map(|i| campaign(&format!("c-{i}"), &format!("Campaign {i}")))
            .collect();
        let next = if n < 3 {
            format!(r#","nextUri":"/api/v2/outbound/campaigns?pageNumber={}""#, n + 1)
        } else {
            String::new()
        };
        let body = format!(
            r#"{{"entities":[{}],"pageSize":2,"pageNumber":{n},"total":5,"pageCount":3,"selfUri":"/api/v2/outbound/campaigns?pageNumber={n}"{next}}}"#,
            ids.join(",")
        );
        (200, body)
    })
    .await
}

#[tokio::test]
async fn a_refused_sort_by_is_dropped_for_the_source_after_one_retry() {
    for refusal in [
        error_body(
            400,
            "invalid.value",
            "Value [name] is not valid for field type [SortBy]. Allowable values are: dateCreated",
        ),
        error_body(400, "bad.request", "The sortBy parameter is not supported."),
    ] {
        let (url, targets) = refusing_sort(refusal).await;
        let source = fake::source(&url, |c| c.page_size = 2);
        for (walk, query) in [CampaignQuery::all(), by_name()].into_iter().enumerate() {
            let (campaigns, warnings, error) = common::walk(&source, &query).await;
            assert!(error.is_none(), "{error:?}");
            assert_eq!(campaigns.len(), 5);
            if walk == 0 {
                assert_eq!(warnings.len(), 1, "{warnings:?}");
                assert!(warnings[0].message.contains("sortBy"), "{}", warnings[0]);
            } else {
                assert!(warnings.is_empty(), "said once: {warnings:?}");
            }
        }
        let sent = targets.lock().unwrap().clone();
        let with_sort = sent.iter().filter(|t| t.contains("sortBy")).count();
        assert_eq!(with_sort, 1, "asked once, then never again: {sent:?}");
    }
    // Any other 400 is the walk's failure, with no retry.
    let (url, targets) =
        refusing_sort(error_body(400, "bad.request", "The pageSize is wrong.")).await;
    let error = common::all(&fake::source(&url, |_| {}), &CampaignQuery::all())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadRequest, "{error}");
    assert_eq!(targets.lock().unwrap().len(), 1);
}
