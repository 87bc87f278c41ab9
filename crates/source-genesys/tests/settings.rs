//! `[[sources]]` keys with `provider = "genesys"`, through the registry as
//! a host hands them over: each bad key is named, no secret is ever shown.

use std::collections::HashMap;

use campaign_core::{CampaignQuery, CampaignSource};
use campaign_registry::{ConfigError, Env, ProviderConfig, Registry, SourceSettings};
use campaign_sandbox::Sandbox;
use futures::TryStreamExt;
use serde_json::{json, Value};
use source_genesys::GenesysSettings;

const SECRET: &str = "client-secret-value-42";
const TOKEN: &str = "ready-token-value-42";

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<GenesysSettings>().unwrap();
    registry
}

fn build(
    keys: Value,
    lookup: &HashMap<&str, &str>,
) -> Result<std::sync::Arc<dyn CampaignSource>, ConfigError> {
    let vars: HashMap<String, String> = lookup
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| vars.get(name).cloned();
    let env = Env::new(&lookup);
    registry().build("genesys", keys, SourceSettings::named("genesys"), &env)
}

fn vars() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("GENESYS_CLIENT_SECRET", SECRET),
        ("GENESYS_TOKEN", TOKEN),
        ("EMPTY", ""),
        ("BAD", "x\r\nInjected: y"),
    ])
}

fn good() -> Value {
    json!({
        "base_url": "https://api.mypurecloud.com",
        "client_id": "client-id-1",
        "client_secret_env": "GENESYS_CLIENT_SECRET",
        "division_ids": ["d-1", "d-2"],
        "page_size": 50,
        "prefetch": 2,
        "rate_limit_per_minute": 0,
    })
}

fn with(changes: Value) -> Value {
    let mut keys = good();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            keys.as_object_mut().unwrap().remove(key);
        } else {
            keys[key] = value.clone();
        }
    }
    keys
}

#[test]
fn the_provider_describes_its_keys() {
    assert_eq!(GenesysSettings::PROVIDER, "genesys");
    let names: Vec<&str> = GenesysSettings::KEYS.iter().map(|k| k.name).collect();
    for key in [
        "base_url",
        "login_url",
        "client_id",
        "client_secret_env",
        "token_env",
        "division_ids",
        "page_size",
    ] {
        assert!(names.contains(&key), "{key}");
    }
}

#[test]
fn good_settings_build_and_show_no_secret() {
    let source = build(good(), &vars()).unwrap();
    assert_eq!((source.id(), source.provider()), ("genesys", "genesys"));
    let token = build(
        with(json!({"client_id": null, "client_secret_env": null, "token_env": "GENESYS_TOKEN"})),
        &vars(),
    )
    .unwrap();
    let shown = format!("{source:?} {token:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    // The region as a domain (spec §1.1) is its API host.
    let domain = build(with(json!({"base_url": "mypurecloud.ie"})), &vars()).unwrap();
    let shown = format!("{domain:?}");
    assert!(shown.contains("host: \"api.mypurecloud.ie\""), "{shown}");
}

#[test]
fn each_bad_key_is_named_without_its_value() {
    let cases = [
        (json!({"base_url": "http://api.example.com"}), "base_url"),
        (json!({"base_url": "not a url"}), "base_url"),
        (json!({"base_url": null}), "base_url"),
        (json!({"login_url": "ftp://login.example.com"}), "login_url"),
        (json!({"division_ids": ["d-1", ""]}), "division_ids[1]"),
        (json!({"division_ids": ["d-1", "d-1"]}), "division_ids[1]"),
        (json!({"division_ids": "d-1"}), "division_ids"),
        (json!({"page_size": 0}), "page_size"),
        (json!({"page_size": 101}), "page_size"),
        (json!({"page_size": "fifty"}), "page_size"),
        (json!({"prefetch": 0}), "prefetch"),
        (json!({"client_id": "a:b"}), "client_id"),
        (json!({"client_id": "a\r\nb"}), "client_id"),
        (json!({"client_id": null}), "client_id"),
        (json!({"client_secret_env": null}), "client_secret_env"),
        (json!({"client_secret_env": "UNSET"}), "client_secret_env"),
        (json!({"client_secret_env": "EMPTY"}), "client_secret_env"),
        (json!({"client_secret_env": "BAD"}), "client_secret_env"),
        (json!({"token_env": "GENESYS_TOKEN"}), "token"),
        (
            json!({"client_id": null, "client_secret_env": null}),
            "token_env",
        ),
        (
            json!({"client_id": null, "client_secret_env": null, "token": ""}),
            "token",
        ),
        (json!({"colour": "red"}), "colour"),
        (json!({"client_secret": SECRET}), "client_secret"),
    ];
    for (changes, key) in cases {
        let error = build(with(changes.clone()), &vars())
            .err()
            .unwrap_or_else(|| panic!("{changes}"));
        assert_eq!(error.key.as_deref(), Some(key), "{changes}: {error}");
        let shown = format!("{error} {error:?}");
        for value in [
            SECRET,
            TOKEN,
            "Injected",
            "fifty",
            "api.example.com",
            "login.example",
        ] {
            assert!(!shown.contains(value), "{changes}: {shown}");
        }
    }
}

#[tokio::test]
async fn settings_list_the_sandbox() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let creds = sandbox.credentials();
    let secret = creds.genesys_client_secret.expose().to_owned();
    let vars: HashMap<String, String> = HashMap::from([("SECRET".to_owned(), secret)]);
    let lookup = move |name: &str| vars.get(name).cloned();
    let env = Env::new(&lookup);
    // No login_url: the loopback host is its own login host.
    let keys = json!({
        "base_url": sandbox.genesys_url().as_str(),
        "client_id": creds.genesys_client_id,
        "client_secret_env": "SECRET",
        "page_size": 2,
    });
    let source = registry()
        .build("genesys", keys, SourceSettings::named("g"), &env)
        .unwrap();
    let campaigns: Vec<_> = source
        .stream(&CampaignQuery::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 7);
}
