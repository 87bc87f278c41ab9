//! The fault matrix: the aggregate of a CMS and a Kore source against one
//! generated sandbox, one case per injected fault. Each case states its
//! expected outcome (recovered with exactly the baseline, or a typed failure
//! of one source while the other's campaigns all arrive), then clears the
//! fault and checks the listing equals the baseline again.
//!
//! `cargo test -p campaign-e2e --test fault_matrix -- --nocapture` prints the
//! markdown table that `docs/RELIABILITY.md` reproduces.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use campaign_core::{CampaignId, ErrorKind};
use campaign_e2e::{Listing, Rig, RigOptions, CMS, KORE};
use campaign_sandbox::{Fault, RetryAfter};

/// Which emulator a fault goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Cms,
    Kore,
    Both,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Cms => "CMS",
            Target::Kore => "Kore",
            Target::Both => "both",
        }
    }
}

/// What a case must end in.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly the baseline ids, in order.
    Recovered,
    /// Every baseline id once, plus campaigns the fault created.
    RecoveredWithNew,
    /// The named source fails with this kind; the other delivers everything.
    Fails(&'static str, ErrorKind),
    /// The named source skips this many records it cannot use, each
    /// reported as a warning; everything else arrives, in baseline order.
    Skips(&'static str, usize),
}

#[derive(Debug)]
enum Action {
    Inject(Fault, Option<usize>),
    ExpireTokens,
}

#[derive(Debug)]
struct Case {
    name: &'static str,
    target: Target,
    action: Action,
    expect: Expect,
}

fn case(name: &'static str, target: Target, action: Action, expect: Expect) -> Case {
    Case {
        name,
        target,
        action,
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Action::Inject;
    use Expect::{Fails, Recovered, RecoveredWithNew, Skips};
    use Target::{Both, Cms, Kore};
    vec![
        case(
            "500 burst (2)",
            Cms,
            Inject(Fault::Status(500), Some(2)),
            Recovered,
        ),
        case(
            "502 burst (2)",
            Kore,
            Inject(Fault::Status(502), Some(2)),
            Recovered,
        ),
        case(
            "503 burst (2)",
            Both,
            Inject(Fault::Status(503), Some(2)),
            Recovered,
        ),
        case(
            "503 persistent",
            Kore,
            Inject(Fault::Status(503), None),
            Fails(KORE, ErrorKind::Server),
        ),
        case(
            "429, Retry-After: 1 (seconds)",
            Kore,
            Inject(Fault::RateLimited(RetryAfter::Seconds(1)), Some(1)),
            Recovered,
        ),
        case(
            "429, Retry-After: HTTP date (+1 s)",
            Cms,
            Inject(
                Fault::RateLimited(RetryAfter::HttpDate(Duration::from_secs(1))),
                Some(1),
            ),
            Recovered,
        ),
        case(
            "429, Retry-After: 120 (over the 3 s cap)",
            Kore,
            Inject(Fault::RateLimited(RetryAfter::Seconds(120)), None),
            Fails(KORE, ErrorKind::RateLimited),
        ),
        case(
            "HTML error page (502), once",
            Kore,
            Inject(Fault::HtmlError, Some(1)),
            Recovered,
        ),
        case(
            "HTML error page (502), persistent",
            Cms,
            Inject(Fault::HtmlError, None),
            Fails(CMS, ErrorKind::Server),
        ),
        case(
            "truncated JSON",
            Cms,
            Inject(Fault::TruncatedJson, None),
            Fails(CMS, ErrorKind::Decode),
        ),
        case(
            "truncated JSON",
            Kore,
            Inject(Fault::TruncatedJson, None),
            Fails(KORE, ErrorKind::Decode),
        ),
        case(
            "wrong field type (unusable id), every response",
            Cms,
            Inject(Fault::WrongFieldType, None),
            Skips(CMS, 2),
        ),
        case(
            "wrong field type (priority), once",
            Kore,
            Inject(Fault::WrongFieldType, Some(1)),
            Skips(KORE, 1),
        ),
        case(
            "optional field of the wrong type (processId \"x\"), once",
            Cms,
            Inject(Fault::BadOptionalField, Some(1)),
            Skips(CMS, 1),
        ),
        case(
            "optional field of the wrong type (contactLists 7), once",
            Kore,
            Inject(Fault::BadOptionalField, Some(1)),
            Skips(KORE, 1),
        ),
        case(
            "sortBy without name refused (the spec's rule enforced)",
            Kore,
            Inject(Fault::SortNameRequired, None),
            Recovered,
        ),
        case(
            "ties in reverse id order",
            Kore,
            Inject(Fault::TiesReversed, None),
            Recovered,
        ),
        case(
            "sortBy ignored",
            Kore,
            Inject(Fault::SortIgnored, None),
            Recovered,
        ),
        case(
            "rate-limit message with status 400 (2)",
            Kore,
            Inject(Fault::RateLimitedWithStatus(400), Some(2)),
            Recovered,
        ),
        case(
            "rate-limit message with status 200",
            Kore,
            Inject(Fault::RateLimitedWithStatus(200), Some(1)),
            Recovered,
        ),
        case(
            "30 MB body (limit 1 MiB)",
            Kore,
            Inject(Fault::Oversized(30 * 1024 * 1024), None),
            Fails(KORE, ErrorKind::Decode),
        ),
        case(
            "slow drip past the 1 s timeout",
            Cms,
            Inject(Fault::SlowDrip(Duration::from_millis(25)), None),
            Fails(CMS, ErrorKind::Timeout),
        ),
        case(
            "slow drip, once",
            Kore,
            Inject(Fault::SlowDrip(Duration::from_millis(25)), Some(1)),
            Recovered,
        ),
        case(
            "dropped connection (2)",
            Kore,
            Inject(Fault::DropConnection, Some(2)),
            Recovered,
        ),
        case(
            "dropped connection, persistent",
            Cms,
            Inject(Fault::DropConnection, None),
            Fails(CMS, ErrorKind::Transport),
        ),
        case(
            "wrong totalResults",
            Kore,
            Inject(Fault::WrongTotalResults, None),
            Recovered,
        ),
        case(
            "server ignores skip",
            Kore,
            Inject(Fault::IgnoreSkip, None),
            Fails(KORE, ErrorKind::Protocol),
        ),
        case(
            "redirect to another host",
            Cms,
            Inject(Fault::RedirectOtherHost, None),
            Fails(CMS, ErrorKind::Transport),
        ),
        case(
            "redirect to another host",
            Kore,
            Inject(Fault::RedirectOtherHost, None),
            Fails(KORE, ErrorKind::Transport),
        ),
        case("expired tokens", Both, Action::ExpireTokens, Recovered),
        // Last: drift adds campaigns, so the baseline grows afterwards.
        case(
            "page drift",
            Cms,
            Inject(Fault::PageDrift, None),
            RecoveredWithNew,
        ),
        case(
            "page drift",
            Kore,
            Inject(Fault::PageDrift, None),
            // Prefetched pages can be answered out of order while the head
            // moves; the source reads on page by page once it sees that.
            RecoveredWithNew,
        ),
    ]
}

fn apply(rig: &Rig, target: Target, action: &Action) {
    let controls = match target {
        Target::Cms => vec![rig.sandbox.cms()],
        Target::Kore => vec![rig.sandbox.kore()],
        Target::Both => vec![rig.sandbox.cms(), rig.sandbox.kore()],
    };
    for control in controls {
        match action {
            Action::Inject(fault, times) => control.inject(fault.clone(), *times),
            Action::ExpireTokens => control.expire_tokens(),
        }
    }
}

fn other(source: &str) -> &'static str {
    if source == CMS {
        KORE
    } else {
        CMS
    }
}

/// One row of the printed table.
struct Row {
    case: String,
    provider: &'static str,
    outcome: String,
    kind: String,
    lost: usize,
    withheld: usize,
    duplicates: usize,
    millis: u128,
    after: String,
}

/// Records a broken expectation instead of panicking, so one run shows every case.
macro_rules! ensure {
    ($problems:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            $problems.push(format!($($msg)+));
        }
    };
}

/// Checks a listing against the case's expectation; returns the table row.
fn check(
    case: &Case,
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
                listing
                    .failures
                    .iter()
                    .map(|f| f.error.to_string())
                    .collect::<Vec<_>>()
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
            ("recovered".to_owned(), lost, 0)
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
            // The healthy source delivers all of its campaigns, in order.
            let healthy = other(source);
            let expected: Vec<CampaignId> = baseline
                .iter()
                .filter(|id| &*id.source == healthy)
                .cloned()
                .collect();
            let lost = lost_ids(Some(healthy));
            ensure!(
                problems,
                listing.of_source(healthy) == expected,
                "{name}: {healthy} did not deliver exactly its baseline ({lost} lost)"
            );
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
            let outcome = format!("typed failure of {source}; {healthy} complete");
            (outcome, lost, lost_ids(Some(source)))
        }
        Expect::Skips(source, records) => {
            ensure!(
                problems,
                listing.failures.is_empty(),
                "{name}: a skipped record failed its page: {:?}",
                listing
                    .failures
                    .iter()
                    .map(|f| f.error.to_string())
                    .collect::<Vec<_>>()
            );
            let skipped: Vec<_> = listing
                .warnings
                .iter()
                .filter(|w| w.source == source && w.skipped.is_some())
                .collect();
            for warning in &skipped {
                ensure!(
                    problems,
                    warning.request.is_some() && warning.partition.is_some(),
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
        case: name.to_owned(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_recovers_or_fails_typed_and_nothing_is_lost() {
    let started = Instant::now();
    let rig = Rig::start(RigOptions::default()).await.expect("rig");
    let options = RigOptions::default();
    let expected_total = options.data.cms_contact_centers.len()
        * options.data.cms_per_contact_center
        + options.data.kore_voice
        + options.data.kore_sms;

    let baseline = rig.list_pages(1_000).await.expect("baseline pages");
    assert!(baseline.failures.is_empty(), "{:?}", baseline.failures);
    assert_eq!(baseline.duplicates(), 0);
    assert_eq!(baseline.ids.len(), expected_total);
    let by_events = rig.list_events().await;
    assert!(by_events.failures.is_empty(), "{:?}", by_events.failures);
    assert_eq!(
        by_events.ids, baseline.ids,
        "events and pages list the same"
    );
    let mut baseline = baseline.ids;

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for case in cases() {
        let tokens_before = (
            rig.cms_tokens.tokens().len(),
            rig.kore_tokens.tokens().len(),
        );
        rig.sandbox.cms().clear_requests();
        rig.sandbox.kore().clear_requests();
        apply(&rig, case.target, &case.action);
        let t = Instant::now();
        let listing = rig.list_events().await;
        let row = check(
            &case,
            &baseline,
            &listing,
            t.elapsed().as_millis(),
            &mut problems,
        );

        let mut row = row;
        let name = case.name;
        if let Action::Inject(Fault::RedirectOtherHost, _) = case.action {
            let reached = rig.sandbox.other_host_requests();
            let leaked = reached.iter().filter(|r| r.had_credentials).count();
            ensure!(
                problems,
                leaked == 0,
                "{name}: {leaked} requests with credentials reached the other host"
            );
            row.outcome += &format!(
                "; other host saw {} requests, {leaked} with credentials",
                reached.len()
            );
        }
        if let Action::ExpireTokens = case.action {
            // Refused (401) and renewed: the CMS token endpoint was asked
            // again, and both sources sent new tokens.
            let renewals = rig
                .sandbox
                .cms()
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("basicauth"))
                .count();
            ensure!(
                problems,
                renewals > 0,
                "{name}: the CMS token endpoint was not asked again"
            );
            let after = (
                rig.cms_tokens.tokens().len(),
                rig.kore_tokens.tokens().len(),
            );
            ensure!(
                problems,
                after.0 > tokens_before.0,
                "{name}: CMS token not renewed"
            );
            ensure!(
                problems,
                after.1 > tokens_before.1,
                "{name}: Kore JWT not renewed"
            );
            row.outcome += "; both tokens renewed";
        }

        rig.sandbox.cms().clear_faults();
        rig.sandbox.kore().clear_faults();
        let after = rig.list_pages(1_000).await.expect("pages after clearing");
        ensure!(
            problems,
            after.failures.is_empty(),
            "{name}: after clearing: {:?}",
            after
                .failures
                .iter()
                .map(|f| f.error.to_string())
                .collect::<Vec<_>>()
        );
        ensure!(
            problems,
            after.duplicates() == 0,
            "{name}: duplicates after clearing"
        );
        if let Expect::RecoveredWithNew = case.expect {
            let now = after.distinct();
            ensure!(
                problems,
                baseline.iter().all(|id| now.contains(id)),
                "{name}: lost after clearing"
            );
            ensure!(
                problems,
                after.ids.len() > baseline.len(),
                "{name}: the fault added nothing"
            );
            row.after = format!(
                "baseline + {} new",
                after.ids.len().saturating_sub(baseline.len())
            );
            baseline = after.ids;
        } else {
            let same = after.ids == baseline;
            ensure!(
                problems,
                same,
                "{name}: after clearing, the listing differs from the baseline"
            );
            row.after = if same {
                "= baseline".to_owned()
            } else {
                "DIFFERS".to_owned()
            };
        }
        rows.push(row);
    }

    println!("\n| # | case | provider | outcome | error kind | campaigns lost | not delivered, reported | duplicates | after clearing | listing ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (i, r) in rows.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.case,
            r.provider,
            r.outcome,
            r.kind,
            r.lost,
            r.withheld,
            r.duplicates,
            r.after,
            r.millis
        );
    }
    let recovered = rows
        .iter()
        .filter(|r| r.outcome.starts_with("recovered"))
        .count();
    let skipping = rows
        .iter()
        .filter(|r| r.outcome.contains("skipped"))
        .count();
    let lost: usize = rows.iter().map(|r| r.lost).sum();
    println!(
        "\ncases: {}, recovered: {}, records skipped and reported: {skipping}, typed failures: {}, \
         campaigns lost: {lost}, duplicates: {}, baseline: {expected_total} campaigns, \
         retry budget left: {}, total {} ms",
        rows.len(),
        recovered,
        rows.len() - recovered - skipping,
        rows.iter().map(|r| r.duplicates).sum::<usize>(),
        rig.budget.available(),
        started.elapsed().as_millis()
    );
    assert_eq!(lost, 0, "campaigns lost without a report");
    assert!(
        problems.is_empty(),
        "broken expectations:\n{}",
        problems.join("\n")
    );
}
