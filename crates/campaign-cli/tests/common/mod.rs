//! Shared by the end-to-end test binaries: a sandbox started here, a config
//! pointing at it, and the built `campaigns` binary run against both.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use campaign_sandbox::{GeneratedData, Sandbox};
use serde_json::Value;

pub const CMS_TOKEN_VAR: &str = "TEST_CMS_TOKEN";
pub const KORE_SECRET_VAR: &str = "TEST_KORE_SECRET";

/// What a test changes in the config [`Env`] writes.
#[derive(Debug, Default, Clone)]
pub struct Tweaks {
    /// The CMS source's contact centers instead of the sandbox's.
    pub contact_center_ids: Option<Vec<i64>>,
    /// Extra lines for the CMS `[[sources]]` table.
    pub cms_extra: String,
    /// Extra lines for the Kore `[[sources]]` table.
    pub kore_extra: String,
}

pub struct Env {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Env {
    /// The generated data most tests use: 2 × 15 CMS, 20 voice and 17 SMS.
    pub fn standard_data() -> GeneratedData {
        GeneratedData {
            seed: 7,
            cms_contact_centers: vec![1, 2],
            cms_per_contact_center: 15,
            kore_voice: 20,
            kore_sms: 17,
        }
    }

    pub async fn generated() -> Env {
        let sandbox = Sandbox::builder()
            .generated(Env::standard_data())
            .start()
            .await
            .expect("sandbox starts");
        Env::over(sandbox)
    }

    pub fn over(sandbox: Sandbox) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("campaigns.toml");
        std::fs::write(&config, Env::config_text(&sandbox, &Tweaks::default())).unwrap();
        Env {
            sandbox,
            dir,
            config,
        }
    }

    /// Writes a config with `tweaks` as `name` in the temporary directory.
    pub fn write_config(&self, name: &str, tweaks: &Tweaks) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, Env::config_text(&self.sandbox, tweaks)).unwrap();
        path
    }

    pub fn config_text(sandbox: &Sandbox, tweaks: &Tweaks) -> String {
        let credentials = sandbox.credentials();
        let ids: Vec<String> = tweaks
            .contact_center_ids
            .clone()
            .unwrap_or_else(|| sandbox.cms_contact_center_ids())
            .iter()
            .map(i64::to_string)
            .collect();
        format!(
            r#"
[defaults]
timeout_secs = 5
max_retries = 2

[[sources]]
name = "cms"
provider = "cms"
base_url = "{cms}"
token_env = "{CMS_TOKEN_VAR}"
contact_center_ids = [{ids}]
{cms_extra}

[[sources]]
name = "kore"
provider = "kore"
base_url = "{kore}"
stream_id = "{stream}"
account_id = "{account}"
iid = "{iid}"
client_id = "{client}"
client_secret_env = "{KORE_SECRET_VAR}"
rate_limit_per_minute = 0
page_size = 7
{kore_extra}
"#,
            cms = sandbox.cms_url(),
            kore = sandbox.kore_url(),
            ids = ids.join(", "),
            cms_extra = tweaks.cms_extra,
            kore_extra = tweaks.kore_extra,
            stream = credentials.kore_stream_id,
            account = credentials.kore_account_id,
            iid = credentials.kore_iid,
            client = credentials.kore_client_id,
        )
    }

    pub fn secrets(&self) -> Vec<String> {
        let c = self.sandbox.credentials();
        vec![
            c.cms_token.expose().to_owned(),
            c.kore_client_secret.expose().to_owned(),
            c.kore_account_id.clone(),
        ]
    }

    /// The binary with `args`, the sandbox's secrets, no `CAMPAIGNS_*` or
    /// `RUST_LOG` from the caller's environment, in the temporary directory.
    pub fn command(&self, args: &[&str]) -> Command {
        Command::from_std(self.process(args))
    }

    /// [`Env::command`] as a process to spawn and signal.
    pub fn process(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("campaigns"));
        command
            .args(args)
            .env(CMS_TOKEN_VAR, self.sandbox.credentials().cms_token.expose())
            .env(
                KORE_SECRET_VAR,
                self.sandbox.credentials().kore_client_secret.expose(),
            )
            .env_remove("CAMPAIGNS_CONFIG")
            .env_remove("CAMPAIGNS_STORE")
            .env_remove("RUST_LOG")
            .current_dir(self.dir.path());
        command
    }

    /// Runs the binary off the async runtime so the sandbox keeps serving.
    pub async fn run(&self, args: &[&str]) -> Output {
        output(self.command(args)).await
    }

    /// `campaigns list` with the default config and `extra` arguments.
    pub async fn list(&self, extra: &[&str]) -> Output {
        self.list_with(&self.config, extra).await
    }

    /// `campaigns list --config <config>` and `extra` arguments.
    pub async fn list_with(&self, config: &Path, extra: &[&str]) -> Output {
        let config = config.to_str().unwrap().to_owned();
        let mut args = vec!["list", "--config", &config];
        args.extend_from_slice(extra);
        self.run(&args).await
    }
}

/// Runs `command` off the async runtime, so a sandbox on it keeps serving.
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// One page of a `--limit`/`--cursor` walk.
pub struct Page {
    pub code: Option<i32>,
    pub document: Value,
    pub stderr: String,
}

/// Walks `list --format json --limit <limit> <args>` through its cursors
/// until `next_cursor` is null; panics after `max_pages` pages, so a
/// cursor loop fails the test instead of hanging it.
pub async fn walk(
    env: &Env,
    config: &Path,
    limit: usize,
    args: &[&str],
    max_pages: usize,
) -> Vec<Page> {
    let config = config.to_str().unwrap();
    walk_from(env, &["list", "--config", config], limit, args, max_pages).await
}

/// [`walk`] of `<base> --format json --limit <limit> <args>`, e.g. with
/// `base` `list --store <url>`.
pub async fn walk_from(
    env: &Env,
    base: &[&str],
    limit: usize,
    args: &[&str],
    max_pages: usize,
) -> Vec<Page> {
    let limit = limit.to_string();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    while pages.len() < max_pages {
        let mut all = base.to_vec();
        all.extend_from_slice(&["--format", "json", "--limit", &limit]);
        all.extend_from_slice(args);
        if let Some(c) = cursor.as_deref() {
            all.extend_from_slice(&["--cursor", c]);
        }
        let output = env.run(&all).await;
        let page = Page {
            code: output.status.code(),
            document: json(&output),
            stderr: text(&output.stderr),
        };
        cursor = page.document["next_cursor"].as_str().map(str::to_owned);
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
    }
    panic!("the walk did not end within {max_pages} pages of {limit}");
}

/// The campaign ids of a walk's pages, in order.
pub fn walked_ids(pages: &[Page]) -> Vec<String> {
    pages.iter().flat_map(|p| ids(&p.document)).collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&output.stdout)))
}

pub fn ids(document: &Value) -> Vec<String> {
    campaigns(document)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn campaigns(document: &Value) -> &Vec<Value> {
    document["campaigns"]
        .as_array()
        .unwrap_or_else(|| panic!("no campaigns array in {document}"))
}

pub fn errors(document: &Value) -> &Vec<Value> {
    document["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array in {document}"))
}

pub fn warnings(document: &Value) -> &Vec<Value> {
    document["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings array in {document}"))
}
