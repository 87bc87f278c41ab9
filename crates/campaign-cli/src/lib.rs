//! The `campaigns` command-line tool as a library: argument parsing, the TOML
//! config, the providers' registry and output formats. The binary in
//! `src/main.rs` is one line, [`main_with`] over the built-in
//! [`providers`], so a plugin author's binary is the same line over a
//! registry with their provider added.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use campaign_cli::config::Config;
//!
//! let text = r#"
//! [[sources]]
//! name = "cc-main"
//! provider = "cms"
//! base_url = "https://cms.example.com"
//! token_env = "CMS_TOKEN"
//! contact_center_ids = [1, 2]
//! "#;
//! let env = |name: &str| (name == "CMS_TOKEN").then(|| "t0ken".to_string());
//! let config = Config::parse(Path::new("campaigns.toml"), text, &env).unwrap();
//! assert_eq!(config.sources[0].name, "cc-main");
//! // Secrets are resolved but never shown.
//! assert!(!format!("{config:?}").contains("t0ken"));
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod args;
pub mod config;
mod entry;
pub mod output;
pub mod progress;
pub mod providers;
pub mod run;
pub mod sandbox_cmd;
pub mod serve;
pub mod store_cmd;

pub use entry::{main_from, main_with};
