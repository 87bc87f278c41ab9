//! The store figures: `campaigns sync` of a sandbox process into SQLite (and
//! PostgreSQL when `CAMPAIGNS_TEST_POSTGRES` names a server) against
//! `campaigns list` of the same, re-syncs, and reading the store back
//! (`list --store`, `changes`). Kore's requests per channel come from an
//! in-process sandbox (`store_requests`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use campaign_store::Store;
use serde::Deserialize;
use sqlx::Connection;

use crate::figures::{median, mib, ms, per_sec, runtime};
use crate::process::{self, drain_stderr, CampaignsBin, PeakWatch, Reaped, SandboxProcess};
use crate::report::Row;
use crate::sizes::Sizes;
use crate::store_requests;

type Res<T> = Result<T, String>;

const FIGURE: &str = "store";
/// Names a PostgreSQL server the bench may create (and drop) a database on.
const POSTGRES_VAR: &str = "CAMPAIGNS_TEST_POSTGRES";

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// What one run of a `campaigns` command printed and cost.
struct Run {
    lines: usize,
    /// From spawn to exit (or to the budget, when stopped).
    wall: Duration,
    peak_kib: u64,
    /// Whether it ended on its own within the budget.
    finished: bool,
    /// The output, when asked for.
    text: String,
}

/// `campaigns` with the sandbox's credentials in its environment and no
/// config or store from ours.
pub(crate) fn campaigns(bin: &CampaignsBin, sandbox: Option<&SandboxProcess>) -> Command {
    let mut command = Command::new(bin.path());
    command
        .env_remove("CAMPAIGNS_CONFIG")
        .env_remove("CAMPAIGNS_STORE");
    if let Some(sandbox) = sandbox {
        command.envs(sandbox.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    command
}

/// Runs `command`, counting its output lines and watching its peak RSS;
/// stops it after `budget` (then `finished` is false).
fn run(mut command: Command, budget: Option<Duration>, keep: bool) -> Res<Run> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `campaigns`: {e}"))?;
    let watch = PeakWatch::start(child.id());
    let stderr = drain_stderr(&mut child);
    let stdout = child.stdout.take().ok_or("`campaigns` has no stdout")?;
    let mut child = Reaped(child);
    let (done, ended) = mpsc::channel();
    // Reading on a thread of its own, so the budget can stop a slow listing.
    let reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let lines = process::count_lines(stdout, keep.then_some(&mut kept));
        let _ = done.send(());
        (lines, String::from_utf8_lossy(&kept).into_owned())
    });
    let finished = match budget {
        Some(budget) => ended.recv_timeout(budget).is_ok(),
        None => ended.recv().is_ok(),
    };
    if !finished {
        let _ = child.0.kill();
    }
    let status = child
        .0
        .wait()
        .map_err(|e| format!("cannot wait for `campaigns`: {e}"))?;
    let wall = if finished {
        started.elapsed()
    } else {
        budget.unwrap_or_default()
    };
    let peak_kib = watch.finish();
    let (lines, text) = reader.join().map_err(|_| "the reader panicked")?;
    let lines = lines.map_err(|e| format!("cannot read the output of `campaigns`: {e}"))?;
    let stderr = stderr.join().unwrap_or_default();
    if finished && !status.success() {
        // clap ends with a hint; the error itself comes first.
        let why = stderr
            .lines()
            .find(|line| line.contains("error"))
            .or_else(|| stderr.lines().last())
            .unwrap_or_default();
        return Err(format!("`campaigns` failed ({status}): {why}"));
    }
    Ok(Run {
        lines,
        wall,
        peak_kib,
        finished,
        text,
    })
}

/// Time from spawning `command` to its first line; it is killed right after.
fn first_line(mut command: Command) -> Res<Duration> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `campaigns`: {e}"))?;
    let stdout = child.stdout.take().ok_or("`campaigns` has no stdout")?;
    let _child = Reaped(child);
    let mut line = Vec::new();
    BufReader::new(stdout)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read `campaigns`: {e}"))?;
    if line.is_empty() {
        return Err("`campaigns` printed nothing".into());
    }
    Ok(started.elapsed())
}

/// One source's line of `campaigns sync --format json`.
#[derive(Debug, Deserialize)]
struct SyncLine {
    source: String,
    added: u64,
    updated: u64,
    deleted: u64,
    unchanged: u64,
    requests: u64,
    full: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SyncDocument {
    sources: Vec<SyncLine>,
}

pub(crate) struct Synced {
    pub(crate) wall: Duration,
    peak_kib: u64,
    sources: Vec<SyncLine>,
}

impl Synced {
    fn sum(&self, field: impl Fn(&SyncLine) -> u64) -> u64 {
        self.sources.iter().map(field).sum()
    }

    /// Campaigns the sync added, over all sources.
    pub(crate) fn added(&self) -> u64 {
        self.sum(|s| s.added)
    }

    fn written(&self) -> u64 {
        self.sum(|s| s.added + s.updated + s.deleted)
    }

    /// `cms 99999, kore 100001`, of one field.
    fn each(&self, field: impl Fn(&SyncLine) -> String) -> String {
        self.sources
            .iter()
            .map(|s| format!("{} {}", s.source, field(s)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `campaigns sync --config F --store URL --format json ARGS`.
pub(crate) fn sync(
    bin: &CampaignsBin,
    sandbox: &SandboxProcess,
    config: &Path,
    url: &str,
    args: &[&str],
) -> Res<Synced> {
    let mut command = campaigns(bin, Some(sandbox));
    command
        .args(["sync", "--config"])
        .arg(config)
        .args(["--store", url, "--format", "json"])
        .args(args);
    let run = run(command, None, true)?;
    let document: SyncDocument = serde_json::from_str(run.text.trim())
        .map_err(|e| format!("unreadable `campaigns sync` output ({e}): {}", run.text))?;
    if let Some(failed) = document.sources.iter().find(|s| s.error.is_some()) {
        return Err(format!(
            "`campaigns sync` failed for {}: {}",
            failed.source,
            failed.error.as_deref().unwrap_or_default()
        ));
    }
    Ok(Synced {
        wall: run.wall,
        peak_kib: run.peak_kib,
        sources: document.sources,
    })
}

/// The change log's last `seq`, read with `campaign_store::Store`.
fn last_seq(url: &str) -> Res<i64> {
    runtime()?.block_on(async {
        let store = Store::connect(url).await.map_err(|e| e.to_string())?;
        let seq = store.last_seq().await.map_err(|e| e.to_string());
        store.close().await;
        seq
    })
}

/// `campaigns changes --store URL --since N --format json`: the entries.
fn changes_since(bin: &CampaignsBin, url: &str, since: i64) -> Res<usize> {
    let mut command = campaigns(bin, None);
    command.args(["changes", "--store", url, "--since", &since.to_string()]);
    command.args(["--format", "json"]);
    let run = run(command, None, true)?;
    let document: serde_json::Value = serde_json::from_str(run.text.trim())
        .map_err(|e| format!("unreadable `campaigns changes` output: {e}"))?;
    document["changes"]
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| "`campaigns changes` printed no changes array".into())
}

fn list_store(bin: &CampaignsBin, url: &str, unsorted: bool) -> Command {
    let mut command = campaigns(bin, None);
    command.args(["list", "--store", url, "--format", "ndjson"]);
    if unsorted {
        command.arg("--unsorted");
    }
    command
}

/// A database of its own on the PostgreSQL server, dropped with this.
struct PgScratch {
    admin: String,
    name: String,
    url: String,
}

impl PgScratch {
    fn create(admin: &str) -> Res<Self> {
        let name = format!("campaign_bench_{}", std::process::id());
        runtime()?.block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin)
                .await
                .map_err(|e| format!("cannot reach {POSTGRES_VAR}: {e}"))?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot drop an old {name}: {e}"))?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot create a database on {POSTGRES_VAR}: {e}"))?;
            let _ = conn.close().await;
            Ok::<_, String>(())
        })?;
        let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
        Ok(Self {
            admin: admin.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        // Best effort: a failed drop leaves a database named after our pid.
        let Ok(runtime) = runtime() else { return };
        let _ = runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.admin).await.ok()?;
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            sqlx::query(&sql).execute(&mut conn).await.ok()
        });
    }
}

/// The median wall of `repeats` live listings of everything the sandbox
/// serves (`extra_args` after the format), each checked to list `large`.
fn median_listing(
    bin: &CampaignsBin,
    sandbox: &SandboxProcess,
    extra_args: &[&str],
    repeats: usize,
    large: usize,
) -> Res<Duration> {
    let mut walls = Vec::new();
    for _ in 0..repeats {
        let listed = process::list_all_with(bin, sandbox, &sandbox.config, extra_args)?;
        if listed.lines != large {
            return Err(format!(
                "`campaigns list {}` printed {} of {large}",
                extra_args.join(" "),
                listed.lines
            ));
        }
        walls.push(listed.wall);
    }
    Ok(median(walls))
}

/// The store figures: sync, re-sync, `list --store` and `changes`.
pub fn figures(sizes: &Sizes, bin: &CampaignsBin, dir: &Path) -> Res<Vec<Row>> {
    let (small, large) = sizes.store_campaigns;
    let repeats = sizes.repeats.max(1);
    let mut rows = Vec::new();
    let sandbox = SandboxProcess::start(bin, large, Duration::ZERO, dir)?;

    // The yardstick: the same campaigns listed live, output read and dropped.
    let list_wall = median_listing(bin, &sandbox, &[], repeats, large)?;
    rows.push(Row::info(
        FIGURE,
        format!(
            "campaigns list --config F --format ndjson, {large} campaigns (sandbox process, no \
             latency), median of {repeats}"
        ),
        secs(list_wall),
    ));
    // Information beside the yardstick: the listing that carries what the
    // sync stores, each campaign's record (the yardstick's sources leave
    // the records out, as nothing prints them).
    let raw_list_wall = median_listing(bin, &sandbox, &["--raw"], repeats, large)?;
    rows.push(Row::info(
        FIGURE,
        format!("the same with --raw (each campaign's record, as a sync stores it), median of {repeats}"),
        secs(raw_list_wall),
    ));

    let file = dir.join("s.db");
    let sqlite = format!("sqlite://{}", file.display());
    // Each a first sync into a new file, as noisy as the listings: the
    // ratio is of the medians. The last file stays for the figures below.
    let mut first = None;
    let mut walls = Vec::new();
    for _ in 0..repeats {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        let synced = sync(bin, &sandbox, &sandbox.config, &sqlite, &[])?;
        walls.push(synced.wall);
        first = Some(synced);
    }
    let first = first.ok_or("no sync ran")?;
    let sync_wall = median(walls);
    let on_disk: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", file.display())).ok())
        .map(|meta| meta.len())
        .sum();
    if first.sum(|s| s.added) != large as u64 {
        return Err(format!(
            "the first sync added {} of {large}",
            first.sum(|s| s.added)
        ));
    }
    rows.push(Row::info(
        FIGURE,
        format!(
            "campaigns sync --config F --store sqlite://DIR/s.db (a new file): wall (median of \
             {repeats}), peak RSS, file + WAL size after; added; pages asked of each source"
        ),
        format!(
            "{}, {}, {}; {}; {}",
            secs(sync_wall),
            mib(first.peak_kib),
            mib(on_disk / 1024),
            first.each(|s| s.added.to_string()),
            first.each(|s| s.requests.to_string())
        ),
    ));
    let to_list = ratio(sync_wall, list_wall);
    rows.push(Row::check(
        FIGURE,
        "full sync into SQLite, wall / list's wall",
        format!("{to_list:.2}x"),
        "<= 2x",
        to_list <= 2.0,
    ));
    rows.push(Row::info(
        FIGURE,
        "full sync into SQLite, wall / the wall of list --raw",
        format!("{:.2}x", ratio(sync_wall, raw_list_wall)),
    ));
    rows.extend(postgres(bin, &sandbox, list_wall)?);

    // Where a full sync's time goes: the same read with nothing to write.
    let full = sync(bin, &sandbox, &sandbox.config, &sqlite, &["--full"])?;
    let mut alone = Vec::new();
    for (name, config) in &sandbox.per_source {
        let listed = process::list_all(bin, &sandbox, config)?;
        let synced = sync(bin, &sandbox, config, &sqlite, &["--full"])?;
        alone.push(format!(
            "{name} {} / {}",
            secs(listed.wall),
            secs(synced.wall)
        ));
    }
    rows.push(Row::info(
        FIGURE,
        "breakdown: sync --full into the synced store (read, stage, compare; nothing to write): \
         wall / its wall over list's",
        format!("{} / {:.2}x", secs(full.wall), ratio(full.wall, list_wall)),
    ));
    rows.push(Row::info(
        FIGURE,
        "breakdown: one source alone, list / sync --full (nothing to write)",
        alone.join(", "),
    ));
    // Nothing changed at the providers: nothing may be written.
    let seq_before = last_seq(&sqlite)?;
    let again = sync(bin, &sandbox, &sandbox.config, &sqlite, &[])?;
    let seq_after = last_seq(&sqlite)?;
    let listed = changes_since(bin, &sqlite, seq_before)?;
    rows.push(Row::check(
        FIGURE,
        "re-sync, nothing changed (campaigns sync again): campaign rows written (change log's \
         last seq before / after; entries of changes --since)",
        format!(
            "{} (seq {seq_before} / {seq_after}; {listed} entries)",
            again.written()
        ),
        "0 rows written",
        again.written() == 0 && seq_after == seq_before && listed == 0,
    ));
    rows.push(Row::info(
        FIGURE,
        "re-sync, nothing changed: wall; read; campaigns re-read unchanged; pages asked",
        format!(
            "{}; {}; {}; {}",
            secs(again.wall),
            again.each(|s| if s.full { "whole" } else { "incremental" }.into()),
            again.each(|s| s.unchanged.to_string()),
            again.each(|s| s.requests.to_string())
        ),
    ));
    rows.extend(store_requests::kore_requests(sizes, dir)?);

    drop(sandbox);

    // The change log read back whole.
    let mut walls = Vec::new();
    let mut entries = 0;
    for _ in 0..repeats {
        let mut command = campaigns(bin, None);
        command.args(["changes", "--store", &sqlite, "--format", "ndjson"]);
        let read = run(command, None, false)?;
        entries = read.lines;
        walls.push(read.wall);
    }
    let changes_wall = median(walls);
    let rate = entries as f64 / changes_wall.as_secs_f64().max(1e-9);
    rows.push(Row::check(
        FIGURE,
        format!(
            "campaigns changes --store URL --format ndjson, {entries} entries (from spawn to \
             exit, median of {repeats})"
        ),
        format!("{} ({})", per_sec(rate), secs(changes_wall)),
        ">= 200 k/s",
        rate >= 200_000.0,
    ));

    rows.extend(read_back(sizes, bin, dir, &sqlite, small, large)?);
    Ok(rows)
}

/// The full sync into a fresh PostgreSQL database, when a server is named.
fn postgres(bin: &CampaignsBin, sandbox: &SandboxProcess, list_wall: Duration) -> Res<Vec<Row>> {
    let what = "full sync into PostgreSQL, wall / list's wall";
    let admin = match std::env::var(POSTGRES_VAR) {
        Ok(admin) if !admin.trim().is_empty() => admin,
        _ => {
            return Ok(vec![Row {
                figure: FIGURE,
                what: what.into(),
                measured: "not measured (no PostgreSQL)".into(),
                target: "<= 4x".into(),
                pass: None,
            }])
        }
    };
    let db = PgScratch::create(&admin)?;
    let first = sync(bin, sandbox, &sandbox.config, &db.url, &[])?;
    let again = sync(bin, sandbox, &sandbox.config, &db.url, &[])?;
    let to_list = ratio(first.wall, list_wall);
    Ok(vec![
        Row::info(
            FIGURE,
            "campaigns sync --store postgres://.../NEW_DB: wall, peak RSS / re-sync, nothing \
             changed: wall, rows written",
            format!(
                "{}, {} / {}, {}",
                secs(first.wall),
                mib(first.peak_kib),
                secs(again.wall),
                again.written()
            ),
        ),
        Row::check(
            FIGURE,
            what,
            format!("{to_list:.2}x"),
            "<= 4x",
            to_list <= 4.0,
        ),
    ])
}

/// `list --store` over the large store and a small one: peak RSS, first line.
fn read_back(
    sizes: &Sizes,
    bin: &CampaignsBin,
    dir: &Path,
    large_url: &str,
    small: usize,
    large: usize,
) -> Res<Vec<Row>> {
    let small_url = format!("sqlite://{}", dir.join("small.db").display());
    {
        let sandbox = SandboxProcess::start(bin, small, Duration::ZERO, dir)?;
        sync(bin, &sandbox, &sandbox.config, &small_url, &[])?;
    }
    let budget = sizes.store_list_budget;
    let mut rows = Vec::new();
    let mut sorted = Vec::new();
    for unsorted in [false, true] {
        for (n, url) in [(small, small_url.as_str()), (large, large_url)] {
            let read = run(list_store(bin, url, unsorted), Some(budget), false)?;
            let order = if unsorted {
                "--unsorted"
            } else {
                "default sort created_at:desc"
            };
            let measured = if read.finished {
                format!(
                    "{} lines in {}, {}",
                    read.lines,
                    secs(read.wall),
                    mib(read.peak_kib)
                )
            } else {
                format!(
                    "stopped after {}: {} of {n} lines ({:.0} lines/s), {}",
                    secs(read.wall),
                    read.lines,
                    read.lines as f64 / read.wall.as_secs_f64().max(1e-9),
                    mib(read.peak_kib)
                )
            };
            rows.push(Row::info(
                FIGURE,
                format!("list --store over {n}, {order}: lines, wall, peak RSS"),
                measured,
            ));
            if !unsorted {
                sorted.push((n, read));
            }
        }
    }
    let (small_run, large_run) = (&sorted[0].1, &sorted[1].1);
    let whole = |run: &Run| if run.finished { "" } else { " (unfinished)" };
    rows.push(Row::check(
        FIGURE,
        format!("peak RSS of list --store over {large}"),
        format!("{}{}", mib(large_run.peak_kib), whole(large_run)),
        "<= 32 MiB",
        large_run.finished && large_run.peak_kib <= 32 * 1024,
    ));
    let memory = large_run.peak_kib as f64 / small_run.peak_kib.max(1) as f64;
    rows.push(Row::check(
        FIGURE,
        format!("peak RSS of list --store, {large} / {small}"),
        format!(
            "{memory:.2}x ({}{} / {}{})",
            mib(large_run.peak_kib),
            whole(large_run),
            mib(small_run.peak_kib),
            whole(small_run)
        ),
        "<= 1.25x",
        large_run.finished && small_run.finished && memory <= 1.25,
    ));
    let mut firsts = Vec::new();
    for (n, url) in [(small, small_url.as_str()), (large, large_url)] {
        let mut times = Vec::new();
        for _ in 0..sizes.repeats.max(1) {
            times.push(first_line(list_store(bin, url, false))?);
        }
        firsts.push((n, median(times)));
    }
    let start = process::process_start(bin)?;
    rows.push(Row::info(
        FIGURE,
        format!("first line of list --store over {small} / process start (campaigns --version)"),
        format!("{} / {}", ms(firsts[0].1), ms(start)),
    ));
    rows.push(Row::check(
        FIGURE,
        format!("first ndjson line of list --store over {large}, from spawn"),
        ms(firsts[1].1),
        "<= 20 ms",
        firsts[1].1 <= Duration::from_millis(20),
    ));
    Ok(rows)
}
