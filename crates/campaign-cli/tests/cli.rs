//! End-to-end tests: the built `campaigns` binary against sandboxes started here.

mod common;

use std::collections::BTreeSet;

use assert_cmd::Command;
use campaign_sandbox::Fault;
use serde_json::Value;

use common::{ids, json, output_unread, text, walk, walked_ids, Env};

const TOTAL: usize = 15 * 2 + 20 + 17;

#[tokio::test(flavor = "multi_thread")]
async fn without_a_config_it_lists_the_embedded_sandbox() {
    let output = Command::cargo_bin("campaigns")
        .unwrap()
        .args(["list", "--format", "json"])
        .env_remove("CAMPAIGNS_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("embedded sandbox"));
    let document = json(&output);
    let names: Vec<&str> = document["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Mumbai Sales Dept"), "{names:?}");
    assert!(
        names.contains(&"Billing Reminder Voice Campaign123"),
        "{names:?}"
    );
    assert!(
        names.contains(&"Interactive Support SMS Campaign"),
        "{names:?}"
    );
    assert!(document["next_cursor"].is_null());
    assert_eq!(document["errors"], Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_lists_everything_in_the_default_order() {
    let env = Env::generated().await;
    let output = env.list(&["--format", "json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document = json(&output);
    let listed = ids(&document);
    assert_eq!(listed.len(), TOTAL);
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>().len(),
        TOTAL,
        "no duplicates"
    );
    let created: Vec<&str> = document["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["created_at"].as_str())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "created_at:desc by default");
    let first = &document["campaigns"][0];
    for field in [
        "id",
        "source",
        "provider",
        "native_id",
        "name",
        "channel",
        "contact_lists",
        "scope",
    ] {
        assert!(first.get(field).is_some(), "field {field} in {first}");
    }
    assert!(first.get("raw").is_none(), "raw only with --raw");

    let with_raw = json(&env.list(&["--format", "json", "--raw"]).await);
    assert!(with_raw["campaigns"][0]["raw"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_csv_and_table_carry_the_same_campaigns() {
    let env = Env::generated().await;
    let ndjson = env
        .list(&["--format", "ndjson", "--sort", "name:asc"])
        .await;
    assert_eq!(ndjson.status.code(), Some(0), "{}", text(&ndjson.stderr));
    let lines: Vec<Value> = text(&ndjson.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), TOTAL);
    let names: Vec<String> = lines
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "name:asc");

    let csv = env.list(&["--format", "csv", "--sort", "name:asc"]).await;
    assert_eq!(csv.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(csv.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert_eq!(&header[4], "name");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), TOTAL);
    let csv_ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    let ndjson_ids: Vec<&str> = lines.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(csv_ids, ndjson_ids);

    let table = env.list(&["--format", "table"]).await;
    assert_eq!(table.status.code(), Some(0));
    let table = text(&table.stdout);
    assert!(table.lines().next().unwrap().contains("NAME"));
    assert_eq!(table.lines().count(), TOTAL + 1, "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_reach_every_source() {
    let env = Env::generated().await;
    let all = json(&env.list(&["--format", "json", "--raw"]).await);
    let campaigns = all["campaigns"].as_array().unwrap().clone();

    let voice = json(&env.list(&["--format", "json", "--channel", "voice"]).await);
    let expected = campaigns.iter().filter(|c| c["channel"] == "voice").count();
    assert!(expected > 0);
    assert_eq!(ids(&voice).len(), expected);

    let active = json(
        &env.list(&["--format", "json", "--status", "active,paused"])
            .await,
    );
    let expected = campaigns
        .iter()
        .filter(|c| c["status"] == "active" || c["status"] == "paused")
        .count();
    assert_eq!(ids(&active).len(), expected);

    let by_name = json(&env.list(&["--format", "json", "--name", "a"]).await);
    let expected = campaigns
        .iter()
        .filter(|c| c["name"].as_str().unwrap().to_lowercase().contains('a'))
        .count();
    assert_eq!(ids(&by_name).len(), expected);

    let mut created: Vec<&str> = campaigns
        .iter()
        .filter_map(|c| c["created_at"].as_str())
        .collect();
    created.sort();
    let middle = created[created.len() / 2];
    let later = json(
        &env.list(&["--format", "json", "--created-from", middle])
            .await,
    );
    let expected = created.iter().filter(|c| **c >= middle).count();
    assert_eq!(ids(&later).len(), expected);
}

/// Every campaign `list` prints for `query_args`, walked in pages of 9
/// with `--limit` and `--cursor`.
async fn walk_with_cursors(env: &Env, query_args: &[&str]) -> Vec<String> {
    let pages = walk(env, &env.config, 9, query_args, 100).await;
    for page in &pages {
        assert_eq!(page.code, Some(0), "{}", page.stderr);
        assert!(ids(&page.document).len() <= 9);
    }
    walked_ids(&pages)
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_and_cursor_pages_concatenate_to_the_full_list() {
    let env = Env::generated().await;
    let sort = ["--sort", "updated_at:asc"];
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(&sort);
    let full = ids(&json(&env.list(&args).await));
    assert_eq!(walk_with_cursors(&env, &sort).await, full);

    // A cursor of another query is a usage error.
    let first = json(&env.list(&["--format", "json", "--limit", "5"]).await);
    let other = first["next_cursor"].as_str().unwrap().to_owned();
    let output = env
        .list(&[
            "--format", "json", "--limit", "5", "--sort", "name:asc", "--cursor", &other,
        ])
        .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cursor"));
    let output = env
        .list(&["--limit", "5", "--cursor", "not-a-cursor"])
        .await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn unsorted_pages_cover_every_campaign_once() {
    let env = Env::generated().await;
    let sorted = ids(&json(&env.list(&["--format", "json"]).await));
    let unsorted = ids(&json(&env.list(&["--format", "json", "--unsorted"]).await));
    let walked = walk_with_cursors(&env, &["--unsorted"]).await;
    let as_set = |ids: &[String]| {
        ids.iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(unsorted.len(), sorted.len());
    assert_ne!(unsorted, sorted, "arrival order is not the default sort");
    assert_eq!(walked.len(), sorted.len(), "no repeats across pages");
    assert_eq!(as_set(&unsorted), as_set(&sorted));
    assert_eq!(as_set(&walked), as_set(&sorted));
    let output = env.list(&["--unsorted", "--sort", "name:asc"]).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "--unsorted and --sort conflict"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_source_exits_3_and_the_others_are_printed() {
    let env = Env::generated().await;
    env.sandbox.kore().inject(Fault::Status(403), None);
    let output = env.list(&["--format", "json"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let document = json(&output);
    let listed = ids(&document);
    assert_eq!(listed.len(), 30);
    assert!(listed.iter().all(|id| id.starts_with("cms:")));
    // One failure per partition (channel) of the source.
    let errors = document["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    let mut partitions: Vec<&str> = errors
        .iter()
        .map(|e| e["partition"].as_str().unwrap_or_default())
        .collect();
    partitions.sort();
    assert_eq!(partitions, ["channel=sms", "channel=voice"]);
    for error in errors {
        assert_eq!(error["source"], "kore");
        assert_eq!(error["kind"], "forbidden");
        assert_eq!(error["status"], 403);
    }
    assert!(text(&output.stderr).contains("kore"));

    assert!(
        text(&output.stderr).contains("campaigns: source \"kore\" failed"),
        "{}",
        text(&output.stderr)
    );
    // One page as JSON: the errors on stderr too, not only in `errors`.
    let output = env.list(&["--format", "json", "--limit", "5"]).await;
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json(&output)["errors"].as_array().map(Vec::len), Some(2));
    assert!(
        text(&output.stderr).contains("campaigns: source \"kore\" failed"),
        "{}",
        text(&output.stderr)
    );

    // ndjson: errors on stderr only.
    let output = env.list(&["--format", "ndjson"]).await;
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(text(&output.stdout).lines().count(), 30);
    assert!(text(&output.stderr).contains("forbidden"));

    env.sandbox.cms().inject(Fault::Status(401), None);
    let output = env.list(&["--format", "json"]).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "nothing fetched: {}",
        text(&output.stderr)
    );
}

/// Kore reports a `totalResults` 10 too high on the first request only, so
/// the next page of that channel sees it change: a warning, not a failure.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_warning_goes_to_stderr_and_the_json_warnings() {
    let env = Env::generated().await;
    // Pages of 5, so each Kore channel takes several pages.
    let text_of = std::fs::read_to_string(&env.config).unwrap();
    let small_pages = text_of.replace("[defaults]\n", "[defaults]\npage_size = 5\n");
    assert_ne!(small_pages, text_of);
    std::fs::write(&env.config, small_pages).unwrap();
    env.sandbox.kore().inject(Fault::WrongTotalResults, Some(1));
    let output = env.list(&["--format", "json"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let document = json(&output);
    assert_eq!(ids(&document).len(), TOTAL);
    assert_eq!(document["errors"].as_array().unwrap().len(), 0);
    let warnings = document["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty(), "{document}");
    for warning in warnings {
        assert_eq!(warning["source"], "kore");
    }
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.contains("totalResults changed"), "{message}");
    // The warning names the channel (partition) and the request it concerns.
    let partition = warnings[0]["partition"].as_str().unwrap();
    assert!(partition.starts_with("channel="), "{partition}");
    let request = warnings[0]["request"].as_str().unwrap();
    assert!(request.contains("getAllCampaignDetails"), "{request}");
    assert!(
        stderr.contains(&format!(
            "campaigns: source \"kore\": warning: {partition}: {message} [request: {request}]"
        )),
        "{stderr}"
    );

    // Streamed formats: on stderr only, while stdout stays pure data.
    env.sandbox.kore().inject(Fault::WrongTotalResults, Some(1));
    let output = env.list(&["--format", "ndjson"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&output.stdout).lines().count(), TOTAL);
    assert!(
        stderr.contains("campaigns: source \"kore\": warning: ") && stderr.contains("totalResults"),
        "{stderr}"
    );

    // Without the fault: no warnings.
    let output = env.list(&["--format", "json"]).await;
    assert_eq!(json(&output)["warnings"], serde_json::json!([]));
    assert!(!text(&output.stderr).contains("warning"));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_errors_exit_2_with_a_clear_message() {
    let env = Env::generated().await;
    let cases: [(&str, &str, &[&str]); 4] = [
        ("unknown key", "[[sources]]\nname = \"a\"\nprovider = \"cms\"\nbase_url = \"https://x\"\ntoken = \"t\"\ncontact_center_ids = [1]\ncolour = 1\n", &["source \"a\"", "colour"]),
        ("unset env", "[[sources]]\nname = \"a\"\nprovider = \"cms\"\nbase_url = \"https://x\"\ntoken_env = \"CERTAINLY_UNSET_VAR\"\ncontact_center_ids = [1]\n", &["CERTAINLY_UNSET_VAR", "token_env"]),
        ("plain http", "[[sources]]\nname = \"a\"\nprovider = \"cms\"\nbase_url = \"http://cms.example.com\"\ntoken = \"t\"\ncontact_center_ids = [1]\n", &["source \"a\"", "https"]),
        ("duplicate", "[[sources]]\nname = \"a\"\nprovider = \"cms\"\nbase_url = \"https://x\"\ntoken = \"t\"\ncontact_center_ids = [1]\n[[sources]]\nname = \"a\"\nprovider = \"cms\"\nbase_url = \"https://y\"\ntoken = \"t\"\ncontact_center_ids = [1]\n", &["duplicate", "name"]),
    ];
    for (what, config, needles) in cases {
        let path = env.dir.path().join("bad.toml");
        std::fs::write(&path, config).unwrap();
        let output = env.run(&["list", "--config", path.to_str().unwrap()]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            text(&output.stderr)
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains("bad.toml"), "{what}: {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{what}: {needle} not in {stderr}");
        }
    }
    let output = env.run(&["list", "--config", "missing.toml"]).await;
    assert_eq!(output.status.code(), Some(2));
    let output = env.run(&["list", "--status", "bogus"]).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_show_even_at_trace() {
    let env = Env::generated().await;
    env.sandbox.kore().inject(Fault::Status(503), Some(1));
    env.sandbox.cms().inject(Fault::Status(401), Some(1));
    let config = env.config.to_str().unwrap().to_owned();
    for args in [
        vec![
            "-vvv", "list", "--config", &config, "--format", "json", "--raw",
        ],
        vec!["-vvv", "sources", "--config", &config],
    ] {
        let output = env.run(&args).await;
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(!all.is_empty());
        for secret in env.secrets() {
            assert!(!all.contains(&secret), "secret leaked by {args:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_shows_capabilities_and_a_live_check() {
    let env = Env::generated().await;
    let config = env.config.to_str().unwrap().to_owned();
    let output = env.run(&["sources", "--config", &config]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("cms\n  provider:        cms"), "{stdout}");
    // The CMS filters nothing; its source does it all on the downloaded lists.
    assert!(
        stdout.contains("server filters:  none (applied locally: channel, status"),
        "{stdout}"
    );
    assert!(
        stdout.contains("server sorts:    name, created_at"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reachable, authorized, 30 campaigns"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reachable, authorized, 37 campaigns"),
        "{stdout}"
    );

    env.sandbox.kore().inject(Fault::Status(401), None);
    let output = env.run(&["sources", "--config", &config]).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stdout).contains("NOT authorized"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_goes_away_ends_the_output_not_the_result() {
    let env = Env::generated().await;
    let config = env.config.to_str().unwrap().to_owned();
    let quiet = |output: &std::process::Output| {
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("cannot write"), "{stderr}");
        assert!(!stderr.contains("output closed"), "{stderr}");
    };
    for args in [
        vec!["list", "--config", &config, "--format", "ndjson"],
        vec!["sources", "--config", &config],
        vec!["providers"],
        vec!["providers", "--format", "json"],
    ] {
        let output = output_unread(env.process(&args)).await;
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        quiet(&output);
    }
    // `sources` checked every source before it wrote: its result stands.
    env.sandbox.kore().inject(Fault::Status(401), None);
    let output = output_unread(env.process(&["sources", "--config", &config])).await;
    assert_eq!(output.status.code(), Some(3));
    quiet(&output);
}
