//! The harness runs end to end at tiny sizes (no timing is asserted: the
//! figures themselves are what `campaign-bench` prints).

use campaign_bench::{figures, render, Sizes};

#[test]
fn in_process_figures_measure_and_render() {
    let sizes = Sizes::tiny();
    let mut rows = figures::merge(&sizes);
    rows.extend(figures::decode(&sizes).expect("decode figure"));
    rows.extend(figures::kore_paging(&sizes).expect("Kore paging figure"));
    rows.extend(figures::fanout(&sizes).expect("fan-out figure"));
    rows.extend(figures::many_sources(&sizes, None).expect("many-sources figure"));
    for figure in [
        "merge",
        "decode + normalize",
        "Kore paging",
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
