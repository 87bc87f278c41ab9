//! Serves TinyCRM (`examples/src/tinycrm.rs`) over the conformance kit's
//! fixture on 127.0.0.1 until Ctrl-C, and prints a config for
//! `campaigns_tinycrm`.

use campaign_testkit::fixture_campaigns;
use examples::tinycrm::{serve_tinycrm, API_KEY, PROVIDER};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = serve_tinycrm(fixture_campaigns("tiny")).await?;
    println!(
        "TinyCRM at {url} (API key {API_KEY}). A config (with TINY_API_KEY={API_KEY}):\n\n\
         [[sources]]\nname = \"tiny\"\nprovider = \"{PROVIDER}\"\nbase_url = \"{url}\"\n\
         api_key_env = \"TINY_API_KEY\"\n\nServing until Ctrl-C."
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
