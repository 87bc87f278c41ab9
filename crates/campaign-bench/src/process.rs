//! Figures measured on separate processes: the `campaigns` binary as client
//! and as sandbox, and this binary re-run as a child, each watched through
//! `/proc/PID/status`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The process's peak resident set (`VmHWM`) in KiB; `None` once it exited.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Polls a process's `VmHWM` until it exits or [`PeakWatch::finish`].
pub(crate) struct PeakWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl PeakWatch {
    pub(crate) fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            // VmHWM is already a high-water mark; polling only has to catch
            // its last value before the process goes away.
            while let Some(kib) = peak_rss_kib(pid) {
                peak = peak.max(kib);
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        Self { stop, thread }
    }

    /// The highest `VmHWM` seen, in KiB.
    pub(crate) fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// Kills and reaps a child when dropped, so a failed figure leaves no process behind.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `campaigns` binary used as client and sandbox.
#[derive(Debug, Clone)]
pub struct CampaignsBin(PathBuf);

impl CampaignsBin {
    /// `path` as given.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// `campaigns` next to this executable (same target profile; one level
    /// up from a test executable in `deps/`), built with cargo first when
    /// it is missing.
    pub fn beside_current_exe() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
        let mut dir = exe.parent().ok_or("the current exe has no directory")?;
        if dir.file_name().is_some_and(|name| name == "deps") {
            dir = dir.parent().ok_or("deps/ has no parent")?;
        }
        let candidate = dir.join("campaigns");
        if !candidate.exists() {
            let release = dir.file_name().is_some_and(|name| name == "release");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "-p", "campaign-cli", "--bin", "campaigns"]);
            if release {
                build.arg("--release");
            }
            let status = build
                .status()
                .map_err(|e| format!("cannot run cargo to build `campaigns`: {e}"))?;
            if !status.success() || !candidate.exists() {
                return Err(format!(
                    "`campaigns` not found at {} (build it with cargo build --release -p campaign-cli)",
                    candidate.display()
                ));
            }
        }
        Ok(Self(candidate))
    }

    /// The binary's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// A `campaigns sandbox` process and the client config pointing at it.
pub(crate) struct SandboxProcess {
    _child: Reaped,
    _stdout: BufReader<ChildStdout>,
    /// The config listing every source the sandbox serves.
    pub(crate) config: PathBuf,
    /// One config per source (`(name, path)`), for attributing costs.
    pub(crate) per_source: Vec<(String, PathBuf)>,
    pub(crate) env: Vec<(String, String)>,
}

impl SandboxProcess {
    /// Starts `campaigns sandbox --campaigns N --latency-ms L` and writes the
    /// config it prints to `dir`.
    pub(crate) fn start(
        bin: &CampaignsBin,
        campaigns: usize,
        latency: Duration,
        dir: &Path,
    ) -> Result<Self, String> {
        let mut child = Command::new(bin.path())
            .args(["sandbox", "--campaigns", &campaigns.to_string()])
            .args(["--latency-ms", &latency.as_millis().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start `campaigns sandbox`: {e}"))?;
        let stdout = child.stdout.take().ok_or("the sandbox has no stdout")?;
        let child = Reaped(child);
        let mut stdout = BufReader::new(stdout);
        let (mut config, mut env) = (String::new(), Vec::new());
        let mut in_config = false;
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the sandbox's banner: {e}"))?;
            if read == 0 {
                return Err("the sandbox exited before it was ready".into());
            }
            let text = line.trim_end();
            if text.starts_with("Serving until") {
                break;
            }
            if let Some(token) = text.trim_start().strip_prefix("Bearer token:") {
                env.push(("CMS_TOKEN".into(), token.trim().to_owned()));
            }
            if let Some(secret) = text.trim_start().strip_prefix("client secret:") {
                env.push(("KORE_CLIENT_SECRET".into(), secret.trim().to_owned()));
            }
            if let Some(secret) = text.trim_start().strip_prefix("OAuth client secret:") {
                env.push(("GENESYS_CLIENT_SECRET".into(), secret.trim().to_owned()));
            }
            if text.starts_with("# a config") {
                in_config = true;
            } else if in_config {
                config.push_str(text);
                config.push('\n');
            }
        }
        let path = dir.join(format!(
            "sandbox-{campaigns}-{}ms.toml",
            latency.as_millis()
        ));
        std::fs::write(&path, &config).map_err(|e| format!("cannot write the config: {e}"))?;
        let mut per_source = Vec::new();
        for block in config.split("[[sources]]").skip(1) {
            let name = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_owned())
                .unwrap_or_default();
            let one = path.with_extension(format!("{name}.toml"));
            std::fs::write(&one, format!("[[sources]]{block}"))
                .map_err(|e| format!("cannot write the config: {e}"))?;
            per_source.push((name, one));
        }
        Ok(Self {
            _child: child,
            _stdout: stdout,
            config: path,
            per_source,
            env,
        })
    }

    fn list(&self, bin: &CampaignsBin, config: &Path) -> Command {
        let mut command = Command::new(bin.path());
        command
            .args(["list", "--config"])
            .arg(config)
            .args(["--format", "ndjson"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("CAMPAIGNS_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

/// What a whole `campaigns list --format ndjson` run cost.
#[derive(Debug)]
pub(crate) struct ListRun {
    pub(crate) lines: usize,
    pub(crate) peak_kib: u64,
    pub(crate) wall: Duration,
}

pub(crate) fn drain_stderr(child: &mut Child) -> JoinHandle<String> {
    let mut stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    })
}

/// Lines of `output` up to its end (a last line without a newline counts),
/// copied into `keep` when given. Counted in place, without copying each
/// line out: the bench shares the cores with the process it measures, and
/// `campaigns changes` writes hundreds of MB.
pub(crate) fn count_lines(
    output: impl Read,
    mut keep: Option<&mut Vec<u8>>,
) -> std::io::Result<usize> {
    let mut reader = BufReader::with_capacity(1 << 20, output);
    let (mut lines, mut ends_open) = (0, false);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(lines + usize::from(ends_open));
        }
        lines += chunk.iter().filter(|&&byte| byte == b'\n').count();
        ends_open = chunk.last() != Some(&b'\n');
        if let Some(kept) = keep.as_deref_mut() {
            kept.extend_from_slice(chunk);
        }
        let read = chunk.len();
        reader.consume(read);
    }
}

/// Lists everything the sandbox serves; counts the lines and watches the
/// client's peak RSS.
pub(crate) fn list_all(
    bin: &CampaignsBin,
    sandbox: &SandboxProcess,
    config: &Path,
) -> Result<ListRun, String> {
    list_all_with(bin, sandbox, config, &[])
}

/// [`list_all`] with `extra_args` after the format (`--raw`, say).
pub(crate) fn list_all_with(
    bin: &CampaignsBin,
    sandbox: &SandboxProcess,
    config: &Path,
    extra_args: &[&str],
) -> Result<ListRun, String> {
    let started = Instant::now();
    let mut child = sandbox
        .list(bin, config)
        .args(extra_args)
        .spawn()
        .map_err(|e| format!("cannot start `campaigns list`: {e}"))?;
    let watch = PeakWatch::start(child.id());
    let stderr = drain_stderr(&mut child);
    let stdout = child.stdout.take().ok_or("the client has no stdout")?;
    let mut child = Reaped(child);
    let lines =
        count_lines(stdout, None).map_err(|e| format!("cannot read the client's output: {e}"))?;
    let status = child
        .0
        .wait()
        .map_err(|e| format!("cannot wait for the client: {e}"))?;
    let wall = started.elapsed();
    let peak_kib = watch.finish();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "`campaigns list` failed ({status}): {}",
            stderr.trim()
        ));
    }
    Ok(ListRun {
        lines,
        peak_kib,
        wall,
    })
}

/// Time from spawning `campaigns list` to its first ndjson line; the client
/// is killed right after.
pub(crate) fn first_line(
    bin: &CampaignsBin,
    sandbox: &SandboxProcess,
    config: &Path,
    extra_args: &[&str],
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut child = sandbox
        .list(bin, config)
        .args(extra_args)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `campaigns list`: {e}"))?;
    let stdout = child.stdout.take().ok_or("the client has no stdout")?;
    let _child = Reaped(child);
    let mut line = Vec::new();
    BufReader::new(stdout)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read the client's output: {e}"))?;
    if line.is_empty() {
        return Err("`campaigns list` printed nothing".into());
    }
    Ok(started.elapsed())
}

/// Wall time of `campaigns --version`: what starting the process costs.
pub(crate) fn process_start(bin: &CampaignsBin) -> Result<Duration, String> {
    let started = Instant::now();
    let status = Command::new(bin.path())
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run `campaigns --version`: {e}"))?;
    if !status.success() {
        return Err(format!("`campaigns --version` failed: {status}"));
    }
    Ok(started.elapsed())
}

/// Runs this executable again with `args`, watching its peak RSS; returns
/// its stdout and the peak in KiB.
pub(crate) fn rerun_self(args: &[&str]) -> Result<(String, u64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot re-run the bench as a child: {e}"))?;
    let watch = PeakWatch::start(child.id());
    let stderr = drain_stderr(&mut child);
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_string(&mut out)
            .map_err(|e| format!("cannot read the child's output: {e}"))?;
    }
    let mut child = Reaped(child);
    let status = child
        .0
        .wait()
        .map_err(|e| format!("cannot wait for the child: {e}"))?;
    let peak = watch.finish();
    if !status.success() {
        let stderr = stderr.join().unwrap_or_default();
        return Err(format!(
            "the child run failed ({status}): {}",
            stderr.trim()
        ));
    }
    Ok((out, peak))
}

/// The child side of the many-sources figure: measures in this process and
/// prints the result as one JSON line (the parent adds the peak RSS).
pub fn child_many_sources(sizes: &crate::Sizes) -> Result<(), String> {
    let result = crate::figures::many_sources_measure(sizes)?;
    println!("{}", result.to_json());
    Ok(())
}
