//! The whole command line over any registry: what `main` of the `campaigns`
//! binary, or of a plugin author's binary, calls.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use campaign_registry::Registry;
use clap::Parser;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::args::{Cli, Command};
use crate::progress::Progress;
use crate::run::EXIT_FAILED;

/// Runs the `campaigns` command line (`list`, `sources`, `sync`, `changes`,
/// `serve`, `sandbox`, `providers`) with the process's arguments, over `registry`'s
/// providers: [`builtin`](crate::providers::builtin) plus any a plugin
/// author registers.
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     let mut registry = campaign_cli::providers::builtin();
///     // registry.register::<MyProviderConfig>().expect("a new provider name");
///     campaign_cli::main_with(registry)
/// }
/// ```
pub fn main_with(registry: Registry) -> ExitCode {
    main_from(std::env::args_os(), registry)
}

/// [`main_with`] on the given arguments (the first is the program name).
pub fn main_from(args: impl IntoIterator<Item = OsString>, registry: Registry) -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse_from(args);
    let progress = init_tracing(
        cli.verbose,
        matches!(cli.command, Command::List(_) | Command::Sync(_)),
        matches!(cli.command, Command::Serve(_)),
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
            Command::List(args) => crate::run::list(args, &registry, progress).await,
            Command::Sources(args) => crate::run::sources(args, &registry).await,
            Command::Sandbox(args) => crate::sandbox_cmd::sandbox(args).await,
            Command::Sync(args) => crate::store_cmd::sync(args, &registry, progress).await,
            Command::Changes(args) => crate::store_cmd::changes(args).await,
            Command::Providers(args) => crate::providers::describe(&registry, &args),
            Command::Serve(args) => {
                crate::serve::serve(args, &registry, progress.unwrap_or_default()).await
            }
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
/// also feeds the live progress line of `list` and `sync`; when `counting`
/// (`serve`), always, for its metrics.
fn init_tracing(verbose: u8, listing: bool, counting: bool) -> Option<Progress> {
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
    let progress =
        (counting || (listing && std::io::stderr().is_terminal())).then(Progress::default);
    let progress_layer = progress.as_ref().map(|p| {
        p.layer()
            .with_filter(Targets::new().with_target("campaign_http", LevelFilter::DEBUG))
    });
    // A host may have installed its own subscriber: then that one logs.
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(progress_layer)
        .try_init();
    progress
}
