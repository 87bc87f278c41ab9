//! The performance figures of `docs/PERFORMANCE.md`, measured in one run.
//!
//! Every figure is a ratio taken within the same run (a measured wall against
//! a measured or computed limit on the same machine), so a noisy machine
//! shifts both sides alike. `cargo run --release -p campaign-bench` runs them
//! all and prints a markdown table; `--quick` uses small sizes. The store
//! figures ([`store::figures`]) run the `campaigns` binary against a sandbox
//! process and an SQLite file (and PostgreSQL when `CAMPAIGNS_TEST_POSTGRES`
//! names a server). The service figures ([`serve::figures`]) load a
//! `campaigns serve` process with keep-alive HTTP clients.
//!
//! ```
//! use campaign_bench::{figures, Sizes};
//!
//! // The pure CPU figures need no server; tiny sizes keep this fast.
//! let sizes = Sizes::tiny();
//! let rows = figures::merge(&sizes);
//! assert!(rows.iter().any(|row| row.figure == "merge"));
//! println!("{}", campaign_bench::render(&rows));
//! ```

#![warn(missing_docs, missing_debug_implementations)]

pub mod figures;
pub mod genesys;
mod http_load;
mod process;
mod report;
pub mod serve;
mod sizes;
pub mod store;
mod store_requests;

pub use process::{child_many_sources, peak_rss_kib, CampaignsBin};
pub use report::{render, Row};
pub use sizes::Sizes;
