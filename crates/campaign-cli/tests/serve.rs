//! End-to-end tests of `campaigns serve` without a store: the built binary
//! is started on `127.0.0.1:0` and asked over HTTP; its answers are checked
//! against `campaigns list --format json` for the same filters, against the
//! API's error contract, and against a sandbox started here that counts the
//! provider requests.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use campaign_sandbox::{Fault, Sandbox};
use serde_json::Value;

use common::{
    assert_error, campaigns, cli_list, errors, ids, json, metric, process_in, serve_embedded, text,
    Env, Server, Tweaks,
};

/// `campaigns serve --config <config>` over a sandbox started here.
async fn serve_config(env: &Env, config: &Path) -> Server {
    let config = config.to_str().unwrap();
    let args = ["serve", "--config", config, "--listen", "127.0.0.1:0"];
    Server::start(env.process(&args)).await
}

/// The keys of a JSON object.
fn keys(value: &Value) -> BTreeSet<&str> {
    let object = value.as_object();
    object
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The `list` flags a query string stands for (the parameters are named
/// like them): `created_from=V` is `--created-from V`, `raw=true` and
/// `unsorted` are `--raw` and `--unsorted`.
fn flags_of(query: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, "true"));
        flags.push(format!("--{}", name.replace('_', "-")));
        if value != "true" {
            flags.push(value.replace('+', " ").replace("%2B", "+"));
        }
    }
    flags
}

/// `list --format json` over the embedded sandbox with the flags of `query`.
async fn cli_list_of(dir: &Path, query: &str) -> Value {
    let flags = flags_of(query);
    cli_list(dir, &flags.iter().map(String::as_str).collect::<Vec<_>>()).await
}

/// The same document as `list --format json` for the same filters, whether
/// the values are repeated or comma-separated.
#[tokio::test(flavor = "multi_thread")]
async fn campaigns_are_the_document_list_prints_for_the_same_filters() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    for query in [
        "limit=50",
        "limit=1000",
        "channel=voice&channel=sms&sort=name:asc&limit=1000",
        "status=ready,stopped&priority=5&priority=4&limit=1000",
        "dialing_mode=preview,predictive&sort=updated_at:asc&raw=true&limit=1000",
        "created_from=2025-12-01T00:00:00Z&created_to=2025-12-06T00:00:00Z\
         &updated_from=2025-12-04T10:00:00%2B00:00&limit=1000",
        "name=Billing+reminder&sort=created_at:asc&limit=1000",
    ] {
        let expected = cli_list_of(dir.path(), query).await;
        assert!(!campaigns(&expected).is_empty(), "{query} lists some");
        let (status, got) = server.get(&format!("/v1/campaigns?{query}")).await;
        assert_eq!(status, 200, "{query}: {got}");
        let fields = BTreeSet::from(["campaigns", "next_cursor", "errors", "warnings"]);
        assert_eq!(keys(&got), fields);
        for key in ["campaigns", "errors", "warnings"] {
            assert_eq!(got[key], expected[key], "{query}: {key}");
        }
        // Cursors differ (the server signs its own); their presence does not.
        let more = got["next_cursor"].is_null();
        assert_eq!(more, expected["next_cursor"].is_null(), "{query}");
    }
    // Without `limit`, pages of 50.
    let (default, fifty) = (
        server.get("/v1/campaigns").await,
        server.get("/v1/campaigns?limit=50").await,
    );
    assert_eq!(default.1["campaigns"], fifty.1["campaigns"]);
    // Arrival order varies from run to run: the same campaigns, once each.
    let expected = cli_list_of(dir.path(), "unsorted").await;
    let (status, got) = server.get("/v1/campaigns?unsorted&limit=1000").await;
    assert_eq!(status, 200, "{got}");
    let (mut want, mut have) = (ids(&expected), ids(&got));
    want.sort();
    have.sort();
    assert_eq!(have, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_walk_lists_every_campaign_once_and_a_tampered_cursor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    for filters in ["", "sort=name:desc&channel=voice"] {
        let all = ids(&cli_list_of(dir.path(), filters).await);
        let (mut walked, mut cursor) = (Vec::new(), String::new());
        for page in 0.. {
            assert!(
                page <= all.len() / 3 + 1,
                "{filters}: the walk does not end"
            );
            let path = format!("/v1/campaigns?limit=3&{filters}{cursor}");
            let (status, document) = server.get(&path).await;
            assert_eq!(status, 200, "{path}: {document}");
            assert!(ids(&document).len() <= 3);
            walked.extend(ids(&document));
            match document["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(walked, all, "{filters}: every campaign once, in order");
    }

    let (_, first) = server.get("/v1/campaigns?limit=3").await;
    let signed = first["next_cursor"]
        .as_str()
        .expect("more than 3 campaigns");
    let page = "/v1/campaigns?limit=3&cursor=";
    assert_eq!(server.get(&format!("{page}{signed}")).await.0, 200);
    // One character of the position changed, the signature kept.
    let mut tampered = signed.to_owned().into_bytes();
    tampered[4] = if tampered[4] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let unsigned = cli_list(dir.path(), &["--limit", "3"]).await["next_cursor"].clone();
    for (what, cursor) in [
        ("tampered", tampered),
        ("garbled", "not-a-cursor".into()),
        ("empty", String::new()),
        ("dot only", ".".into()),
        ("the CLI's, unsigned", unsigned.as_str().unwrap().to_owned()),
        ("huge", "A".repeat(10_000)),
        // Signed, but for other filters.
        ("other query", format!("{signed}&sort=name:asc")),
    ] {
        let (status, body) = server.get(&format!("{page}{cursor}")).await;
        assert_error(what, status, &body, (400, "invalid_cursor", Some("cursor")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_typed_4xx_never_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    for (query, param) in [
        ("status=bogus", "status"),
        ("status=active,bogus", "status"),
        ("channel=fax", "channel"),
        ("priority=300", "priority"),
        ("dialing_mode=manual", "dialing_mode"),
        ("created_from=yesterday", "created_from"),
        ("updated_to=2024-13-01T00:00:00Z", "updated_to"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("sort=colour:asc", "sort"),
        ("sort=name:sideways", "sort"),
        ("sort=name:asc&unsorted", "unsorted"),
        ("raw=maybe", "raw"),
        ("colour=red", "colour"),
        ("name=%FF%FE", "name"),
        ("include_deleted=true", "include_deleted"),
    ] {
        let (status, body) = server.get(&format!("/v1/campaigns?{query}")).await;
        assert_error(query, status, &body, (400, "bad_parameter", Some(param)));
    }
    for path in [
        "/v2/campaigns",
        "/index.html",
        "/v1/campaigns/x/y",
        "/metrics/extra",
    ] {
        let (status, body) = server.get(path).await;
        assert_error(path, status, &body, (404, "not_found", None));
    }
    // Odd inputs of every kind: always a 4xx in the same shape.
    let many = vec!["status=active"; 150].join("&");
    for path in [
        format!("/v1/campaigns?{many}"),
        format!("/v1/campaigns?name={}", "n".repeat(20_000)),
        format!("/v1/campaigns/{}", "x".repeat(600)),
        "/v1/campaigns/%FF%FE".into(),
        "/v1/campaigns/a%00b".into(),
        "/v1/campaigns/nosuchsource:1".into(),
        "/v1/campaigns?%FF=1".into(),
        "/v1/campaigns?created_from=2024-02-01T00:00:00Z&created_to=2024-01-01T00:00:00Z".into(),
        "/v1/changes?since=-1".into(),
        "/v1/changes?limit=0".into(),
        "/v1/changes?since=abc".into(),
        "/v1/sources/../../etc/passwd".into(),
    ] {
        let (status, body) = server.get(&path).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert!(body["error"]["kind"].is_string(), "{path}: {body}");
    }
    let response = server
        .client
        .post(server.url("/v1/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "method_not_allowed", "{body}");
    // Still up, and no panic was logged.
    assert_eq!(
        server.get("/healthz").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// The status of the answer to `request` sent as raw bytes on a new
/// connection (0 if the server closed it without one).
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    let head = String::from_utf8_lossy(&answer);
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Requests HTTP itself refuses, before any route sees them: hyper's
/// parser answers a bare 4xx (there is no request to answer in JSON) and
/// the server keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn requests_that_are_not_http_get_a_4xx_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    let addr = server.addr.expect("listening");
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "150 headers",
            format!("GET /v1/campaigns HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n").into_bytes(),
        ),
        (
            "raw non-UTF-8 bytes in the target",
            b"GET /v1/campaigns?name=\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        ),
        ("no version", b"GET /v1/campaigns\r\n\r\n".to_vec()),
        (
            "not HTTP at all",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n".to_vec(),
        ),
        (
            "a header without a colon",
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nbroken header\r\n\r\n".to_vec(),
        ),
        (
            "a 1 MB header",
            format!(
                "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
        ),
    ];
    for (what, request) in cases {
        let status = raw_status(addr, &request).await;
        assert!((400..500).contains(&status), "{what}: {status}");
    }
    assert_eq!(
        server.get("/healthz").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn one_campaign_by_id_is_the_listed_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    let listed = cli_list(dir.path(), &["--raw"]).await;
    // One of each source.
    let mut seen = BTreeSet::new();
    for campaign in campaigns(&listed) {
        if !seen.insert(campaign["source"].as_str().unwrap().to_owned()) {
            continue;
        }
        let id = campaign["id"].as_str().unwrap();
        let (status, got) = server.get(&format!("/v1/campaigns/{id}?raw=true")).await;
        assert_eq!((status, &got), (200, campaign), "{id}");
        let (status, got) = server.get(&format!("/v1/campaigns/{id}")).await;
        assert_eq!(status, 200, "{id}: {got}");
        let mut bare = campaign.clone();
        bare.as_object_mut().unwrap().remove("raw");
        assert_eq!(got, bare, "{id}: without raw");
    }
    assert!(seen.len() >= 2, "{seen:?}");
    let first = campaigns(&listed)[0]["source"].as_str().unwrap().to_owned();
    for id in [
        format!("{first}:no-such-campaign"),
        "nosource:1".into(),
        "nocolon".into(),
    ] {
        let (status, body) = server.get(&format!("/v1/campaigns/{id}")).await;
        assert_error(&id, status, &body, (404, "not_found", None));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_health_and_metrics_after_some_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    let (status, healthz) = server.get("/healthz").await;
    assert_eq!(
        (status, healthz),
        (200, serde_json::json!({"status": "ok"}))
    );

    // Some traffic: a page (which reads every source), a 400, a 404.
    let (status, page) = server.get("/v1/campaigns?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let names: BTreeSet<&str> = campaigns(&page)
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(server.get("/v1/campaigns?limit=0").await.0, 400);
    assert_eq!(server.get("/nope").await.0, 404);

    let (status, sources) = server.get("/v1/sources").await;
    assert_eq!(status, 200, "{sources}");
    assert_eq!(sources["store"], false, "{sources}");
    let sources = sources["sources"].as_array().unwrap();
    let listed: BTreeSet<&str> = sources
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names, "every source, each listed campaigns");
    for source in sources {
        assert!(source["provider"].as_str().is_some_and(|p| !p.is_empty()));
        assert!(source["capabilities"].is_object(), "{source}");
        assert!(source["last_sync"].is_null(), "no store, no sync: {source}");
        assert_eq!(source["health"]["status"], "ok", "read just now: {source}");
        assert!(source["health"]["checked_at"].is_string(), "{source}");
    }

    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let metrics = response.text().await.unwrap();
    let at_least_one = |series: &str| {
        let value = metric(&metrics, series).unwrap_or_else(|| panic!("{series} in\n{metrics}"));
        assert!(value >= 1.0, "{series} = {value}");
    };
    for (route, status) in [
        ("/v1/campaigns", 200),
        ("/v1/campaigns", 400),
        ("/v1/sources", 200),
        ("/healthz", 200),
    ] {
        let labels = format!(r#"route="{route}",status="{status}""#);
        at_least_one(&format!("campaigns_http_requests_total{{{labels}}}"));
        at_least_one(&format!(
            "campaigns_http_request_duration_seconds_count{{{labels}}}"
        ));
        at_least_one(&format!(
            r#"campaigns_http_request_duration_seconds_bucket{{le="+Inf",{labels}}}"#
        ));
    }
    let counted_404 = metrics
        .lines()
        .any(|l| l.starts_with("campaigns_http_requests_total{") && l.contains("status=\"404\""));
    assert!(counted_404, "the 404 is counted:\n{metrics}");
    for name in &names {
        at_least_one(&format!(
            "campaigns_provider_requests_total{{source=\"{name}\"}}"
        ));
        let retries = format!("campaigns_provider_retries_total{{source=\"{name}\"}}");
        assert!(
            metric(&metrics, &retries).is_some(),
            "{retries} in\n{metrics}"
        );
    }
    for family in ["campaigns_sync_runs", "campaigns_sync_changes"] {
        assert!(
            metrics.contains(&format!("# TYPE {family} counter")),
            "{family}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_covers_every_route_parameter_and_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_embedded(dir.path(), &[]).await;
    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let routes =
        "/v1/campaigns /v1/campaigns/{id} /v1/changes /v1/sources /healthz /metrics /openapi.json";
    assert_eq!(keys(&doc["paths"]), routes.split(' ').collect());
    for route in routes.split(' ') {
        assert!(
            doc["paths"][route]["get"]["responses"]["200"].is_object(),
            "{route}"
        );
    }
    let list = &doc["paths"]["/v1/campaigns"]["get"];
    let params: BTreeSet<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let expected = "channel status priority dialing_mode created_from created_to updated_from \
                    updated_to name sort unsorted limit cursor raw include_deleted";
    assert_eq!(params, expected.split(' ').collect());
    for status in ["400", "401", "503"] {
        let schema = &list["responses"][status]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["$ref"], "#/components/schemas/ErrorBody",
            "{status}: {schema}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        keys(&schemas["ErrorBody"]["properties"]),
        BTreeSet::from(["error"])
    );
    assert_eq!(
        keys(&schemas["ErrorDetail"]["properties"]),
        BTreeSet::from(["kind", "message", "param"])
    );
}

/// A failing partition fails alone: 200, its failure in `errors`, the rest
/// listed as `list` lists it; `/v1/sources` shows the source failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_partial_failure_is_200_with_errors() {
    let env = Env::generated().await;
    // The sandbox knows contact centers 1 and 2 only: 7 answers 404.
    let config = env.unknown_contact_center_config();
    let server = serve_config(&env, &config).await;
    let cli = env.list_with(&config, &["--format", "json"]).await;
    assert_eq!(cli.status.code(), Some(3), "{}", text(&cli.stderr));
    let expected = json(&cli);
    let (status, got) = server.get("/v1/campaigns?limit=1000").await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["campaigns"], expected["campaigns"]);
    let failed = errors(&got);
    assert_eq!(failed.len(), 1, "{got}");
    for key in ["source", "partition", "kind", "status", "code"] {
        assert_eq!(failed[0][key], errors(&expected)[0][key], "{key}");
    }
    assert_eq!(failed[0]["partition"], "contact_center=7");
    let (_, sources) = server.get("/v1/sources").await;
    let cms = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cms")
        .unwrap();
    assert_eq!(cms["health"]["status"], "failing", "{cms}");
    assert!(cms["health"]["error"].is_string(), "{cms}");

    // Every source failing: 503, in the same error shape.
    for provider in [env.sandbox.cms(), env.sandbox.kore()] {
        provider.inject(Fault::Status(403), None);
    }
    let (status, body) = server.get("/v1/campaigns?limit=1000").await;
    assert_error("all failing", status, &body, (503, "unavailable", None));
}

/// 64 identical requests at once ask the providers what one request asks.
#[tokio::test(flavor = "multi_thread")]
async fn identical_live_requests_in_flight_share_one_provider_walk() {
    let sandbox = Sandbox::builder()
        .generated(Env::standard_data())
        .latency(Duration::from_millis(250))
        .start()
        .await
        .unwrap();
    let env = Env::over(sandbox);
    let server = serve_config(&env, &env.config).await;
    let count = || env.sandbox.cms().request_count() + env.sandbox.kore().request_count();
    let path = "/v1/campaigns?limit=1000&sort=name:asc";
    // A first request warms whatever is warmed once (tokens, connections).
    assert_eq!(server.get(path).await.0, 200);
    let before = count();
    let (status, alone) = server.get(path).await;
    assert_eq!(status, 200, "{alone}");
    let one = count() - before;
    assert!(one >= 2, "a walk asks each source: {one}");

    let before = count();
    let answers = futures::future::join_all((0..64).map(|_| server.get_text(path, None))).await;
    let shared = count() - before;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), alone);
    }
    assert_eq!(shared, one, "64 requests at once cost one walk");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_guard_every_route_but_healthz() {
    let env = Env::generated().await;
    let var = "TEST_SERVE_API_KEYS";
    let config = env.dir.path().join("keys.toml");
    let text = Env::config_text(&env.sandbox, &Tweaks::default());
    std::fs::write(
        &config,
        format!("{text}\n[serve]\napi_keys_env = \"{var}\"\n"),
    )
    .unwrap();
    let path = config.to_str().unwrap();
    let args = ["serve", "--config", path, "--listen", "127.0.0.1:0"];

    // The variable unset: a usage error naming it, exit 2.
    let mut unset = Server::spawn(env.process(&args));
    let status = unset.exit(common::SERVER_DEADLINE).await;
    assert_eq!(status.code(), Some(2), "{}", unset.stderr());
    assert!(unset.stderr().contains(var), "{}", unset.stderr());

    let mut command = env.process(&args);
    command.env(var, " key-alpha-1 , key-beta-2 ");
    let server = Server::start(command).await;
    assert_eq!(server.get("/healthz").await.0, 200, "open without a key");
    for path in [
        "/v1/campaigns",
        "/v1/campaigns/cms:1",
        "/v1/sources",
        "/metrics",
        "/openapi.json",
        "/",
        "/campaigns/cms:1",
    ] {
        for key in [
            None,
            Some("wrong"),
            Some("key-alpha-1,key-beta-2"),
            Some(""),
        ] {
            let (status, body) = server.get_text(path, key).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_error(path, status, &body, (401, "unauthorized", None));
        }
    }
    let response = server
        .client
        .get(server.url("/v1/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    for key in ["key-beta-2", "key-alpha-1"] {
        let (status, body) = server.get_with("/v1/campaigns", Some(key)).await;
        assert_eq!(status, 200, "{body}");
        assert!(!campaigns(&body).is_empty());
        assert_eq!(server.get_text("/metrics", Some(key)).await.0, 200);
        assert_eq!(server.get_text("/", Some(key)).await.0, 200, "the page");
    }
    assert!(
        !server.stderr().contains("key-alpha"),
        "{}",
        server.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_loopback_address_needs_api_keys_or_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let mut refused = Server::spawn(process_in(dir.path(), &["serve", "--listen", "0.0.0.0:0"]));
    let status = refused.exit(common::SERVER_DEADLINE).await;
    let stderr = refused.stderr();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:0 without API keys"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure-no-auth"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");

    let args = ["serve", "--listen", "0.0.0.0:0", "--insecure-no-auth"];
    let mut server = Server::start(process_in(dir.path(), &args)).await;
    assert!(server.addr.unwrap().ip().is_unspecified());
    assert_eq!(server.get("/healthz").await.0, 200);
    #[cfg(unix)]
    assert_eq!(
        server.terminate().await.code(),
        Some(0),
        "{}",
        server.stderr()
    );
}

/// SIGTERM: the request in flight is answered whole, then the process
/// exits 0 saying so.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let sandbox = Sandbox::builder()
        .generated(Env::standard_data())
        .latency(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let env = Env::over(sandbox);
    let mut server = serve_config(&env, &env.config).await;
    let request = server
        .client
        .get(server.url("/v1/campaigns?limit=1000"))
        .send();
    let in_flight = tokio::spawn(async move {
        let response = request.await.unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    });
    // Well inside the walk: each of its several pages takes 200 ms.
    while env.sandbox.kore().request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = server.terminate().await;
    let (code, page) = in_flight.await.unwrap();
    assert_eq!(code, 200, "{page}");
    assert!(errors(&page).is_empty(), "{page}");
    let expected = json(&env.list(&["--format", "json"]).await);
    assert_eq!(page["campaigns"], expected["campaigns"]);
    let stderr = server.stderr();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("campaigns: stopping"), "{stderr}");
    assert!(
        stderr.lines().any(|l| l == "campaigns: stopped"),
        "{stderr}"
    );
}
