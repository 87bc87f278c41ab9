//! Failures stay in their partition and a loop over `next` always ends:
//! an unknown contact center among three, a source down for good.

use campaign_core::{CampaignQuery, ErrorKind};
use campaign_e2e::{Listing, Rig, RigOptions, CMS, KORE};
use campaign_sandbox::Fault;

/// One source's native ids of a listing, in delivery order.
fn ordered_ids(listing: &Listing, source: &str) -> Vec<String> {
    listing
        .of_source(source)
        .into_iter()
        .map(|id| id.native.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_contact_center_fails_alone_and_the_others_are_complete() {
    let clean = Rig::start(RigOptions::default()).await.unwrap();
    let expected = ordered_ids(&clean.list_events().await, CMS);
    assert_eq!(expected.len(), 24);

    let rig = Rig::start(RigOptions {
        extra_cms_centers: vec![7],
        ..RigOptions::default()
    })
    .await
    .unwrap();
    for listing in [
        rig.list_events().await,
        rig.list_pages(1_000).await.unwrap(),
    ] {
        assert_eq!(
            ordered_ids(&listing, CMS),
            expected,
            "1 and 2 complete, in order"
        );
        assert_eq!(
            listing.of_source(KORE).len(),
            42,
            "the other source is untouched"
        );
        assert_eq!(listing.duplicates(), 0);
        assert!(!listing.failures.is_empty());
        for failure in &listing.failures {
            let e = &failure.error;
            assert_eq!(failure.source, CMS);
            assert_eq!(failure.partition(), Some("contact_center=7"), "{e}");
            assert_eq!(e.kind(), ErrorKind::NotFound);
            assert_eq!(e.status(), Some(404));
            assert_eq!(e.code(), Some("CONF-1001"));
            assert_eq!(e.request(), Some("GET campaigns contactCenterId=7"));
        }
        assert_eq!(listing.empty_pages_with_next, 0);
    }
}

/// With one source down for good, the walk over `next` takes at most
/// ceil(N / limit) + 1 pages for the N campaigns the other delivers, every
/// page reports the failure, and the other's campaigns all arrive once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_loop_ends_within_the_bound_with_one_source_down() {
    let rig = Rig::start(RigOptions::default()).await.unwrap();
    let all = rig.list_events().await;
    for (down, up) in [(KORE, CMS), (CMS, KORE)] {
        let control = if down == KORE {
            rig.sandbox.kore()
        } else {
            rig.sandbox.cms()
        };
        control.inject(Fault::Status(403), None);
        let healthy = all.of_source(up);
        for limit in [4u32, 5, 17, 100] {
            let query: CampaignQuery = rig.query.to_builder().page_size(limit).build().unwrap();
            let listing = rig.list_pages_with(&query, 1_000).await.unwrap();
            let bound = healthy.len().div_ceil(limit as usize) + 1;
            assert!(
                listing.pages <= bound,
                "{down} down, limit {limit}: {} pages > {bound}",
                listing.pages
            );
            assert_eq!(listing.of_source(up), healthy, "{down} down, limit {limit}");
            assert_eq!(listing.duplicates(), 0);
            assert_eq!(listing.empty_pages_with_next, 0);
            assert!(listing.failures.len() >= listing.pages);
            assert!(listing
                .failures
                .iter()
                .all(|f| f.source == down && f.error.kind() == ErrorKind::Forbidden));
        }
        control.clear_faults();
    }
}
