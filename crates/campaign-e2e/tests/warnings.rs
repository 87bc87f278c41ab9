//! A Kore `totalResults` that moves mid-walk reaches the aggregate's consumer
//! as a warning naming the source, in events and in pages.

use campaign_e2e::{Rig, RigOptions, KORE};
use campaign_sandbox::Fault;

const TOTAL: usize = 2 * 12 + 23 + 19;

/// No failure, and at least one warning, each from Kore about its total.
fn assert_kore_total_warnings(listing: &campaign_e2e::Listing, how: &str) {
    assert!(listing.failures.is_empty(), "{how}: {:?}", listing.failures);
    assert!(
        !listing.warnings.is_empty(),
        "{how}: no warning reached the consumer"
    );
    for warning in &listing.warnings {
        assert_eq!(warning.source, KORE);
        assert!(
            warning.message.contains("totalResults changed from"),
            "{}",
            warning.message
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_total_results_is_a_warning_in_events_and_pages() {
    let rig = Rig::start(RigOptions::default()).await.unwrap();
    // Too high on the first listing request only: that channel's next page
    // reports the true count.
    rig.sandbox.kore().inject(Fault::WrongTotalResults, Some(1));
    let listing = rig.list_events().await;
    assert_eq!(listing.duplicates(), 0);
    assert_eq!(listing.distinct().len(), TOTAL);
    assert_kore_total_warnings(&listing, "events");

    // Pages of 5, each walked afresh from the cursor: a page token carries
    // the total its page reported, and with a campaign created after every
    // request the next page read from it sees the total move.
    rig.sandbox.kore().inject(Fault::PageDrift, None);
    let paged = rig.list_pages(1_000).await.unwrap();
    assert!(paged.pages > 1);
    // (Offsets move under drift between separate page calls, so repeats
    // are possible here; the source's warning is what says so.)
    assert!(paged.distinct().len() >= TOTAL);
    assert_kore_total_warnings(&paged, "pages");
    rig.sandbox.kore().clear_faults();

    // Without the fault, nothing to warn about.
    let clean = rig.list_events().await;
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
}
