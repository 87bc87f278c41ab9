//! Every sample request of both specs, sent as printed (only the
//! placeholders filled in), gets that spec's sample response.

mod common;

use campaign_sandbox::{samples, Sandbox};
use common::client;
use serde_json::Value;

/// One curl command: what it would send.
#[derive(Debug)]
struct Curl {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// Splits a shell command line into words: single quotes are literal,
/// double quotes honour backslash escapes, and a backslash outside quotes
/// escapes the next character (a backslash-newline joins lines).
fn shell_words(text: &str) -> Vec<String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(c),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(escaped) => {
                    in_word = true;
                    word.push(escaped);
                }
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Reads the options the spec's commands use; anything else fails the test,
/// so a changed sample cannot be half understood.
fn parse_curl(text: &str) -> Curl {
    let words = shell_words(text);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{text}");
    let (mut method, mut url, mut headers, mut body) = (None, None, Vec::new(), None);
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let mut value = || rest.next().expect("an option's value").clone();
        match word.as_str() {
            // Follow redirects: the sandbox sends none here.
            "--location" | "-L" => {}
            "-X" | "--request" => method = Some(value()),
            "-H" | "--header" => {
                let line = value();
                let (name, value) = line.split_once(':').expect("a `name: value` header");
                headers.push((name.to_owned(), value.trim_start().to_owned()));
            }
            "-d" | "--data" | "--data-raw" => body = Some(value()),
            option if option.starts_with('-') => panic!("unexpected curl option {option}"),
            _ => {
                assert!(url.is_none(), "one URL per command");
                url = Some(word.clone());
            }
        }
    }
    // curl's default: POST when there is a body, else GET.
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    Curl {
        method,
        url: url.expect("a URL"),
        headers,
        body,
    }
}

/// The placeholders of the specs' commands and what fills them.
fn placeholders(sb: &Sandbox) -> Vec<(&'static str, String)> {
    let c = sb.credentials();
    let base = |url: url::Url| url.as_str().trim_end_matches('/').to_owned();
    vec![
        ("https://{{host}}", base(sb.kore_url())),
        ("{{streamId}}", c.kore_stream_id.clone()),
        ("{{accountId}}", c.kore_account_id.clone()),
        ("<token>", c.kore_jwt.expose().to_owned()),
        ("https://{Cms_Domain_Name}:443", base(sb.cms_url())),
        ("{AuthToken}", c.cms_token.expose().to_owned()),
    ]
}

fn fill(text: &str, values: &[(&str, String)]) -> String {
    let filled = values
        .iter()
        .fold(text.to_owned(), |text, (from, to)| text.replace(from, to));
    for left in ["{{", "<token>", "{AuthToken}", "{Cms_Domain_Name}"] {
        assert!(!filled.contains(left), "unfilled placeholder in {filled}");
    }
    filled
}

/// Sends `curl` exactly as written but for the placeholders; returns the
/// status and the JSON body.
async fn send(sb: &Sandbox, curl: &Curl) -> (u16, Value) {
    let values = placeholders(sb);
    let method = reqwest::Method::from_bytes(curl.method.as_bytes()).unwrap();
    let mut request = client().request(method, fill(&curl.url, &values));
    for (name, value) in &curl.headers {
        request = request.header(name, fill(value, &values));
    }
    if let Some(body) = &curl.body {
        request = request.body(body.clone().into_bytes());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn spec_sandbox() -> Sandbox {
    Sandbox::builder()
        .kore_ids(samples::KORE_STREAM_ID, samples::KORE_ACCOUNT_ID)
        .start()
        .await
        .unwrap()
}

/// The response must be the sample: the records in order, and the envelope.
fn assert_kore_sample(got: &Value, sample: &str) {
    let want: Value = serde_json::from_str(sample).unwrap();
    for key in ["status", "message"] {
        assert_eq!(got[key], want[key], "{key}");
    }
    let (got_data, want_data) = (&got["data"], &want["data"]);
    assert_eq!(got_data["results"], want_data["results"]);
    for key in ["skip", "limit", "hasMore", "totalPages", "totalResults"] {
        assert_eq!(got_data[key], want_data[key], "data.{key}");
    }
    assert_eq!(*got, want);
}

#[test]
fn the_curl_files_parse_into_the_documented_requests() {
    let voice = parse_curl(samples::KORE_VOICE_CURL);
    assert_eq!(voice.method, "POST");
    assert_eq!(
        voice.url,
        "https://{{host}}/campaign/api/v2/public/{{streamId}}/campaign/getAllCampaignDetails?accountId={{accountId}}"
    );
    let names: Vec<&str> = voice.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["auth", "accountid", "iid", "Content-Type"]);
    assert_eq!(voice.body.as_deref(), Some(samples::KORE_VOICE_REQUEST));
    let sms = parse_curl(samples::KORE_SMS_CURL);
    assert_eq!(sms.body.as_deref(), Some(samples::KORE_SMS_REQUEST));
    for curl in [&voice, &sms] {
        assert!(curl
            .headers
            .contains(&("iid".into(), samples::KORE_STREAM_ID.into())));
        assert!(curl
            .headers
            .contains(&("accountid".into(), samples::KORE_ACCOUNT_ID.into())));
    }
    let cms = parse_curl(samples::CMS_CURL);
    assert_eq!(cms.method, "GET");
    assert_eq!(
        cms.url,
        "https://{Cms_Domain_Name}:443/configuration/hierarchyconfig/campaign?contactCenterId=1"
    );
    assert_eq!(cms.headers.len(), 3);
    assert_eq!(cms.body, None);
}

#[tokio::test]
async fn kore_sample_requests_get_the_sample_responses() {
    let sb = spec_sandbox().await;
    for (curl, response) in [
        (samples::KORE_VOICE_CURL, samples::KORE_VOICE_RESPONSE),
        (samples::KORE_SMS_CURL, samples::KORE_SMS_RESPONSE),
    ] {
        let curl = parse_curl(curl);
        let (status, body) = send(&sb, &curl).await;
        assert_eq!(status, 200, "{body}");
        assert_kore_sample(&body, response);
        // It went out as written: method, query and body bytes.
        let logged = sb.kore().requests().pop().unwrap();
        assert_eq!(logged.method, curl.method);
        assert_eq!(logged.query.as_deref(), Some("accountId=***"));
        assert_eq!(logged.body, curl.body);
        for (name, _) in &curl.headers {
            assert!(logged.header(name).is_some(), "{name}");
        }
        assert_eq!(logged.header("content-type"), Some("application/json"));
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn the_cms_sample_request_gets_the_sample_response() {
    let sb = spec_sandbox().await;
    let curl = parse_curl(samples::CMS_CURL);
    let (status, body) = send(&sb, &curl).await;
    assert_eq!(status, 200, "{body}");
    let want: Value = serde_json::from_str(samples::CMS_RESPONSE).unwrap();
    assert_eq!(body, want);
    let logged = sb.cms().requests().pop().unwrap();
    assert_eq!(
        (logged.method.as_str(), logged.query.as_deref()),
        ("GET", Some("contactCenterId=1"))
    );
    assert_eq!(logged.header("accept"), Some("application/json"));
    sb.shutdown().await;
}

/// Without the spec's ids the same requests are refused: the ids matter.
#[tokio::test]
async fn random_ids_refuse_the_spec_requests() {
    let sb = Sandbox::start_default().await.unwrap();
    let (status, body) = send(&sb, &parse_curl(samples::KORE_VOICE_CURL)).await;
    assert_eq!((status, body["status"].as_str()), (403, Some("error")));
    assert_ne!(sb.credentials().kore_stream_id, samples::KORE_STREAM_ID);
    sb.shutdown().await;
}
