//! The shared conformance suite against the sandbox's Genesys emulator.

use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{Campaign, CampaignSource, Secret};
use campaign_sandbox::Sandbox;
use campaign_testkit::{fixture_campaigns, Conformance, SourceFactory};
use source_genesys::{GenesysConfig, GenesysCredentials, GenesysSource};

const SOURCE: &str = "genesys-conf";

struct Factory {
    sandbox: Sandbox,
    loaded: Vec<Campaign>,
}

impl Factory {
    fn make(&self, credentials: GenesysCredentials) -> Arc<dyn CampaignSource> {
        let mut config = GenesysConfig::new(SOURCE, self.sandbox.genesys_url().as_str())
            .with_login_url(self.sandbox.genesys_login_url().as_str());
        config.rate_limit = None;
        Arc::new(GenesysSource::new(config, credentials).unwrap())
    }
}

#[async_trait]
impl SourceFactory for Factory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        let creds = self.sandbox.credentials();
        self.make(GenesysCredentials::client_credentials(
            creds.genesys_client_id.clone(),
            creds.genesys_client_secret.clone(),
        ))
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        Some(self.make(GenesysCredentials::Token(Secret::new(
            "not-a-genesys-token",
        ))))
    }

    fn expected(&self) -> Vec<Campaign> {
        self.loaded.clone()
    }

    fn secrets(&self) -> Vec<String> {
        let creds = self.sandbox.credentials();
        vec![
            creds.genesys_token.expose().to_owned(),
            creds.genesys_client_secret.expose().to_owned(),
            creds.genesys_client_id.clone(),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_source_passes_the_conformance_suite() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let loaded = sandbox.genesys().load_campaigns(&fixture_campaigns(SOURCE));
    assert!(loaded.len() > 10, "the fixture's voice campaigns load");
    let report = Conformance::new(Factory { sandbox, loaded }).run().await;
    println!("{report}");
    report.assert_passed();
}
