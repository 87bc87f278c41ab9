//! Paging, prefetch, merge, resume and misbehaving servers, against a small
//! in-test Kore endpoint.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use campaign_core::{
    Campaign, CampaignQuery, CampaignSource, Channel, ErrorKind, Sort, SortField, StaticToken,
};
use common::{ids, sms_records, source_over, voice_records, walk, Fake};
use futures::{StreamExt, TryStreamExt};
use source_kore::{KoreConfig, KoreSource, RateLimit};

fn expected(all: Vec<Campaign>, query: &CampaignQuery) -> Vec<String> {
    let mut all = all;
    all.sort_by(|a, b| query.compare(a, b));
    ids(&all)
}

#[tokio::test]
async fn two_hundred_thirty_seven_campaigns_once_in_order_with_pages_in_flight_together() {
    let fake = Fake::new(voice_records(237), Vec::new());
    // Page 2 is answered only once page 3 was asked for: only a concurrent walk passes.
    *fake.hold.lock().unwrap() = Some((50, 100));
    let source = source_over(&fake, 4, vec![Channel::Voice]).await;
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(50)
        .build()
        .unwrap();
    let got: Vec<Campaign> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 237);
    let all: Vec<Campaign> = got.clone();
    assert_eq!(ids(&got), expected(all, &query));
    let requests = fake.requests();
    let mut skips: Vec<u64> = requests
        .iter()
        .filter(|r| r.limit == 50)
        .map(|r| r.skip)
        .collect();
    skips.sort_unstable();
    assert_eq!(skips, [0, 50, 100, 150, 200], "each page exactly once");
    // And one request for the first campaign the other way round, which
    // tells a server that sorts from one that ignores `sortBy`.
    let probes: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| r.limit == 1)
        .map(|r| &r.body["sortBy"])
        .collect();
    assert_eq!(probes, [&serde_json::json!({"createdAt": "asc"})]);
}

#[tokio::test]
async fn voice_and_sms_merge_in_query_order_and_tokens_resume_exactly() {
    let fake = Fake::new(voice_records(23), sms_records(17));
    let source = source_over(&fake, 3, vec![Channel::Voice, Channel::Sms]).await;
    for sort in [Sort::desc(SortField::CreatedAt), Sort::asc(SortField::Name)] {
        let query = CampaignQuery::builder()
            .sort(sort)
            .page_size(4)
            .build()
            .unwrap();
        let streamed: Vec<Campaign> = Arc::clone(&source)
            .stream(&query)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(streamed.len(), 40);
        assert_eq!(ids(&streamed), expected(streamed.clone(), &query), "{sort}");
        assert!(streamed.iter().any(|c| c.channel == Channel::Sms));

        let pages = walk(&source, &query, None).await;
        let walked: Vec<String> = pages.iter().flat_map(|(_, items)| ids(items)).collect();
        assert_eq!(walked, ids(&streamed), "fetch_page walk equals the stream");
        for (index, (token, _)) in pages.iter().enumerate().skip(1) {
            let resumed = walk(&source, &query, token.clone()).await;
            let got: Vec<String> = resumed.iter().flat_map(|(_, items)| ids(items)).collect();
            let want: Vec<String> = pages[index..]
                .iter()
                .flat_map(|(_, items)| ids(items))
                .collect();
            assert_eq!(got, want, "resume from page {index}");
        }
    }
}

#[tokio::test]
async fn single_channel_tokens_resume_and_announce_following_pages() {
    let fake = Fake::new(voice_records(30), Vec::new());
    let source = source_over(&fake, 2, vec![Channel::Voice]).await;
    let query = CampaignQuery::builder().page_size(7).build().unwrap();
    let first = source.fetch_page(&query, None).await.unwrap();
    assert_eq!(first.total_hint, Some(30));
    assert_eq!(
        first.following.len(),
        3,
        "pages at 14, 21, 28 after next at 7"
    );
    let pages = walk(&source, &query, None).await;
    assert_eq!(pages.len(), 5);
    let walked: Vec<String> = pages.iter().flat_map(|(_, items)| ids(items)).collect();
    for (index, (token, _)) in pages.iter().enumerate().skip(1) {
        let resumed = walk(&source, &query, token.clone()).await;
        let got: Vec<String> = resumed.iter().flat_map(|(_, items)| ids(items)).collect();
        assert_eq!(got, walked[index * 7..], "resume from page {index}");
    }
    // A following token is a valid resume point as well.
    let resumed = walk(&source, &query, Some(first.following[0].clone())).await;
    let got: Vec<String> = resumed.iter().flat_map(|(_, items)| ids(items)).collect();
    assert_eq!(got, walked[14..]);
}

#[tokio::test]
async fn dialing_mode_queries_never_ask_for_sms() {
    let fake = Fake::new(voice_records(10), sms_records(10));
    let source = source_over(&fake, 2, vec![Channel::Voice, Channel::Sms]).await;
    let query = CampaignQuery::builder()
        .dialing_mode(campaign_core::DialingMode::Preview)
        .name_contains("voice")
        .build()
        .unwrap();
    let got: Vec<Campaign> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    // The fake ignores filters; the source re-checks the pushed one and the
    // walker applies the name locally: only the even (Preview) voice ids.
    assert_eq!(
        ids(&got),
        ["cd-v0000", "cd-v0002", "cd-v0004", "cd-v0006", "cd-v0008"]
    );
    let requests = fake.requests();
    assert!(requests.iter().all(|r| r.kind == "voice"));
    assert_eq!(
        requests[0].body["filters"]["dialingMode"],
        serde_json::json!(["Preview"])
    );
}

#[tokio::test]
async fn a_server_ignoring_skip_is_a_protocol_error() {
    for prefetch in [1, 4] {
        let fake = Fake::new(voice_records(120), Vec::new());
        fake.ignore_skip.store(true, Ordering::SeqCst);
        let source = source_over(&fake, prefetch, vec![Channel::Voice]).await;
        let query = CampaignQuery::builder().page_size(50).build().unwrap();
        let results: Vec<_> = Arc::clone(&source).stream(&query).collect().await;
        let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 1, "one error ends the stream");
        assert_eq!(errors[0].kind(), ErrorKind::Protocol, "{}", errors[0]);
        assert!(errors[0].to_string().contains("ignored skip"));
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            50,
            "no duplicates"
        );
        assert!(fake.requests().len() <= 5, "no loop");
    }
}

#[tokio::test]
async fn wrong_total_results_never_drops_or_repeats() {
    for delta in [-60, -1, 1, 75] {
        let fake = Fake::new(voice_records(101), sms_records(9));
        fake.total_delta.store(delta, Ordering::SeqCst);
        let source = source_over(&fake, 4, vec![Channel::Voice, Channel::Sms]).await;
        let query = CampaignQuery::builder().page_size(10).build().unwrap();
        let got: Vec<Campaign> = Arc::clone(&source)
            .stream(&query)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 110, "delta {delta}");
        let mut unique = ids(&got);
        unique.dedup();
        assert_eq!(unique.len(), 110);
    }
}

#[tokio::test]
async fn the_limiter_is_shared_by_prefetches_and_a_429_is_retried() {
    let fake = Fake::new(voice_records(100), Vec::new());
    let base = fake.start().await;
    let mut c = KoreConfig::new("kore-main", base, "st-1", "acc-1");
    c.channels = vec![Channel::Voice];
    c.prefetch = 4;
    c.rate_limit = Some(RateLimit {
        per_minute: 1,
        burst: 2,
    });
    let source = Arc::new(KoreSource::new(c, Arc::new(StaticToken::new("t"))).unwrap());
    let query = CampaignQuery::builder().page_size(10).build().unwrap();
    // Ten pages need ten requests; the quota lets two through, then one a minute.
    let walk = Arc::clone(&source).stream(&query).try_collect::<Vec<_>>();
    assert!(tokio::time::timeout(Duration::from_secs(2), walk)
        .await
        .is_err());
    assert_eq!(
        fake.requests().len(),
        2,
        "prefetches wait for the same quota"
    );

    let fake = Fake::new(voice_records(5), Vec::new());
    fake.rate_limited.store(1, Ordering::SeqCst);
    let base = fake.start().await;
    let mut c = KoreConfig::new("kore-main", base, "st-1", "acc-1");
    c.channels = vec![Channel::Voice];
    let source = Arc::new(KoreSource::new(c, Arc::new(StaticToken::new("t"))).unwrap());
    let got: Vec<Campaign> = Arc::clone(&source)
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(fake.requests().len(), 2, "429 (Retry-After 1) then success");
}

#[tokio::test]
async fn two_channels_are_offered_as_one_partition_each_that_prefetches() {
    let fake = Fake::new(voice_records(23), sms_records(17));
    let source = source_over(&fake, 3, vec![Channel::Voice, Channel::Sms]).await;
    let query = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(4)
        .build()
        .unwrap();
    let parts = source.partitions(&query);
    assert_eq!(parts.len(), 2);
    let mut union = Vec::new();
    for (part, channel) in parts.iter().zip([Channel::Voice, Channel::Sms]) {
        assert_eq!(part.id(), "kore-main");
        assert_eq!(part.walk_options().prefetch, 3);
        let first = part.fetch_page(&query, None).await.unwrap();
        assert!(
            !first.following.is_empty(),
            "a channel's first page announces the pages after it"
        );
        let items: Vec<Campaign> = Arc::clone(part).stream(&query).try_collect().await.unwrap();
        assert!(items.iter().all(|c| c.channel == channel), "{channel}");
        assert_eq!(ids(&items), expected(items.clone(), &query), "{channel}");
        union.extend(items);
    }
    assert_eq!(union.len(), 40);
    let streamed: Vec<Campaign> = Arc::clone(&source)
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&streamed), expected(union, &query));

    // One channel, or a query reaching only one, pages that way already.
    let voice = CampaignQuery::builder()
        .channel(Channel::Voice)
        .build()
        .unwrap();
    assert!(source.partitions(&voice).is_empty());
    let single = source_over(&fake, 3, vec![Channel::Sms]).await;
    assert!(single.partitions(&query).is_empty());
}
