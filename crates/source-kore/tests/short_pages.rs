//! Servers whose pages are shorter than the limit asked (they cap pages, or
//! filter after paging) and servers that refuse a request in a 200 body:
//! every campaign still comes back, and every request is self-consistent.

mod common;

use std::sync::atomic::Ordering;

use campaign_core::{Campaign, CampaignQuery, Channel, Sort, SortField};
use common::{ids, source_over, streamed, voice_records, walk, Fake};
use serde_json::Value;

fn query() -> CampaignQuery {
    CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(50)
        .build()
        .unwrap()
}

/// The ids of `n` voice records in the order of [`query`] (newest first).
fn newest_first(n: usize) -> Vec<String> {
    (0..n).rev().map(|i| format!("cd-v{i:04}")).collect()
}

/// Every listing request's `page` is empty or names the page `skip` starts.
fn pages_agree_with_skips(fake: &Fake) {
    for request in fake.requests() {
        let (skip, limit, page) = (request.skip, request.limit, &request.body["page"]);
        match page {
            Value::String(empty) => assert!(empty.is_empty(), "{}", request.body),
            Value::Number(n) => {
                let page = n.as_u64().unwrap();
                assert!(page >= 1, "{}", request.body);
                assert_eq!((page - 1) * limit, skip, "{}", request.body);
            }
            other => panic!("page {other} in {}", request.body),
        }
    }
}

/// A server capping pages at 20 while echoing the limit asked (50) loses
/// nothing after its first page, whether it reports `hasMore` or only
/// `totalResults`, by page tokens and by stream alike.
#[tokio::test]
async fn a_server_capping_pages_below_the_echoed_limit_lists_everything() {
    for omit_has_more in [false, true] {
        let fake = Fake::new(voice_records(100), Vec::new());
        fake.cap.store(20, Ordering::SeqCst);
        fake.omit_has_more.store(omit_has_more, Ordering::SeqCst);
        let source = source_over(&fake, 4, vec![Channel::Voice]).await;
        let query = query();
        let walked: Vec<Campaign> = walk(&source, &query, None)
            .await
            .into_iter()
            .flat_map(|(_, items)| items)
            .collect();
        assert_eq!(
            ids(&walked),
            newest_first(100),
            "hasMore left out: {omit_has_more}"
        );
        let streamed = streamed(&source, &query).await;
        assert_eq!(
            ids(&streamed),
            newest_first(100),
            "hasMore left out: {omit_has_more}"
        );
        pages_agree_with_skips(&fake);
        // Pages announced ahead are 20 apart, as the server pages: each
        // offset is read once per walk (two walks), none in vain.
        let mut skips: Vec<u64> = fake
            .requests()
            .iter()
            .filter(|r| r.limit == 50)
            .map(|r| r.skip)
            .collect();
        skips.sort_unstable();
        assert_eq!(skips, [0, 0, 20, 20, 40, 40, 60, 60, 80, 80]);
    }
}

/// A server that caps pages at 20 and says so (echoes `limit: 20`) is asked
/// for pages of 20 from then on, so `page` and `skip` name the same records
/// for a server that reads either.
#[tokio::test]
async fn a_server_echoing_a_capped_limit_is_asked_pages_of_that_size() {
    let fake = Fake::new(voice_records(100), Vec::new());
    fake.cap.store(20, Ordering::SeqCst);
    fake.echo_cap.store(true, Ordering::SeqCst);
    let source = source_over(&fake, 4, vec![Channel::Voice]).await;
    let streamed = streamed(&source, &query()).await;
    assert_eq!(ids(&streamed), newest_first(100));
    pages_agree_with_skips(&fake);
    let mut later: Vec<(u64, u64)> = fake
        .requests()
        .iter()
        .filter(|r| r.skip > 0)
        .map(|r| (r.skip, r.limit))
        .collect();
    later.sort_unstable();
    later.dedup();
    assert_eq!(later, [(20, 20), (40, 20), (60, 20), (80, 20)]);
}

/// The spec's `sortBy.name` rule refused in a 200 body (`"status": "error"`)
/// is met like a 400 refusal: asked again with `name`, and so from then on.
#[tokio::test]
async fn a_sort_refused_in_a_200_body_is_asked_again_with_name() {
    let fake = Fake::new(voice_records(30), Vec::new());
    fake.refuse_sort_without_name.store(true, Ordering::SeqCst);
    let source = source_over(&fake, 4, vec![Channel::Voice]).await;
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(10)
        .build()
        .unwrap();
    let streamed = streamed(&source, &query).await;
    assert_eq!(ids(&streamed), newest_first(30));
    let without_name = fake
        .requests()
        .iter()
        .filter(|r| r.body["sortBy"].get("name").is_none())
        .count();
    assert_eq!(without_name, 1, "one refusal taught the source");
}
