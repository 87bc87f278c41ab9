//! The emulators: `campaigns sandbox` serves them, and without a config
//! file every command reads them through the config they are described by.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use campaign_registry::{Env, Registry};
use campaign_sandbox::{GeneratedData, Sandbox};

use crate::args::SandboxArgs;
use crate::config::{Config, Loader};
use crate::run::{write_failure, Failure, EXIT_OK};

/// The variables the sandbox's config names for its secrets.
const CMS_TOKEN_VAR: &str = "CMS_TOKEN";
const KORE_SECRET_VAR: &str = "KORE_CLIENT_SECRET";
const GENESYS_SECRET_VAR: &str = "GENESYS_CLIENT_SECRET";

/// The config to use and, without a config file, the sandbox serving it
/// (kept alive as long as the config is used).
pub struct Setup {
    /// The validated config, its sources built.
    pub config: Config,
    /// The embedded sandbox, when no config file was given.
    pub sandbox: Option<Sandbox>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("config", &self.config)
            .field("sandbox", &self.sandbox.is_some())
            .finish()
    }
}

/// Loads `path` with `registry`'s providers, or starts the embedded sandbox
/// and reads the config that describes it.
pub async fn setup(
    path: Option<&Path>,
    registry: &Registry,
    strict: bool,
) -> Result<Setup, Failure> {
    if let Some(path) = path {
        return Ok(Setup {
            config: Loader::new(registry).strict(strict).load(path)?,
            sandbox: None,
        });
    }
    // The specs' Kore ids, as in their samples: the same every run, so a
    // store synced from the embedded sandbox sees no spurious changes.
    let sandbox = Sandbox::builder()
        .kore_ids(
            campaign_sandbox::samples::KORE_STREAM_ID,
            campaign_sandbox::samples::KORE_ACCOUNT_ID,
        )
        .start()
        .await
        .map_err(|e| Failure::Fetch(format!("cannot start the embedded sandbox: {e}")))?;
    eprintln!(
        "campaigns: no --config given (nor CAMPAIGNS_CONFIG): using the embedded sandbox \
         (CMS at {}, Kore.ai at {}, Genesys Cloud at {}) serving the API specs' sample data",
        sandbox.cms_url(),
        sandbox.kore_url(),
        sandbox.genesys_url()
    );
    let config = sandbox_config(&sandbox, registry, strict)?;
    Ok(Setup {
        config,
        sandbox: Some(sandbox),
    })
}

/// The config of `sandbox`'s providers, read like any config file; its
/// secrets come from the sandbox, not the environment.
pub fn sandbox_config(
    sandbox: &Sandbox,
    registry: &Registry,
    strict: bool,
) -> Result<Config, Failure> {
    let credentials = sandbox.credentials();
    let secrets = move |name: &str| match name {
        CMS_TOKEN_VAR => Some(credentials.cms_token.expose().to_owned()),
        KORE_SECRET_VAR => Some(credentials.kore_client_secret.expose().to_owned()),
        GENESYS_SECRET_VAR => Some(credentials.genesys_client_secret.expose().to_owned()),
        _ => None,
    };
    Ok(Loader::new(registry)
        .env(Env::new(&secrets))
        .strict(strict)
        .parse(Path::new("<embedded sandbox>"), &sandbox_toml(sandbox))?)
}

/// The `[[sources]]` of `sandbox`'s emulators, secrets named by variables.
fn sandbox_toml(sandbox: &Sandbox) -> String {
    let credentials = sandbox.credentials();
    let ids: Vec<String> = sandbox
        .cms_contact_center_ids()
        .iter()
        .map(i64::to_string)
        .collect();
    // The emulators do not rate-limit, so neither does the client.
    format!(
        "[[sources]]\nname = \"cms\"\nprovider = \"cms\"\nbase_url = \"{cms}\"\n\
         token_env = \"{CMS_TOKEN_VAR}\"\ncontact_center_ids = [{ids}]\n\n\
         [[sources]]\nname = \"kore\"\nprovider = \"kore\"\nbase_url = \"{kore}\"\n\
         stream_id = \"{stream}\"\naccount_id = \"{account}\"\niid = \"{iid}\"\n\
         client_id = \"{client}\"\nclient_secret_env = \"{KORE_SECRET_VAR}\"\n\
         rate_limit_per_minute = 0\n\n\
         [[sources]]\nname = \"genesys\"\nprovider = \"genesys\"\nbase_url = \"{genesys}\"\n\
         login_url = \"{genesys_login}\"\nclient_id = \"{genesys_client}\"\n\
         client_secret_env = \"{GENESYS_SECRET_VAR}\"\nrate_limit_per_minute = 0\n",
        cms = sandbox.cms_url(),
        ids = ids.join(", "),
        kore = sandbox.kore_url(),
        stream = credentials.kore_stream_id,
        account = credentials.kore_account_id,
        iid = credentials.kore_iid,
        client = credentials.kore_client_id,
        genesys = sandbox.genesys_url(),
        genesys_login = sandbox.genesys_login_url(),
        genesys_client = credentials.genesys_client_id,
    )
}

/// `total` generated campaigns: about a third to CMS, the same number per
/// contact center, a third to Kore.ai's two channels and the rest to
/// Genesys Cloud (the returned count); exactly `total` in all.
fn generated(total: usize) -> (GeneratedData, usize) {
    let centers = vec![1, 2, 3];
    let per_center = total / 3 / centers.len();
    let kore = total / 3;
    let genesys = total - per_center * centers.len() - kore;
    let data = GeneratedData {
        cms_contact_centers: centers,
        cms_per_contact_center: per_center,
        kore_voice: kore / 2,
        kore_sms: kore - kore / 2,
        ..GeneratedData::default()
    };
    (data, genesys)
}

/// `campaigns sandbox`: serves until Ctrl-C.
pub async fn sandbox(args: SandboxArgs) -> Result<u8, Failure> {
    let mut builder = Sandbox::builder().latency(Duration::from_millis(args.latency_ms));
    if args.port != 0 {
        let (Some(kore_port), Some(genesys_port)) =
            (args.port.checked_add(1), args.port.checked_add(2))
        else {
            return Err(Failure::Usage(
                "--port must leave room for the next two ports (Kore.ai, Genesys Cloud)".into(),
            ));
        };
        builder = builder
            .cms_port(args.port)
            .kore_port(kore_port)
            .genesys_port(genesys_port);
    }
    if let Some(total) = args.campaigns {
        let (data, genesys) = generated(total);
        builder = builder.generated(data).genesys_generated(genesys);
    }
    let sandbox = builder
        .start()
        .await
        .map_err(|e| Failure::Fetch(format!("cannot start the sandbox: {e}")))?;
    let credentials = sandbox.credentials();
    let mut out = io::stdout().lock();
    let text = format!(
        "CMS emulator:     {cms}\n  Bearer token:   {cms_token}\n  token endpoint: POST {cms}v2/accounts/{sid}/configuration/basicauth (basic auth {key}:{api_token})\n\
         Kore.ai emulator: {kore}\n  client secret:  {secret}\n  ready JWT:      {jwt}\n\
         Genesys Cloud emulator: {genesys} (login host {genesys_login})\n  OAuth client id:     {genesys_client}\n  OAuth client secret: {genesys_secret}\n  ready bearer token:  {genesys_token}\n\n\
         # a config for these emulators ({CMS_TOKEN_VAR}, {KORE_SECRET_VAR} and {GENESYS_SECRET_VAR} as above):\n{config}\n\
         Serving until Ctrl-C.\n",
        cms = sandbox.cms_url(),
        cms_token = credentials.cms_token.expose(),
        sid = credentials.cms_account_sid,
        key = credentials.cms_api_key,
        api_token = credentials.cms_api_token.expose(),
        kore = sandbox.kore_url(),
        secret = credentials.kore_client_secret.expose(),
        jwt = credentials.kore_jwt.expose(),
        genesys = sandbox.genesys_url(),
        genesys_login = sandbox.genesys_login_url(),
        genesys_client = credentials.genesys_client_id,
        genesys_secret = credentials.genesys_client_secret.expose(),
        genesys_token = credentials.genesys_token.expose(),
        config = sandbox_toml(&sandbox),
    );
    // These are the emulator's own throwaway credentials: printing them is the point.
    out.write_all(text.as_bytes()).map_err(write_failure)?;
    out.flush().map_err(write_failure)?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::Fetch(format!("cannot wait for Ctrl-C: {e}")))?;
    sandbox.shutdown().await;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_generates_exactly_the_campaigns_asked_for() {
        for total in [0, 1, 2, 5, 10, 11, 3000, 200_000, 200_001] {
            let (data, genesys) = generated(total);
            let cms = data.cms_per_contact_center * data.cms_contact_centers.len();
            let kore = data.kore_voice + data.kore_sms;
            assert_eq!(cms + kore + genesys, total, "{total}");
            for (provider, count) in [("CMS", cms), ("Kore.ai", kore), ("Genesys", genesys)] {
                assert!(
                    count.abs_diff(total / 3) < 5,
                    "{total}: {count} to {provider}"
                );
            }
        }
    }
}
