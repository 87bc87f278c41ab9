//! End-to-end tests of `campaigns serve` with a store: the change log and
//! the campaigns it answers are those `campaigns changes` and `list --store`
//! print, and a server left to sync its store fills it in the background.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{assert_error, campaigns, cli_list, ids, json, metric, run_in, serve_embedded, text};

/// `sqlite://<dir>/<file>`.
fn sqlite(dir: &Path, file: &str) -> String {
    format!("sqlite://{}", dir.join(file).display())
}

/// `campaigns changes --store <url> --format json <extra>`; exit 0.
async fn cli_changes(dir: &Path, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["changes", "--store", url, "--format", "json"];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    json(&out)
}

fn entries(document: &Value) -> &Vec<Value> {
    document["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes array in {document}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_need_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    let (status, body) = server.get("/v1/changes?since=0&limit=10").await;
    assert_error("changes", status, &body, (409, "no_store", None));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("--store"), "{message}");
}

/// A store synced by `campaigns sync`, served without syncing: the same
/// change log as `campaigns changes`, paged by `since`/`limit`, and the
/// same campaigns as `list --store`.
#[tokio::test(flavor = "multi_thread")]
async fn a_synced_store_is_served_as_the_cli_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(dir.path(), "x.db");
    let synced = run_in(dir.path(), &["sync", "--store", &url]).await;
    assert_eq!(synced.status.code(), Some(0), "{}", text(&synced.stderr));
    let server = serve_embedded(dir.path(), &["--store", &url, "--sync-every", "0"]).await;
    assert!(
        server.stderr().contains("from the store (not synced)"),
        "{}",
        server.stderr()
    );

    let expected = cli_changes(dir.path(), &url, &[]).await;
    let all = entries(&expected);
    assert!(all.len() >= 3, "{expected}");
    let last_seq = expected["last_seq"].as_i64().unwrap();
    for path in ["/v1/changes?since=0&limit=1000", "/v1/changes"] {
        let (status, got) = server.get(path).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got, expected, "{path}");
    }
    // Pages of 2: each resumes from the last seq of the one before.
    let mut walked = Vec::new();
    let mut since = 0;
    loop {
        let (status, page) = server
            .get(&format!("/v1/changes?since={since}&limit=2"))
            .await;
        assert_eq!(status, 200, "{page}");
        let got = entries(&page);
        assert!(got.len() <= 2);
        if got.is_empty() {
            assert_eq!(page["last_seq"], last_seq, "{page}");
            break;
        }
        assert_eq!(page["last_seq"], got.last().unwrap()["seq"], "{page}");
        since = page["last_seq"].as_i64().unwrap();
        walked.extend(got.iter().cloned());
        assert!(walked.len() <= all.len(), "the walk does not end");
    }
    assert_eq!(&walked, all);
    let middle = all[all.len() / 2]["seq"].as_i64().unwrap();
    let (_, got) = server.get(&format!("/v1/changes?since={middle}")).await;
    let from_cli = cli_changes(dir.path(), &url, &["--since", &middle.to_string()]).await;
    assert_eq!(got, from_cli, "since={middle}");

    // Campaigns come from the store, as `list --store` lists them.
    for (query, flags) in [
        ("limit=1000", &[][..]),
        (
            "limit=1000&sort=name:asc&raw=true",
            &["--sort", "name:asc", "--raw"],
        ),
    ] {
        let mut args = vec!["--store", &url];
        args.extend_from_slice(flags);
        let listed = cli_list(dir.path(), &args).await;
        let (status, got) = server.get(&format!("/v1/campaigns?{query}")).await;
        assert_eq!(status, 200, "{got}");
        for key in ["campaigns", "errors", "warnings"] {
            assert_eq!(got[key], listed[key], "{query}: {key}");
        }
    }
    let (status, got) = server
        .get("/v1/campaigns?limit=1000&include_deleted=true")
        .await;
    assert_eq!(status, 200, "{got}");
    let (_, current) = server.get("/v1/campaigns?limit=1000").await;
    assert_eq!(ids(&got), ids(&current), "nothing was deleted");
    // A cursor walk over the store.
    let (mut walked, mut cursor) = (Vec::new(), String::new());
    for _ in 0..=ids(&current).len() {
        let (status, page) = server.get(&format!("/v1/campaigns?limit=4{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        walked.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(walked, ids(&current));

    // One campaign by id, read by its key, as the listing has it.
    let (_, with_raw) = server.get("/v1/campaigns?limit=1000&raw=true").await;
    for listed in campaigns(&with_raw).iter().step_by(7) {
        let id = listed["id"].as_str().unwrap();
        let (status, got) = server.get(&format!("/v1/campaigns/{id}?raw=true")).await;
        assert_eq!(status, 200, "{id}: {got}");
        assert_eq!(&got, listed, "{id}");
    }
    let first = ids(&current)[0].clone();
    let (source, _) = first.split_once(':').unwrap();
    for unknown in [format!("{source}:no-such-id"), format!("nosuch:{first}")] {
        let (status, body) = server.get(&format!("/v1/campaigns/{unknown}")).await;
        assert_error(&unknown, status, &body, (404, "not_found", None));
    }

    let (_, sources) = server.get("/v1/sources").await;
    assert_eq!(sources["store"], true, "{sources}");
    for source in sources["sources"].as_array().unwrap() {
        assert!(source["last_sync"].is_null(), "never synced: {source}");
    }
}

/// With the default `--sync-every`, the server syncs its store at start:
/// `/v1/sources` reports each source's sync, the change log holds what it
/// added, `/metrics` counts it, and SIGTERM stops the server cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_syncs_its_store_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(dir.path(), "y.db");
    #[allow(unused_mut)]
    let mut server = serve_embedded(dir.path(), &["--store", &url]).await;
    assert!(
        server.stderr().contains("from the store, synced every 5m"),
        "{}",
        server.stderr()
    );
    let started = Instant::now();
    let sources = loop {
        let (status, sources) = server.get("/v1/sources").await;
        assert_eq!(status, 200, "{sources}");
        let list = sources["sources"].as_array().unwrap();
        if list.iter().all(|s| !s["last_sync"].is_null()) {
            break list.clone();
        }
        assert!(
            started.elapsed() < common::SERVER_DEADLINE,
            "no sync: {sources}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected = cli_changes(dir.path(), &url, &[]).await;
    let (status, got) = server.get("/v1/changes?since=0&limit=1000").await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, expected);
    let (_, listed) = server.get("/v1/campaigns?limit=1000").await;
    assert_eq!(campaigns(&listed).len(), entries(&expected).len());

    let (_, metrics) = server.get_text("/metrics", None).await;
    for source in &sources {
        let name = source["name"].as_str().unwrap();
        let sync = &source["last_sync"];
        assert!(sync["error"].is_null(), "{source}");
        assert_eq!(sync["full"], true, "{source}");
        assert_eq!(source["health"]["status"], "ok", "{source}");
        let added = entries(&expected)
            .iter()
            .filter(|c| c["source"] == name && c["action"] == "added")
            .count();
        assert!(added > 0, "{name}");
        assert_eq!(sync["added"], added, "{source}");
        let runs = format!("campaigns_sync_runs_total{{source=\"{name}\",outcome=\"ok\"}}");
        assert_eq!(metric(&metrics, &runs), Some(1.0), "{runs} in\n{metrics}");
        let changes = format!("campaigns_sync_changes_total{{source=\"{name}\",action=\"added\"}}");
        assert_eq!(
            metric(&metrics, &changes),
            Some(added as f64),
            "{changes} in\n{metrics}"
        );
    }
    #[cfg(unix)]
    {
        let status = server.terminate().await;
        assert_eq!(status.code(), Some(0), "{}", server.stderr());
        assert!(server.stderr().contains("campaigns: stopped"));
    }
}
