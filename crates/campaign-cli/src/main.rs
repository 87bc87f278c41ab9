//! The `campaigns` binary: see `campaigns --help` and the README.

use std::io::IsTerminal;
use std::process::ExitCode;

use campaign_cli::args::{Cli, Command};
use campaign_cli::progress::Progress;
use campaign_cli::run::{self, EXIT_FAILED};
use clap::Parser;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse();
    let progress = init_tracing(
        cli.verbose,
        matches!(cli.command, Command::List(_) | Command::Sync(_)),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("campaigns: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::List(args) => run::list(args, progress).await,
            Command::Sources(args) => run::sources(args).await,
            Command::Sandbox(args) => run::sandbox(args).await,
            Command::Sync(args) => campaign_cli::store_cmd::sync(args, progress).await,
            Command::Changes(args) => campaign_cli::store_cmd::changes(args).await,
        }
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("campaigns: error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Logs to stderr at the level `-v` or `RUST_LOG` asks for; on a terminal,
/// also feeds the live progress line of `list`.
fn init_tracing(verbose: u8, listing: bool) -> Option<Progress> {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only for a terminal: escape codes garble a redirected log.
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let progress = (listing && std::io::stderr().is_terminal()).then(Progress::default);
    let progress_layer = progress.as_ref().map(|p| {
        p.layer()
            .with_filter(Targets::new().with_target("campaign_http", LevelFilter::DEBUG))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(progress_layer)
        .init();
    progress
}
