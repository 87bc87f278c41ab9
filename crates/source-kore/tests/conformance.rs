//! The shared conformance suite against the sandbox's Kore.ai emulator.

use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{Campaign, CampaignSource, StaticToken};
use campaign_sandbox::Sandbox;
use campaign_testkit::{fixture_campaigns, Conformance, SourceFactory};
use source_kore::{KoreConfig, KoreSource};

const SOURCE: &str = "kore-conf";

struct Factory {
    sandbox: Sandbox,
    loaded: Vec<Campaign>,
}

impl Factory {
    fn make(&self, token: &str) -> Arc<dyn CampaignSource> {
        let creds = self.sandbox.credentials();
        let mut config = KoreConfig::new(
            SOURCE,
            self.sandbox.kore_url().as_str(),
            creds.kore_stream_id.clone(),
            creds.kore_account_id.clone(),
        );
        config.iid = Some(creds.kore_iid.clone().into());
        config.rate_limit = None;
        Arc::new(KoreSource::new(config, Arc::new(StaticToken::new(token))).unwrap())
    }
}

#[async_trait]
impl SourceFactory for Factory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        self.make(self.sandbox.credentials().kore_jwt.expose())
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        Some(self.make("not-a-valid-jwt"))
    }

    fn expected(&self) -> Vec<Campaign> {
        self.loaded.clone()
    }

    fn secrets(&self) -> Vec<String> {
        let creds = self.sandbox.credentials();
        vec![
            creds.kore_jwt.expose().to_owned(),
            creds.kore_client_secret.expose().to_owned(),
            creds.kore_account_id.clone(),
            creds.kore_iid.clone(),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kore_source_passes_the_conformance_suite() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let loaded = sandbox.kore().load_campaigns(&fixture_campaigns(SOURCE));
    assert!(!loaded.is_empty());
    Conformance::new(Factory { sandbox, loaded })
        .run()
        .await
        .assert_passed();
}
