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

    /// A config whose CMS source also asks for contact center 7, which the
    /// sandbox does not know (it answers 404 `CONF-1001`): that partition
    /// fails, the rest lists.
    pub fn unknown_contact_center_config(&self) -> PathBuf {
        self.write_config(
            "unknown.toml",
            &Tweaks {
                contact_center_ids: Some(vec![1, 2, 7]),
                ..Tweaks::default()
            },
        )
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
        let mut command = process_in(self.dir.path(), args);
        command
            .env(CMS_TOKEN_VAR, self.sandbox.credentials().cms_token.expose())
            .env(
                KORE_SECRET_VAR,
                self.sandbox.credentials().kore_client_secret.expose(),
            );
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

/// The binary with `args`, in `dir`, without `CAMPAIGNS_*` or `RUST_LOG`
/// from the caller's environment (without a config: the embedded sandbox).
pub fn process_in(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("campaigns"));
    command
        .args(args)
        .env_remove("CAMPAIGNS_CONFIG")
        .env_remove("CAMPAIGNS_STORE")
        .env_remove("RUST_LOG")
        .current_dir(dir);
    command
}

/// Runs `command` off the async runtime, so a sandbox on it keeps serving.
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs `command` with its standard output closed before it writes: a
/// reader that went away, as `| head` does once it has its lines.
pub async fn output_unread(mut command: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
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

/// A `campaigns serve` child process: its stderr is collected as it comes,
/// and it is killed when dropped, so a failing test leaves no server behind.
pub struct Server {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// The address from the `listening on` line, once read.
    pub addr: Option<std::net::SocketAddr>,
    pub client: reqwest::Client,
}

/// How long a server may take to start or to stop.
pub const SERVER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

impl Server {
    /// Spawns `command` (a `campaigns serve ...`), stderr piped.
    pub fn spawn(mut command: std::process::Command) -> Server {
        use std::io::BufRead;
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("campaigns serve spawns");
        let pipe = child.stderr.take().unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (send, lines) = std::sync::mpsc::channel();
        let collected = std::sync::Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                let _ = send.send(line);
            }
        });
        let client = reqwest::Client::builder()
            // Only loopback here: a proxy from the environment must not see it.
            .no_proxy()
            .timeout(SERVER_DEADLINE)
            .build()
            .unwrap();
        Server {
            child,
            lines,
            stderr,
            reader: Some(reader),
            addr: None,
            client,
        }
    }

    /// Spawns `command` and waits for its `listening on http://ADDR/` line.
    pub async fn start(command: std::process::Command) -> Server {
        let mut server = Server::spawn(command);
        server.listening().await;
        server
    }

    /// Waits for the `campaigns: listening on http://ADDR/ ...` line; panics
    /// with the server's stderr if it exits or takes too long.
    pub async fn listening(&mut self) -> std::net::SocketAddr {
        let started = std::time::Instant::now();
        loop {
            match self.lines.try_recv() {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("campaigns: listening on http://") {
                        let addr = rest.split('/').next().unwrap().parse().unwrap();
                        self.addr = Some(addr);
                        return addr;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        // The pipe is closed: once the reader is done, every
                        // line is in the channel.
                        if let Some(reader) = self.reader.take() {
                            reader.join().unwrap();
                            continue;
                        }
                        panic!(
                            "serve exited ({status}) before listening:\n{}",
                            self.stderr()
                        );
                    }
                    assert!(
                        started.elapsed() < SERVER_DEADLINE,
                        "serve did not listen in time:\n{}",
                        self.stderr()
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    panic!("serve closed stderr before listening:\n{}", self.stderr());
                }
            }
        }
    }

    /// `http://ADDR{path}`, with a loopback address for a server on `0.0.0.0`.
    pub fn url(&self, path: &str) -> String {
        let mut addr = self.addr.expect("the server is listening");
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}{path}")
    }

    /// `GET path`: the status and the body as JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_with(path, None).await
    }

    /// `GET path` with `Authorization: Bearer key` when given.
    pub async fn get_with(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let (status, body) = self.get_text(path, key).await;
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
        (status, value)
    }

    /// `GET path`: the status and the body as text.
    pub async fn get_text(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut request = self.client.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.stderr()));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit; panics after `within`. Its stderr is
    /// complete afterwards.
    pub async fn exit(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                started.elapsed() < within,
                "serve did not exit within {within:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    #[cfg(unix)]
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM failed");
        self.exit(SERVER_DEADLINE).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Checks `{"error": {"kind", "message", "param"}}` with this kind and param.
pub fn assert_error(what: &str, status: u16, body: &Value, want: (u16, &str, Option<&str>)) {
    let (want_status, kind, param) = want;
    assert_eq!(status, want_status, "{what}: {body}");
    let error = &body["error"];
    assert_eq!(error["kind"], kind, "{what}: {body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert_eq!(error["param"].as_str(), param, "{what}: {body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
    assert_eq!(error.as_object().unwrap().len(), 3, "{what}: {body}");
}

/// The value of the series `name{labels}` in a Prometheus exposition.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// The binary with `args` in `dir` (see [`process_in`]), run to its end.
pub async fn run_in(dir: &Path, args: &[&str]) -> Output {
    output(Command::from_std(process_in(dir, args))).await
}

/// `campaigns serve` over the embedded sandbox (no config), on a free port.
pub async fn serve_embedded(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(process_in(dir, &args)).await
}

/// `campaigns list --format json <args>` over the embedded sandbox; exit 0.
pub async fn cli_list(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["list", "--format", "json"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    json(&out)
}
