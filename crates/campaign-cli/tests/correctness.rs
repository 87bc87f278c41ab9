//! End-to-end correctness of the built `campaigns` binary against sandboxes
//! started here: a failing partition fails alone, bad records are skipped
//! with a warning (or fail their partition with `--strict`), cursor walks
//! end while a source keeps failing, and Kore sorts survive a server that
//! sorts wrongly.

mod common;

use std::collections::BTreeSet;

use campaign_sandbox::{Fault, GeneratedData, ProviderControl, Sandbox};
use chrono::{DateTime, Utc};
use serde_json::Value;

use common::{campaigns, errors, ids, json, text, walk, walked_ids, warnings, Env, Page, Tweaks};

/// Campaigns in [`Env::generated`]'s data.
const TOTAL: usize = 15 * 2 + 20 + 17;

fn control<'a>(env: &'a Env, provider: &str) -> &'a ProviderControl {
    match provider {
        "cms" => env.sandbox.cms(),
        "kore" => env.sandbox.kore(),
        other => panic!("no provider {other}"),
    }
}

/// The partition a listed campaign belongs to, spelled as errors and
/// warnings name it.
fn partition_of(campaign: &Value) -> String {
    match campaign["source"].as_str().unwrap() {
        "cms" => format!("contact_center={}", campaign["scope"]["contact_center_id"]),
        "kore" => format!("channel={}", campaign["channel"].as_str().unwrap()),
        other => panic!("unexpected source {other} in {campaign}"),
    }
}

/// Whether stderr has a line starting with `prefix` that contains `needle`.
fn has_line(stderr: &str, prefix: &str, needle: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.starts_with(prefix) && l.contains(needle))
}

/// The campaigns of `clean` that `got` lacks, after checking that `got`
/// holds nothing else, nothing twice, and the rest in `clean`'s order.
fn missing<'a>(clean: &'a Value, got: &Value) -> Vec<&'a Value> {
    let got_ids = ids(got);
    let kept: BTreeSet<&str> = got_ids.iter().map(String::as_str).collect();
    let clean_order: Vec<String> = ids(clean)
        .into_iter()
        .filter(|id| kept.contains(id.as_str()))
        .collect();
    assert_eq!(
        got_ids, clean_order,
        "the campaigns listed are the clean listing's, in its order, once each"
    );
    campaigns(clean)
        .iter()
        .filter(|c| !kept.contains(c["id"].as_str().unwrap()))
        .collect()
}

/// The warnings that report a skipped record.
fn skips(document: &Value) -> Vec<&Value> {
    warnings(document)
        .iter()
        .filter(|w| !w["skipped"].is_null())
        .collect()
}

/// A clean `--format json` listing with `args`: exit 0, no errors, no warnings.
async fn clean_listing(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let output = env.list(&all).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document = json(&output);
    assert!(errors(&document).is_empty(), "{document}");
    assert!(warnings(&document).is_empty(), "{document}");
    document
}

// ---------------------------------------------------------------------------
// Partitions: an unknown contact center.

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_contact_center_fails_alone_and_the_rest_is_complete() {
    let env = Env::generated().await;
    // The sandbox knows contact centers 1 and 2 only: 7 answers 404 CONF-1001.
    let with_unknown = env.unknown_contact_center_config();
    let failed_line = "campaigns: source \"cms\" failed:";
    for sort in [&[][..], &["--sort", "name:asc"][..]] {
        let clean = clean_listing(&env, sort).await;
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(sort);
        let output = env.list_with(&with_unknown, &args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{sort:?}: {stderr}");
        let document = json(&output);
        assert_eq!(
            ids(&document),
            ids(&clean),
            "{sort:?}: same ids, same order"
        );
        let cms = ids(&document)
            .iter()
            .filter(|id| id.starts_with("cms:"))
            .count();
        assert_eq!(cms, 30, "{sort:?}: all of centers 1 and 2");
        let errors = errors(&document);
        assert_eq!(errors.len(), 1, "{sort:?}: {errors:?}");
        let error = &errors[0];
        assert_eq!(error["source"], "cms", "{error}");
        assert_eq!(error["partition"], "contact_center=7", "{error}");
        assert_eq!(error["kind"], "not_found", "{error}");
        assert_eq!(error["status"], 404, "{error}");
        assert_eq!(error["code"], "CONF-1001", "{error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            has_line(&stderr, failed_line, "contact_center=7"),
            "{sort:?}: {stderr}"
        );
        assert!(warnings(&document).is_empty(), "{document}");
    }

    // Streamed formats: the same campaigns, the failure on stderr only.
    let clean = clean_listing(&env, &[]).await;
    let output = env.list_with(&with_unknown, &["--format", "ndjson"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let streamed: Vec<String> = text(&output.stdout)
        .lines()
        .map(|l| {
            let campaign: Value = serde_json::from_str(l).unwrap();
            campaign["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(streamed, ids(&clean));
    assert!(
        has_line(&stderr, failed_line, "contact_center=7"),
        "{stderr}"
    );

    let output = env.list_with(&with_unknown, &["--format", "table"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(text(&output.stdout).lines().count(), TOTAL + 1, "a header");
    assert!(
        has_line(&stderr, failed_line, "contact_center=7"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Bad records: skipped with a warning, or (strict) failing their partition.

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_optional_field_skips_that_record_with_a_warning() {
    let env = Env::generated().await;
    let clean = clean_listing(&env, &[]).await;
    for provider in ["cms", "kore"] {
        one_record_skipped(&env, &clean, provider, Fault::BadOptionalField, true).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_typed_required_field_skips_that_record_with_a_warning() {
    let env = Env::generated().await;
    let clean = clean_listing(&env, &[]).await;
    for provider in ["cms", "kore"] {
        // Kore's broken field is `priority`, so its id stays readable; the
        // CMS's is the id itself (`campaignContextId: "x"`).
        one_record_skipped(
            &env,
            &clean,
            provider,
            Fault::WrongFieldType,
            provider == "kore",
        )
        .await;
    }
}

/// With `fault` on one response of `provider`, exactly one record is left
/// out: reported as a warning (index, partition, request, and the id when
/// `id_readable`) that names the one missing from the clean listing.
async fn one_record_skipped(
    env: &Env,
    clean: &Value,
    provider: &str,
    fault: Fault,
    id_readable: bool,
) {
    control(env, provider).inject(fault, Some(1));
    let output = env.list(&["--format", "json"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{provider}: {stderr}");
    let document = json(&output);
    assert!(errors(&document).is_empty(), "{provider}: {document}");
    let skips = skips(&document);
    assert_eq!(skips.len(), 1, "{provider}: {document}");
    let warning = skips[0];
    assert_eq!(warning["source"], provider, "{warning}");
    assert_eq!(warning["skipped"]["index"], 0, "{warning}");
    let partition = warning["partition"]
        .as_str()
        .unwrap_or_else(|| panic!("{provider}: a partition: {warning}"));
    assert!(warning["request"].is_string(), "{warning}");

    let missing = missing(clean, &document);
    assert_eq!(missing.len(), 1, "{provider}: exactly one left out");
    assert_eq!(missing[0]["source"], provider);
    assert_eq!(partition_of(missing[0]), partition);
    if id_readable {
        let id = warning["skipped"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{provider}: the id stays readable: {warning}"));
        assert_eq!(
            missing[0]["native_id"], id,
            "the one reported is the one missing"
        );
        let line = format!(
            "campaigns: source \"{provider}\": warning: {partition}: skipped record 0 (id \"{id}\")"
        );
        assert!(stderr.contains(&line), "{line} not in {stderr}");
    }
    assert!(
        has_line(
            &stderr,
            &format!("campaigns: source \"{provider}\": warning: {partition}: "),
            "skipped record 0"
        ),
        "{stderr}"
    );
}

/// Checks a strict listing where `strict` sources failed one partition each
/// on a bad record, and the others skipped one record each: exit 3, one
/// `decode` error per strict source naming its partition, everything else
/// listed in order.
fn check_strict(clean: &Value, document: &Value, stderr: &str, strict: &[&str], lenient: &[&str]) {
    let errors = errors(document);
    assert_eq!(errors.len(), strict.len(), "{errors:?}");
    let mut failed = Vec::new();
    for source in strict {
        let error = errors
            .iter()
            .find(|e| e["source"] == *source)
            .unwrap_or_else(|| panic!("no error from {source}: {errors:?}"));
        assert_eq!(error["kind"], "decode", "{error}");
        let partition = error["partition"]
            .as_str()
            .unwrap_or_else(|| panic!("the failed partition: {error}"));
        assert!(
            has_line(
                stderr,
                &format!("campaigns: source \"{source}\" failed:"),
                partition
            ),
            "{stderr}"
        );
        failed.push((source.to_string(), partition.to_owned()));
    }
    let skips = skips(document);
    assert_eq!(skips.len(), lenient.len(), "{skips:?}");
    let mut skipped = Vec::new();
    for source in lenient {
        let warning = skips
            .iter()
            .find(|w| w["source"] == *source)
            .unwrap_or_else(|| panic!("no skip from {source}: {skips:?}"));
        skipped.push(warning["skipped"]["id"].as_str().unwrap().to_owned());
    }

    let missing = missing(clean, document);
    for (source, partition) in &failed {
        assert!(
            missing
                .iter()
                .any(|c| c["source"] == source.as_str() && partition_of(c) == *partition),
            "{source} {partition}: its bad record is not listed"
        );
    }
    for campaign in &missing {
        let source = campaign["source"].as_str().unwrap();
        let in_failed = failed
            .iter()
            .any(|(s, p)| s == source && *p == partition_of(campaign));
        let was_skipped = lenient.contains(&source)
            && skipped.contains(&campaign["native_id"].as_str().unwrap().to_owned());
        assert!(
            in_failed || was_skipped,
            "{campaign} is missing but neither in a failed partition nor skipped"
        );
    }
    assert_eq!(
        missing
            .iter()
            .filter(|c| lenient.contains(&c["source"].as_str().unwrap()))
            .count(),
        lenient.len(),
        "one record skipped per lenient source"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_fails_the_partition_with_the_flag_or_the_config_key() {
    let env = Env::generated().await;
    let clean = clean_listing(&env, &[]).await;
    let inject_both = || {
        env.sandbox.cms().inject(Fault::BadOptionalField, Some(1));
        env.sandbox.kore().inject(Fault::BadOptionalField, Some(1));
    };

    // `--strict`: every source.
    inject_both();
    let output = env.list(&["--format", "json", "--strict"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    check_strict(&clean, &json(&output), &stderr, &["cms", "kore"], &[]);

    // `strict = true` in one source's table: that source only.
    for (strict, lenient) in [("cms", "kore"), ("kore", "cms")] {
        let tweaks = if strict == "cms" {
            Tweaks {
                cms_extra: "strict = true".into(),
                ..Tweaks::default()
            }
        } else {
            Tweaks {
                kore_extra: "strict = true".into(),
                ..Tweaks::default()
            }
        };
        let config = env.write_config(&format!("strict-{strict}.toml"), &tweaks);
        inject_both();
        let output = env.list_with(&config, &["--format", "json"]).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "strict {strict}: {stderr}");
        check_strict(&clean, &json(&output), &stderr, &[strict], &[lenient]);
    }

    // Strict without a bad record changes nothing.
    let output = env.list(&["--format", "json", "--strict"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(ids(&json(&output)), ids(&clean));
}

// ---------------------------------------------------------------------------
// Cursor walks while one source keeps failing.

async fn walks_end_while_failing(failing: &str, fault: Fault) {
    let env = Env::generated().await;
    let healthy = if failing == "cms" { "kore" } else { "cms" };
    let clean = clean_listing(&env, &[]).await;
    let expected: Vec<String> = ids(&clean)
        .into_iter()
        .filter(|id| id.starts_with(&format!("{healthy}:")))
        .collect();
    let n = expected.len();
    assert!(n > 0);
    // Until cleared: every request of the walk fails.
    control(&env, failing).inject(fault, None);
    for limit in [4, 17] {
        // `walk` panics past this many pages: a loop cannot hang the test.
        let bound = n.div_ceil(limit) + 1;
        let pages: Vec<Page> = walk(&env, &env.config, limit, &[], bound).await;
        for (i, page) in pages.iter().enumerate() {
            let what = format!("limit {limit}, page {i}");
            assert_eq!(page.code, Some(3), "{what}: {}", page.stderr);
            let errors = errors(&page.document);
            assert!(!errors.is_empty(), "{what}: the failure is reported");
            for error in errors {
                assert_eq!(error["source"], failing, "{what}: {error}");
            }
            assert!(
                page.stderr
                    .contains(&format!("campaigns: source \"{failing}\" failed")),
                "{what}: {}",
                page.stderr
            );
            let listed = ids(&page.document).len();
            assert!(listed <= limit, "{what}: {listed} campaigns");
            if listed == 0 {
                assert!(
                    page.document["next_cursor"].is_null(),
                    "{what}: an empty page with a failure must not ask for more"
                );
            }
        }
        assert_eq!(
            walked_ids(&pages),
            expected,
            "limit {limit}: the healthy source whole, in order, once each"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_walks_end_while_kore_keeps_failing() {
    walks_end_while_failing("kore", Fault::Status(503)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_walks_end_while_cms_keeps_failing() {
    walks_end_while_failing("cms", Fault::Status(403)).await;
}

// ---------------------------------------------------------------------------
// Kore sorts against a server that sorts wrongly.

const SORTS: [&str; 3] = ["name:asc", "created_at:desc", "updated_at:asc"];

/// Kore data full of ties (runs of 3 sharing name and dates, every 4th
/// campaign), with the config's Kore pages of 7 so runs straddle pages.
async fn tied_env() -> Env {
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 11,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 5,
            kore_voice: 20,
            kore_sms: 17,
        })
        .kore_ties(4)
        .start()
        .await
        .expect("sandbox starts");
    Env::over(sandbox)
}

/// The sort key of `campaign` under `sort`, as a comparable string.
fn key(campaign: &Value, sort: &str) -> String {
    let field = sort.split(':').next().unwrap();
    let value = campaign[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {campaign}"));
    match field {
        "name" => value.to_owned(),
        // Parsed, so differently written instants still compare right.
        _ => DateTime::parse_from_rfc3339(value)
            .unwrap()
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    }
}

/// Checks that `document` is in `sort`'s order and that Kore ties occur in
/// it (adjacent campaigns with equal keys), so the fixture tests ties.
fn check_sorted_with_ties(document: &Value, sort: &str) {
    let keys: Vec<String> = campaigns(document).iter().map(|c| key(c, sort)).collect();
    let descending = sort.ends_with(":desc");
    for pair in keys.windows(2) {
        let ordered = if descending {
            pair[0] >= pair[1]
        } else {
            pair[0] <= pair[1]
        };
        assert!(ordered, "{sort}: {} then {}", pair[0], pair[1]);
    }
    assert!(
        keys.windows(2).any(|p| p[0] == p[1]),
        "{sort}: the data has ties"
    );
}

async fn kore_sorts_survive(fault: Fault) {
    let env = tied_env().await;
    let mut baselines = Vec::new();
    for sort in SORTS {
        let document = clean_listing(&env, &["--sort", sort]).await;
        check_sorted_with_ties(&document, sort);
        baselines.push(ids(&document));
    }
    // Until cleared: the whole of every listing and walk below.
    env.sandbox.kore().inject(fault.clone(), None);
    for (sort, baseline) in SORTS.iter().zip(&baselines) {
        let output = env.list(&["--format", "json", "--sort", sort]).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{fault:?} {sort}: {stderr}");
        let document = json(&output);
        assert!(errors(&document).is_empty(), "{fault:?} {sort}: {document}");
        assert_eq!(&ids(&document), baseline, "{fault:?} {sort}: same order");
        if fault == Fault::SortIgnored {
            assert!(
                warnings(&document).iter().any(|w| w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("did not sort"))),
                "{sort}: {document}"
            );
        }

        let pages = walk(
            &env,
            &env.config,
            5,
            &["--sort", sort],
            baseline.len().div_ceil(5) + 1,
        )
        .await;
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(
                page.code,
                Some(0),
                "{fault:?} {sort} page {i}: {}",
                page.stderr
            );
            assert!(
                errors(&page.document).is_empty(),
                "{fault:?} {sort} page {i}"
            );
            assert!(ids(&page.document).len() <= 5);
        }
        assert_eq!(
            &walked_ids(&pages),
            baseline,
            "{fault:?} {sort}: pages of 5 concatenate to the full listing"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kore_sorts_survive_a_server_requiring_sort_by_name() {
    kore_sorts_survive(Fault::SortNameRequired).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kore_sorts_survive_ties_broken_backwards() {
    kore_sorts_survive(Fault::TiesReversed).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kore_sorts_survive_a_server_ignoring_the_sort() {
    kore_sorts_survive(Fault::SortIgnored).await;
}

/// A server sorting each page alone: every page looks sorted, and only a
/// later page shows the order broken. A whole listing is read whole and
/// comes out in order; a walk of pages of 5 has handed out its first pages
/// by then, so it cannot be in order, but it loses and repeats nothing and
/// says the order broke.
#[tokio::test(flavor = "multi_thread")]
async fn kore_sorts_survive_a_server_sorting_each_page_alone() {
    let env = tied_env().await;
    for sort in SORTS {
        let baseline = ids(&clean_listing(&env, &["--sort", sort]).await);
        env.sandbox.kore().inject(Fault::SortedPerPage, None);
        let document = clean_listing(&env, &["--sort", sort]).await;
        assert_eq!(ids(&document), baseline, "{sort}: same order");
        let pages = walk(
            &env,
            &env.config,
            5,
            &["--sort", sort],
            baseline.len().div_ceil(5) + 1,
        )
        .await;
        env.sandbox.kore().clear_faults();
        let mut walked = walked_ids(&pages);
        let mut expected = baseline.clone();
        walked.sort();
        expected.sort();
        assert_eq!(walked, expected, "{sort}: each campaign once");
        let said = pages.iter().any(|page| {
            warnings(&page.document)
                .iter()
                .any(|w| w["source"] == "kore")
        });
        assert!(said, "{sort}: the broken order is reported");
    }
}
