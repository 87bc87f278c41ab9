//! The store read back as a source passes the provider conformance suite
//! (filters, sort, ties, missing values, pages, cursors), on every backend:
//! its SQL means what `CampaignQuery::matches` and `compare` mean.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{Campaign, CampaignSource};
use campaign_store::{Store, StoreSource, SyncOptions};
use campaign_testkit::{fixture_campaigns, Conformance, InMemorySource, SourceFactory};
use common::{backends, connect};

const SOURCE: &str = "stored";

struct Factory {
    store: Store,
    expected: Vec<Campaign>,
}

#[async_trait]
impl SourceFactory for Factory {
    async fn source(&self) -> Arc<dyn CampaignSource> {
        Arc::new(StoreSource::for_source(self.store.clone(), SOURCE))
    }

    async fn source_with_bad_credential(&self) -> Option<Arc<dyn CampaignSource>> {
        None
    }

    fn expected(&self) -> Vec<Campaign> {
        self.expected.clone()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_passes_the_conformance_suite() {
    for test in backends("conformance").await {
        let store = connect(&test).await;
        let expected = fixture_campaigns(SOURCE);
        let source: Arc<dyn CampaignSource> =
            Arc::new(InMemorySource::new(SOURCE, expected.clone()).with_page_size(7));
        let run = store.start_run().await.unwrap();
        let report = store
            .sync_source(run, source, &SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(report.added as usize, expected.len(), "{}", test.label);
        let report = Conformance::new(Factory {
            store: store.clone(),
            expected,
        })
        .run()
        .await;
        println!("{}: {report}", test.label);
        report.assert_passed();
        store.close().await;
    }
}
