//! Runs the examples `cargo test` has just built, so they stay working, not
//! merely compiling: the worked plugin must pass the conformance suite.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds examples into `target/<profile>/examples`, beside the
/// `deps` directory this test binary runs from.
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(name: &str) -> String {
    let path = example(name);
    let output = Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_custom_provider_passes_the_suite_and_joins_the_aggregate() {
    let stdout = run("custom_provider");
    assert_eq!(
        stdout.matches("conformance: PASS").count(),
        campaign_testkit::Check::ALL.len(),
        "{stdout}"
    );
    assert!(stdout.contains("from cms"), "{stdout}");
    assert!(stdout.contains("from kore"), "{stdout}");
    assert!(stdout.contains("from tiny"), "{stdout}");
}

#[test]
fn the_unified_view_walks_every_page() {
    let stdout = run("unified_view");
    // 2 contact centers x 10 + 12 voice + 8 sms.
    assert!(stdout.contains("40 campaigns in all"), "{stdout}");
    let listed: usize = stdout
        .lines()
        .filter(|l| l.starts_with("  cms:") || l.starts_with("  kore:"))
        .count();
    assert_eq!(listed, 40, "{stdout}");
}

/// The plugin binary: the `campaigns` command line over the built-in
/// providers plus TinyCRM, reading a config that mixes them.
#[test]
fn the_plugin_binary_runs_the_whole_cli_with_its_provider() {
    use campaign_testkit::fixture_campaigns;
    use examples::tinycrm::{serve_tinycrm, API_KEY};

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (tiny_url, sandbox) = runtime.block_on(async {
        let tiny = serve_tinycrm(fixture_campaigns("tiny")).await.unwrap();
        let sandbox = campaign_sandbox::Sandbox::start_default().await.unwrap();
        (tiny, sandbox)
    });
    let cms_count = sandbox.cms_contact_center_ids().len();
    assert!(cms_count > 0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    let ids: Vec<String> = sandbox
        .cms_contact_center_ids()
        .iter()
        .map(i64::to_string)
        .collect();
    let text = format!(
        "[[sources]]\nname = \"tiny\"\nprovider = \"tinycrm\"\nbase_url = \"{tiny_url}\"\n\
         api_key_env = \"TINY_API_KEY\"\n\n\
         [[sources]]\nname = \"cms\"\nprovider = \"cms\"\nbase_url = \"{}\"\n\
         token_env = \"CMS_TOKEN\"\ncontact_center_ids = [{}]\n",
        sandbox.cms_url(),
        ids.join(", ")
    );
    std::fs::write(&config, &text).unwrap();
    let cms_token = sandbox.credentials().cms_token.expose().to_owned();
    let run = |args: &[&str]| {
        Command::new(example("campaigns_tinycrm"))
            .args(args)
            .env("TINY_API_KEY", API_KEY)
            .env("CMS_TOKEN", &cms_token)
            .env_remove("CAMPAIGNS_CONFIG")
            .env_remove("CAMPAIGNS_STORE")
            .current_dir(dir.path())
            .output()
            .expect("the plugin binary runs")
    };
    let json = |output: &std::process::Output| -> serde_json::Value {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("a JSON document")
    };

    // `providers` knows TinyCRM beside the built-ins, with its keys.
    let providers = json(&run(&["providers", "--format", "json"]));
    let names: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert!(names.starts_with(&["cms", "kore"]), "{names:?}");
    assert!(names.contains(&"tinycrm"), "{names:?}");
    let tiny = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "tinycrm")
        .unwrap();
    assert_eq!(tiny["keys"][0]["name"], "base_url");
    assert_eq!(tiny["keys"][1]["name"], "api_key_env");

    // `list` merges its campaigns with the CMS ones, in one order.
    let config = config.to_str().unwrap();
    let listed = json(&run(&["list", "--config", config, "--format", "json"]));
    let campaigns = listed["campaigns"].as_array().unwrap();
    let from = |source: &str| {
        campaigns
            .iter()
            .filter(|c| c["id"].as_str().unwrap().starts_with(&format!("{source}:")))
            .count()
    };
    assert_eq!(from("tiny"), fixture_campaigns("tiny").len());
    assert!(from("cms") > 0);
    assert_eq!(from("tiny") + from("cms"), campaigns.len());
    assert_eq!(listed["errors"], serde_json::json!([]));

    // `sync` copies it into a store like any source.
    let store = format!("sqlite://{}", dir.path().join("s.db").display());
    let synced = json(&run(&[
        "sync", "--config", config, "--store", &store, "--format", "json",
    ]));
    let tiny_line = synced["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "tiny")
        .unwrap();
    assert_eq!(tiny_line["added"], fixture_campaigns("tiny").len());

    // Its config errors are the CLI's: exit 2, naming the source and the key.
    std::fs::write(
        dir.path().join("bad.toml"),
        text.replace("api_key_env", "colour = 1\napi_key_env"),
    )
    .unwrap();
    let bad = run(&["list", "--config", "bad.toml"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("source \"tiny\"") && stderr.contains("colour"),
        "{stderr}"
    );
    runtime.block_on(sandbox.shutdown());
}
