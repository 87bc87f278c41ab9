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

/// `GET /api/v2/outbound/campaigns?{query}` with the ready Genesys token.
pub fn genesys_request(sb: &Sandbox, query: &str) -> reqwest::RequestBuilder {
    let url = if query.is_empty() {
        format!("{}api/v2/outbound/campaigns", sb.genesys_url())
    } else {
        format!("{}api/v2/outbound/campaigns?{query}", sb.genesys_url())
    };
    client()
        .get(url)
        .bearer_auth(sb.credentials().genesys_token.expose())
}

/// The status and JSON body of a Genesys listing.
pub async fn genesys(sb: &Sandbox, query: &str) -> (u16, Value) {
    let response = genesys_request(sb, query).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The entity ids of a Genesys listing, in order (none when `entities` is absent).
pub fn genesys_ids(value: &Value) -> Vec<String> {
    value["entities"]
        .as_array()
        .map(|entities| {
            entities
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The entity names of a Genesys listing, in order.
pub fn genesys_names(value: &Value) -> Vec<String> {
    value["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `POST /oauth/token` on the Genesys login URL with a form body and,
/// when given, Basic credentials; the status and JSON body.
pub async fn genesys_token_request(
    sb: &Sandbox,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client().post(format!("{}oauth/token", sb.genesys_login_url()));
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.form(form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}
