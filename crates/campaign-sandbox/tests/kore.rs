//! The Kore.ai emulator over real HTTP.

mod common;

use campaign_core::{Campaign, CampaignId, Channel, DialingMode, Status};
use campaign_sandbox::{samples, GeneratedData, Sandbox};
use common::{client, ids, kore, kore_request, kore_url, minify};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

fn jwt(secret: &str, claims: Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn sample_requests_give_the_spec_samples() {
    let sb = Sandbox::start_default().await.unwrap();
    let sms: Value = serde_json::from_str(samples::KORE_SMS_REQUEST).unwrap();
    let text = kore_request(&sb, &sms)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, minify(samples::KORE_SMS_RESPONSE));

    // The voice sample's window (Dec 1 to Dec 4) filters nothing: the spec's
    // answer to it lists campaigns created Dec 4 to Dec 8.
    let voice: Value = serde_json::from_str(samples::KORE_VOICE_REQUEST).unwrap();
    let text = kore_request(&sb, &voice)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, minify(samples::KORE_VOICE_RESPONSE));
    sb.shutdown().await;
}

#[tokio::test]
async fn auth_headers_are_checked() {
    let sb = Sandbox::start_default().await.unwrap();
    let c = sb.credentials().clone();
    let body = json!({"type": "voice"});
    let send = |auth: Option<String>, iid: Option<&str>, account: Option<&str>, url: String| {
        let mut request = client().post(url).json(&body);
        if let Some(auth) = auth {
            request = request.header("auth", auth);
        }
        if let Some(iid) = iid {
            request = request.header("iid", iid);
        }
        if let Some(account) = account {
            request = request.header("accountId", account);
        }
        async move { request.send().await.unwrap() }
    };
    let url = kore_url(&sb);
    let good = || Some(c.kore_jwt.expose().to_owned());
    let (iid, acc) = (Some(c.kore_iid.as_str()), Some(c.kore_account_id.as_str()));
    assert_eq!(send(good(), iid, acc, url.clone()).await.status(), 200);
    let missing = send(None, iid, acc, url.clone()).await;
    assert_eq!(missing.status(), 401);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["status"], "error");
    assert!(error["message"].is_string());
    assert_eq!(
        send(Some("x.y.z".into()), iid, acc, url.clone())
            .await
            .status(),
        401
    );
    let secret = c.kore_client_secret.expose();
    let minted = jwt(secret, json!({"sub": "t", "appId": c.kore_client_id}));
    assert_eq!(
        send(Some(minted), iid, acc, url.clone()).await.status(),
        200
    );
    let other_app = jwt(secret, json!({"appId": "cs-other"}));
    assert_eq!(
        send(Some(other_app), iid, acc, url.clone()).await.status(),
        401
    );
    let expired = jwt(secret, json!({"appId": c.kore_client_id, "exp": 1_000}));
    assert_eq!(
        send(Some(expired), iid, acc, url.clone()).await.status(),
        401
    );
    let wrong_key = jwt("not-the-secret", json!({"appId": c.kore_client_id}));
    assert_eq!(
        send(Some(wrong_key), iid, acc, url.clone()).await.status(),
        401
    );
    assert_eq!(send(good(), None, acc, url.clone()).await.status(), 403);
    assert_eq!(
        send(good(), Some("st-x"), acc, url.clone()).await.status(),
        403
    );
    assert_eq!(send(good(), iid, None, url.clone()).await.status(), 403);
    assert_eq!(
        send(good(), iid, Some("nope"), url.clone()).await.status(),
        403
    );
    let no_query = url.split('?').next().unwrap().to_owned();
    assert_eq!(send(good(), iid, acc, no_query).await.status(), 400);

    sb.kore().expire_tokens();
    assert_eq!(send(good(), iid, acc, url.clone()).await.status(), 401);
    let later = chrono::Utc::now().timestamp() + 1;
    let renewed = jwt(secret, json!({"appId": c.kore_client_id, "iat": later}));
    assert_eq!(send(Some(renewed), iid, acc, url).await.status(), 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn invalid_bodies_get_400_with_an_error_body() {
    let sb = Sandbox::start_default().await.unwrap();
    for body in [
        json!({}),
        json!({"type": "email"}),
        json!({"type": "voice", "skip": "ten"}),
        json!({"type": "voice", "limit": 2.5}),
        json!({"type": "voice", "endDate": "tomorrow"}),
        json!({"type": "voice", "startDate": 1_764_547_200_000u64}),
        json!({"type": "voice", "sortBy": {"priority": "asc"}}),
        json!({"type": "voice", "sortBy": {"createdAt": "newest"}}),
        json!({"type": "voice", "filters": {"status": ["Running"]}}),
        json!({"type": "voice", "filters": {"priority": [0]}}),
        json!({"type": "voice", "filters": {"dialingMode": ["Manual"]}}),
    ] {
        let (status, error) = kore(&sb, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["status"], "error");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, _) = kore(
        &sb,
        json!({"type": "sms", "skip": "", "page": "", "limit": ""}),
    )
    .await;
    assert_eq!(status, 200);
    sb.shutdown().await;
}

fn generated(voice: usize, sms: usize) -> GeneratedData {
    GeneratedData {
        seed: 11,
        cms_contact_centers: vec![1],
        cms_per_contact_center: 1,
        kore_voice: voice,
        kore_sms: sms,
    }
}

#[tokio::test]
async fn paging_by_skip_and_page_and_the_maximum_page_size() {
    let sb = Sandbox::builder()
        .generated(generated(23, 0))
        .kore_max_page_size(10)
        .start()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for (skip, expected, more) in [(0, 10, true), (10, 10, true), (20, 3, false)] {
        let (status, body) = kore(&sb, json!({"type": "voice", "skip": skip, "limit": 10})).await;
        assert_eq!(status, 200);
        let data = &body["data"];
        assert_eq!(data["results"].as_array().unwrap().len(), expected);
        assert_eq!(
            (data["skip"].clone(), data["limit"].clone()),
            (json!(skip), json!(10))
        );
        assert_eq!(data["hasMore"], more);
        assert_eq!(
            (data["totalPages"].clone(), data["totalResults"].clone()),
            (json!(3), json!(23))
        );
        seen.extend(ids(&body));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 23);
    // page 2 alone, skip and page together, and a limit above the maximum.
    let (_, by_page) = kore(&sb, json!({"type": "voice", "page": 2, "limit": 10})).await;
    assert_eq!(by_page["data"]["skip"], 10);
    assert_eq!(ids(&by_page), seen[10..20]);
    let (_, both) = kore(
        &sb,
        json!({"type": "voice", "skip": 10, "page": 2, "limit": 10}),
    )
    .await;
    assert_eq!(ids(&both), seen[10..20]);
    let (_, big) = kore(&sb, json!({"type": "voice", "limit": 500})).await;
    assert_eq!(big["data"]["limit"], 10);
    assert_eq!(big["data"]["results"].as_array().unwrap().len(), 10);
    let (_, past) = kore(&sb, json!({"type": "voice", "skip": 40, "limit": 10})).await;
    assert_eq!(past["data"]["results"].as_array().unwrap().len(), 0);
    assert_eq!(past["data"]["hasMore"], false);
    sb.shutdown().await;
}

#[tokio::test]
async fn filters_dates_and_sort() {
    let sb = Sandbox::builder()
        .generated(generated(300, 200))
        .start()
        .await
        .unwrap();
    let all = |body: Value| {
        let sb = &sb;
        async move {
            let mut body = body;
            body["limit"] = json!(100);
            let (status, value) = kore(sb, body).await;
            assert_eq!(status, 200);
            value
        }
    };
    let value = all(json!({"type": "voice", "filters": {"status": ["Ready", "Paused"], "priority": [4, 5], "dialingMode": ["Preview"]}})).await;
    let results = value["data"]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert!(["Ready", "Paused"].contains(&r["status"].as_str().unwrap()));
        assert!(["4", "5"].contains(&r["priority"].as_str().unwrap()));
        assert_eq!(r["dialingMode"], "Preview");
    }
    let value = all(json!({"type": "sms", "sortBy": {"name": "asc"}})).await;
    let names: Vec<&str> = value["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]));
    let value = all(json!({"type": "sms", "sortBy": {"updatedAt": "asc"}})).await;
    let updated: Vec<&str> = value["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["updatedAt"].as_str().unwrap())
        .collect();
    assert!(updated.windows(2).all(|w| w[0] <= w[1]));
    let value = all(json!({"type": "voice"})).await;
    let created: Vec<&str> = value["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "default sort is createdAt desc"
    );
    // startDate/endDate are validated but filter nothing.
    let (start, end) = (created[30], created[10]);
    for window in [
        json!({"type": "voice", "startDate": start, "endDate": end}),
        json!({"type": "voice", "startDate": "2030-01-01T00:00:00.000Z"}),
        json!({"type": "voice", "endDate": "2000-01-01T00:00:00Z", "startDate": ""}),
    ] {
        let value = all(window.clone()).await;
        assert_eq!(value["data"]["totalResults"], 300, "{window}");
        assert_eq!(ids(&value), ids(&all(json!({"type": "voice"})).await));
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn load_campaigns_round_trips_voice_and_sms_only() {
    let sb = Sandbox::start_default().await.unwrap();
    let mut voice = Campaign::new(
        CampaignId::new("kore", "cd-v1"),
        "kore",
        "Voice One",
        Channel::Voice,
    );
    voice.status = Some(Status::Paused);
    voice.priority = Some(2);
    voice.dialing_mode = Some(DialingMode::Progressive);
    voice.created_at = Some("2025-11-01T00:00:00.000Z".parse().unwrap());
    let mut sms = Campaign::new(
        CampaignId::new("kore", "cd-s1"),
        "kore",
        "Sms One",
        Channel::Sms,
    );
    sms.message = Some("hello".into());
    let chat = Campaign::new(
        CampaignId::new("kore", "cd-c1"),
        "kore",
        "Chat",
        Channel::Chat,
    );
    let loaded = sb.kore().load_campaigns(&[voice, sms, chat]);
    assert_eq!(loaded.len(), 2);
    let (_, v) = kore(&sb, json!({"type": "voice"})).await;
    let r = &v["data"]["results"][0];
    assert_eq!(
        (r["_id"].clone(), r["name"].clone()),
        (json!("cd-v1"), json!("Voice One"))
    );
    assert_eq!(
        (r["status"].clone(), r["priority"].clone()),
        (json!("Paused"), json!("2"))
    );
    assert_eq!(r["dialingMode"], "Progressive");
    assert_eq!(r["createdAt"], "2025-11-01T00:00:00.000Z");
    assert_eq!(v["data"]["totalResults"], 1);
    let (_, s) = kore(&sb, json!({"type": "sms"})).await;
    assert_eq!(ids(&s), ["cd-s1"]);
    assert_eq!(s["data"]["results"][0]["message"]["message"], "aGVsbG8=");
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_can_be_switched_on() {
    let sb = Sandbox::builder().kore_rate_limit(2).start().await.unwrap();
    for _ in 0..2 {
        assert_eq!(kore(&sb, json!({"type": "sms"})).await.0, 200);
    }
    let response = kore_request(&sb, &json!({"type": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "error", "message": "You've exceeded the per-minute rate limit. Please wait for sometime before retrying."})
    );
    sb.shutdown().await;
}
