//! Listing and paging against the sandbox's Genesys emulator: every
//! campaign once, pages fetched ahead, divisions, out-of-range paging and
//! servers whose paging misbehaves.

mod common;

use std::collections::HashSet;

use campaign_core::{CampaignQuery, CampaignSource, Channel, ErrorKind, Sort, SortField, Status};
use campaign_sandbox::samples::GENESYS_RESPONSE;
use campaign_sandbox::{Fault, OutOfRangePaging, Sandbox};
use common::{all, config, generated, listing_queries, page_number, source, source_with, walk};

#[tokio::test]
async fn lists_the_samples_with_their_fields() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox, 100);
    let campaigns = all(&source, &CampaignQuery::all()).await.unwrap();
    assert_eq!(campaigns.len(), 7, "the sample's total");
    let sample = source_genesys::decode_page("g", "sample", GENESYS_RESPONSE.as_bytes()).unwrap();
    for expected in &sample.campaigns {
        let got = campaigns
            .iter()
            .find(|c| c.id.native == expected.id.native)
            .unwrap();
        assert_eq!(
            (
                &got.name,
                &got.status,
                &got.dialing_mode,
                got.priority,
                got.created_at
            ),
            (
                &expected.name,
                &expected.status,
                &expected.dialing_mode,
                expected.priority,
                expected.created_at
            )
        );
        assert_eq!(
            got.raw.as_ref().map(|r| r.to_value()),
            expected.raw.as_ref().map(|r| r.to_value())
        );
        assert_eq!(got.id.source.as_ref(), "genesys");
    }
    let power = campaigns
        .iter()
        .find(|c| c.name == "Sales - Power Dialing")
        .unwrap();
    assert_eq!(
        power.dialing_mode.as_ref().map(|m| m.as_str()),
        Some("power")
    );
    // One token for the whole walk, requested as the spec says.
    let token = sandbox
        .genesys()
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth/token")
        .unwrap();
    assert_eq!(token.method, "POST");
    assert_eq!(token.body.as_deref(), Some("grant_type=client_credentials"));
    let header = |name: &str| {
        token
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    // The log masks credentials; the sandbox answered, so Basic auth was right.
    assert!(header("authorization").is_some());
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(common::token_requests(&sandbox), 1);
    // Channel is answered locally: every campaign is voice.
    let sms = CampaignQuery::builder()
        .channel(Channel::Sms)
        .build()
        .unwrap();
    sandbox.genesys().clear_requests();
    assert!(all(&source, &sms).await.unwrap().is_empty());
    assert!(listing_queries(&sandbox).is_empty());
    let active = CampaignQuery::builder()
        .status(Status::Active)
        .build()
        .unwrap();
    let on = all(&source, &active).await.unwrap();
    assert!(!on.is_empty() && on.iter().all(|c| c.status == Some(Status::Active)));
}

#[tokio::test]
async fn pages_after_the_first_are_fetched_ahead_each_once() {
    let sandbox = generated(253).start().await.unwrap();
    let mut c = config(&sandbox, "genesys").with_page_size(10);
    c.prefetch = 4;
    let source = source_with(&sandbox, c);
    let first = source
        .fetch_page(&CampaignQuery::all(), None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.total_hint, Some(253));
    assert_eq!(first.following.len(), 24, "pages 3 to 26 announced");
    sandbox.genesys().clear_requests();
    let campaigns = all(&source, &CampaignQuery::all()).await.unwrap();
    let ids: HashSet<_> = campaigns.iter().map(|c| c.id.clone()).collect();
    assert_eq!((campaigns.len(), ids.len()), (253, 253));
    let mut pages: Vec<u64> = listing_queries(&sandbox)
        .iter()
        .filter_map(|q| page_number(q))
        .collect();
    pages.sort_unstable();
    assert_eq!(
        pages,
        (1..=26).collect::<Vec<_>>(),
        "each page once, none past the end"
    );
    for query in listing_queries(&sandbox) {
        assert!(
            query.contains("pageSize=10") && query.contains("sortBy=name"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn divisions_are_sent_and_checked() {
    let sandbox = generated(120).start().await.unwrap();
    let everything = all(&source(&sandbox, 50), &CampaignQuery::all())
        .await
        .unwrap();
    let division = |c: &campaign_core::Campaign| match &c.scope {
        campaign_core::Scope::Account { account, .. } => account.to_string(),
        other => panic!("{other:?}"),
    };
    let wanted = [common::HOME, common::SALES];
    let expected: HashSet<_> = everything
        .iter()
        .filter(|c| wanted.contains(&division(c).as_str()))
        .map(|c| c.id.clone())
        .collect();
    assert!(!expected.is_empty() && expected.len() < everything.len());
    sandbox.genesys().clear_requests();
    let only = source_with(
        &sandbox,
        config(&sandbox, "genesys")
            .with_page_size(7)
            .with_division_ids(wanted),
    );
    let (got, warnings, error) = walk(&only, &CampaignQuery::all()).await;
    assert!(
        error.is_none() && warnings.is_empty(),
        "{error:?} {warnings:?}"
    );
    assert_eq!(
        got.iter().map(|c| c.id.clone()).collect::<HashSet<_>>(),
        expected
    );
    assert_eq!(got.len(), expected.len());
    for query in listing_queries(&sandbox) {
        assert!(
            query.contains(&format!("divisionId={}", common::HOME))
                && query.contains(&format!("divisionId={}", common::SALES)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn campaigns_without_a_division_are_kept_when_divisions_are_configured() {
    // The same campaigns twice; one server leaves `division` out of them.
    let with = generated(120).start().await.unwrap();
    let without = generated(120)
        .genesys_omit_division(true)
        .start()
        .await
        .unwrap();
    let only = |sandbox: &Sandbox| {
        source_with(
            sandbox,
            config(sandbox, "genesys")
                .with_page_size(7)
                .with_division_ids([common::HOME, common::SALES]),
        )
    };
    for query in [
        CampaignQuery::all(),
        CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap(),
    ] {
        let expected = all(&only(&with), &query).await.unwrap();
        assert!(!expected.is_empty());
        let (got, warnings, error) = walk(&only(&without), &query).await;
        assert!(error.is_none(), "{error:?}");
        let ids = |list: &[campaign_core::Campaign]| -> Vec<_> {
            list.iter().map(|c| c.id.clone()).collect()
        };
        assert_eq!(ids(&got), ids(&expected), "{query:?}");
        assert!(got
            .iter()
            .all(|c| c.scope == campaign_core::Scope::Unscoped));
        assert_eq!(warnings.len(), 1, "once per listing: {warnings:?}");
        assert!(
            warnings[0].message.contains("have no division"),
            "{}",
            warnings[0]
        );
    }
}

#[tokio::test]
async fn out_of_range_paging_never_happens_whether_clamped_or_refused() {
    for policy in [OutOfRangePaging::Clamp, OutOfRangePaging::Reject] {
        let sandbox = generated(30)
            .genesys_out_of_range_paging(policy)
            .start()
            .await
            .unwrap();
        let source = source(&sandbox, 100);
        // The query asks for more than the documented maximum: 100 is sent.
        let big = CampaignQuery::builder().page_size(500).build().unwrap();
        assert_eq!(all(&source, &big).await.unwrap().len(), 30, "{policy:?}");
        assert!(listing_queries(&sandbox)
            .iter()
            .all(|q| q.contains("pageSize=100")));
        // Pages announced past the end (a total 10 too high) are empty pages.
        sandbox.genesys().inject(Fault::WrongTotalResults, None);
        let small = CampaignQuery::builder().page_size(7).build().unwrap();
        let campaigns = all(&source, &small).await.unwrap();
        assert_eq!(campaigns.len(), 30, "{policy:?}");
        sandbox.genesys().clear_faults();
    }
}

#[tokio::test]
async fn a_server_that_ignores_page_numbers_is_stopped() {
    let sandbox = generated(60).start().await.unwrap();
    let source = source(&sandbox, 10);
    sandbox.genesys().inject(Fault::IgnoreSkip, None);
    let (campaigns, _, error) = walk(&source, &CampaignQuery::all()).await;
    let error = error.expect("a protocol error");
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains("ignored pageNumber"), "{error}");
    assert!(campaigns.len() <= 10);
    assert!(
        listing_queries(&sandbox).len() <= 8,
        "bounded: {:?}",
        listing_queries(&sandbox)
    );
}

#[tokio::test]
async fn the_walk_ends_at_page_count_whatever_next_uri_says() {
    // The sample body is a fixed page 1 of 3 with a nextUri: served for
    // every page number, a client that followed nextUri would never end.
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox, 3);
    sandbox.genesys().inject(Fault::IgnoreSkip, None);
    let (_, _, error) = walk(&source, &CampaignQuery::all()).await;
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Protocol));
    let pages: Vec<u64> = listing_queries(&sandbox)
        .iter()
        .filter_map(|q| page_number(q))
        .collect();
    assert!(pages.iter().all(|&p| p <= 3), "{pages:?}");
    // With empty arrays left out, an empty listing still ends at once.
    sandbox.genesys().clear_faults();
    sandbox.genesys().load_campaigns(&[]);
    sandbox.genesys().inject(Fault::OmitEmptyArrays, None);
    // Let the dropped prefetches of the failed walk reach the log first.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    sandbox.genesys().clear_requests();
    assert!(all(&source, &CampaignQuery::all())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        listing_queries(&sandbox).len(),
        1,
        "{:?}",
        listing_queries(&sandbox)
    );
}

#[tokio::test]
async fn records_are_left_out_only_when_not_wanted_even_within_one_walk() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let source = source(&sandbox, 2);
    // Sorted locally (the API sorts by name only): the walk's first page
    // reads the whole listing and keeps it for the pages after it.
    let wanted = CampaignQuery::builder()
        .sort(Sort::desc(SortField::CreatedAt))
        .page_size(2)
        .build()
        .unwrap();
    let unwanted = wanted.to_builder().keep_raw(false).build().unwrap();
    let first = source.fetch_page(&unwanted, None).await.unwrap();
    assert!(!first.items.is_empty() && first.items.iter().all(|c| c.raw.is_none()));
    // The same walk continued by a query that wants the records (a cursor
    // resumes either way) gets them: the listing kept without them is not
    // used for it.
    let next = source.fetch_page(&wanted, first.next).await.unwrap();
    assert!(!next.items.is_empty() && next.items.iter().all(|c| c.raw.is_some()));
    // Otherwise the listings are the same.
    let with = all(&source, &wanted).await.unwrap();
    let without = all(&source, &unwanted).await.unwrap();
    assert!(without.iter().all(|c| c.raw.is_none()));
    assert!(with.iter().all(|c| c.raw.is_some()));
    let stripped: Vec<_> = with
        .into_iter()
        .map(|mut c| {
            c.raw = None;
            c
        })
        .collect();
    assert_eq!(stripped, without);
}
