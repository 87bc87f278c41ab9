//! Paging the merged listing: order, completeness, cursors, resume cost.

mod common;

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use campaign_aggregate::{Aggregator, Cursor};
use campaign_core::{
    CampaignQuery, CampaignSource, ErrorKind, PageToken, Sort, SortField, SourceError, Status,
};
use campaign_testkit::InMemorySource;
use common::*;

fn three_sources() -> Vec<InMemorySource> {
    vec![
        capped("east", generated("east", 23, 0), 1),
        capped("west", generated("west", 31, 1), 4),
        capped("south", generated("south", 17, 2), 9),
    ]
}

fn aggregate(id: &str, sources: &[InMemorySource]) -> Aggregator {
    Aggregator::builder(id)
        .sources(sources.iter().map(dyn_source))
        .build()
        .unwrap()
}

fn sorted(sort: Sort, page_size: u32) -> CampaignQuery {
    CampaignQuery::builder()
        .sort(sort)
        .page_size(page_size)
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_page_size_gives_the_global_order_exactly_once() {
    let sources = three_sources();
    let refs: Vec<&InMemorySource> = sources.iter().collect();
    let all = aggregate("all", &sources);
    let total = 23 + 31 + 17;
    for sort in [
        Sort::asc(SortField::Name),
        Sort::desc(SortField::Name),
        Sort::asc(SortField::CreatedAt),
        Sort::desc(SortField::CreatedAt),
    ] {
        let reference = expected(&refs, &sorted(sort, 1));
        assert_eq!(reference.len(), total);
        for size in [1, 3, 7, 50, total as u32, total as u32 + 13] {
            let query = sorted(sort, size);
            let (items, pages) = walk(&all, &query).await;
            assert_eq!(ids(&items), reference, "sort {sort}, page size {size}");
            assert_eq!(
                pages.len(),
                total.div_ceil(size as usize).max(1),
                "{sort} {size}"
            );
            for page in &pages {
                assert!(page.items.len() <= size as usize);
                assert!(page.failures.is_empty());
                let counted: usize = page.per_source.iter().map(|c| c.items).sum();
                assert_eq!(counted, page.items.len());
            }
            let last = pages.last().unwrap();
            assert!(last.next.is_none() && last.per_source.iter().all(|c| c.done));
        }
    }
}

#[tokio::test]
async fn unsorted_pages_return_every_campaign_once() {
    let sources = three_sources();
    let all = aggregate("all", &sources);
    for size in [1, 3, 7, 50] {
        let query = CampaignQuery::builder().page_size(size).build().unwrap();
        let (items, _) = walk(&all, &query).await;
        assert_unique(&items);
        let got: HashSet<_> = ids(&items).into_iter().collect();
        let want: HashSet<_> = expected(&sources.iter().collect::<Vec<_>>(), &query)
            .into_iter()
            .collect();
        assert_eq!(got, want, "page size {size}");
    }
}

#[tokio::test]
async fn filters_apply_whether_or_not_a_source_pushes_them_down() {
    let mut tagged = generated("a", 30, 4);
    for (i, c) in tagged.iter_mut().enumerate() {
        c.status = Some(if i % 3 == 0 {
            Status::Ready
        } else {
            Status::Paused
        });
    }
    let pushes = InMemorySource::new("a", tagged.clone()).with_page_size(4);
    let local = InMemorySource::new("b", tagged)
        .with_capabilities(campaign_core::Capabilities::local_only())
        .with_page_size(5);
    let all = aggregate("all", &[pushes.clone(), local.clone()]);
    let query = CampaignQuery::builder()
        .status(Status::Ready)
        .sort(Sort::asc(SortField::Name))
        .page_size(3)
        .build()
        .unwrap();
    let (items, _) = walk(&all, &query).await;
    assert_eq!(ids(&items), expected(&[&pushes, &local], &query));
    assert_eq!(items.len(), 20);
}

#[tokio::test]
async fn changing_the_page_size_mid_walk_neither_skips_nor_repeats() {
    let sources = three_sources();
    let all = aggregate("all", &sources);
    let sort = Sort::asc(SortField::CreatedAt);
    let mut items = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for size in [2, 9, 1, 5, 30, 4, 100] {
        let page = all
            .page(&sorted(sort, size), cursor.as_ref())
            .await
            .unwrap();
        items.extend(page.items);
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none());
    assert_eq!(
        ids(&items),
        expected(&sources.iter().collect::<Vec<_>>(), &sorted(sort, 1))
    );
}

#[tokio::test]
async fn a_cursor_resumes_on_a_recreated_aggregator() {
    let sources = three_sources();
    let query = sorted(Sort::desc(SortField::Name), 6);
    let first = aggregate("all", &sources);
    let p1 = first.page(&query, None).await.unwrap();
    let p2 = first.page(&query, p1.next.as_ref()).await.unwrap();
    let text = p2.next.unwrap().to_string();
    drop(first);

    // Fresh source objects over the same data, as after a restart.
    let again: Vec<InMemorySource> = sources
        .iter()
        .zip([1, 4, 9])
        .map(|(s, cap)| capped(s.id(), s.campaigns().to_vec(), cap))
        .collect();
    let second = aggregate("all", &again);
    let mut items = [p1.items, p2.items].concat();
    let mut cursor = Some(Cursor::parse(&text).unwrap());
    while let Some(at) = cursor {
        let page = second.page(&query, Some(&at)).await.unwrap();
        items.extend(page.items);
        cursor = page.next;
    }
    assert_eq!(
        ids(&items),
        expected(&sources.iter().collect::<Vec<_>>(), &query)
    );
}

#[tokio::test]
async fn a_deep_page_costs_about_what_the_first_does() {
    let sources: Vec<InMemorySource> = (0..3)
        .map(|s| capped(&format!("s{s}"), generated(&format!("s{s}"), 400, s), 10))
        .collect();
    let all = aggregate("all", &sources);
    let requests = || sources.iter().map(InMemorySource::requests).sum::<usize>();
    let query = sorted(Sort::asc(SortField::Name), 10);

    let before = requests();
    let mut page = all.page(&query, None).await.unwrap();
    let first_cost = requests() - before;
    assert!(first_cost >= 3, "each source is asked once at least");
    for _ in 0..80 {
        page = all.page(&query, page.next.as_ref()).await.unwrap();
    }
    let before = requests();
    let deep = all.page(&query, page.next.as_ref()).await.unwrap();
    let deep_cost = requests() - before;
    assert_eq!(deep.items.len(), 10);
    assert!(
        deep_cost <= first_cost + sources.len(),
        "page 82 took {deep_cost} requests, page 1 took {first_cost}"
    );
}

fn invalid<T>(result: Result<T, SourceError>) -> SourceError {
    match result {
        Ok(_) => panic!("an invalid cursor was accepted"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidCursor, "{e}");
            e
        }
    }
}

#[tokio::test]
async fn foreign_tampered_and_garbage_cursors_are_invalid() {
    let sources = three_sources();
    let all = aggregate("all", &sources);
    let by_name = sorted(Sort::asc(SortField::Name), 5);
    let cursor = all.page(&by_name, None).await.unwrap().next.unwrap();

    // Another query (a filter or the sort changed); page size alone may change.
    let by_date = sorted(Sort::asc(SortField::CreatedAt), 5);
    let e = invalid(all.page(&by_date, Some(&cursor)).await);
    assert!(e.message().contains("different query"), "{e}");
    let filtered = by_name.to_builder().status(Status::Ready).build().unwrap();
    invalid(all.page(&filtered, Some(&cursor)).await);
    assert!(all
        .page(&sorted(Sort::asc(SortField::Name), 8), Some(&cursor))
        .await
        .is_ok());

    // Another aggregate, or this one with other sources.
    invalid(
        aggregate("other", &sources)
            .page(&by_name, Some(&cursor))
            .await,
    );
    invalid(
        aggregate("all", &sources[..2])
            .page(&by_name, Some(&cursor))
            .await,
    );

    // Tampered: every single-character edit is caught.
    let text = cursor.to_string();
    for at in 0..text.len() {
        let mut bytes = text.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(bytes).unwrap();
        invalid(
            all.page(&by_name, Some(&Cursor::parse(&edited).unwrap()))
                .await,
        );
    }
    // Tampered content with a recomputed base64 but stale checksum.
    let mut raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
    let json_end = raw.len() - 8;
    let json = String::from_utf8(raw[..json_end].to_vec()).unwrap();
    let edited = json.replacen("\"off\":", "\"off\":9", 1);
    let edited = if edited == json {
        json.replacen("\"s\":[", "\"s\":[ ", 1)
    } else {
        edited
    };
    raw.splice(..json_end, edited.into_bytes());
    let forged = Cursor::parse(&URL_SAFE_NO_PAD.encode(&raw)).unwrap();
    let e = invalid(all.page(&by_name, Some(&forged)).await);
    assert!(e.message().contains("checksum"), "{e}");

    // Garbage: rejected when parsed or when read, never a panic.
    for garbage in ["", "   ", "not a cursor", "a/b+c==", "%%%"] {
        invalid(Cursor::parse(garbage).map(|_| ()));
    }
    for garbage in [
        "x",
        "abc",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "eyJ2IjoxfQ",
        &text[..text.len() / 2],
    ] {
        let parsed: Cursor = garbage.parse().unwrap();
        invalid(all.page(&by_name, Some(&parsed)).await);
    }

    // Through the CampaignSource interface the token is the cursor.
    let e = all
        .fetch_page(&by_name, Some(PageToken::new("garbage")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCursor);
    assert_eq!(e.source_id(), "all");
}
