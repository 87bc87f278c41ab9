//! One test suite, two backends: every store test runs against an SQLite
//! file and, when `CAMPAIGNS_TEST_POSTGRES` names a server (`.ci/run` starts
//! one), against a fresh PostgreSQL database. Under `CI=true` a missing
//! server fails the run instead of skipping silently.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use campaign_core::{
    fetch_merged_page, Campaign, CampaignId, CampaignQuery, CampaignSource, Capabilities, Channel,
    Page, PageToken, Result,
};
use campaign_store::Store;
use campaign_testkit::InMemorySource;
use sqlx::{Connection, Row};

/// The environment variable naming a PostgreSQL database tests may use to
/// create (and drop) their own databases.
pub const POSTGRES_VAR: &str = "CAMPAIGNS_TEST_POSTGRES";

/// A store for one test, removed when dropped (the SQLite file's folder; the
/// PostgreSQL database).
pub struct TestStore {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    drop_db: Option<(String, String)>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_db.take() {
            // Best effort, from a thread of its own (we may be in a runtime).
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Where each test runs: a fresh SQLite file, and a fresh PostgreSQL
/// database when a server is configured.
pub async fn backends(test: &str) -> Vec<TestStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let mut stores = vec![TestStore {
        label: "sqlite",
        url,
        _dir: Some(dir),
        drop_db: None,
    }];
    match std::env::var(POSTGRES_VAR) {
        Ok(admin) if !admin.is_empty() => stores.push(postgres(&admin, test).await),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{POSTGRES_VAR} is not set under CI=true: the PostgreSQL backend must be tested")
        }
        _ => eprintln!("{POSTGRES_VAR} not set: testing the SQLite backend only"),
    }
    stores
}

async fn postgres(admin: &str, test: &str) -> TestStore {
    let name = format!(
        "t_{}_{}_{}",
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(30)
            .collect::<String>(),
        std::process::id(),
        rand_suffix()
    )
    .to_lowercase();
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach {POSTGRES_VAR}: {e}"));
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    TestStore {
        label: "postgres",
        url: format!("{base}/{name}"),
        _dir: None,
        drop_db: Some((admin.to_owned(), name)),
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) % 1_000_000
}

pub async fn connect(test: &TestStore) -> Store {
    Store::connect(&test.url)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", test.label))
}

/// A campaign of `source`, named and created as given.
pub fn campaign(source: &str, native: &str, name: &str, created: &str) -> Campaign {
    let mut c = Campaign::new(
        CampaignId::new(source, native),
        "memory",
        name,
        Channel::Voice,
    );
    c.created_at = Some(created.parse().expect("a timestamp"));
    c.updated_at = c.created_at;
    c
}

/// Partition `part=<name>` of `source`: campaigns with these ids (each
/// named after its id), in pages of `page_size`.
pub fn partition<I: AsRef<str>>(
    source: &str,
    name: &str,
    ids: &[I],
    page_size: usize,
) -> InMemorySource {
    InMemorySource::new(
        source,
        ids.iter()
            .map(|id| campaign(source, id.as_ref(), id.as_ref(), "2026-01-01T00:00:00Z"))
            .collect(),
    )
    .with_partition(format!("part={name}"))
    .with_page_size(page_size)
}

/// A source made of partitions (each an `InMemorySource` labelled
/// `part=<name>`), listed through its partitions, as the providers are.
#[derive(Debug)]
pub struct Parted {
    pub id: String,
    pub parts: Vec<Arc<dyn CampaignSource>>,
}

impl Parted {
    pub fn new(id: &str, parts: Vec<InMemorySource>) -> Arc<Self> {
        Arc::new(Self {
            id: id.to_owned(),
            parts: parts
                .into_iter()
                .map(|p| Arc::new(p) as Arc<dyn CampaignSource>)
                .collect(),
        })
    }
}

#[async_trait]
impl CampaignSource for Parted {
    fn id(&self) -> &str {
        &self.id
    }
    fn provider(&self) -> &str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::everything()
    }
    async fn fetch_page(&self, query: &CampaignQuery, token: Option<PageToken>) -> Result<Page> {
        fetch_merged_page(&self.id, &self.parts, query, token).await
    }
    fn partitions(&self, _query: &CampaignQuery) -> Vec<Arc<dyn CampaignSource>> {
        self.parts.clone()
    }
}

/// The names of the campaigns table's indexes, sorted.
pub async fn index_names(url: &str, label: &str) -> Vec<String> {
    let sql = match label {
        "postgres" => {
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'campaigns' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'campaigns' \
              ORDER BY 1"
        }
    };
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let names = sqlx::query(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let _ = conn.close().await;
    names
}
