//! The Genesys note's sample requests, sent as printed (only the
//! placeholders filled in), get its sample answers.

mod common;

use base64::Engine as _;
use campaign_sandbox::{samples, Sandbox};
use common::{client, minify};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A printed request: request line, headers, optional body.
struct Printed {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

fn parse_printed(text: &str) -> Printed {
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head, Some(body.trim_end().to_owned())),
        None => (text.trim_end(), None),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line").to_owned();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a `name: value` header");
            (name.to_owned(), value.trim_start().to_owned())
        })
        .collect();
    Printed {
        request_line,
        headers,
        body,
    }
}

/// An HTTP/1.1 answer read off the wire.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `lines` (CRLF-terminated, then a blank line) to the Genesys
/// listener and reads one answer, sized by its `Content-Length`.
async fn send_raw(sb: &Sandbox, lines: &[String]) -> Answer {
    let url = sb.genesys_url();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let mut request = lines.join("\r\n");
    request.push_str("\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed early");
        received.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let mut head = text[..end].lines();
        let status = head
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = head
            .map(|line| {
                let (n, v) = line.split_once(':').unwrap();
                (n.to_owned(), v.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("a Content-Length");
        if received.len() >= end + 4 + length {
            let body = String::from_utf8(received[end + 4..end + 4 + length].to_vec()).unwrap();
            return Answer {
                status,
                headers,
                body,
            };
        }
    }
}

/// The printed headers with the placeholders filled: the host and `<token>`.
fn filled_headers(sb: &Sandbox, printed: &Printed) -> Vec<String> {
    let url = sb.genesys_url();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    printed
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name.eq_ignore_ascii_case("host") {
                host.clone()
            } else {
                value.replace("<token>", sb.credentials().genesys_token.expose())
            };
            format!("{name}: {value}")
        })
        .collect()
}

#[test]
fn the_printed_samples_are_the_spec_text() {
    assert_eq!(
        samples::GENESYS_REQUEST.trim_end(),
        "GET /api/v2/outbound/campaigns?pageSize=3&pageNumber=1&sortBy=name&sortOrder=ascending"
    );
    let list = parse_printed(samples::GENESYS_LIST_REQUEST);
    assert_eq!(
        list.request_line,
        "GET /api/v2/outbound/campaigns?pageSize=25&pageNumber=1 HTTP/1.1"
    );
    let names: Vec<&str> = list.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Host", "Authorization", "Accept"]);
    let token = parse_printed(samples::GENESYS_TOKEN_REQUEST);
    assert_eq!(
        token.request_line,
        "POST https://login.<domain>/oauth/token"
    );
    assert_eq!(token.body.as_deref(), Some("grant_type=client_credentials"));
    let response: Value = serde_json::from_str(samples::GENESYS_RESPONSE).unwrap();
    assert_eq!(response["entities"].as_array().unwrap().len(), 3);
    assert_eq!(response["total"], 7);
}

/// §6: the sample request line, with §2's headers, answers the sample
/// response byte for byte (whitespace aside).
#[tokio::test]
async fn the_sample_request_gets_the_sample_response() {
    let sb = Sandbox::start_default().await.unwrap();
    let headers = parse_printed(samples::GENESYS_LIST_REQUEST);
    let mut lines = vec![format!("{} HTTP/1.1", samples::GENESYS_REQUEST.trim_end())];
    lines.extend(filled_headers(&sb, &headers));
    let answer = send_raw(&sb, &lines).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, minify(samples::GENESYS_RESPONSE));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(answer.header("inin-correlation-id").is_some());
    let logged = sb.genesys().requests().pop().unwrap();
    assert_eq!(logged.header("authorization"), Some("***"));
    assert_eq!(
        logged.query.as_deref(),
        Some("pageSize=3&pageNumber=1&sortBy=name&sortOrder=ascending")
    );
    sb.shutdown().await;
}

/// §2: the printed request (page 1 of 25) lists all seven, name ascending,
/// the sample's three first.
#[tokio::test]
async fn the_printed_list_request_gets_all_seven() {
    let sb = Sandbox::start_default().await.unwrap();
    let printed = parse_printed(samples::GENESYS_LIST_REQUEST);
    let mut lines = vec![printed.request_line.clone()];
    lines.extend(filled_headers(&sb, &printed));
    let answer = send_raw(&sb, &lines).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    let sample: Value = serde_json::from_str(samples::GENESYS_RESPONSE).unwrap();
    let entities = body["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 7);
    assert_eq!(entities[..3], sample["entities"].as_array().unwrap()[..]);
    let link = "/api/v2/outbound/campaigns?pageSize=25&pageNumber=1";
    assert_eq!(
        (
            &body["pageSize"],
            &body["pageNumber"],
            &body["total"],
            &body["pageCount"]
        ),
        (
            &Value::from(25),
            &Value::from(1),
            &Value::from(7),
            &Value::from(1)
        )
    );
    for key in ["firstUri", "selfUri", "lastUri"] {
        assert_eq!(body[key], link, "{key}");
    }
    assert!(body.get("nextUri").is_none() && body.get("previousUri").is_none());
    sb.shutdown().await;
}

/// §1.2: the printed token request works and the answer has the sample's
/// keys and types; the token then lists campaigns.
#[tokio::test]
async fn the_printed_token_request_gets_a_working_token() {
    let sb = Sandbox::start_default().await.unwrap();
    let printed = parse_printed(samples::GENESYS_TOKEN_REQUEST);
    let (method, target) = printed.request_line.split_once(' ').unwrap();
    let login = sb.genesys_login_url();
    let url = target.replace("https://login.<domain>/", login.as_str());
    let c = sb.credentials();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.genesys_client_id,
        c.genesys_client_secret.expose()
    ));
    let mut request = client().request(method.parse().unwrap(), url);
    for (name, value) in &printed.headers {
        request = request.header(
            name,
            value.replace("base64(<client_id>:<client_secret>)", &basic),
        );
    }
    let response = request
        .body(printed.body.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let sample: Value = serde_json::from_str(samples::GENESYS_TOKEN_RESPONSE).unwrap();
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&body), keys(&sample));
    assert_eq!(body["token_type"], sample["token_type"]);
    assert_eq!(body["expires_in"], 86_400);
    let token = body["access_token"].as_str().unwrap();
    let listed = client()
        .get(format!("{}api/v2/outbound/campaigns", sb.genesys_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // The log keeps no credential: not the Basic header, nor the token.
    for logged in sb.genesys().requests() {
        assert_eq!(logged.header("authorization"), Some("***"));
        assert!(!format!("{logged:?}").contains(token));
        assert!(!format!("{logged:?}").contains(c.genesys_client_secret.expose()));
    }
    sb.shutdown().await;
}
