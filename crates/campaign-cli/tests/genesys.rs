//! Genesys Cloud through the `campaigns` binary: a `provider = "genesys"`
//! source configured by its contract keys, merged with CMS and Kore.ai.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use campaign_sandbox::{Fault, Sandbox};
use serde_json::Value;

use common::{campaigns, ids, json, output, text, Env, Tweaks};

const GENESYS_SECRET_VAR: &str = "TEST_GENESYS_SECRET";
/// Generated Genesys campaigns, beside the standard CMS and Kore.ai data.
const GENESYS: usize = 23;
const TOTAL: usize = 15 * 2 + 20 + 17 + GENESYS;

/// The standard sandbox plus generated Genesys campaigns, and a config with
/// all three providers (`genesys_extra` added to the Genesys table).
async fn three_providers(genesys_extra: &str) -> (Env, PathBuf) {
    let sandbox = Sandbox::builder()
        .generated(Env::standard_data())
        .genesys_generated(GENESYS)
        .start()
        .await
        .expect("sandbox starts");
    let env = Env::over(sandbox);
    let path = write_three(&env, "three.toml", genesys_extra);
    (env, path)
}

/// Writes the three providers' config as `name`, `genesys_extra` added to
/// the Genesys table.
fn write_three(env: &Env, name: &str, genesys_extra: &str) -> PathBuf {
    let path = env.dir.path().join(name);
    let genesys = format!(
        "\n[[sources]]\nname = \"genesys\"\nprovider = \"genesys\"\nbase_url = \"{url}\"\n\
         login_url = \"{url}\"\nclient_id = \"{client}\"\n\
         client_secret_env = \"{GENESYS_SECRET_VAR}\"\nrate_limit_per_minute = 0\n\
         page_size = 5\n{genesys_extra}\n",
        url = env.sandbox.genesys_url(),
        client = env.sandbox.credentials().genesys_client_id,
    );
    let text = Env::config_text(&env.sandbox, &Tweaks::default()) + &genesys;
    std::fs::write(&path, text).unwrap();
    path
}

/// `campaigns list --config <config> <args>` with the Genesys secret set.
async fn list(env: &Env, config: &std::path::Path, args: &[&str]) -> Output {
    let config = config.to_str().unwrap();
    let mut all = vec!["list", "--config", config];
    all.extend_from_slice(args);
    let mut command = env.command(&all);
    command.env(
        GENESYS_SECRET_VAR,
        env.sandbox.credentials().genesys_client_secret.expose(),
    );
    output(command).await
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_campaigns_merge_with_cms_and_kore_in_one_order() {
    let (env, config) = three_providers("").await;
    let output = list(&env, &config, &["--format", "json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document = json(&output);
    let listed = ids(&document);
    assert_eq!(listed.len(), TOTAL);
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), TOTAL);
    let genesys: Vec<&Value> = campaigns(&document)
        .iter()
        .filter(|c| c["source"] == "genesys")
        .collect();
    assert_eq!(genesys.len(), GENESYS);
    for campaign in &genesys {
        assert_eq!(campaign["provider"], "genesys");
        assert_eq!(campaign["channel"], "voice");
        assert!(campaign["created_at"].is_string(), "{campaign}");
        assert!(
            campaign["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("genesys:")),
            "{campaign}"
        );
    }
    let created: Vec<&str> = campaigns(&document)
        .iter()
        .filter_map(|c| c["created_at"].as_str())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "created_at:desc across the providers");

    // A filter Genesys cannot run (status) runs locally, with the same
    // result as filtering the whole list.
    let output = list(&env, &config, &["--format", "json", "--status", "active"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let active: Vec<String> = campaigns(&document)
        .iter()
        .filter(|c| c["status"] == "active")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(active.iter().any(|id| id.starts_with("genesys:")));
    assert_eq!(ids(&json(&output)), active);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_of_the_three_providers_concatenate_to_the_full_list() {
    let (env, config) = three_providers("").await;
    let full = ids(&json(
        &list(&env, &config, &["--format", "json", "--sort", "name:asc"]).await,
    ));
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=TOTAL.div_ceil(11) {
        let mut args = vec!["--format", "json", "--sort", "name:asc", "--limit", "11"];
        if let Some(c) = cursor.as_deref() {
            args.extend_from_slice(&["--cursor", c]);
        }
        let output = list(&env, &config, &args).await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let document = json(&output);
        walked.extend(ids(&document));
        cursor = document["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "the walk ends");
    assert_eq!(walked, full);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_genesys_is_reported_and_the_others_are_delivered() {
    let (env, config) = three_providers("").await;
    env.sandbox.genesys().inject(Fault::Status(403), None);
    let output = list(&env, &config, &["--format", "json"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let document = json(&output);
    let listed = ids(&document);
    assert_eq!(listed.len(), TOTAL - GENESYS);
    assert!(!listed.iter().any(|id| id.starts_with("genesys:")));
    let errors = document["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for error in errors {
        assert_eq!(error["source"], "genesys", "{error}");
        assert_eq!(error["status"], 403, "{error}");
    }
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("campaigns: source \"genesys\" failed"),
        "{stderr}"
    );
    let secret = env.sandbox.credentials().genesys_client_secret.expose();
    assert!(!stderr.contains(secret) && !text(&output.stdout).contains(secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_config_errors_name_the_key_and_exit_2() {
    let (env, _) = three_providers("").await;
    for (extra, key) in [
        ("prefetch = 0", "prefetch"),
        ("division_ids = [\"a\", \"a\"]", "division_ids[1]"),
        ("colour = \"blue\"", "colour"),
        ("token_env = \"ALSO_A_TOKEN\"", "token_env"),
    ] {
        let config = write_three(&env, "bad.toml", extra);
        let output = list(&env, &config, &["--format", "json"]).await;
        assert_eq!(output.status.code(), Some(2), "{extra}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(key), "{extra}: {stderr}");
        assert!(stderr.contains("genesys"), "{extra}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn providers_lists_genesys_with_its_contract_keys() {
    let env = Env::generated().await;
    let output = env.run(&["providers", "--format", "json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document = json(&output);
    let genesys = document["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "genesys")
        .unwrap_or_else(|| panic!("no genesys in {document}"));
    let keys: BTreeSet<&str> = genesys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    for key in [
        "base_url",
        "login_url",
        "client_id",
        "client_secret_env",
        "token_env",
        "division_ids",
        "page_size",
    ] {
        assert!(keys.contains(key), "{key} in {keys:?}");
    }
}
