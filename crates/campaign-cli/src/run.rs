//! The commands: `list`, `sources` and `sandbox` (`sync` and `changes`: `store_cmd`).

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use campaign_aggregate::{AggregateEvent, Aggregator, Cursor, SourceFailure, SourceWarning};
use campaign_core::{CampaignQuery, CampaignSource, ErrorKind, SourceError};
use campaign_registry::Registry;
use futures::{FutureExt, StreamExt};

use crate::args::{Format, ListArgs, SourcesArgs};
use crate::config::ConfigError;
use crate::output::{bulk_stdout, ErrorRecord, Sink};
use crate::progress::{Progress, Ticker};
use crate::sandbox_cmd::setup;

/// Every source answered.
pub const EXIT_OK: u8 = 0;
/// Nothing could be fetched.
pub const EXIT_FAILED: u8 = 1;
/// Usage or config error.
pub const EXIT_USAGE: u8 = 2;
/// Some sources failed; the others' campaigns were printed.
pub const EXIT_PARTIAL: u8 = 3;

/// Page size when neither `--limit` nor `defaults.page_size` gives one.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Why a command stopped early.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or config: exit 2.
    Usage(String),
    /// Nothing could be fetched: exit 1.
    Fetch(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Fetch(_) => EXIT_FAILED,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Fetch(message) => f.write_str(message),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::Usage(error.to_string())
    }
}

/// A config error raised while building sources (the config was valid TOML
/// but a provider refused a value) is still the user's to fix: exit 2.
pub(crate) fn build_failure(file: &Path, error: SourceError) -> Failure {
    match error.kind() {
        ErrorKind::Config => Failure::Usage(format!("config error in {}: {error}", file.display())),
        _ => Failure::Fetch(error.to_string()),
    }
}

/// What a listing delivered, for the exit code and the json document.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Campaigns delivered.
    pub(crate) items: usize,
    /// The failed sources (or partitions), as json's `errors` lists them.
    pub(crate) errors: Vec<ErrorRecord>,
    /// The sources' warnings, as json's `warnings` lists them.
    pub(crate) warnings: Vec<SourceWarning>,
}

impl Tally {
    /// One page's account: `items` campaigns, its failures and warnings,
    /// each reported on stderr as it is taken (`list` and `serve` alike).
    pub(crate) fn of_page(
        items: usize,
        failures: &[SourceFailure],
        warnings: Vec<SourceWarning>,
    ) -> Self {
        let mut tally = Tally {
            items,
            ..Tally::default()
        };
        for failure in failures {
            let record = ErrorRecord::new(&failure.source, &failure.error);
            report(&record);
            tally.errors.push(record);
        }
        for warning in warnings {
            report_warning(&warning);
            tally.warnings.push(warning);
        }
        tally
    }
}

/// The exit code of a listing that delivered `tally` from `sources` sources:
/// [`EXIT_FAILED`] when every source failed and nothing came, [`EXIT_PARTIAL`]
/// when some failed.
pub(crate) fn exit_code(tally: &Tally, sources: usize) -> u8 {
    let failed: std::collections::BTreeSet<&str> =
        tally.errors.iter().map(|e| e.source.as_str()).collect();
    if failed.is_empty() {
        EXIT_OK
    } else if failed.len() >= sources && tally.items == 0 {
        EXIT_FAILED
    } else {
        EXIT_PARTIAL
    }
}

pub(crate) fn report(error: &ErrorRecord) {
    eprintln!(
        "campaigns: source \"{}\" failed: {}",
        error.source, error.message
    );
}

fn report_warning(warning: &SourceWarning) {
    eprintln!(
        "campaigns: source \"{}\": warning: {}",
        warning.source,
        warning.detail()
    );
}

/// `campaigns list`: returns the exit code.
pub async fn list(
    args: ListArgs,
    registry: &Registry,
    progress: Option<Progress>,
) -> Result<u8, Failure> {
    // From a store, no config is read; live, the config (or the sandbox).
    let (setup, aggregate, default_page_size) = match &args.store {
        Some(url) => {
            let aggregate = crate::store_cmd::store_aggregate(url, args.include_deleted).await?;
            (None, aggregate, None)
        }
        None => {
            let setup = setup(args.config.as_deref(), registry, args.strict).await?;
            let aggregate = setup
                .config
                .aggregate()
                .map_err(|e| build_failure(&setup.config.file, e))?;
            let page_size = setup.config.defaults.page_size;
            (Some(setup), aggregate, page_size)
        }
    };
    let page_size = args
        .limit
        .or(default_page_size)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    let query = args.query(page_size).map_err(Failure::Usage)?;
    let mut sink = Sink::new(args.format, args.raw, bulk_stdout());
    let paged = args.limit.is_some() || args.cursor.is_some();
    let outcome = if paged {
        one_page(
            &aggregate,
            &query,
            args.cursor.as_deref(),
            &mut sink,
            progress,
        )
        .await
    } else {
        everything(&aggregate, &query, &mut sink, progress).await
    };
    let finished = outcome.and_then(|(tally, next)| {
        sink.finish(
            next.as_ref().map(Cursor::as_str),
            &tally.errors,
            &tally.warnings,
        )
        .map_err(write_failure)?;
        Ok((tally, next))
    });
    let (tally, next) = match finished {
        Ok(done) => done,
        Err(Failure::Fetch(message)) if is_broken_pipe(&message) => return Ok(EXIT_OK),
        Err(failure) => return Err(failure),
    };
    if let (Some(next), false) = (&next, args.format == Format::Json) {
        eprintln!("campaigns: more campaigns follow; next page: --cursor {next}");
    }
    drop(setup);
    Ok(exit_code(&tally, aggregate.sources().len()))
}

const BROKEN_PIPE: &str = "output closed";

pub(crate) fn is_broken_pipe(message: &str) -> bool {
    message == BROKEN_PIPE
}

/// The exit code of a command whose work was done before it wrote about it
/// (`sync`, `sources`): a reader that stopped reading (`| head`) changes
/// nothing of what happened, so it ends the output, not the command's result.
pub(crate) fn written(output: Result<(), Failure>, code: u8) -> Result<u8, Failure> {
    match output {
        Err(Failure::Fetch(message)) if is_broken_pipe(&message) => Ok(code),
        other => other.map(|()| code),
    }
}

/// `serde_json`'s write error as a failure (a closed pipe as [`write_failure`]
/// says it).
pub(crate) fn json_failure(error: serde_json::Error) -> Failure {
    match error.io_error_kind() {
        Some(kind) => write_failure(io::Error::from(kind)),
        None => Failure::Fetch(format!("cannot write the output: {error}")),
    }
}

pub(crate) fn write_failure(error: io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        // `campaigns list | head` closing the pipe early is a normal end.
        Failure::Fetch(BROKEN_PIPE.into())
    } else {
        Failure::Fetch(format!("cannot write the output: {error}"))
    }
}

async fn one_page<W: Write>(
    aggregate: &Aggregator,
    query: &CampaignQuery,
    cursor: Option<&str>,
    sink: &mut Sink<W>,
    progress: Option<Progress>,
) -> Result<(Tally, Option<Cursor>), Failure> {
    let cursor = cursor
        .map(Cursor::parse)
        .transpose()
        .map_err(|e| Failure::Usage(format!("bad --cursor: {e}")))?;
    let mut items = 0usize;
    // The sink is written by the callback and flushed by the poll below,
    // never both at once.
    let out = RefCell::new((sink, Ok(())));
    let page = {
        // Each campaign is written the moment its place in the page is settled,
        // so lines come out while later source pages are still being read; a
        // failed write (the reader went away) ends the page.
        let fetch = aggregate.page_each(query, cursor.as_ref(), |campaign| {
            if let Some(progress) = &progress {
                progress.item(&campaign.id.source);
            }
            items += 1;
            let (sink, written) = &mut *out.borrow_mut();
            if written.is_ok() {
                *written = sink.push(campaign);
            }
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        });
        // Written lines go out whenever the page has to wait, as `everything` does.
        let mut fetch = std::pin::pin!(fetch);
        let flushing = std::future::poll_fn(|cx| {
            let polled = fetch.as_mut().poll(cx);
            if polled.is_pending() {
                let (sink, written) = &mut *out.borrow_mut();
                if written.is_ok() {
                    *written = sink.flush();
                }
            }
            polled
        });
        match progress.clone() {
            None => flushing.await,
            // The live line (pages and retries per source) while the page is read.
            Some(progress) => {
                let mut ticker = Ticker::new(progress);
                let mut flushing = std::pin::pin!(flushing);
                let mut every = tokio::time::interval(Duration::from_millis(100));
                let page = loop {
                    tokio::select! {
                        page = &mut flushing => break page,
                        _ = every.tick() => ticker.tick(),
                    }
                };
                ticker.clear();
                page
            }
        }
    };
    let (_, written) = out.into_inner();
    let page = page.map_err(|e| match e.kind() {
        ErrorKind::InvalidCursor => Failure::Usage(format!("bad --cursor: {e}")),
        _ => Failure::Fetch(e.to_string()),
    })?;
    written.map_err(write_failure)?;
    let tally = Tally::of_page(items, &page.failures, page.warnings);
    Ok((tally, page.next))
}

async fn everything<W: Write>(
    aggregate: &Aggregator,
    query: &CampaignQuery,
    sink: &mut Sink<W>,
    progress: Option<Progress>,
) -> Result<(Tally, Option<Cursor>), Failure> {
    let mut ticker = progress.clone().map(Ticker::new);
    let mut events = aggregate.events(query);
    let mut tally = Tally::default();
    loop {
        // Flush only when the next event is not ready yet: streamed lines go
        // out as soon as we would wait, without a write call per campaign.
        let event = match events.next().now_or_never() {
            Some(event) => event,
            None => {
                sink.flush().map_err(write_failure)?;
                if let Some(ticker) = ticker.as_mut() {
                    ticker.tick();
                }
                events.next().await
            }
        };
        let Some(event) = event else { break };
        match event {
            AggregateEvent::Campaign(campaign) => {
                if let Some(progress) = &progress {
                    progress.item(&campaign.id.source);
                }
                tally.items += 1;
                sink.push(campaign).map_err(write_failure)?;
            }
            AggregateEvent::SourceFailed(failure) => {
                if let Some(progress) = &progress {
                    progress.finished(&failure.source, false);
                }
                if let Some(ticker) = ticker.as_mut() {
                    ticker.clear();
                }
                let record = ErrorRecord::new(&failure.source, &failure.error);
                report(&record);
                tally.errors.push(record);
            }
            AggregateEvent::SourceWarning(warning) => {
                if let Some(ticker) = ticker.as_mut() {
                    ticker.clear();
                }
                report_warning(&warning);
                tally.warnings.push(warning);
            }
            AggregateEvent::SourceDone { source, .. } => {
                if let Some(progress) = &progress {
                    progress.finished(&source, true);
                }
            }
            // Future kinds of events: nothing to print for them yet.
            _ => {}
        }
    }
    if let Some(ticker) = ticker.as_mut() {
        ticker.clear();
    }
    Ok((tally, None))
}

/// `campaigns sources`: returns the exit code.
pub async fn sources(args: SourcesArgs, registry: &Registry) -> Result<u8, Failure> {
    let setup = setup(args.config.as_deref(), registry, false).await?;
    let aggregate = setup
        .config
        .aggregate()
        .map_err(|e| build_failure(&setup.config.file, e))?;
    let checks = futures::future::join_all(
        aggregate
            .sources()
            .iter()
            .map(|source| live_check(Arc::clone(source))),
    );
    let checks = checks.await;
    let failed = checks.iter().filter(|check| check.is_err()).count();
    let code = match failed {
        0 => EXIT_OK,
        n if n == aggregate.sources().len() => EXIT_FAILED,
        _ => EXIT_PARTIAL,
    };
    let mut out = io::stdout().lock();
    let output = aggregate.sources().iter().zip(checks).try_for_each(|(source, check)| {
        let SourceCapabilities {
            filters,
            sorts,
            max_page_size,
            server_paging,
            at_provider,
        } = SourceCapabilities::of(source.as_ref());
        let none = |list: &[&str]| match (list.is_empty(), at_provider) {
            (true, _) => "none (applied locally)".to_owned(),
            (false, true) => list.join(", "),
            // The source does them on what the provider sent.
            (false, false) => format!("none (applied locally: {})", list.join(", ")),
        };
        let status = match &check {
            Ok(count) => format!("reachable, authorized, {count} campaigns"),
            Err(error) => {
                let what = match error.kind() {
                    ErrorKind::Unauthorized | ErrorKind::Forbidden => "reachable, NOT authorized",
                    ErrorKind::Transport | ErrorKind::Timeout => "NOT reachable",
                    _ => "reachable, failing",
                };
                format!("{what}: {error}")
            }
        };
        writeln!(
            out,
            "{}\n  provider:        {}\n  server filters:  {}\n  server sorts:    {}\n  max page size:   {}\n  server paging:   {}\n  check:           {}",
            source.id(),
            source.provider(),
            none(&filters),
            none(&sorts),
            max_page_size.map_or_else(|| "unbounded".into(), |n| n.to_string()),
            if server_paging { "yes" } else { "no (pages locally)" },
            status,
        )
        .map_err(write_failure)
    });
    written(output, code)
}

/// What a source can do itself, as `campaigns sources` prints it and
/// `serve`'s `GET /v1/sources` returns it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SourceCapabilities {
    /// Filters the source applies itself (the rest are applied locally).
    pub(crate) filters: Vec<&'static str>,
    /// Sort fields the source sorts by itself.
    pub(crate) sorts: Vec<&'static str>,
    /// The largest page the source asks for, if bounded.
    pub(crate) max_page_size: Option<u32>,
    /// Whether the source pages at its server (else it pages locally).
    pub(crate) server_paging: bool,
    /// Whether the filters and sorts run at the provider's server, rather
    /// than in the source on what the provider sent.
    pub(crate) at_provider: bool,
}

impl SourceCapabilities {
    /// `source`'s capabilities.
    pub(crate) fn of(source: &dyn CampaignSource) -> Self {
        let capabilities = source.capabilities();
        Self {
            filters: capabilities.filters.iter().map(|f| f.as_str()).collect(),
            sorts: capabilities.sorts.iter().map(|s| s.as_str()).collect(),
            max_page_size: capabilities.max_page_size,
            server_paging: capabilities.server_paging,
            at_provider: source.capabilities_at_provider(),
        }
    }
}

/// Counts a source's campaigns, which proves it reachable and authorized.
async fn live_check(source: Arc<dyn CampaignSource>) -> Result<usize, SourceError> {
    let id = source.id().to_owned();
    let count = async {
        let mut stream = source.stream(&CampaignQuery::all());
        let mut count = 0;
        while let Some(item) = stream.next().await {
            item?;
            count += 1;
        }
        Ok(count)
    };
    tokio::time::timeout(Duration::from_secs(120), count)
        .await
        .unwrap_or_else(|_| {
            Err(SourceError::new(
                ErrorKind::Timeout,
                id,
                "live check took over 120 s",
            ))
        })
}
