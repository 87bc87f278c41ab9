//! A plugin author's whole command line: the `campaigns` CLI (`list`,
//! `sources`, `sync`, `changes`, `providers`, ...) over the built-in
//! providers plus TinyCRM (`examples/src/tinycrm.rs`).
//!
//! ```text
//! cargo run -p examples --example tinycrm_server          # prints a config
//! TINY_API_KEY=tiny-demo-key cargo run -p examples --example campaigns_tinycrm -- \
//!     list --config tiny.toml
//! ```

use std::process::ExitCode;

use examples::tinycrm::TinyConfig;

fn main() -> ExitCode {
    let mut registry = campaign_cli::providers::builtin();
    if let Err(e) = registry.register::<TinyConfig>() {
        eprintln!("campaigns: error: {e}");
        return ExitCode::from(2);
    }
    campaign_cli::main_with(registry)
}
