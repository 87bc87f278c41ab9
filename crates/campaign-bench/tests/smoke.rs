//! The harness runs end to end at tiny sizes (no timing is asserted: the
//! figures themselves are what `campaign-bench` prints).

use campaign_bench::{figures, genesys, render, serve, store, CampaignsBin, Sizes};

#[test]
fn in_process_figures_measure_and_render() {
    let sizes = Sizes::tiny();
    let mut rows = figures::merge(&sizes);
    rows.extend(figures::decode(&sizes).expect("decode figure"));
    rows.extend(figures::kore_paging(&sizes).expect("Kore paging figure"));
    rows.extend(genesys::paging(&sizes).expect("Genesys paging figure"));
    rows.extend(figures::fanout(&sizes).expect("fan-out figure"));
    rows.extend(figures::many_sources(&sizes, None).expect("many-sources figure"));
    for figure in [
        "merge",
        "decode + normalize",
        "Kore paging",
        "Genesys paging",
        "fan-out",
        "many sources",
    ] {
        assert!(
            rows.iter().any(|r| r.figure == figure && r.pass.is_some()),
            "no checked row for {figure}"
        );
    }
    // The in-flight bound is a correctness property, not a timing.
    let bound = rows
        .iter()
        .find(|r| r.what.starts_with("requests in flight"))
        .expect("an in-flight row");
    assert_eq!(bound.pass, Some(true), "{bound:?}");
    let table = render(&rows);
    assert_eq!(table.lines().count(), rows.len() + 2);
}

/// The store figures at tiny sizes, through the `campaigns` binary of this
/// profile (built first when missing); PostgreSQL too when
/// `CAMPAIGNS_TEST_POSTGRES` names a server.
#[test]
fn store_figures_measure_and_render() {
    let bin = CampaignsBin::beside_current_exe().expect("the campaigns binary");
    let dir = std::env::temp_dir().join(format!("campaign-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let rows = store::figures(&Sizes::tiny(), &bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let rows = rows.expect("store figures");
    for what in [
        "full sync into SQLite",
        "re-sync, nothing changed (campaigns sync again)",
        "re-sync, nothing changed: Kore requests",
        "re-sync, 1 % of Kore campaigns changed",
        "campaigns changes --store",
        "peak RSS of list --store over",
        "first ndjson line of list --store",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.what.starts_with(what) && r.pass.is_some()),
            "no checked row for {what}"
        );
    }
    // Writing nothing when nothing changed is correctness, not timing.
    let unchanged = rows
        .iter()
        .find(|r| {
            r.what
                .starts_with("re-sync, nothing changed (campaigns sync again)")
        })
        .expect("a re-sync row");
    assert_eq!(unchanged.pass, Some(true), "{unchanged:?}");
    let table = render(&rows);
    assert_eq!(table.lines().count(), rows.len() + 2);
}

/// The service figures at tiny sizes: `campaigns serve` over a store and
/// live, loaded by this process's clients.
#[test]
fn serve_figures_measure_and_render() {
    let bin = CampaignsBin::beside_current_exe().expect("the campaigns binary");
    let dir =
        std::env::temp_dir().join(format!("campaign-bench-smoke-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let rows = serve::figures(&Sizes::tiny(), &bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let rows = rows.expect("serve figures");
    for what in [
        "serve --store throughput / bare handler's",
        "serve --store p99 latency",
        "serve --store errors",
        "identical live requests at once",
        "cursor walk during that sync, limit=50, default sort",
        "cursor walk during that sync, limit=50, unsorted=true",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.what.contains(what) && r.pass.is_some()),
            "no checked row for {what}"
        );
    }
    let table = render(&rows);
    assert_eq!(table.lines().count(), rows.len() + 2);
}
