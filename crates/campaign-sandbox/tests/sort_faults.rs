//! The Kore sort faults, observed over real HTTP.

mod common;

use campaign_core::{Campaign, CampaignId, Channel};
use campaign_sandbox::{samples, Fault, GeneratedData, Sandbox};
use common::{ids, kore, kore_text};
use serde_json::{json, Value};

fn field<'a>(body: &'a Value, key: &str) -> Vec<&'a str> {
    body["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap())
        .collect()
}

/// Non-decreasing or non-increasing.
fn monotone(values: &[&str]) -> bool {
    values.windows(2).all(|w| w[0] <= w[1]) || values.windows(2).all(|w| w[0] >= w[1])
}

fn sorted_by_some_key(body: &Value) -> bool {
    ["name", "createdAt", "updatedAt"]
        .iter()
        .any(|key| monotone(&field(body, key)))
}

/// Every page of a walk of `limit`, concatenated.
async fn walk(sb: &Sandbox, body: Value, limit: u64) -> Vec<String> {
    let mut all = Vec::new();
    for skip in (0..).step_by(limit as usize) {
        let mut page = body.clone();
        page["skip"] = json!(skip);
        page["limit"] = json!(limit);
        let (status, value) = kore(sb, page).await;
        assert_eq!(status, 200, "{value}");
        all.extend(ids(&value));
        if value["data"]["hasMore"] != true {
            return all;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn sort_name_required_refuses_sorts_without_name_for_a_whole_walk() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.kore().inject(Fault::SortNameRequired, None);
    let refusal = json!({"status": "error", "message": "sortBy.name must be included if any sort field is used"});
    let spec_request: Value = serde_json::from_str(samples::KORE_VOICE_REQUEST).unwrap();
    for body in [
        json!({"type": "voice", "sortBy": {"createdAt": "desc"}}),
        json!({"type": "sms", "sortBy": {"createdAt": "desc", "updatedAt": "asc"}}),
        spec_request,
    ] {
        for _ in 0..3 {
            assert_eq!(kore(&sb, body.clone()).await, (400, refusal.clone()));
        }
    }
    // With `name` in any position: sorted by the keys in the order given.
    let (status, value) = kore_text(
        &sb,
        r#"{"type": "voice", "sortBy": {"updatedAt": "asc", "name": "desc"}}"#,
    )
    .await;
    assert_eq!(status, 200);
    let updated = field(&value, "updatedAt");
    assert!(updated.windows(2).all(|w| w[0] <= w[1]), "{updated:?}");
    let (_, value) = kore_text(
        &sb,
        r#"{"type": "voice", "sortBy": {"name": "desc", "createdAt": "asc"}}"#,
    )
    .await;
    let names = field(&value, "name");
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "{names:?}");
    // No sort field used: no rule to break.
    for body in [
        json!({"type": "voice"}),
        json!({"type": "voice", "sortBy": {}}),
    ] {
        let (status, value) = kore(&sb, body).await;
        assert_eq!(
            (status, value["data"]["totalResults"].clone()),
            (200, json!(5))
        );
    }
    // Other validation comes first, with its own message.
    let (status, error) = kore(&sb, json!({"type": "voice", "sortBy": {"priority": "asc"}})).await;
    assert_eq!(status, 400);
    assert_ne!(error, refusal);
    sb.kore().clear_faults();
    let (status, _) = kore(
        &sb,
        json!({"type": "voice", "sortBy": {"createdAt": "desc"}}),
    )
    .await;
    assert_eq!(status, 200);
    sb.shutdown().await;
}

/// Voice campaigns `a`..`e`: `b`, `c`, `d` tie on name, createdAt and
/// updatedAt; loaded in the order given.
fn tied(order: &[&str]) -> Vec<Campaign> {
    order
        .iter()
        .map(|&id| {
            let (name, at) = match id {
                "a" => ("Alpha", "2025-12-01T00:00:00.000Z"),
                "e" => ("Echo", "2025-12-09T00:00:00.000Z"),
                _ => ("Tied", "2025-12-05T00:00:00.000Z"),
            };
            let mut c = Campaign::new(CampaignId::new("kore", id), "kore", name, Channel::Voice);
            c.created_at = Some(at.parse().unwrap());
            c.updated_at = c.created_at;
            c
        })
        .collect()
}

#[tokio::test]
async fn ties_reversed_breaks_ties_by_id_descending() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.kore().load_campaigns(&tied(&["c", "a", "e", "b", "d"]));
    let created = json!({"type": "voice", "sortBy": {"createdAt": "desc"}});
    let by_name = json!({"type": "voice", "sortBy": {"name": "asc", "updatedAt": "asc"}});
    assert_eq!(
        walk(&sb, created.clone(), 2).await,
        ["e", "b", "c", "d", "a"]
    );
    assert_eq!(
        walk(&sb, by_name.clone(), 2).await,
        ["a", "e", "b", "c", "d"]
    );
    sb.kore().inject(Fault::TiesReversed, None);
    // A whole walk, page boundaries inside the tie group.
    for limit in [1, 2, 3, 50] {
        assert_eq!(
            walk(&sb, created.clone(), limit).await,
            ["e", "d", "c", "b", "a"]
        );
    }
    assert_eq!(walk(&sb, by_name, 2).await, ["a", "e", "d", "c", "b"]);
    assert_eq!(
        walk(&sb, json!({"type": "voice"}), 2).await,
        ["e", "d", "c", "b", "a"],
        "the default sort too"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn sort_ignored_serves_storage_order_with_paging() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.kore().inject(Fault::SortIgnored, None);
    for kind in ["voice", "sms"] {
        let mut orders = Vec::new();
        for sort in [
            json!({"createdAt": "desc"}),
            json!({"createdAt": "asc"}),
            json!({"name": "asc"}),
            json!({"updatedAt": "desc", "name": "desc"}),
        ] {
            let (status, value) = kore(&sb, json!({"type": kind, "sortBy": sort})).await;
            assert_eq!(status, 200);
            assert!(!sorted_by_some_key(&value), "{kind}: {value}");
            orders.push(ids(&value));
        }
        let (_, default) = kore(&sb, json!({"type": kind})).await;
        assert!(!sorted_by_some_key(&default), "{kind}");
        orders.push(ids(&default));
        assert!(orders.windows(2).all(|w| w[0] == w[1]), "{orders:?}");
        let paged = walk(&sb, json!({"type": kind, "sortBy": {"name": "asc"}}), 2).await;
        assert_eq!(paged, orders[0]);
    }
    // Still validated.
    let (status, _) = kore(&sb, json!({"type": "voice", "sortBy": {"name": "up"}})).await;
    assert_eq!(status, 400);
    // Loaded data: the order given, even with ties reversed too.
    sb.kore().inject(Fault::TiesReversed, None);
    sb.kore().load_campaigns(&tied(&["c", "a", "e", "b", "d"]));
    let sorted = json!({"type": "voice", "sortBy": {"createdAt": "desc"}});
    assert_eq!(
        walk(&sb, sorted.clone(), 2).await,
        ["c", "a", "e", "b", "d"]
    );
    sb.kore().clear_faults();
    assert_eq!(walk(&sb, sorted, 2).await, ["e", "b", "c", "d", "a"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn sorted_per_page_sorts_each_page_of_storage_order() {
    let sb = Sandbox::start_default().await.unwrap();
    sb.kore().load_campaigns(&tied(&["c", "a", "e", "b", "d"]));
    sb.kore().inject(Fault::SortedPerPage, None);
    let sorted = json!({"type": "voice", "sortBy": {"createdAt": "desc"}});
    // Storage order c a | e b | d, each page sorted on its own.
    assert_eq!(
        walk(&sb, sorted.clone(), 2).await,
        ["c", "a", "e", "b", "d"]
    );
    assert_eq!(
        walk(&sb, sorted.clone(), 5).await,
        ["e", "b", "c", "d", "a"]
    );
    sb.kore().clear_faults();
    assert_eq!(walk(&sb, sorted, 2).await, ["e", "b", "c", "d", "a"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn generated_storage_order_is_no_sort_order() {
    let data = GeneratedData {
        seed: 5,
        kore_voice: 40,
        kore_sms: 30,
        ..GeneratedData::default()
    };
    let sb = Sandbox::builder().generated(data).start().await.unwrap();
    sb.kore().inject(Fault::SortIgnored, None);
    for kind in ["voice", "sms"] {
        let (_, value) = kore(&sb, json!({"type": kind, "limit": 100})).await;
        assert!(!sorted_by_some_key(&value), "{kind}");
    }
    sb.shutdown().await;
}

/// The results of one page as (createdAt, name, id).
fn rows(body: &Value) -> Vec<(String, String, String)> {
    let ids = ids(body);
    let (created, names) = (field(body, "createdAt"), field(body, "name"));
    (0..ids.len())
        .map(|i| (created[i].to_owned(), names[i].to_owned(), ids[i].clone()))
        .collect()
}

#[tokio::test]
async fn generated_data_has_ties_that_the_tie_faults_reorder() {
    let data = GeneratedData {
        seed: 9,
        kore_voice: 23,
        kore_sms: 19,
        ..GeneratedData::default()
    };
    let sb = Sandbox::builder()
        .generated(data.clone())
        .start()
        .await
        .unwrap();
    for kind in ["voice", "sms"] {
        let sorted = json!({"type": kind, "sortBy": {"createdAt": "desc"}});
        let (_, all) = kore(&sb, json!({"type": kind, "limit": 100})).await;
        let all = rows(&all);
        let tied: Vec<_> = all.windows(2).filter(|w| w[0].0 == w[1].0).collect();
        // Groups of three at 0, 10 and 20 (SMS: 0 and 10): two pairs each.
        assert_eq!(tied.len(), if kind == "voice" { 6 } else { 4 }, "{kind}");
        assert!(tied.iter().all(|w| w[0].1 == w[1].1 && w[0].2 < w[1].2));
        let honest = walk(&sb, sorted.clone(), 5).await;
        sb.kore().inject(Fault::TiesReversed, None);
        let reversed = walk(&sb, sorted, 5).await;
        sb.kore().clear_faults();
        assert_ne!(honest, reversed);
        let mut expected = all.clone();
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)));
        let expected: Vec<String> = expected.into_iter().map(|r| r.2).collect();
        assert_eq!(reversed, expected, "{kind}");
    }
    sb.shutdown().await;
    let sb = Sandbox::builder()
        .generated(data)
        .kore_ties(0)
        .start()
        .await
        .unwrap();
    let (_, all) = kore(&sb, json!({"type": "voice", "limit": 100})).await;
    assert!(rows(&all).windows(2).all(|w| w[0].0 != w[1].0));
    sb.shutdown().await;
}
