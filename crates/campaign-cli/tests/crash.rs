//! `kill -9` of `campaigns sync` at random moments, with the providers'
//! data changing in between: afterwards a normal sync completes, the store
//! opens, passes its integrity check, holds exactly the providers'
//! campaigns, and its change log has every change once, without gaps.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use campaign_core::{Campaign, CampaignQuery, CampaignSource, Sort, SortField};
use campaign_sandbox::{GeneratedData, Sandbox};
use campaign_store::{Store, StoreSource};
use common::Env;
use futures::TryStreamExt;

/// Random enough for kill times (no need for a crate here).
fn jitter(seed: &mut u64, below: u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed % below.max(1)
}

fn spawn_sync(env: &Env, store: &str) -> Child {
    let config = env.config.to_str().unwrap();
    env.process(&[
        "sync", "--config", config, "--store", store, "--format", "json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn campaigns sync")
}

/// What the providers hold now, as the store should once synced.
async fn live(env: &Env) -> Vec<Campaign> {
    let output = env
        .list(&["--format", "json", "--raw", "--sort", "name:asc"])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let document = common::json(&output);
    common::campaigns(&document)
        .iter()
        .map(|c| serde_json::from_value(c.clone()).expect("a campaign"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_at_random_moments_leaves_a_sound_store() {
    // Latency spreads a sync over a few hundred milliseconds, so the kills
    // land before, inside and after the commits.
    let sandbox = Sandbox::builder()
        .generated(GeneratedData {
            seed: 3,
            cms_contact_centers: vec![1, 2, 3],
            cms_per_contact_center: 40,
            kore_voice: 60,
            kore_sms: 40,
        })
        .latency(Duration::from_millis(60))
        .start()
        .await
        .unwrap();
    let env = Env::over(sandbox);
    let url = format!("sqlite://{}", env.dir.path().join("c.db").display());
    let started = Instant::now();
    let mut outcomes = [0usize; 2];
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut cms: Vec<Campaign> = Vec::new();
    let mut first = spawn_sync(&env, &url);
    assert!(first.wait().unwrap().success());
    // How long a sync like those killed below takes here (after a first,
    // Kore reads incrementally): the kills are spread over it.
    let timed = Instant::now();
    let mut second = spawn_sync(&env, &url);
    assert!(second.wait().unwrap().success());
    let lifetime = timed.elapsed();
    for round in 0..20 {
        // Change the CMS's data every few rounds: a rename, a removal.
        if round % 4 == 2 {
            if cms.is_empty() {
                cms = live(&env)
                    .await
                    .into_iter()
                    .filter(|c| &*c.id.source == "cms")
                    .collect();
            }
            let at = jitter(&mut seed, cms.len() as u64) as usize;
            cms[at].name.push('!');
            cms.remove((at + 1) % cms.len());
            env.sandbox.cms().load_campaigns(&cms);
        }
        let mut child = spawn_sync(&env, &url);
        // Spread over the sync's life, with some jitter: before, inside and
        // after its commits.
        let wait = lifetime.mul_f64((f64::from(round) + 0.5) / 20.0)
            + Duration::from_millis(jitter(&mut seed, 40));
        let deadline = Instant::now() + wait;
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        match finished {
            Some(status) => {
                let output = child.wait_with_output().unwrap();
                let stderr = common::text(&output.stderr);
                assert!(status.success(), "round {round}: {status} {stderr}");
                assert!(
                    !stderr.contains("skipped"),
                    "a killed sync held a lock: {stderr}"
                );
                outcomes[1] += 1;
            }
            None => {
                child.kill().expect("kill -9");
                child.wait().unwrap();
                outcomes[0] += 1;
            }
        }
    }
    assert!(outcomes[0] >= 10, "kills landed: {outcomes:?}");
    // The killed syncs committed some partitions before they died.
    let before = Store::connect(&url)
        .await
        .expect("the store opens after the kills");
    let logged_before = before.last_seq().await.unwrap();
    assert!(
        before.verify().await.unwrap().is_sound(),
        "sound after the kills too"
    );
    before.close().await;

    // A normal sync completes what the killed ones left.
    let output = env
        .run(&[
            "sync",
            "--config",
            env.config.to_str().unwrap(),
            "--store",
            &url,
            "--full",
        ])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let store = Store::connect(&url).await.expect("the store opens");
    let verified = store.verify().await.unwrap();
    assert!(verified.is_sound(), "{verified:?}");
    assert!(verified.changes > 0);

    // Exactly the providers' campaigns, as they are now.
    let query = CampaignQuery::builder()
        .sort(Sort::asc(SortField::Name))
        .build()
        .unwrap();
    let stored: Vec<Campaign> = std::sync::Arc::new(StoreSource::new(store.clone()))
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    let mut expected = live(&env).await;
    expected.sort_by(|a, b| query.compare(a, b));
    let ids = |c: &[Campaign]| c.iter().map(|c| c.id.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&stored), ids(&expected));
    // The same content, raw records included (compared as JSON values:
    // the live listing went through a JSON document, which reorders keys).
    for (stored, live) in stored.iter().zip(&expected) {
        let json = |c: &Campaign| serde_json::to_value(c).unwrap();
        assert_eq!(json(stored), json(live), "{}", stored.id);
    }
    eprintln!(
        "a sync takes {lifetime:?}; {} kills, {} syncs finished, {logged_before} changes logged \
         before the last sync, {} after, {:?}",
        outcomes[0],
        outcomes[1],
        verified.changes,
        started.elapsed()
    );
}
