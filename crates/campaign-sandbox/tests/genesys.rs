//! The Genesys emulator over real HTTP: tokens, authentication, every query
//! parameter and the paging arithmetic.

mod common;

use std::time::Duration;

use campaign_sandbox::{OutOfRangePaging, Sandbox, Server};
use common::{client, genesys, genesys_ids, genesys_names, genesys_request, genesys_token_request};
use serde_json::Value;

const HOME: &str = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9";
const RETENTION: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";
const SALES: &str = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a";
const COLLECTIONS_ID: &str = "0b7c6a1e-5f2d-4c1a-9e3b-7d8f9a0b1c2d";
const RENEWALS_ID: &str = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const WIN_BACK_ID: &str = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a";

/// The seven default campaigns' names, name ascending.
const NAMES: [&str; 7] = [
    "Collections - Agentless Reminder",
    "Renewals - Predictive",
    "Retention - Preview",
    "Sales - Power Dialing",
    "Surveys - Progressive",
    "Welcome Calls - External",
    "Win-Back - Predictive",
];

/// Names of the listing under `query`, asserting a 200.
async fn names(sb: &Sandbox, query: &str) -> Vec<String> {
    let (status, body) = genesys(sb, query).await;
    assert_eq!(status, 200, "{query}: {body}");
    genesys_names(&body)
}

/// Asserts the `ErrorBody` shape (§5.1) and returns the body.
async fn error(request: reqwest::RequestBuilder, status: u16, code: &str) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), status);
    let correlation = response.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["contextId"], correlation.as_str());
    assert!(body["message"].is_string() && body["messageParams"].is_object());
    assert_eq!(
        (&body["details"], &body["errors"]),
        (
            &Value::from(Vec::<Value>::new()),
            &Value::from(Vec::<Value>::new())
        )
    );
    body
}

#[tokio::test]
async fn the_token_flow_issues_working_tokens_and_refuses_bad_requests() {
    let sb = Sandbox::builder()
        .genesys_token_lifetime(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let c = sb.credentials().clone();
    let (id, secret) = (
        c.genesys_client_id.as_str(),
        c.genesys_client_secret.expose(),
    );
    let grant = [("grant_type", "client_credentials")];
    let (status, body) = genesys_token_request(&sb, Some((id, secret)), &grant).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["token_type"], &body["expires_in"]),
        (&Value::from("bearer"), &Value::from(3600))
    );
    let token = body["access_token"].as_str().unwrap().to_owned();
    let listed = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // The form-field alternative (RFC 6749 §2.3.1) works without Basic.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    assert_eq!(genesys_token_request(&sb, None, &form).await.0, 200);
    let logged = sb.genesys().requests().pop().unwrap();
    assert_eq!(logged.server, Server::Genesys);
    assert_eq!(logged.path, "/oauth/token");
    assert!(logged
        .body
        .as_deref()
        .unwrap()
        .ends_with("client_secret=***"));
    for (basic, form, status, code) in [
        (None, &grant[..], 401, "invalid_client"),
        (Some((id, "wrong")), &grant[..], 401, "invalid_client"),
        (Some(("someone", secret)), &grant[..], 401, "invalid_client"),
        (Some((id, secret)), &[][..], 400, "invalid_request"),
        (
            Some((id, secret)),
            &[("grant_type", "password")][..],
            400,
            "unsupported_grant_type",
        ),
    ] {
        let (got, body) = genesys_token_request(&sb, basic, form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["description"].is_string() && body["error_description"].is_string());
        assert!(body.get("code").is_none(), "not the ErrorBody shape");
    }
    // A JSON body is not the documented form body.
    let response = client()
        .post(format!("{}oauth/token", sb.genesys_login_url()))
        .basic_auth(id, Some(secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        sb.genesys().requests().pop().unwrap().body.as_deref(),
        Some("{\"grant_type\":\"client_credentials\"}")
    );
    // Faults never touch the token endpoint.
    sb.genesys()
        .inject(campaign_sandbox::Fault::Status(500), None);
    assert_eq!(
        genesys_token_request(&sb, Some((id, secret)), &grant)
            .await
            .0,
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn tokens_lapse_and_can_be_revoked() {
    let sb = Sandbox::builder()
        .genesys_token_lifetime(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    assert_eq!(genesys(&sb, "").await.0, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    error(genesys_request(&sb, ""), 401, "bad.credentials").await;
    let sb = Sandbox::start_default().await.unwrap();
    let c = sb.credentials().clone();
    let grant = [("grant_type", "client_credentials")];
    let basic = Some((
        c.genesys_client_id.as_str(),
        c.genesys_client_secret.expose(),
    ));
    let (_, body) = genesys_token_request(&sb, basic, &grant).await;
    let issued = body["access_token"].as_str().unwrap().to_owned();
    sb.genesys().expire_tokens();
    error(genesys_request(&sb, ""), 401, "bad.credentials").await;
    let old = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .bearer_auth(&issued);
    error(old, 401, "bad.credentials").await;
    let (_, body) = genesys_token_request(&sb, basic, &grant).await;
    let fresh = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .bearer_auth(body["access_token"].as_str().unwrap());
    assert_eq!(fresh.send().await.unwrap().status(), 200);
    // Other providers' tokens are untouched.
    assert_eq!(
        common::kore(&sb, serde_json::json!({"type": "voice"}))
            .await
            .0,
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn authentication_and_permission_errors_use_the_error_body() {
    let sb = Sandbox::start_default().await.unwrap();
    let url = format!("{}api/v2/outbound/campaigns", sb.genesys_url());
    let body = error(client().get(&url), 401, "authentication.required").await;
    assert_eq!(
        body["message"],
        "No authentication bearer token specified in authorization header."
    );
    error(
        client().get(&url).basic_auth("a", Some("b")),
        401,
        "authentication.required",
    )
    .await;
    let body = error(
        client().get(&url).bearer_auth("made-up"),
        401,
        "bad.credentials",
    )
    .await;
    assert_eq!(body["message"], "Invalid login credentials.");
    let missing = format!("{}api/v2/outbound/campaigns/abc", sb.genesys_url());
    error(client().get(missing), 404, "not.found").await;
    sb.shutdown().await;

    let sb = Sandbox::builder()
        .genesys_divisions(Vec::<String>::new())
        .start()
        .await
        .unwrap();
    let body = error(genesys_request(&sb, ""), 403, "missing.any.permissions").await;
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("outbound:campaign:view"));
    sb.shutdown().await;

    let sb = Sandbox::builder()
        .genesys_divisions([RETENTION])
        .start()
        .await
        .unwrap();
    let (_, body) = genesys(&sb, "").await;
    assert_eq!(genesys_names(&body), [NAMES[2], NAMES[5], NAMES[6]]);
    assert_eq!(body["total"], 3);
    // Asking for another division narrows further, to nothing.
    assert!(names(&sb, &format!("divisionId={HOME}")).await.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn every_id_filter_narrows_and_they_combine() {
    let sb = Sandbox::start_default().await.unwrap();
    for (query, want) in [
        ("contactListId=6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c", vec![1, 3]),
        ("dncListIds=9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", vec![0, 3, 5]),
        // Comma-joined DNC ids match any of them (sandbox choice, §8.5).
        ("dncListIds=9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d,b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6f", vec![0, 3, 5, 6]),
        ("distributionQueueId=8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f1a", vec![1, 2, 3, 6]),
        ("edgeGroupId=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", vec![0, 3]),
        ("callAnalysisResponseSetId=4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b", vec![1, 3, 4, 6]),
        (&format!("divisionId={RETENTION}"), vec![2, 5, 6]),
        (&format!("divisionId={HOME},{SALES}"), vec![0, 1, 3, 4]),
        (&format!("divisionId={HOME}&divisionId={SALES}"), vec![0, 1, 3, 4]),
        (&format!("id={COLLECTIONS_ID},{WIN_BACK_ID}"), vec![0, 6]),
        (&format!("id={COLLECTIONS_ID}&id={WIN_BACK_ID}&id=unknown"), vec![0, 6]),
        (&format!("id={RENEWALS_ID}&divisionId={HOME}&distributionQueueId=8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f1a"), vec![1]),
        (&format!("id={RENEWALS_ID}&divisionId={RETENTION}"), vec![]),
        ("contactListId=nope", vec![]),
        // Not parameters of this endpoint: ignored (§2.1, §2.4).
        ("dncListId=9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d&allowEmptyResult=true&expand=x", (0..7).collect()),
    ] {
        let want: Vec<&str> = want.iter().map(|&i: &usize| NAMES[i]).collect();
        let (status, body) = genesys(&sb, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(genesys_names(&body), want, "{query}");
        assert_eq!(body["total"], want.len(), "{query}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn name_filters_follow_filter_type_ignoring_case() {
    let sb = Sandbox::start_default().await.unwrap();
    for (query, want) in [
        ("name=re", vec![1, 2]),
        ("name=RE&filterType=prefix", vec![1, 2]),
        ("name=win&filterType=BeginsWith", vec![6]),
        ("name=predictive&filterType=EndsWith", vec![1, 6]),
        ("name=-%20p&filterType=Contains", vec![1, 2, 3, 4, 6]),
        ("name=retention%20-%20preview&filterType=Equals", vec![2]),
        ("name=retention&filterType=Equals", vec![]),
        ("name=s&filterType=LessThan", vec![0, 1, 2]),
        (
            "name=sales%20-%20power%20dialing&filterType=LessThanEqualTo",
            vec![0, 1, 2, 3],
        ),
        ("name=w&filterType=GreaterThan", vec![5, 6]),
        (
            "name=welcome%20calls%20-%20external&filterType=GreaterThanEqualTo",
            vec![5, 6],
        ),
        ("name=%5E(sales%7Csurveys)&filterType=RegEx", vec![3, 4]),
        ("name=Q%5Cd&filterType=regex", vec![]),
        ("name=-%20P.*ive%24&filterType=RegEx", vec![1, 4, 6]),
        // `filterType` alone filters nothing.
        ("filterType=Equals", (0..7).collect()),
        ("name=zzz", vec![]),
    ] {
        let want: Vec<&str> = want.iter().map(|&i: &usize| NAMES[i]).collect();
        assert_eq!(names(&sb, query).await, want, "{query}");
    }
    sb.shutdown().await;
    let sb = Sandbox::builder()
        .genesys_name_case_sensitive(true)
        .start()
        .await
        .unwrap();
    assert!(names(&sb, "name=re").await.is_empty());
    assert_eq!(names(&sb, "name=Re").await, [NAMES[1], NAMES[2]]);
    assert!(names(&sb, "name=%5Ewin&filterType=RegEx").await.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn sorts_by_name_dates_and_status_with_id_ties() {
    let sb = Sandbox::start_default().await.unwrap();
    let asc: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let mut desc = asc.clone();
    desc.reverse();
    for (query, want) in [
        ("", asc.clone()),
        ("sortBy=name", asc.clone()),
        ("sortOrder=a", asc.clone()),
        ("sortOrder=DESCENDING", desc.clone()),
        ("sortBy=name&sortOrder=descending", desc.clone()),
        // No `sortBy` values are documented: unknown ones sort by name.
        ("sortBy=priority&sortOrder=descending", desc),
    ] {
        assert_eq!(names(&sb, query).await, want, "{query}");
    }
    let order = |indexes: &[usize]| -> Vec<String> {
        indexes.iter().map(|&i| NAMES[i].to_owned()).collect()
    };
    // Renewals and Win-Back share dateCreated: ties go by id ascending.
    assert_eq!(
        names(&sb, "sortBy=dateCreated").await,
        order(&[1, 6, 0, 4, 3, 5, 2])
    );
    assert_eq!(
        names(&sb, "sortBy=dateModified&sortOrder=descending").await,
        order(&[1, 3, 4, 0, 5, 2, 6])
    );
    assert_eq!(
        names(&sb, "sortBy=campaignStatus").await,
        order(&[5, 6, 2, 0, 1, 3, 4])
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_parameter_values_get_documented_codes() {
    let sb = Sandbox::start_default().await.unwrap();
    for (query, code) in [
        ("pageSize=abc", "bad.request"),
        ("pageSize=2147483648", "bad.request"),
        ("pageNumber=x", "bad.request"),
        ("pageNumber=1e2", "bad.request"),
        ("filterType=Fuzzy&name=x", "invalid.value"),
        ("sortOrder=asc", "invalid.value"),
        ("sortOrder=up", "invalid.value"),
        ("name=(&filterType=RegEx", "bad.request"),
    ] {
        let body = error(genesys_request(&sb, query), 400, code).await;
        assert!(
            body["message"].as_str().unwrap().len() > 10,
            "{query}: {body}"
        );
    }
    let body = error(genesys_request(&sb, "sortOrder=up"), 400, "invalid.value").await;
    assert_eq!(
        body["message"],
        "Value [up] is not valid for field type [SortOrder]. Allowable values are: ascending, descending"
    );
    assert_eq!(body["messageParams"]["value"], "up");
    let ids = |n: usize| {
        (0..n)
            .map(|i| format!("id=c{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let body = error(
        genesys_request(&sb, &ids(101)),
        400,
        "too.many.bulk.retrieves",
    )
    .await;
    assert_eq!(body["messageParams"]["count"], "101");
    // Comma-joined ids count one by one.
    let joined = format!(
        "id={}",
        (0..101)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    error(
        genesys_request(&sb, &joined),
        400,
        "too.many.bulk.retrieves",
    )
    .await;
    assert_eq!(genesys(&sb, &ids(100)).await.0, 200);
    // Empty values count as absent.
    assert_eq!(
        names(&sb, "pageSize=&name=&filterType=&sortOrder=")
            .await
            .len(),
        7
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn pages_count_link_and_run_past_the_end() {
    let sb = Sandbox::start_default().await.unwrap();
    let link = |page: u64| {
        format!("/api/v2/outbound/campaigns?name=&pageSize=3&sortBy=name&pageNumber={page}")
    };
    let mut seen = Vec::new();
    for page in 1..=4u64 {
        let (status, body) = genesys(
            &sb,
            &format!("name=&pageSize=3&sortBy=name&pageNumber={page}&x=1"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["pageSize"].as_u64(), body["pageNumber"].as_u64()),
            (Some(3), Some(page))
        );
        assert_eq!(
            (body["total"].as_u64(), body["pageCount"].as_u64()),
            (Some(7), Some(3))
        );
        // Empty and unknown parameters are not echoed.
        let want = |p: u64| link(p).replace("name=&", "");
        assert_eq!(body["selfUri"], want(page));
        assert_eq!(body["firstUri"], want(1));
        assert_eq!(body["lastUri"], want(3));
        assert_eq!(
            body["nextUri"].as_str(),
            (page < 3).then(|| want(page + 1)).as_deref()
        );
        assert_eq!(
            body["previousUri"].as_str(),
            (page > 1).then(|| want(page - 1)).as_deref()
        );
        let count = [3, 3, 1, 0][page as usize - 1];
        assert_eq!(
            body["entities"].as_array().unwrap().len(),
            count,
            "page {page}"
        );
        seen.extend(genesys_ids(&body));
    }
    assert_eq!(seen.len(), 7);
    // Far past the end: still 200 and an empty page.
    let (status, body) = genesys(&sb, "pageSize=3&pageNumber=2147483647").await;
    assert_eq!(
        (status, body["entities"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // An empty result has no pages; `lastUri` points at page 1.
    let (_, body) = genesys(&sb, "name=zzz").await;
    assert_eq!(
        (body["total"].as_u64(), body["pageCount"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        body["lastUri"],
        "/api/v2/outbound/campaigns?pageSize=25&pageNumber=1&name=zzz"
    );
    assert!(body.get("nextUri").is_none() && body.get("previousUri").is_none());
    for (size, pages) in [(1, 7), (2, 4), (7, 1), (100, 1)] {
        let (_, body) = genesys(&sb, &format!("pageSize={size}")).await;
        assert_eq!(body["pageCount"], pages, "pageSize {size}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn out_of_range_paging_clamps_by_default_or_is_refused() {
    let sb = Sandbox::start_default().await.unwrap();
    let (_, body) = genesys(&sb, "pageSize=500").await;
    assert_eq!(
        (body["pageSize"].as_u64(), body["pageCount"].as_u64()),
        (Some(100), Some(1))
    );
    assert_eq!(
        body["selfUri"],
        "/api/v2/outbound/campaigns?pageSize=100&pageNumber=1"
    );
    let (_, body) = genesys(&sb, "pageSize=0&pageNumber=-3").await;
    assert_eq!(
        (body["pageSize"].as_u64(), body["pageNumber"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["entities"].as_array().unwrap().len(), 1);
    sb.shutdown().await;
    let sb = Sandbox::builder()
        .genesys_out_of_range_paging(OutOfRangePaging::Reject)
        .start()
        .await
        .unwrap();
    for query in ["pageSize=101", "pageSize=0", "pageSize=-1", "pageNumber=0"] {
        error(genesys_request(&sb, query), 400, "bad.request").await;
    }
    assert_eq!(genesys(&sb, "pageSize=100&pageNumber=3").await.0, 200);
    sb.shutdown().await;
}
