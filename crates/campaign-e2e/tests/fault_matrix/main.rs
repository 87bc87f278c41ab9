//! The fault matrix: the aggregate of a CMS, a Kore and a Genesys Cloud
//! source against one generated sandbox, one case per injected fault. Each
//! case states its expected outcome (recovered with exactly the baseline, or
//! a typed failure of one source while the others' campaigns all arrive, or
//! records skipped and reported), then clears the fault and checks that a
//! paged listing equals the baseline again.
//!
//! `cargo test -p campaign-e2e --test fault_matrix -- --nocapture` prints the
//! markdown table that `docs/RELIABILITY.md` reproduces.

/// Records a broken expectation instead of panicking, so one run shows every case.
macro_rules! ensure {
    ($problems:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            $problems.push(format!($($msg)+));
        }
    };
}

mod cases;
mod check;
mod genesys;

use std::time::Instant;

use campaign_core::{CampaignId, CampaignQuery, Sort, SortField};
use campaign_e2e::{Listing, Rig, RigOptions, CMS, GENESYS, KORE};
use campaign_sandbox::Fault;

use cases::{Action, Case, Expect, Order};
use check::Row;

/// Genesys campaigns in the matrix's sandbox: six pages of 5, the last short.
const GENESYS_CAMPAIGNS: usize = 27;

/// The baseline of each order.
struct Baselines {
    newest: Vec<CampaignId>,
    by_name: Vec<CampaignId>,
}

impl Baselines {
    fn of(&self, order: Order) -> &[CampaignId] {
        match order {
            Order::Newest => &self.newest,
            Order::Name => &self.by_name,
        }
    }
}

fn by_name(rig: &Rig) -> CampaignQuery {
    rig.query
        .to_builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .expect("by-name query")
}

/// A clean baseline of `query`: pages and events list the same campaigns.
async fn clean_listing(rig: &Rig, query: &CampaignQuery) -> Vec<CampaignId> {
    let pages = rig.list_pages_with(query, 1_000).await.expect("baseline");
    assert!(pages.failures.is_empty(), "{:?}", pages.failures);
    assert_eq!(pages.duplicates(), 0);
    let events = rig.list_events_with(query).await;
    assert!(events.failures.is_empty(), "{:?}", events.failures);
    assert_eq!(events.ids, pages.ids, "events and pages list the same");
    pages.ids
}

/// What only the request logs show: nothing reached the other host, the
/// CMS and Kore tokens were renewed.
fn observe(
    rig: &Rig,
    case: &Case,
    tokens_before: (usize, usize),
    row: &mut Row,
    problems: &mut Vec<String>,
) {
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
    if let (Action::ExpireTokens, cases::Target::Both) = (&case.action, case.target) {
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
}

fn clear(rig: &Rig) {
    for control in [rig.sandbox.cms(), rig.sandbox.kore(), rig.sandbox.genesys()] {
        control.clear_faults();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_recovers_or_fails_typed_and_nothing_is_lost() {
    let started = Instant::now();
    let options = RigOptions {
        genesys_campaigns: Some(GENESYS_CAMPAIGNS),
        ..RigOptions::default()
    };
    let expected_total = options.expected_total();
    let page_size = options.page_size;
    let rig = Rig::start(options).await.expect("rig");
    let sources = [CMS, KORE, GENESYS];
    let name_query = by_name(&rig);

    let mut baselines = Baselines {
        newest: clean_listing(&rig, &rig.query).await,
        by_name: clean_listing(&rig, &name_query).await,
    };
    assert_eq!(baselines.newest.len(), expected_total);

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for case in cases::cases() {
        let tokens_before = (
            rig.cms_tokens.tokens().len(),
            rig.kore_tokens.tokens().len(),
        );
        for control in [rig.sandbox.cms(), rig.sandbox.kore(), rig.sandbox.genesys()] {
            control.clear_requests();
        }
        let query = match case.order {
            Order::Newest => &rig.query,
            Order::Name => &name_query,
        };
        let baseline = baselines.of(case.order).to_vec();
        cases::apply(&rig, case.target, &case.action);
        let t = Instant::now();
        let listing: Listing = rig.list_events_with(query).await;
        let millis = t.elapsed().as_millis();
        let mut row = check::check(&case, &sources, &baseline, &listing, millis, &mut problems);
        observe(&rig, &case, tokens_before, &mut row, &mut problems);
        genesys::observe(
            &rig,
            &case,
            page_size,
            GENESYS_CAMPAIGNS,
            &mut row,
            &mut problems,
        )
        .await;

        clear(&rig);
        let name = case.name;
        let after = rig
            .list_pages_with(query, 1_000)
            .await
            .expect("pages after clearing");
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
            let added = after.ids.len().saturating_sub(baseline.len());
            row.after = format!("baseline + {added} new");
            // Both orders' baselines now hold the new campaigns.
            baselines = Baselines {
                newest: clean_listing(&rig, &rig.query).await,
                by_name: clean_listing(&rig, &name_query).await,
            };
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
    let count = |provider: &str| rows.iter().filter(|r| r.provider == provider).count();
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
        "\ncases: {} (CMS {}, Kore {}, CMS and Kore {}, Genesys {}), recovered: {}, records skipped and \
         reported: {skipping}, typed failures: {}, campaigns lost: {lost}, duplicates: {}, \
         baseline: {expected_total} campaigns, retry budget left: {}, total {} ms",
        rows.len(),
        count("CMS"),
        count("Kore"),
        count("CMS, Kore"),
        count("Genesys"),
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
