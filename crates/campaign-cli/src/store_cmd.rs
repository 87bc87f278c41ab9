//! The store commands: `sync` (copy the sources into a store), `changes`
//! (its change log), and the store behind `list --store`.

use std::io::{self, Write};
use std::sync::Arc;

use campaign_aggregate::Aggregator;
use campaign_core::CampaignSource;
use campaign_registry::Registry;
use campaign_store::{SourceReport, Store, StoreSource, StoredChange, SyncOptions};
use comfy_table::{presets, Table};
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::args::{ChangesArgs, ChangesFormat, SyncArgs, SyncFormat};
use crate::output::bulk_stdout;
use crate::progress::{Progress, Ticker};
use crate::run::{
    is_broken_pipe, json_failure, write_failure, written, Failure, EXIT_FAILED, EXIT_OK,
    EXIT_PARTIAL,
};
use crate::sandbox_cmd::setup;

/// The environment variable naming the store when `--store` does not.
pub const STORE_VAR: &str = "CAMPAIGNS_STORE";
/// The store when nothing names one.
pub const DEFAULT_STORE: &str = "sqlite://campaigns.db";

/// Opens the store at `url`; only a writer creates a missing one. Its
/// errors are the user's to fix (exit 2), except an unreachable server (exit 1).
async fn open(url: &str, create: bool) -> Result<Store, Failure> {
    let store = if create {
        Store::connect(url).await
    } else {
        Store::connect_existing(url).await
    };
    store.map_err(|e| match e {
        campaign_store::StoreError::Database { .. } => Failure::Fetch(e.to_string()),
        _ => Failure::Usage(e.to_string()),
    })
}

/// `--store`, else `CAMPAIGNS_STORE`, else `configured`, else the default.
fn store_url(flag: Option<&str>, configured: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| {
            std::env::var(STORE_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| configured.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_STORE.to_owned())
}

/// The aggregate `list --store` pages: the store as its one source.
pub async fn store_aggregate(url: &str, include_deleted: bool) -> Result<Aggregator, Failure> {
    let store = open(url, false).await?;
    let source = StoreSource::new(store).including_deleted(include_deleted);
    Aggregator::builder("campaigns")
        .source(Arc::new(source))
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// One source's line of `sync --format json`.
#[derive(Debug, Serialize)]
struct SourceLine<'a> {
    source: &'a str,
    added: u64,
    updated: u64,
    deleted: u64,
    unchanged: u64,
    requests: u64,
    full: bool,
    error: Option<&'a str>,
    /// Who was syncing this source, when another process was (skipped).
    busy: Option<&'a str>,
}

impl<'a> From<&'a SourceReport> for SourceLine<'a> {
    fn from(report: &'a SourceReport) -> Self {
        Self {
            source: &report.source,
            added: report.added,
            updated: report.updated,
            deleted: report.deleted,
            unchanged: report.unchanged,
            requests: report.requests,
            full: report.full,
            error: report.error.as_deref(),
            busy: report.busy.as_deref(),
        }
    }
}

/// `campaigns sync`: returns the exit code (of the last run, with `--watch`).
/// `progress` (a terminal) shows the requests per source as they go.
pub async fn sync(
    args: SyncArgs,
    registry: &Registry,
    progress: Option<Progress>,
) -> Result<u8, Failure> {
    let setup = setup(args.config.as_deref(), registry, false).await?;
    let config = &setup.config;
    let url = store_url(args.store.as_deref(), config.store.url.as_deref());
    for name in &args.sources {
        if config.source(name).is_none() {
            let known: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Failure::Usage(format!(
                "--source {name:?} is not configured (configured: {})",
                known.join(", ")
            )));
        }
    }
    let sources: Vec<Arc<dyn CampaignSource>> = config
        .sources
        .iter()
        .filter(|s| args.sources.is_empty() || args.sources.contains(&s.name))
        .map(|s| Arc::clone(&s.source))
        .collect();
    let store = open(&url, true).await?;
    let mut options = SyncOptions {
        full: args.full,
        ..SyncOptions::default()
    };
    if let Some(overlap) = config.store.overlap {
        options.overlap = overlap;
    }
    if let Some(every) = config.store.full_refresh_every {
        options.full_refresh_every = every;
    }
    let synced = match args.watch {
        None => sync_once(&store, &sources, &options, args.format, progress)
            .await
            .map(|synced| synced.code),
        Some(every) => watch(&store, &sources, &options, args.format, progress, every).await,
    };
    // Closed, not dropped at exit: the last connection to close checkpoints
    // the WAL into the database file and removes it, so the next opener
    // does not read the sync's writes back out of the WAL. Bounded: a
    // server that stopped answering does not keep the process (after a
    // Ctrl-C, too) from ending.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), store.close()).await;
    synced
}

/// `campaigns sync --watch EVERY`: a sync, then another every `every`, until
/// Ctrl-C. Returns the last sync's exit code.
async fn watch(
    store: &Store,
    sources: &[Arc<dyn CampaignSource>],
    options: &SyncOptions,
    format: SyncFormat,
    progress: Option<Progress>,
    every: std::time::Duration,
) -> Result<u8, Failure> {
    // One listener for the whole watch: a Ctrl-C during a run stops the
    // watch too (partitions already merged stay committed).
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut code = EXIT_OK;
    loop {
        tokio::select! {
            result = sync_once(store, sources, options, format, progress.clone()) => {
                let synced = result?;
                code = synced.code;
                // Nobody reads the reports any more (`sync --watch | head`).
                if synced.reader_gone {
                    return Ok(code);
                }
            }
            _ = &mut interrupted => return Ok(code),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = &mut interrupted => return Ok(code),
        }
    }
}

/// What one sync run came to.
struct Synced {
    /// Its exit code.
    code: u8,
    /// The reader of its report went away before it was written.
    reader_gone: bool,
}

async fn sync_once(
    store: &Store,
    sources: &[Arc<dyn CampaignSource>],
    options: &SyncOptions,
    format: SyncFormat,
    progress: Option<Progress>,
) -> Result<Synced, Failure> {
    let run = store
        .start_run()
        .await
        .map_err(|e| Failure::Fetch(e.to_string()))?;
    // Sources sync side by side; each partition commits on its own.
    let syncs = futures::future::join_all(sources.iter().map(|source| {
        let progress = progress.clone();
        async move {
            let report = store.sync_source(run, Arc::clone(source), options).await;
            if let Some(progress) = &progress {
                let ok = report.as_ref().is_ok_and(|r| !r.failed());
                progress.finished(source.id(), ok);
            }
            report
        }
    }));
    let reports = match progress {
        None => syncs.await,
        Some(progress) => {
            // The live line (requests and retries per source) while syncing.
            let mut ticker = Ticker::new(progress);
            let mut syncs = std::pin::pin!(syncs);
            let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
            let reports = loop {
                tokio::select! {
                    reports = &mut syncs => break reports,
                    _ = every.tick() => ticker.tick(),
                }
            };
            ticker.clear();
            reports
        }
    };
    let mut done = Vec::with_capacity(reports.len());
    for report in reports {
        done.push(report.map_err(|e| Failure::Fetch(e.to_string()))?);
    }
    for report in &done {
        if let Some(error) = &report.error {
            eprintln!("campaigns: source \"{}\" failed: {error}", report.source);
        }
        if let Some(holder) = &report.busy {
            eprintln!(
                "campaigns: source \"{}\" skipped: {holder} is syncing it",
                report.source
            );
        }
    }
    let code = if done.iter().all(SourceReport::failed_entirely) && !done.is_empty() {
        EXIT_FAILED
    } else if done.iter().any(SourceReport::failed) {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    let printed = print_report(run, &done, format);
    let reader_gone = matches!(&printed, Err(Failure::Fetch(message)) if is_broken_pipe(message));
    Ok(Synced {
        code: written(printed, code)?,
        reader_gone,
    })
}

/// A sync run's report on stdout.
fn print_report(run: i64, done: &[SourceReport], format: SyncFormat) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match format {
        SyncFormat::Json => {
            #[derive(Serialize)]
            struct Document<'a> {
                run: i64,
                sources: Vec<SourceLine<'a>>,
            }
            let document = Document {
                run,
                sources: done.iter().map(SourceLine::from).collect(),
            };
            serde_json::to_writer(&mut out, &document).map_err(json_failure)?;
            writeln!(out).map_err(write_failure)
        }
        SyncFormat::Table => {
            let mut table = Table::new();
            table.load_preset(presets::NOTHING).set_header([
                "SOURCE",
                "ADDED",
                "UPDATED",
                "DELETED",
                "UNCHANGED",
                "REQUESTS",
                "READ",
                "ERROR",
            ]);
            for report in done {
                table.add_row([
                    report.source.clone(),
                    report.added.to_string(),
                    report.updated.to_string(),
                    report.deleted.to_string(),
                    report.unchanged.to_string(),
                    report.requests.to_string(),
                    match (&report.busy, report.full) {
                        (Some(_), _) => "skipped (busy)",
                        (None, true) => "full",
                        (None, false) => "incremental",
                    }
                    .to_owned(),
                    report.error.clone().unwrap_or_default(),
                ]);
            }
            writeln!(out, "run {run}\n{table}").map_err(write_failure)
        }
    }
}

/// One line of `changes --format ndjson` (and an element of json's `changes`,
/// there and in `serve`'s `GET /v1/changes`). The campaign is written as
/// stored, not parsed and written again.
#[derive(Serialize)]
pub(crate) struct ChangeLine<'a> {
    seq: i64,
    at: String,
    action: &'static str,
    id: &'a str,
    source: &'a str,
    campaign: &'a RawValue,
}

impl<'a> From<&'a StoredChange> for ChangeLine<'a> {
    fn from(change: &'a StoredChange) -> Self {
        Self {
            seq: change.seq,
            at: change
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            action: change.action.as_str(),
            id: &change.id,
            source: &change.source,
            campaign: &change.campaign,
        }
    }
}

/// `campaigns changes`: returns the exit code.
pub async fn changes(args: ChangesArgs) -> Result<u8, Failure> {
    match print_changes(args).await {
        // `campaigns changes | head` closing the pipe is a normal end.
        Err(Failure::Fetch(message)) if is_broken_pipe(&message) => Ok(EXIT_OK),
        other => other,
    }
}

async fn print_changes(args: ChangesArgs) -> Result<u8, Failure> {
    let store = open(&store_url(args.store.as_deref(), None), false).await?;
    // Read first: entries of other sources up to it are no news to a
    // caller that asked for one source.
    let known = store
        .last_seq()
        .await
        .map_err(|e| Failure::Fetch(e.to_string()))?;
    let mut entries = store.stored_changes(args.since, args.source.as_deref());
    let mut out = bulk_stdout();
    // The store's own newest seq, even below `--since`: the next poll
    // resumes from it, so a stale or foreign `--since` loses nothing.
    let mut last = known;
    let mut table = (args.format == ChangesFormat::Table).then(|| {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_header(["SEQ", "AT", "ACTION", "ID", "NAME"]);
        table
    });
    if args.format == ChangesFormat::Json {
        out.write_all(b"{\"changes\":[").map_err(write_failure)?;
    }
    let mut first = true;
    loop {
        // Written entries go out whenever the next page has to be waited for.
        let change = match entries.next().now_or_never() {
            Some(change) => change,
            None => {
                out.flush().map_err(write_failure)?;
                entries.next().await
            }
        };
        let Some(change) = change else { break };
        let change = change.map_err(|e| Failure::Fetch(e.to_string()))?;
        last = last.max(change.seq);
        match (args.format, table.as_mut()) {
            (ChangesFormat::Table, Some(table)) => {
                let change = change.parse().map_err(|e| Failure::Fetch(e.to_string()))?;
                table.add_row([
                    change.seq.to_string(),
                    change.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    change.action.to_string(),
                    change.id,
                    change.campaign.name,
                ]);
            }
            (format, _) => {
                if format == ChangesFormat::Json && !std::mem::take(&mut first) {
                    out.write_all(b",").map_err(write_failure)?;
                }
                serde_json::to_writer(&mut out, &ChangeLine::from(&change))
                    .map_err(json_failure)?;
                if format == ChangesFormat::Ndjson {
                    out.write_all(b"\n").map_err(write_failure)?;
                }
            }
        }
    }
    match (args.format, table) {
        (ChangesFormat::Json, _) => {
            writeln!(out, "],\"last_seq\":{last}}}").map_err(write_failure)?;
        }
        (ChangesFormat::Table, Some(table)) => {
            writeln!(out, "{table}").map_err(write_failure)?;
            writeln!(out, "last seq: {last}").map_err(write_failure)?;
        }
        _ => {}
    }
    out.flush().map_err(write_failure)?;
    Ok(EXIT_OK)
}
