//! Command-line arguments and their translation into a [`CampaignQuery`].

use std::path::PathBuf;

use campaign_core::{CampaignQuery, Channel, DialingMode, Sort, SortField, Status};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The largest page `--limit` and the config's `defaults.page_size` accept.
pub const MAX_PAGE_SIZE: u32 = 10_000;

/// `campaigns`: one view of the campaigns held by several contact-center providers.
#[derive(Debug, Parser)]
#[command(name = "campaigns", version, about, propagate_version = true)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace); `RUST_LOG` also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List campaigns from every configured source, merged and ordered.
    List(ListArgs),
    /// Show each configured source, its capabilities and a live check.
    Sources(SourcesArgs),
    /// Run the CMS and Kore.ai emulators in the foreground.
    Sandbox(SandboxArgs),
    /// Copy every configured source into a local store (SQLite or PostgreSQL), logging what changed.
    Sync(SyncArgs),
    /// Print the store's change log: what was added, updated and deleted, in order.
    Changes(ChangesArgs),
    /// List the providers this binary knows and the config keys of each.
    Providers(ProvidersArgs),
    /// Serve the unified view over HTTP (JSON API, OpenAPI, metrics).
    Serve(ServeArgs),
}

/// Arguments of `campaigns serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file (TOML); without it the embedded sandbox is served.
    #[arg(long, env = "CAMPAIGNS_CONFIG")]
    pub config: Option<PathBuf>,

    /// Answer from this store (sqlite://PATH or postgres://...), else
    /// CAMPAIGNS_STORE, else the config's `[store] url`; without any, answer
    /// live from the sources.
    #[arg(long)]
    pub store: Option<String>,

    /// The address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// With a store: sync it this often in the background (e.g. 5m, 30s; 0 never).
    #[arg(long, default_value = "5m", value_parser = parse_sync_every)]
    pub sync_every: std::time::Duration,

    /// Allow a non-loopback address without API keys (`[serve] api_keys_env`).
    #[arg(long)]
    pub insecure_no_auth: bool,
}

/// Output formats of `providers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProvidersFormat {
    /// Each provider and its keys, for reading.
    Text,
    /// One JSON document: `{"providers": [{provider, description, keys: [{name, required, description}]}]}`.
    Json,
}

/// Arguments of `campaigns providers`.
#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProvidersFormat::Text)]
    pub format: ProvidersFormat,
}

/// Output formats of `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncFormat {
    /// One row per source.
    Table,
    /// One JSON document: `{"run", "sources": [...]}`.
    Json,
}

/// Output formats of `changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangesFormat {
    /// One JSON change per line, streamed.
    Ndjson,
    /// One JSON document: `{"changes": [...], "last_seq"}`.
    Json,
    /// Aligned columns.
    Table,
}

/// Arguments of `campaigns sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Config file (TOML); without it the embedded sandbox is synced.
    #[arg(long, env = "CAMPAIGNS_CONFIG")]
    pub config: Option<PathBuf>,

    /// The store: sqlite://PATH or postgres://... (else CAMPAIGNS_STORE, else the
    /// config's `[store] url`, else sqlite://campaigns.db).
    #[arg(long)]
    pub store: Option<String>,

    /// Read every source whole, even where an incremental read would do.
    #[arg(long)]
    pub full: bool,

    /// Sync only this source (repeatable); default every configured source.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,

    /// Keep syncing, this long apart (e.g. 5m, 30s), until interrupted.
    #[arg(long, value_parser = parse_duration)]
    pub watch: Option<std::time::Duration>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = SyncFormat::Table)]
    pub format: SyncFormat,
}

/// Arguments of `campaigns changes`.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// The store: sqlite://PATH or postgres://... (else CAMPAIGNS_STORE, else
    /// sqlite://campaigns.db). No config file is read.
    #[arg(long)]
    pub store: Option<String>,

    /// Only changes after this sequence number.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub since: i64,

    /// Only this source's changes.
    #[arg(long = "source", value_name = "NAME")]
    pub source: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ChangesFormat::Ndjson)]
    pub format: ChangesFormat,
}

fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(value.trim())
        .map_err(|e| format!("not a duration ({e}), e.g. 30s, 5m or 1h"))?;
    if duration.is_zero() {
        return Err("the interval must be longer than zero".into());
    }
    Ok(duration)
}

/// `--sync-every`: a duration, or `0` for never.
fn parse_sync_every(value: &str) -> Result<std::time::Duration, String> {
    match value.trim() {
        "0" => Ok(std::time::Duration::ZERO),
        other => parse_duration(other),
    }
}

/// Output formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns sized to the terminal.
    Table,
    /// One JSON document with campaigns, next cursor and errors.
    Json,
    /// One JSON campaign per line, streamed as it arrives.
    Ndjson,
    /// A header row, then one row per campaign.
    Csv,
}

/// Arguments of `campaigns list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Config file (TOML); without it the embedded sandbox is used.
    #[arg(long, env = "CAMPAIGNS_CONFIG")]
    pub config: Option<PathBuf>,

    /// Filters and sort.
    #[command(flatten)]
    pub filters: QueryArgs,

    /// Print one page of at most N campaigns and the cursor of the next.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
    pub limit: Option<u32>,

    /// Continue from the cursor a previous page printed (same filters and sort).
    #[arg(long)]
    pub cursor: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Include each provider's original record (`raw`) in json and ndjson output.
    #[arg(long)]
    pub raw: bool,

    /// List from this store (sqlite://PATH or postgres://...), kept by `campaigns sync`,
    /// instead of the live sources; no config file is read.
    #[arg(long)]
    pub store: Option<String>,

    /// With --store: also list campaigns deleted at their provider.
    #[arg(long, requires = "store")]
    pub include_deleted: bool,

    /// Fail a source's page (or contact center) on a record it cannot use,
    /// instead of skipping the record with a warning (every source, as
    /// `strict = true` in the config does for one).
    #[arg(long)]
    pub strict: bool,
}

/// The filters and sort of a listing: `list`'s flags, and the query
/// parameters of `serve`'s `GET /v1/campaigns` (parsed with the same functions).
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Channels to keep (voice, sms, chat, interaction); repeatable or comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_channel)]
    pub channel: Vec<Channel>,

    /// Statuses to keep (active, completed, ready, paused, preparing, stopped, scheduled, rescheduled).
    #[arg(long, value_delimiter = ',', value_parser = parse_status)]
    pub status: Vec<Status>,

    /// Priorities to keep (0-255).
    #[arg(long, value_delimiter = ',')]
    pub priority: Vec<u8>,

    /// Dialing modes to keep (progressive, preview, agentless, predictive).
    #[arg(long = "dialing-mode", value_delimiter = ',', value_parser = parse_dialing_mode)]
    pub dialing_mode: Vec<DialingMode>,

    /// Created at or after this instant (RFC 3339).
    #[arg(long, value_parser = parse_instant)]
    pub created_from: Option<DateTime<Utc>>,

    /// Created before this instant (RFC 3339, exclusive).
    #[arg(long, value_parser = parse_instant)]
    pub created_to: Option<DateTime<Utc>>,

    /// Updated at or after this instant (RFC 3339).
    #[arg(long, value_parser = parse_instant)]
    pub updated_from: Option<DateTime<Utc>>,

    /// Updated before this instant (RFC 3339, exclusive).
    #[arg(long, value_parser = parse_instant)]
    pub updated_to: Option<DateTime<Utc>>,

    /// Keep names containing this text (case-insensitive).
    #[arg(long)]
    pub name: Option<String>,

    /// Sort as FIELD:asc|desc with FIELD one of name, created_at, updated_at.
    #[arg(long, default_value = DEFAULT_SORT, value_parser = parse_sort)]
    pub sort: Sort,

    /// Arrival order instead of a sort: with `--format ndjson` or `csv`,
    /// campaigns come out as each source answers, so the first ones appear
    /// after the fastest source's first page rather than after every
    /// source's (an unpaged provider's whole list). Cursors still resume
    /// without gaps or repeats.
    #[arg(long, conflicts_with = "sort")]
    pub unsorted: bool,
}

/// Arguments of `campaigns sources`.
#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// Config file (TOML); without it the embedded sandbox is used.
    #[arg(long, env = "CAMPAIGNS_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Arguments of `campaigns sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port of the CMS emulator; Kore.ai and Genesys Cloud listen on the next two. 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Generate this many campaigns (split between the providers) instead of the specs' samples.
    #[arg(long)]
    pub campaigns: Option<usize>,

    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

fn known_or_error<T>(
    kind: &str,
    value: &str,
    parsed: T,
    known: bool,
    all: &[&str],
) -> Result<T, String> {
    if known {
        Ok(parsed)
    } else {
        Err(format!(
            "unknown {kind} \"{value}\" (expected one of: {})",
            all.join(", ")
        ))
    }
}

pub(crate) fn parse_channel(value: &str) -> Result<Channel, String> {
    let channel = Channel::parse(value.trim());
    let known = !matches!(channel, Channel::Other(_));
    let all: Vec<&str> = Channel::KNOWN.iter().map(|c| c.as_str()).collect();
    known_or_error("channel", value, channel, known, &all)
}

pub(crate) fn parse_status(value: &str) -> Result<Status, String> {
    let status = Status::parse(value.trim());
    let known = !matches!(status, Status::Other(_));
    let all: Vec<&str> = Status::KNOWN.iter().map(|s| s.as_str()).collect();
    known_or_error("status", value, status, known, &all)
}

pub(crate) fn parse_dialing_mode(value: &str) -> Result<DialingMode, String> {
    let mode = DialingMode::parse(value.trim());
    let known = !matches!(mode, DialingMode::Other(_));
    let all: Vec<&str> = DialingMode::KNOWN.iter().map(|m| m.as_str()).collect();
    known_or_error("dialing mode", value, mode, known, &all)
}

pub(crate) fn parse_instant(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 instant ({e}), e.g. 2024-05-01T00:00:00Z"))
}

pub(crate) fn parse_sort(value: &str) -> Result<Sort, String> {
    value.parse::<Sort>().map_err(|e| e.to_string())
}

impl ListArgs {
    /// The query these arguments describe; `page_size` is the page (or request) size to use.
    /// Sources are told to keep each campaign's original record only when it is printed
    /// (`--raw` with json or ndjson).
    pub fn query(&self, page_size: u32) -> Result<CampaignQuery, String> {
        let printed = self.raw && matches!(self.format, Format::Json | Format::Ndjson);
        self.filters.query_keeping_raw(page_size, printed)
    }
}

impl Default for QueryArgs {
    /// No filter, the default sort: every campaign, newest first.
    fn default() -> Self {
        Self {
            channel: Vec::new(),
            status: Vec::new(),
            priority: Vec::new(),
            dialing_mode: Vec::new(),
            created_from: None,
            created_to: None,
            updated_from: None,
            updated_to: None,
            name: None,
            sort: default_sort(),
            unsorted: false,
        }
    }
}

impl QueryArgs {
    /// The query these filters describe; `page_size` is the page (or request) size to use.
    pub fn query(&self, page_size: u32) -> Result<CampaignQuery, String> {
        self.query_keeping_raw(page_size, true)
    }

    /// [`QueryArgs::query`], telling sources whether each campaign's original
    /// record is wanted ([`CampaignQuery::keeps_raw`]).
    pub fn query_keeping_raw(
        &self,
        page_size: u32,
        keep_raw: bool,
    ) -> Result<CampaignQuery, String> {
        let mut builder = CampaignQuery::builder()
            .channels(self.channel.iter().cloned())
            .statuses(self.status.iter().cloned())
            .priorities(self.priority.iter().copied())
            .dialing_modes(self.dialing_mode.iter().cloned())
            .page_size(page_size)
            .keep_raw(keep_raw);
        builder = if self.unsorted {
            builder.unsorted()
        } else {
            builder.sort(self.sort)
        };
        if let Some(t) = self.created_from {
            builder = builder.created_from(t);
        }
        if let Some(t) = self.created_to {
            builder = builder.created_to(t);
        }
        if let Some(t) = self.updated_from {
            builder = builder.updated_from(t);
        }
        if let Some(t) = self.updated_to {
            builder = builder.updated_to(t);
        }
        if let Some(name) = &self.name {
            builder = builder.name_contains(name.clone());
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// The sort `list` uses when none is given.
pub fn default_sort() -> Sort {
    Sort::desc(SortField::CreatedAt)
}

/// [`default_sort`] as text, for clap's default value.
const DEFAULT_SORT: &str = "created_at:desc";

#[cfg(test)]
mod tests {
    use super::*;

    fn list(args: &[&str]) -> Result<ListArgs, clap::Error> {
        let mut argv = vec!["campaigns", "list"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::List(list) => list,
            other => panic!("parsed {other:?}"),
        })
    }

    #[test]
    fn filters_are_repeatable_and_comma_separated() {
        let args = list(&[
            "--channel",
            "voice,sms",
            "--channel",
            "chat",
            "--status",
            "ACTIVE",
            "--priority",
            "1,2",
            "--dialing-mode",
            "preview",
        ])
        .unwrap();
        let args = args.filters;
        assert_eq!(args.channel, [Channel::Voice, Channel::Sms, Channel::Chat]);
        assert_eq!(args.status, [Status::Active]);
        assert_eq!(args.priority, [1, 2]);
        assert_eq!(args.dialing_mode, [DialingMode::Preview]);
        assert_eq!(args.sort, default_sort());
        assert_eq!(DEFAULT_SORT.parse::<Sort>().unwrap(), default_sort());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(list(&["--status", "actve"])
            .unwrap_err()
            .to_string()
            .contains("expected one of"));
        assert!(list(&["--created-from", "yesterday"]).is_err());
        assert!(list(&["--sort", "colour:asc"]).is_err());
        assert!(list(&["--limit", "0"]).is_err());
        assert!(list(&["--priority", "300"]).is_err());
        assert!(list(&["--unsorted", "--sort", "name:asc"]).is_err());
    }

    #[test]
    fn unsorted_drops_the_default_sort() {
        let query = list(&["--unsorted"]).unwrap().query(10).unwrap();
        assert_eq!(query.sort(), None);
        assert_eq!(
            list(&[]).unwrap().query(10).unwrap().sort(),
            Some(default_sort())
        );
    }

    #[test]
    fn the_query_carries_every_filter() {
        let args = list(&[
            "--created-from",
            "2024-01-01T00:00:00Z",
            "--created-to",
            "2024-02-01T00:00:00+01:00",
            "--name",
            "Promo",
            "--sort",
            "name:asc",
        ])
        .unwrap();
        let query = args.query(25).unwrap();
        assert_eq!(query.page_size(), Some(25));
        assert_eq!(query.name_contains(), Some("Promo"));
        assert_eq!(query.sort(), Some(Sort::asc(SortField::Name)));
        assert_eq!(
            query.created().end.unwrap().to_rfc3339(),
            "2024-01-31T23:00:00+00:00"
        );
    }
}
