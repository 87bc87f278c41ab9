//! Helpers shared by the integration tests.
#![allow(dead_code)]

use campaign_sandbox::Sandbox;
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Removes whitespace outside strings, keeping key order.
pub fn minify(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

pub fn kore_url(sb: &Sandbox) -> String {
    let c = sb.credentials();
    format!(
        "{}campaign/api/v2/public/{}/campaign/getAllCampaignDetails?accountId={}",
        sb.kore_url(),
        c.kore_stream_id,
        c.kore_account_id
    )
}

pub fn kore_request(sb: &Sandbox, body: &Value) -> reqwest::RequestBuilder {
    let c = sb.credentials();
    client()
        .post(kore_url(sb))
        .header("auth", c.kore_jwt.expose())
        .header("iid", &c.kore_iid)
        .header("accountId", &c.kore_account_id)
        .json(body)
}

pub async fn kore(sb: &Sandbox, body: Value) -> (u16, Value) {
    let response = kore_request(sb, &body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Sends a body given as text: `json!` sorts object keys, and the order of
/// `sortBy`'s keys is the sort order.
pub async fn kore_text(sb: &Sandbox, body: &str) -> (u16, Value) {
    let c = sb.credentials();
    let response = client()
        .post(kore_url(sb))
        .header("auth", c.kore_jwt.expose())
        .header("iid", &c.kore_iid)
        .header("accountId", &c.kore_account_id)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub fn cms_request(sb: &Sandbox, query: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!(
            "{}configuration/hierarchyconfig/campaign{query}",
            sb.cms_url()
        ))
        .header(
            "Authorization",
            format!("Bearer {}", sb.credentials().cms_token.expose()),
        )
}

/// The JSON of contact center `center`'s campaigns response.
pub async fn cms(sb: &Sandbox, center: i64) -> Value {
    cms_request(sb, &format!("?contactCenterId={center}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn ids(value: &Value) -> Vec<String> {
    value["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().or(r["id"].as_str()).unwrap().to_owned())
        .collect()
}
