//! A Kore source pointed at the sandbox's emulator, shared by the test files
//! that run against it.

use std::time::Duration;

use campaign_sandbox::Sandbox;
use source_kore::KoreConfig;

/// `name`'s config for `sandbox`: no client-side rate limit, quick retries.
pub fn config(sandbox: &Sandbox, name: &str) -> KoreConfig {
    let creds = sandbox.credentials();
    let mut c = KoreConfig::new(
        name,
        sandbox.kore_url().as_str(),
        creds.kore_stream_id.clone(),
        creds.kore_account_id.clone(),
    );
    c.iid = Some(creds.kore_iid.clone().into());
    c.rate_limit = None;
    c.http.retry.initial_backoff = Duration::from_millis(10);
    c.http.retry.max_backoff = Duration::from_millis(50);
    c
}
