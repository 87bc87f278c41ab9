//! End-to-end tests of the store commands: the built `campaigns` binary
//! runs `sync`, `changes` and `list --store` against a generated sandbox,
//! with the store an SQLite file in the test's temporary directory.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use campaign_core::{Campaign, CampaignId, Scope};
use campaign_sandbox::{Fault, GeneratedData, Sandbox};
use chrono::Utc;
use serde_json::{json as value, Value};

use common::{
    campaigns, errors, ids, json, output, output_unread, text, walk_from, walked_ids, Env, Tweaks,
};

/// Campaigns of [`Env::standard_data`]: 2 contact centers × 15, 20 + 17.
const CMS: u64 = 30;
const KORE: u64 = 37;
const TOTAL: usize = (CMS + KORE) as usize;

/// `sqlite://<temp dir>/<file>`.
fn sqlite(env: &Env, file: &str) -> String {
    format!("sqlite://{}", env.dir.path().join(file).display())
}

fn config(env: &Env) -> &str {
    env.config.to_str().unwrap()
}

/// Asserts the exit code, showing stderr when it differs.
#[track_caller]
fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// `campaigns sync --config <config> --store <url> --format json <extra>`.
async fn sync(env: &Env, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sync", "--config", config(env), "--store", url];
    args.extend_from_slice(&["--format", "json"]);
    args.extend_from_slice(extra);
    env.run(&args).await
}

/// A successful sync's report.
async fn synced(env: &Env, url: &str, extra: &[&str]) -> Value {
    let output = sync(env, url, extra).await;
    expect_code(&output, 0);
    json(&output)
}

/// One source's line of a sync report.
#[track_caller]
fn line<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("no sources in {report}"))
        .iter()
        .find(|l| l["source"] == source)
        .unwrap_or_else(|| panic!("no {source} in {report}"))
}

/// A source line's (added, updated, deleted, unchanged).
#[track_caller]
fn counts(line: &Value) -> [u64; 4] {
    ["added", "updated", "deleted", "unchanged"]
        .map(|k| line[k].as_u64().unwrap_or_else(|| panic!("{k} in {line}")))
}

/// `campaigns changes --store <url> <extra>`.
async fn changes(env: &Env, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["changes", "--store", url];
    args.extend_from_slice(extra);
    env.run(&args).await
}

/// `changes --since <since> --format json <extra>`: the document.
async fn changes_json(env: &Env, url: &str, since: i64, extra: &[&str]) -> Value {
    let since = since.to_string();
    let mut args = vec!["--since", &since, "--format", "json"];
    args.extend_from_slice(extra);
    let output = changes(env, url, &args).await;
    expect_code(&output, 0);
    json(&output)
}

fn entries(document: &Value) -> &Vec<Value> {
    document["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes array in {document}"))
}

fn last_seq(document: &Value) -> i64 {
    document["last_seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no last_seq in {document}"))
}

/// `list --store <url> --format json <extra>`, which must succeed.
async fn store_list(env: &Env, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["list", "--store", url, "--format", "json"];
    args.extend_from_slice(extra);
    let output = env.run(&args).await;
    expect_code(&output, 0);
    json(&output)
}

/// The live `list --config <config> --format json <extra>`, which must succeed.
async fn live_list(env: &Env, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let output = env.list(&args).await;
    expect_code(&output, 0);
    json(&output)
}

/// The providers' campaigns as the live listing decodes them: (CMS, Kore).
async fn live(env: &Env) -> (Vec<Campaign>, Vec<Campaign>) {
    let document = live_list(env, &["--sort", "name:asc"]).await;
    campaigns(&document)
        .iter()
        .map(|c| serde_json::from_value::<Campaign>(c.clone()).expect("a campaign"))
        .partition(|c| &*c.id.source == "cms")
}

/// Loads the live campaigns back into the sandbox and returns them. A
/// campaign loaded through the control API gets a wire record rebuilt from
/// its fields, which differs from the generated one: loading the baseline
/// this way first means a later load of an edited copy changes only the
/// edited campaigns.
async fn reload_baseline(env: &Env) -> (Vec<Campaign>, Vec<Campaign>) {
    let (cms, kore) = live(env).await;
    assert_eq!(cms.len() as u64, CMS);
    assert_eq!(kore.len() as u64, KORE);
    assert_eq!(env.sandbox.cms().load_campaigns(&cms).len(), cms.len());
    assert_eq!(env.sandbox.kore().load_campaigns(&kore).len(), kore.len());
    (cms, kore)
}

/// `campaign` renamed, and (for Kore, read by last change) changed now.
fn renamed(campaign: &Campaign) -> Campaign {
    let mut campaign = campaign.clone();
    campaign.name.push_str(" (renamed)");
    campaign.updated_at = Some(Utc::now());
    campaign
}

/// A new campaign modelled on `like`, with native id `native`.
fn new_like(like: &Campaign, native: &str, name: &str) -> Campaign {
    let mut campaign = like.clone();
    campaign.id = CampaignId::new(like.id.source.clone(), native);
    campaign.name = name.to_owned();
    campaign.updated_at = Some(Utc::now());
    campaign.raw = None;
    campaign
}

/// The name of campaign `id` in a listing document, if listed.
fn name_in<'a>(document: &'a Value, id: &str) -> Option<&'a str> {
    campaigns(document)
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["name"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_sync_copies_everything_and_lists_as_live() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    let report = synced(&env, &url, &[]).await;
    assert_eq!(report["run"], 1, "{report}");
    assert_eq!(report["sources"].as_array().unwrap().len(), 2, "{report}");
    // The sync closed the store: its WAL is in the file and gone.
    assert!(!env.dir.path().join("c.db-wal").exists());
    for (source, count) in [("cms", CMS), ("kore", KORE)] {
        let line = line(&report, source);
        assert_eq!(counts(line), [count, 0, 0, 0], "{line}");
        assert_eq!(line["full"], true, "a first sync reads whole: {line}");
        assert!(line["error"].is_null(), "{line}");
    }
    // One request per contact center; Kore pages of 7: 3 voice + 3 SMS.
    assert!(line(&report, "cms")["requests"].as_u64().unwrap() >= 2);
    assert!(line(&report, "kore")["requests"].as_u64().unwrap() >= 6);

    // The store lists what the providers list: same ids, order, objects.
    for args in [
        &["--sort", "name:asc"][..],
        &[],
        &["--sort", "updated_at:asc", "--raw"],
        &["--channel", "sms", "--sort", "name:desc"],
        &["--name", "renewal", "--sort", "created_at:asc"],
    ] {
        let live = live_list(&env, args).await;
        let stored = store_list(&env, &url, args).await;
        assert!(!campaigns(&live).is_empty(), "{args:?}");
        assert_eq!(stored, live, "list --store {args:?}");
        assert!(errors(&stored).is_empty());
    }
    let everything = store_list(&env, &url, &["--raw"]).await;
    assert_eq!(ids(&everything).len(), TOTAL);
    assert!(campaigns(&everything)
        .iter()
        .all(|c| c["raw"].is_object() || c["raw"].is_array()));

    // The other formats print the same bytes from the store as live.
    for format in ["ndjson", "csv", "table"] {
        let args = ["--format", format, "--sort", "name:asc"];
        let live = env.list(&args).await;
        expect_code(&live, 0);
        let mut store_args = vec!["list", "--store", &url];
        store_args.extend_from_slice(&args);
        let stored = env.run(&store_args).await;
        expect_code(&stored, 0);
        assert_eq!(text(&stored.stdout), text(&live.stdout), "{format}");
    }

    // Pages of 7 through the cursors concatenate to the whole listing.
    for sort in ["name:asc", "created_at:desc"] {
        let whole = live_list(&env, &["--sort", sort]).await;
        let pages = walk_from(&env, &["list", "--store", &url], 7, &["--sort", sort], 20).await;
        assert_eq!(pages.len(), TOTAL.div_ceil(7), "{sort}");
        for page in &pages {
            assert_eq!(page.code, Some(0), "{}", page.stderr);
            assert!(campaigns(&page.document).len() <= 7);
        }
        assert_eq!(walked_ids(&pages), ids(&whole), "{sort}");
        let paged: Vec<&Value> = pages.iter().flat_map(|p| campaigns(&p.document)).collect();
        let whole: Vec<&Value> = campaigns(&whole).iter().collect();
        assert_eq!(paged, whole, "{sort}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resync_without_changes_writes_nothing() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    synced(&env, &url, &[]).await;

    // The first sync logged every campaign once, as `added`, seq 1..=67.
    let log = changes(&env, &url, &[]).await;
    expect_code(&log, 0);
    let lines: Vec<Value> = text(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an ndjson line"))
        .collect();
    assert_eq!(lines.len(), TOTAL);
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=TOTAL as i64).collect::<Vec<_>>());
    assert!(lines.iter().all(|l| l["action"] == "added"));
    let logged: BTreeSet<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    let listed: BTreeSet<String> = ids(&live_list(&env, &[]).await).into_iter().collect();
    assert_eq!(logged, listed);
    let last = last_seq(&changes_json(&env, &url, 0, &[]).await);
    assert_eq!(last, TOTAL as i64);

    // Again: CMS read whole, Kore incrementally, nothing written.
    let report = synced(&env, &url, &[]).await;
    assert_eq!(report["run"], 2, "{report}");
    assert_eq!(counts(line(&report, "cms")), [0, 0, 0, CMS]);
    let kore = line(&report, "kore");
    assert_eq!(counts(kore)[..3], [0, 0, 0], "{kore}");
    assert!(counts(kore)[3] <= KORE, "{kore}");
    assert_eq!(kore["full"], false, "Kore reads changes only: {kore}");
    // `--full` reads Kore whole: every campaign unchanged.
    let report = synced(&env, &url, &["--full"]).await;
    assert_eq!(report["run"], 3, "{report}");
    assert_eq!(counts(line(&report, "cms")), [0, 0, 0, CMS]);
    assert_eq!(counts(line(&report, "kore")), [0, 0, 0, KORE]);
    assert_eq!(line(&report, "kore")["full"], true);

    let since = last.to_string();
    let news = changes(&env, &url, &["--since", &since]).await;
    expect_code(&news, 0);
    assert_eq!(text(&news.stdout), "", "no news");
    assert_eq!(
        changes_json(&env, &url, last, &[]).await,
        value!({"changes": [], "last_seq": last})
    );
    // A `--since` past the log (a foreign or stale one) still gets the
    // store's own newest seq, to resume from.
    assert_eq!(
        last_seq(&changes_json(&env, &url, last + 100, &[]).await),
        last
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_at_the_providers_become_added_updated_and_deleted() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    let (mut cms, mut kore) = reload_baseline(&env).await;
    synced(&env, &url, &[]).await;
    let base = TOTAL as i64;

    // One rename, one removal, one addition at each provider.
    cms[0] = renamed(&cms[0]);
    let cms_gone = cms.remove(1);
    let cms_new = new_like(&cms[1], "990001", "Zz Added CMS Campaign");
    cms.push(cms_new.clone());
    kore[0] = renamed(&kore[0]);
    let kore_gone = kore.remove(1);
    let kore_new = new_like(&kore[1], "cd-store-test-added", "Zz Added Kore Campaign");
    kore.push(kore_new.clone());
    env.sandbox.cms().load_campaigns(&cms);
    env.sandbox.kore().load_campaigns(&kore);

    // CMS is read whole: all three. Kore's incremental read sees what
    // changed, but a deletion only in a complete listing (`--full`).
    let report = synced(&env, &url, &[]).await;
    assert_eq!(report["run"], 2);
    assert_eq!(counts(line(&report, "cms")), [1, 1, 1, CMS - 2], "{report}");
    let kore_line = line(&report, "kore");
    assert_eq!(counts(kore_line)[..3], [1, 1, 0], "{report}");
    assert_eq!(kore_line["full"], false, "{report}");
    let report = synced(&env, &url, &["--full"]).await;
    assert_eq!(report["run"], 3);
    assert_eq!(counts(line(&report, "cms")), [0, 0, 0, CMS], "{report}");
    assert_eq!(counts(line(&report, "kore")), [0, 0, 1, KORE], "{report}");

    // The log has exactly these six, without gaps, the Kore deletion last.
    let log = changes_json(&env, &url, base, &[]).await;
    let got = entries(&log);
    let seqs: Vec<i64> = got.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (base + 1..=base + 6).collect::<Vec<_>>(), "{log}");
    assert_eq!(last_seq(&log), base + 6);
    let actions: BTreeMap<String, &str> = got
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, &str> = [
        (cms[0].id.to_string(), "updated"),
        (cms_gone.id.to_string(), "deleted"),
        (cms_new.id.to_string(), "added"),
        (kore[0].id.to_string(), "updated"),
        (kore_gone.id.to_string(), "deleted"),
        (kore_new.id.to_string(), "added"),
    ]
    .into_iter()
    .collect();
    assert_eq!(actions, expected, "{log}");
    assert_eq!(got[5]["id"], kore_gone.id.to_string());
    for change in got {
        let id = change["id"].as_str().unwrap();
        assert_eq!(change["campaign"]["id"], id);
        assert_eq!(change["source"], id.split(':').next().unwrap());
        chrono::DateTime::parse_from_rfc3339(change["at"].as_str().unwrap()).expect("at");
        // An update carries the new state; a deletion the last one seen.
        let name = change["campaign"]["name"].as_str().unwrap();
        let expected = [
            &cms[0], &cms_gone, &cms_new, &kore[0], &kore_gone, &kore_new,
        ]
        .into_iter()
        .find(|c| c.id.to_string() == id)
        .unwrap();
        assert_eq!(name, expected.name, "{change}");
    }

    // ndjson (the default) carries the same entries, one per line.
    let ndjson = changes(&env, &url, &["--since", &base.to_string()]).await;
    expect_code(&ndjson, 0);
    let lines: Vec<Value> = text(&ndjson.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, got);
    // The table: a header, one row per change, the last seq.
    let table = changes(
        &env,
        &url,
        &["--since", &base.to_string(), "--format", "table"],
    )
    .await;
    expect_code(&table, 0);
    let table = text(&table.stdout);
    let rows: Vec<&str> = table.lines().collect();
    assert!(
        rows[0].contains("SEQ") && rows[0].contains("ACTION"),
        "{table}"
    );
    assert_eq!(rows.len(), 1 + 6 + 1, "{table}");
    assert!(rows[1].trim_start().starts_with(&(base + 1).to_string()));
    assert!(
        table.contains(&cms[0].name) && table.contains("deleted"),
        "{table}"
    );
    assert_eq!(rows[7], format!("last seq: {}", base + 6));
    // `--source` keeps that source's entries (last_seq still the newest).
    for source in ["kore", "cms"] {
        let only = changes_json(&env, &url, base, &["--source", source]).await;
        assert!(entries(&only).iter().all(|c| c["source"] == source));
        let got: BTreeMap<String, &str> = entries(&only)
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["action"].as_str().unwrap(),
                )
            })
            .collect();
        let wanted: BTreeMap<String, &str> = expected
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("{source}:")))
            .map(|(id, action)| (id.clone(), *action))
            .collect();
        assert_eq!(wanted.len(), 3);
        assert_eq!(got, wanted, "{only}");
        assert_eq!(last_seq(&only), base + 6);
    }

    // The store lists what the providers now list; deleted ones only on request.
    let live = live_list(&env, &["--sort", "name:asc"]).await;
    let stored = store_list(&env, &url, &["--sort", "name:asc"]).await;
    assert_eq!(stored, live);
    let listed = ids(&stored);
    assert_eq!(listed.len(), TOTAL);
    assert!(!listed.contains(&cms_gone.id.to_string()));
    assert!(!listed.contains(&kore_gone.id.to_string()));
    assert!(listed.contains(&kore_new.id.to_string()));
    assert_eq!(
        name_in(&stored, &cms[0].id.to_string()),
        Some(cms[0].name.as_str())
    );
    let with_deleted = store_list(&env, &url, &["--sort", "name:asc", "--include-deleted"]).await;
    let mut expected_ids: BTreeSet<String> = listed.iter().cloned().collect();
    expected_ids.insert(cms_gone.id.to_string());
    expected_ids.insert(kore_gone.id.to_string());
    let all: BTreeSet<String> = ids(&with_deleted).into_iter().collect();
    assert_eq!(all, expected_ids);
    assert_eq!(ids(&with_deleted).len(), TOTAL + 2);
    assert_eq!(
        name_in(&with_deleted, &kore_gone.id.to_string()),
        Some(kore_gone.name.as_str())
    );

    // Nothing changed since: no news.
    let news = changes(&env, &url, &["--since", &(base + 6).to_string()]).await;
    expect_code(&news, 0);
    assert_eq!(text(&news.stdout), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_source_keeps_its_rows_while_the_others_sync() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    let (mut cms, mut kore) = reload_baseline(&env).await;
    synced(&env, &url, &[]).await;
    let base = TOTAL as i64;

    // Kore fails (retries included) while both providers changed.
    env.sandbox.kore().inject(Fault::Status(503), None);
    let kore_before = kore.clone();
    cms[0] = renamed(&cms[0]);
    kore[0] = renamed(&kore[0]);
    let kore_gone = kore.remove(1);
    env.sandbox.cms().load_campaigns(&cms);
    env.sandbox.kore().load_campaigns(&kore);
    let output = sync(&env, &url, &["--full"]).await;
    expect_code(&output, 3);
    assert!(
        text(&output.stderr).contains("source \"kore\" failed"),
        "{}",
        text(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["run"], 2);
    let cms_line = line(&report, "cms");
    assert!(cms_line["error"].is_null(), "{report}");
    assert_eq!(counts(cms_line), [0, 1, 0, CMS - 1], "{report}");
    let kore_line = line(&report, "kore");
    assert!(
        kore_line["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{report}"
    );
    assert_eq!(counts(kore_line)[..3], [0, 0, 0], "{report}");

    // Kore's rows as they were (the removed one too); CMS's rename landed.
    let stored = store_list(&env, &url, &[]).await;
    assert_eq!(ids(&stored).len(), TOTAL);
    for campaign in &kore_before {
        let id = campaign.id.to_string();
        assert_eq!(name_in(&stored, &id), Some(campaign.name.as_str()), "{id}");
    }
    assert!(name_in(&stored, &kore_gone.id.to_string()).is_some());
    assert_eq!(
        name_in(&stored, &cms[0].id.to_string()),
        Some(cms[0].name.as_str())
    );
    let log = changes_json(&env, &url, base, &[]).await;
    assert_eq!(entries(&log).len(), 1, "only the CMS rename: {log}");
    assert_eq!(entries(&log)[0]["action"], "updated");
    assert_eq!(entries(&log)[0]["id"], cms[0].id.to_string());

    // A failed partition (one CMS contact center's one request, refused:
    // whichever center asks first, as partitions sync side by side) keeps
    // its rows; the other contact center syncs.
    env.sandbox.kore().clear_faults();
    env.sandbox.cms().inject(Fault::Status(403), Some(1));
    let in_center = |center: i64| {
        cms.iter()
            .position(|c| {
                matches!(c.scope, Scope::ContactCenter { contact_center_id, .. }
                    if contact_center_id == center)
            })
            .unwrap()
    };
    let (first, second) = (in_center(1), in_center(2));
    cms[first] = renamed(&cms[first]);
    cms[second] = renamed(&cms[second]);
    env.sandbox.cms().load_campaigns(&cms);
    let output = sync(&env, &url, &["--full"]).await;
    expect_code(&output, 3);
    let report = json(&output);
    let cms_line = line(&report, "cms");
    assert!(cms_line["error"].is_string(), "{report}");
    assert_eq!(counts(cms_line)[..3], [0, 1, 0], "{report}");
    // Kore is back: its rename and removal are synced now.
    let kore_line = line(&report, "kore");
    assert!(kore_line["error"].is_null(), "{report}");
    assert_eq!(counts(kore_line), [0, 1, 1, KORE - 2], "{report}");
    // The error names the one center that failed.
    let error = cms_line["error"].as_str().unwrap_or_default();
    let named: Vec<i64> = [1, 2]
        .into_iter()
        .filter(|center| error.contains(&format!("(contact_center={center})")))
        .collect();
    assert_eq!(named.len(), 1, "{report}");
    let failed = named[0];
    let stored = store_list(&env, &url, &[]).await;
    let landed = [first, second]
        .map(|i| name_in(&stored, &cms[i].id.to_string()) == Some(cms[i].name.as_str()));
    assert_eq!(
        landed,
        [failed != 1, failed != 2],
        "contact center {failed} failed, the other synced: {report}"
    );
    // The next sync completes it.
    let report = synced(&env, &url, &[]).await;
    assert_eq!(counts(line(&report, "cms")), [0, 1, 0, CMS - 1], "{report}");
    let stored = store_list(&env, &url, &[]).await;
    let retried = if failed == 1 { first } else { second };
    assert_eq!(
        name_in(&stored, &cms[retried].id.to_string()),
        Some(cms[retried].name.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn all_sources_failing_exit_1_and_source_picks_what_to_sync() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    env.sandbox.cms().inject(Fault::Status(403), None);
    env.sandbox.kore().inject(Fault::Status(403), None);
    let output = sync(&env, &url, &[]).await;
    expect_code(&output, 1);
    let report = json(&output);
    for source in ["cms", "kore"] {
        let line = line(&report, source);
        assert!(line["error"].is_string(), "{report}");
        assert_eq!(counts(line), [0, 0, 0, 0], "{report}");
    }
    assert_eq!(entries(&changes_json(&env, &url, 0, &[]).await).len(), 0);

    // `--source cms` syncs only the CMS: Kore, still failing, is not asked.
    env.sandbox.cms().clear_faults();
    let kore_requests = env.sandbox.kore().request_count();
    let report = synced(&env, &url, &["--source", "cms"]).await;
    let sources = report["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{report}");
    assert_eq!(counts(line(&report, "cms")), [CMS, 0, 0, 0]);
    assert_eq!(env.sandbox.kore().request_count(), kore_requests);
    // Only the failing source asked for: nothing synced, exit 1.
    let output = sync(&env, &url, &["--source", "kore"]).await;
    expect_code(&output, 1);
    assert_eq!(json(&output)["sources"].as_array().unwrap().len(), 1);
    // Both named: both synced.
    env.sandbox.kore().clear_faults();
    let report = synced(&env, &url, &["--source", "kore", "--source", "cms"]).await;
    assert_eq!(report["sources"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(counts(line(&report, "kore")), [KORE, 0, 0, 0]);
    assert_eq!(counts(line(&report, "cms"))[..3], [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let env = Env::generated().await;

    // An unknown source: refused before the store is created.
    let url = sqlite(&env, "unknown.db");
    let output = sync(&env, &url, &["--source", "nope"]).await;
    expect_code(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("cms, kore"),
        "{stderr}"
    );
    assert!(!env.dir.path().join("unknown.db").exists());

    // A file that is not a store is refused by every command, and kept.
    let junk = env.dir.path().join("junk.db");
    let bytes = b"this is a text file, not a campaigns store\n".repeat(30);
    std::fs::write(&junk, &bytes).unwrap();
    let url = sqlite(&env, "junk.db");
    for args in [
        vec!["sync", "--config", config(&env), "--store", &url],
        vec!["list", "--store", &url],
        vec!["changes", "--store", &url],
    ] {
        let output = env.run(&args).await;
        expect_code(&output, 2);
        assert!(
            text(&output.stderr).contains("not a campaigns store"),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(std::fs::read(&junk).unwrap(), bytes, "never reset");

    // A scheme that is neither sqlite nor postgres.
    for args in [
        vec!["sync", "--config", config(&env), "--store", "mysql://h/db"],
        vec!["list", "--store", "mysql://h/db"],
        vec!["changes", "--store", "mysql://h/db"],
    ] {
        let output = env.run(&args).await;
        expect_code(&output, 2);
        assert!(
            text(&output.stderr).contains("sqlite"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    // Readers never create a store: a mistyped path is an error.
    let typo = sqlite(&env, "typo.db");
    for args in [
        vec!["list", "--store", &typo],
        vec!["changes", "--store", &typo],
    ] {
        let output = env.run(&args).await;
        expect_code(&output, 2);
        assert!(
            text(&output.stderr).contains("does not exist"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    assert!(!env.dir.path().join("typo.db").exists());
    // Nor does a writer make directories.
    let nowhere = sqlite(&env, "no/such/dir/c.db");
    let output = sync(&env, &nowhere, &[]).await;
    expect_code(&output, 2);
    assert!(!env.dir.path().join("no").exists());

    // A bad `--watch`, and `--include-deleted` without `--store`: clap's.
    let output = env
        .run(&["sync", "--config", config(&env), "--watch", "soon"])
        .await;
    expect_code(&output, 2);
    let output = env
        .run(&["list", "--config", config(&env), "--include-deleted"])
        .await;
    expect_code(&output, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_is_the_flag_else_the_env_else_the_config_else_the_default() {
    let env = Env::generated().await;
    let dir = env.dir.path();
    let with_store = env.write_config("with-store.toml", &Tweaks::default());
    let configured = format!(
        "{}\n[store]\nurl = \"{}\"\n",
        std::fs::read_to_string(&with_store).unwrap(),
        sqlite(&env, "configured.db")
    );
    std::fs::write(&with_store, configured).unwrap();
    let with_store = with_store.to_str().unwrap();
    let env_url = sqlite(&env, "from-env.db");
    // `sync` without `--store`, with the config and `CAMPAIGNS_STORE` given.
    let run = |config: &str, store_var: Option<&str>, cwd: &Path| {
        let mut command = env.command(&["sync", "--config", config, "--format", "json"]);
        if let Some(url) = store_var {
            command.env("CAMPAIGNS_STORE", url);
        }
        command.current_dir(cwd);
        output(command)
    };
    let run_number = |output: &Output| {
        expect_code(output, 0);
        json(output)["run"].as_i64().unwrap()
    };

    // The config's [store] url when nothing else names one.
    assert_eq!(run_number(&run(with_store, None, dir).await), 1);
    assert!(dir.join("configured.db").exists());
    // CAMPAIGNS_STORE over the config.
    assert_eq!(run_number(&run(with_store, Some(&env_url), dir).await), 1);
    assert!(dir.join("from-env.db").exists());
    // --store over both.
    let mut command = env.command(&[
        "sync",
        "--config",
        with_store,
        "--store",
        &sqlite(&env, "flag.db"),
        "--format",
        "json",
    ]);
    command.env("CAMPAIGNS_STORE", &env_url);
    assert_eq!(run_number(&output(command).await), 1);
    assert!(dir.join("flag.db").exists());
    // Each sync went to its own store: the env's has one run so far.
    assert_eq!(run_number(&run(config(&env), Some(&env_url), dir).await), 2);
    assert_eq!(run_number(&run(with_store, None, dir).await), 2);

    // Nothing names one: campaigns.db in the working directory (not the
    // config's).
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    assert_eq!(run_number(&run(config(&env), None, &work).await), 1);
    assert!(work.join("campaigns.db").exists());
    assert!(!dir.join("campaigns.db").exists());
    assert_eq!(run_number(&run(config(&env), None, &work).await), 2);

    // `changes` reads CAMPAIGNS_STORE, else campaigns.db, too.
    let mut command = env.command(&["changes", "--format", "json"]);
    command.env("CAMPAIGNS_STORE", &env_url);
    let from_env = output(command).await;
    expect_code(&from_env, 0);
    assert_eq!(last_seq(&json(&from_env)), TOTAL as i64);
    let mut command = env.command(&["changes", "--format", "json"]);
    command.current_dir(&work);
    let from_default = output(command).await;
    expect_code(&from_default, 0);
    assert_eq!(entries(&json(&from_default)).len(), TOTAL);

    // `list --store` reads no config: a missing CAMPAIGNS_CONFIG is no
    // matter (the live listing, which reads it, fails on it).
    let missing = dir.join("missing.toml");
    let missing = missing.to_str().unwrap();
    let mut command = env.command(&["list", "--store", &env_url, "--format", "json"]);
    command.env("CAMPAIGNS_CONFIG", missing);
    let listed = output(command).await;
    expect_code(&listed, 0);
    assert_eq!(ids(&json(&listed)).len(), TOTAL);
    let mut command = env.command(&["list", "--format", "json"]);
    command.env("CAMPAIGNS_CONFIG", missing);
    let live = output(command).await;
    expect_code(&live, 2);
}

/// `campaigns sync --watch <every> --format json` as a child process, its
/// stdout lines (one report per run) sent to the returned channel.
fn spawn_watch(
    env: &Env,
    url: &str,
    every: &str,
) -> (Child, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let mut child = env
        .process(&["sync", "--config", config(env), "--store", url])
        .args(["--watch", every, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn campaigns sync --watch");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The next run's report, within `timeout`.
async fn next_run(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    timeout: Duration,
) -> Value {
    let line = tokio::time::timeout(timeout, lines.recv())
        .await
        .expect("a run within the timeout")
        .expect("the watch is still running");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// Sends SIGINT (Ctrl-C) to `child`: `kill -INT`, no libc needed.
fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits up to `timeout` for `child` to exit; `None` if it did not.
async fn exited(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_syncs_every_interval_until_stopped() {
    let env = Env::generated().await;
    let url = sqlite(&env, "c.db");
    let (mut cms, _) = reload_baseline(&env).await;
    let wait = Duration::from_secs(10);

    // Runs 1 and 2, an interval apart; Ctrl-C in the pause ends it with 0.
    let (mut child, mut lines) = spawn_watch(&env, &url, "1s");
    let first = next_run(&mut lines, wait).await;
    let after_first = Instant::now();
    assert_eq!(first["run"], 1, "{first}");
    assert_eq!(counts(line(&first, "cms")), [CMS, 0, 0, 0]);
    let second = next_run(&mut lines, wait).await;
    assert_eq!(second["run"], 2, "{second}");
    assert!(after_first.elapsed() >= Duration::from_millis(900));
    assert_eq!(counts(line(&second, "cms")), [0, 0, 0, CMS]);
    // Well inside the 1 s pause (a run takes a few milliseconds here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    interrupt(&child);
    let status = exited(&mut child, Duration::from_secs(5)).await;
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "Ctrl-C stops it");
    assert!(
        !env.dir.path().join("c.db-wal").exists(),
        "closed on Ctrl-C"
    );

    // Another watch sees an edit made between its runs, then is killed.
    let (mut child, mut lines) = spawn_watch(&env, &url, "1s");
    let third = next_run(&mut lines, wait).await;
    assert_eq!(third["run"], 3, "{third}");
    cms[0] = renamed(&cms[0]);
    env.sandbox.cms().load_campaigns(&cms);
    let fourth = next_run(&mut lines, wait).await;
    assert_eq!(fourth["run"], 4, "{fourth}");
    assert_eq!(counts(line(&fourth, "cms")), [0, 1, 0, CMS - 1]);
    child.kill().expect("kill -9");
    child.wait().unwrap();

    // The store opens, is not left locked, and a normal sync works.
    let output = sync(&env, &url, &[]).await;
    expect_code(&output, 0);
    assert!(!text(&output.stderr).contains("skipped"));
    let report = json(&output);
    assert_eq!(report["run"], 5, "{report}");
    for source in ["cms", "kore"] {
        assert!(line(&report, source)["busy"].is_null(), "{report}");
    }
    let stored = store_list(&env, &url, &[]).await;
    assert_eq!(ids(&stored).len(), TOTAL);
    assert_eq!(
        name_in(&stored, &cms[0].id.to_string()),
        Some(cms[0].name.as_str())
    );
    assert_eq!(
        last_seq(&changes_json(&env, &url, 0, &[]).await),
        TOTAL as i64 + 1
    );
}

/// A Ctrl-C while a `--watch` run syncs (not only in the pause between
/// runs) stops the watch.
#[tokio::test(flavor = "multi_thread")]
async fn watch_stops_on_ctrl_c_during_a_run() {
    // Latency makes each run last well over a second.
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            kore_voice: 7,
            kore_sms: 7,
            ..Env::standard_data()
        })
        .latency(Duration::from_millis(400))
        .start()
        .await
        .unwrap();
    let env = Env::over(sandbox);
    let url = sqlite(&env, "c.db");
    let (mut child, mut lines) = spawn_watch(&env, &url, "1s");
    next_run(&mut lines, Duration::from_secs(20)).await;
    // Past the 1 s pause, inside run 2 (CMS: two requests of 400 ms).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    interrupt(&child);
    let status = exited(&mut child, Duration::from_secs(8)).await;
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let status = status.expect("still syncing 8 s after Ctrl-C");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_whose_reader_went_away_still_reports_its_result() {
    let env = Env::generated().await;
    let url = sqlite(&env, "gone.db");
    let unread_sync = |extra: &[&str]| {
        let mut command = env.process(&["sync", "--config", config(&env), "--store", &url]);
        command.args(extra);
        output_unread(command)
    };
    // The sync is done before its report is written: the reader's going
    // away changes neither what was synced nor the exit code.
    for format in ["table", "json"] {
        let output = unread_sync(&["--format", format]).await;
        expect_code(&output, 0);
        assert!(!text(&output.stderr).contains("output closed"));
    }
    assert_eq!(ids(&store_list(&env, &url, &[]).await).len(), TOTAL);
    env.sandbox.kore().inject(Fault::Status(503), None);
    expect_code(&unread_sync(&["--full"]).await, 3);
    env.sandbox.cms().inject(Fault::Status(503), None);
    expect_code(&unread_sync(&["--full"]).await, 1);

    let output = output_unread(env.process(&["changes", "--store", &url])).await;
    expect_code(&output, 0);

    // A watch whose reports nobody reads any more ends after the run it
    // could not report (`sync --watch 1s | head -1`), rather than syncing on
    // for no one.
    env.sandbox.cms().clear_faults();
    env.sandbox.kore().clear_faults();
    let watch = tokio::time::timeout(
        Duration::from_secs(60),
        unread_sync(&["--watch", "1s", "--format", "json"]),
    )
    .await
    .expect("the watch ended by itself");
    expect_code(&watch, 0);
}
