//! A case's listing checked against its expectation, as one table row.

use std::collections::HashSet;

use campaign_core::CampaignId;
use campaign_e2e::{Listing, GENESYS};

use crate::cases::{Case, Expect};

/// One row of the printed table.
pub struct Row {
    pub case: String,
    pub provider: &'static str,
    pub outcome: String,
    pub kind: String,
    pub lost: usize,
    pub withheld: usize,
    pub duplicates: usize,
    pub millis: u128,
    pub after: String,
}

fn failure_texts(listing: &Listing) -> Vec<String> {
    listing
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect()
}

/// Checks a listing against the case's expectation; returns the table row.
/// `sources` are the ids of every source of the rig.
pub fn check(
    case: &Case,
    sources: &[&'static str],
    baseline: &[CampaignId],
    listing: &Listing,
    millis: u128,
    problems: &mut Vec<String>,
) -> Row {
    let name = case.name;
    let base: HashSet<&CampaignId> = baseline.iter().collect();
    let got = listing.distinct();
    let duplicates = listing.duplicates();
    let lost_ids = |source: Option<&str>| {
        base.iter()
            .filter(|id| source.is_none_or(|s| &*id.source == s) && !got.contains(**id))
            .count()
    };
    ensure!(problems, duplicates == 0, "{name}: {duplicates} duplicates");
    let observed_kind = listing
        .failures
        .iter()
        .map(|f| f.error.kind().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let expect = case.expect;
    let (outcome, lost, withheld) = match expect {
        Expect::Recovered | Expect::RecoveredWithNew => {
            ensure!(
                problems,
                listing.failures.is_empty(),
                "{name}: failures {:?}",
                failure_texts(listing)
            );
            if let Expect::Recovered = expect {
                ensure!(
                    problems,
                    listing.ids == baseline,
                    "{name}: listing differs from the baseline"
                );
            }
            let lost = lost_ids(None);
            ensure!(
                problems,
                lost == 0,
                "{name}: {lost} baseline campaigns lost"
            );
            let mut outcome = "recovered".to_owned();
            if listing.warnings.iter().any(|w| w.sorted_locally) {
                outcome += "; sorted locally, with a warning";
            }
            (outcome, lost, 0)
        }
        Expect::Fails(source, kind) => {
            ensure!(
                problems,
                !listing.failures.is_empty(),
                "{name}: expected a failure of {source}"
            );
            for failure in &listing.failures {
                let e = &failure.error;
                ensure!(
                    problems,
                    failure.source == source && e.source_id() == source,
                    "{name}: failure of the wrong source: {e}"
                );
                ensure!(
                    problems,
                    e.kind() == kind,
                    "{name}: expected {kind}, got {e}"
                );
                ensure!(
                    problems,
                    e.request().is_some(),
                    "{name}: no request named in {e}"
                );
            }
            // The healthy sources deliver all of their campaigns, in order.
            let healthy: Vec<&str> = sources.iter().copied().filter(|s| *s != source).collect();
            let mut lost = 0;
            for other in &healthy {
                let expected: Vec<CampaignId> = baseline
                    .iter()
                    .filter(|id| &*id.source == *other)
                    .cloned()
                    .collect();
                let missing = lost_ids(Some(other));
                lost += missing;
                ensure!(
                    problems,
                    listing.of_source(other) == expected,
                    "{name}: {other} did not deliver exactly its baseline ({missing} lost)"
                );
            }
            // What the failed source did deliver is real and in baseline order.
            let delivered = listing.of_source(source);
            let in_order: Vec<CampaignId> = baseline
                .iter()
                .filter(|id| delivered.contains(id))
                .cloned()
                .collect();
            ensure!(
                problems,
                delivered == in_order,
                "{name}: {source} delivered unknown or misordered ids"
            );
            let outcome = format!("typed failure of {source}; {} complete", healthy.join(", "));
            (outcome, lost, lost_ids(Some(source)))
        }
        Expect::Skips(source, records) => {
            ensure!(
                problems,
                listing.failures.is_empty(),
                "{name}: a skipped record failed its page: {:?}",
                failure_texts(listing)
            );
            let skipped: Vec<_> = listing
                .warnings
                .iter()
                .filter(|w| w.source == source && w.skipped.is_some())
                .collect();
            for warning in &skipped {
                // A Genesys source is one partition, so its warnings name none.
                ensure!(
                    problems,
                    warning.request.is_some() && (source == GENESYS || warning.partition.is_some()),
                    "{name}: the warning names no request or partition: {warning}"
                );
            }
            let missing = lost_ids(None);
            ensure!(
                problems,
                skipped.len() == records && missing == records,
                "{name}: {} reported, {missing} missing, {records} expected",
                skipped.len()
            );
            // Everything else, in baseline order.
            let delivered: Vec<CampaignId> = baseline
                .iter()
                .filter(|id| got.contains(*id))
                .cloned()
                .collect();
            ensure!(
                problems,
                listing.ids == delivered,
                "{name}: the rest is not the baseline in order"
            );
            let outcome = format!("{records} record(s) skipped, each reported; the rest complete");
            // Reported, so not lost: shown as not delivered.
            (outcome, missing - skipped.len().min(missing), missing)
        }
    };
    Row {
        case: format!("{name}{}", case.order.label()),
        provider: case.target.label(),
        outcome,
        kind: if observed_kind.is_empty() {
            "-".to_owned()
        } else {
            observed_kind
        },
        lost,
        withheld,
        duplicates,
        millis,
        after: String::new(),
    }
}
