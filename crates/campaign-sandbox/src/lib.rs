//! Local emulators of the CMS and Kore.ai campaign APIs, with fault injection.
//!
//! TODO docs
#![warn(missing_docs, missing_debug_implementations)]

mod auth;
mod cms;
mod data;
mod faults;
mod generate;
mod kore;
mod kore_store;
mod log;
mod sandbox;
mod wire;

pub use auth::SandboxCredentials;
pub use data::samples;
pub use faults::{Fault, RetryAfter};
pub use generate::GeneratedData;
pub use log::{LoggedRequest, Server};
pub use sandbox::{ProviderControl, Sandbox, SandboxBuilder};
