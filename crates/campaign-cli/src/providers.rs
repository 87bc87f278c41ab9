//! The providers the `campaigns` binary knows: the built-in registry, and
//! `campaigns providers`, which describes every registered one.

use std::io::{self, Write};

use campaign_registry::Registry;
use serde::Serialize;

use crate::args::{ProvidersArgs, ProvidersFormat};
use crate::run::{json_failure, write_failure, written, Failure, EXIT_OK};

/// CMS, Kore.ai and Genesys Cloud, registered through the same public API
/// a plugin author uses ([`Registry::register`]).
pub fn builtin() -> Registry {
    let mut registry = Registry::new();
    for result in [
        registry.register::<source_cms::CmsSettings>().map(drop),
        registry.register::<source_kore::KoreSettings>().map(drop),
        registry
            .register::<source_genesys::GenesysSettings>()
            .map(drop),
    ] {
        // Distinct names, fixed at compile time: a clash is a programming error.
        result.expect("built-in providers have distinct names");
    }
    registry
}

/// One provider of `campaigns providers --format json`.
#[derive(Debug, Serialize)]
struct ProviderLine<'a> {
    provider: &'a str,
    description: &'a str,
    keys: Vec<KeyLine<'a>>,
}

/// One key of a provider.
#[derive(Debug, Serialize)]
struct KeyLine<'a> {
    name: &'a str,
    required: bool,
    description: &'a str,
}

/// The keys every `[[sources]]` table accepts, whatever its provider.
const COMMON: [(&str, bool, &str); 6] = [
    (
        "name",
        true,
        "the source's name: the source part of its campaign ids",
    ),
    ("provider", true, "one of the providers below"),
    (
        "timeout_secs",
        false,
        "per-request timeout (default [defaults] or 30)",
    ),
    (
        "max_retries",
        false,
        "retries per request (default [defaults] or 3)",
    ),
    (
        "allow_insecure_http",
        false,
        "accept http:// for a non-loopback host",
    ),
    (
        "strict",
        false,
        "a record the source cannot use fails its page",
    ),
];

/// `campaigns providers`: every registered provider and its config keys.
pub fn describe(registry: &Registry, args: &ProvidersArgs) -> Result<u8, Failure> {
    written(print_providers(registry, args), EXIT_OK)
}

fn print_providers(registry: &Registry, args: &ProvidersArgs) -> Result<(), Failure> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format {
        ProvidersFormat::Json => {
            let lines: Vec<ProviderLine<'_>> = registry
                .providers()
                .iter()
                .map(|factory| ProviderLine {
                    provider: factory.provider(),
                    description: factory.description(),
                    keys: factory
                        .keys()
                        .iter()
                        .map(|key| KeyLine {
                            name: key.name,
                            required: key.required,
                            description: key.description,
                        })
                        .collect(),
                })
                .collect();
            serde_json::to_writer(&mut out, &serde_json::json!({"providers": lines}))
                .map_err(json_failure)?;
            writeln!(out).map_err(write_failure)?;
        }
        ProvidersFormat::Text => {
            let mut text = String::from("Every [[sources]] table:\n");
            for (name, required, description) in COMMON {
                text.push_str(&key_line(name, required, description));
            }
            for factory in registry.providers() {
                text.push_str(&format!(
                    "\nprovider = \"{}\": {}\n",
                    factory.provider(),
                    factory.description()
                ));
                for key in factory.keys() {
                    text.push_str(&key_line(key.name, key.required, key.description));
                }
            }
            out.write_all(text.as_bytes()).map_err(write_failure)?;
        }
    }
    out.flush().map_err(write_failure)
}

fn key_line(name: &str, required: bool, description: &str) -> String {
    let need = if required { "required" } else { "optional" };
    format!("  {name:<24} {need:<9} {description}\n")
}
