//! The shared conformance suite, against the sandbox's CMS emulator.

use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{Campaign, CampaignSource, StaticToken};
use campaign_http::HttpConfig;
use campaign_sandbox::Sandbox;
use campaign_testkit::{fixture_campaigns, Conformance, SourceFactory};
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};

const SOURCE: &str = "cms-conformance";

struct Factory {
    sandbox: Sandbox,
    expected: Vec<Campaign>,
}

impl Factory {
    fn config(&self) -> CmsConfig {
        CmsConfig::new(
            SOURCE,
            self.sandbox.cms_url().to_string(),
            self.sandbox.cms_contact_center_ids(),
        )
    }
}

#[async_trait]
impl SourceFactory for Factory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        let creds = self.sandbox.credentials();
        let tokens = CmsBasicAuthToken::new(
            SOURCE,
            self.sandbox.cms_url().as_str(),
            creds.cms_account_sid.clone(),
            creds.cms_api_key.clone(),
            creds.cms_api_token.clone(),
            HttpConfig::default(),
        )
        .expect("valid token endpoint settings");
        Arc::new(CmsSource::new(self.config(), Arc::new(tokens)).expect("valid source settings"))
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        let tokens = Arc::new(StaticToken::new("not-a-cms-token"));
        Some(Arc::new(
            CmsSource::new(self.config(), tokens).expect("valid source settings"),
        ))
    }

    fn expected(&self) -> Vec<Campaign> {
        self.expected.clone()
    }

    fn secrets(&self) -> Vec<String> {
        let creds = self.sandbox.credentials();
        vec![
            creds.cms_token.expose().to_owned(),
            creds.cms_api_key.clone(),
            creds.cms_api_token.expose().to_owned(),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cms_source_passes_the_conformance_suite() {
    let sandbox = Sandbox::start_default().await.expect("sandbox starts");
    let expected = sandbox.cms().load_campaigns(&fixture_campaigns(SOURCE));
    assert!(
        expected.len() > 10,
        "the fixture loads into the CMS emulator"
    );
    let report = Conformance::new(Factory { sandbox, expected }).run().await;
    println!("{report}");
    report.assert_passed();
}
