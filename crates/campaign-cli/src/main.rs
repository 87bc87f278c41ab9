//! The `campaigns` binary: see `campaigns --help` and the README.

use std::process::ExitCode;

fn main() -> ExitCode {
    campaign_cli::main_with(campaign_cli::providers::builtin())
}
