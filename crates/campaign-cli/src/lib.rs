//! The `campaigns` command-line tool as a library: argument parsing, the TOML
//! config, source construction and output formats. The binary in
//! `src/main.rs` only wires these together, so everything here is testable
//! (and fuzzable) without spawning a process.
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
//! assert_eq!(config.sources[0].common().name, "cc-main");
//! // Secrets are resolved but never shown.
//! assert!(!format!("{config:?}").contains("t0ken"));
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod args;
pub mod build;
pub mod config;
pub mod output;
pub mod progress;
pub mod run;
pub mod store_cmd;
