//! Secret hygiene: every `tracing` record at TRACE, every error's Display and
//! Debug and every source's Debug, gathered over listings with failures and
//! token renewals on both providers, holds no credential value. Credentials
//! holding CR/LF are config errors before any request, and plain http to a
//! non-loopback host is refused.

use std::io::Write;

use std::sync::{Arc, Mutex, PoisonError};
use tracing_subscriber::util::SubscriberInitExt as _;

use base64::Engine as _;
use campaign_core::{CampaignQuery, CampaignSource, ErrorKind, Secret, SourceError, StaticToken};
use campaign_e2e::{Listing, Rig, RigOptions};
use campaign_http::HttpConfig;
use campaign_sandbox::{Fault, RetryAfter, Sandbox};
use futures::TryStreamExt;
use source_cms::{CmsBasicAuthToken, CmsConfig, CmsSource};
use source_kore::{KoreConfig, KoreJwtMinter, KoreSource};

/// A `tracing` writer appending to one shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything a listing shows about its failures.
fn describe(listing: &Listing, out: &mut Vec<String>) {
    for failure in &listing.failures {
        out.push(format!("{}", failure.error));
        out.push(format!("{:?}", failure.error));
        out.push(format!("{failure:?}"));
    }
}

fn describe_error(error: &SourceError, out: &mut Vec<String>) {
    out.push(error.to_string());
    out.push(format!("{error:?}"));
    out.push(format!("{error:#?}"));
}

/// Asserts that none of `secrets` occurs in `text` (naming the secret by position only).
fn assert_clean(what: &str, text: &str, secrets: &[(String, String)]) {
    for (name, value) in secrets {
        assert!(!value.is_empty(), "{name} is empty");
        assert!(
            !text.contains(value.as_str()),
            "{what} contains the {name} value"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_logs_errors_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .expect("the only subscriber of this test binary");

    let rig = Rig::start(RigOptions::default()).await.expect("rig");
    let mut shown = Vec::new();
    let mut listings = Vec::new();

    // A clean listing, then expired tokens on both providers (401, renewal).
    listings.push(rig.list_pages(1_000).await.expect("pages"));
    rig.sandbox.cms().expire_tokens();
    rig.sandbox.kore().expire_tokens();
    listings.push(rig.list_events().await);
    // Failures of every shape on both providers, one at a time.
    let faults = [
        Fault::Status(500),
        Fault::Status(401),
        Fault::Status(403),
        Fault::RateLimited(RetryAfter::Seconds(120)),
        Fault::HtmlError,
        Fault::TruncatedJson,
        Fault::WrongFieldType,
        Fault::DropConnection,
        Fault::RedirectOtherHost,
        Fault::IgnoreSkip,
    ];
    for fault in faults {
        for control in [rig.sandbox.cms(), rig.sandbox.kore()] {
            control.inject(fault.clone(), None);
            listings.push(rig.list_events().await);
            listings.push(rig.list_pages(1_000).await.expect("pages"));
            control.clear_faults();
        }
    }
    let failures: usize = listings.iter().map(|l| l.failures.len()).sum();
    assert!(
        failures >= 20,
        "the faults produced only {failures} failures"
    );
    for listing in &listings {
        describe(listing, &mut shown);
    }
    // Renewal happened on both, so there are several tokens to look for.
    assert!(rig.cms_tokens.tokens().len() >= 2, "no CMS token renewal");
    assert!(rig.kore_tokens.tokens().len() >= 2, "no Kore JWT renewal");

    // Wrong credentials: a bad API token at the CMS token endpoint, a JWT
    // signed with the wrong secret, a JWT the server never issued.
    let c = rig.sandbox.credentials();
    let bad_api_token = "wrong-api-token-0123456789abcdefghij".to_owned();
    let bad_kore_secret = "wrong-client-secret-0123456789abcdefghij".to_owned();
    let bad_jwt = "eyJhbGciOiJIUzI1NiJ9.eyJhcHBJZCI6IngifQ.c2lnbmF0dXJlLXdyb25n".to_owned();
    let http = HttpConfig {
        retry: campaign_http::RetryPolicy::none(),
        ..HttpConfig::default()
    };
    let cms_base = rig.sandbox.cms_url().to_string();
    let bad_cms_tokens = Arc::new(
        CmsBasicAuthToken::new(
            "cms-bad",
            &cms_base,
            c.cms_account_sid.clone(),
            c.cms_api_key.clone(),
            Secret::new(bad_api_token.clone()),
            http.clone(),
        )
        .expect("token provider"),
    );
    let mut cms_config = CmsConfig::new("cms-bad", cms_base, vec![1]);
    cms_config.http = http.clone();
    let bad_cms = Arc::new(CmsSource::new(cms_config, bad_cms_tokens).expect("cms"));
    let kore_with = |id: &str, tokens: Arc<dyn campaign_core::TokenProvider>| {
        let mut config = KoreConfig::new(
            id,
            rig.sandbox.kore_url().to_string(),
            c.kore_stream_id.clone(),
            c.kore_account_id.clone(),
        );
        config.rate_limit = None;
        config.http = http.clone();
        Arc::new(KoreSource::new(config, tokens).expect("kore"))
    };
    let wrong_secret = kore_with(
        "kore-bad-secret",
        Arc::new(KoreJwtMinter::new(
            c.kore_client_id.clone(),
            Secret::new(bad_kore_secret.clone()),
        )),
    );
    let unknown_jwt = kore_with("kore-bad-jwt", Arc::new(StaticToken::new(bad_jwt.clone())));
    let query = CampaignQuery::all();
    let bad_sources: Vec<Arc<dyn CampaignSource>> = vec![bad_cms, wrong_secret, unknown_jwt];
    for source in &bad_sources {
        let error = source
            .clone()
            .stream(&query)
            .try_collect::<Vec<_>>()
            .await
            .expect_err("wrong credentials must fail");
        assert_eq!(error.kind(), ErrorKind::Unauthorized, "{error}");
        describe_error(&error, &mut shown);
        shown.push(format!("{source:?}"));
    }

    // Debug output of everything that holds a credential.
    shown.push(format!("{:?}", rig.aggregate));
    shown.push(format!("{:?}", rig.cms));
    shown.push(format!("{:?}", rig.kore));
    shown.push(format!("{:?}", rig.cms_tokens));
    shown.push(format!("{:?}", rig.kore_tokens));
    shown.push(format!("{:?}", rig.sandbox));
    shown.push(format!("{:?}", rig.sandbox.credentials()));
    shown.push(rig.aggregate.explain(&rig.query).to_string());
    for source in rig.sources() {
        shown.push(format!("{source:?}"));
        shown.push(format!("{:?}", source.capabilities()));
    }

    let mut secrets: Vec<(String, String)> = rig
        .secret_values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("credential #{i}"), v))
        .collect();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.cms_api_key,
        c.cms_api_token.expose()
    ));
    secrets.push(("CMS Basic credentials".into(), basic));
    secrets.push(("wrong API token".into(), bad_api_token));
    secrets.push(("wrong client secret".into(), bad_kore_secret));
    secrets.push(("unknown JWT".into(), bad_jwt));
    // Every JWT's signature alone is a secret too.
    for token in rig.kore_tokens.tokens() {
        if let Some(signature) = token.expose().rsplit('.').next() {
            secrets.push(("a JWT signature".into(), signature.to_owned()));
        }
    }

    let logs = captured.text();
    assert!(
        [
            "retrying",
            "renewing the token",
            "getAllCampaignDetails",
            "contactCenterId",
            "TRACE"
        ]
        .iter()
        .all(|needle| logs.contains(needle)),
        "the subscriber captured too little ({} bytes)",
        logs.len()
    );
    assert_clean("the TRACE log", &logs, &secrets);
    for text in &shown {
        assert_clean(text, text, &secrets);
    }
    println!(
        "checked {} secret values against {} bytes of TRACE logs and {} error/Debug texts ({failures} source failures)",
        secrets.len(),
        logs.len(),
        shown.len()
    );
}

/// The sandbox used by the config checks: nothing may reach it.
async fn idle_sandbox() -> Sandbox {
    Sandbox::builder().start().await.expect("sandbox")
}

#[tokio::test]
async fn cr_lf_in_credentials_is_a_config_error_before_any_request() {
    let sandbox = idle_sandbox().await;
    let c = sandbox.credentials().clone();
    let kore_url = sandbox.kore_url().to_string();
    let cms_url = sandbox.cms_url().to_string();
    let injected = "x\r\nX-Injected: 1";
    let query = CampaignQuery::all();
    let mut errors = Vec::new();

    // Kore: account id, iid, stream id.
    let kore = |account: String, iid: Option<String>, stream: String| {
        let mut config = KoreConfig::new("kore", kore_url.clone(), stream, account);
        config.iid = iid.map(Secret::new);
        config.rate_limit = None;
        let tokens = Arc::new(KoreJwtMinter::new(
            c.kore_client_id.clone(),
            c.kore_client_secret.clone(),
        ));
        KoreSource::new(config, tokens)
    };
    for result in [
        kore(
            format!("{}{injected}", c.kore_account_id),
            None,
            c.kore_stream_id.clone(),
        ),
        kore(
            c.kore_account_id.clone(),
            Some(format!("{}{injected}", c.kore_iid)),
            c.kore_stream_id.clone(),
        ),
        kore(
            c.kore_account_id.clone(),
            None,
            format!("{}{injected}", c.kore_stream_id),
        ),
    ] {
        errors.push(result.expect_err("CR/LF must be refused"));
    }
    // CMS: the token endpoint's credentials.
    for (sid, key, token) in [
        (
            format!("{}\n", c.cms_account_sid),
            c.cms_api_key.clone(),
            c.cms_api_token.expose().to_owned(),
        ),
        (
            c.cms_account_sid.clone(),
            format!("{}{injected}", c.cms_api_key),
            c.cms_api_token.expose().to_owned(),
        ),
        (
            c.cms_account_sid.clone(),
            c.cms_api_key.clone(),
            format!("{}{injected}", c.cms_api_token.expose()),
        ),
    ] {
        errors.push(
            CmsBasicAuthToken::new(
                "cms",
                &cms_url,
                sid,
                key,
                Secret::new(token),
                HttpConfig::default(),
            )
            .expect_err("CR/LF must be refused"),
        );
    }
    // Ready tokens holding CR/LF: refused when the request is built, so
    // nothing is sent.
    let cms = Arc::new(
        CmsSource::new(
            CmsConfig::new("cms", cms_url.clone(), vec![1]),
            Arc::new(StaticToken::new(format!(
                "{}{injected}",
                c.cms_token.expose()
            ))),
        )
        .expect("the source itself is valid"),
    );
    let mut kore_config = KoreConfig::new(
        "kore",
        kore_url.clone(),
        c.kore_stream_id.clone(),
        c.kore_account_id.clone(),
    );
    kore_config.rate_limit = None;
    let kore_static = Arc::new(
        KoreSource::new(
            kore_config,
            Arc::new(StaticToken::new(format!(
                "{}{injected}",
                c.kore_jwt.expose()
            ))),
        )
        .expect("the source itself is valid"),
    );
    let sources: [Arc<dyn CampaignSource>; 2] = [cms, kore_static];
    for source in sources {
        errors.push(
            source
                .stream(&query)
                .try_collect::<Vec<_>>()
                .await
                .expect_err("a CR/LF token must be refused"),
        );
    }

    for error in &errors {
        assert_eq!(error.kind(), ErrorKind::Config, "{error}");
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains("X-Injected"),
            "the bad value is echoed: {text}"
        );
    }
    assert_eq!(
        sandbox.cms().request_count(),
        0,
        "a request reached the CMS"
    );
    assert_eq!(sandbox.kore().request_count(), 0, "a request reached Kore");
    assert!(sandbox.other_host_requests().is_empty());
}

#[test]
fn plain_http_is_refused_for_non_loopback_hosts() {
    let tokens = Arc::new(StaticToken::new("t"));
    for base in [
        "http://cms.example.com",
        "http://10.1.2.3:8080",
        "ftp://cms.example.com",
    ] {
        let cms = CmsSource::new(CmsConfig::new("cms", base, vec![1]), tokens.clone())
            .expect_err("insecure base URL");
        let kore = KoreSource::new(
            KoreConfig::new("kore", base, "st-1", "acc-1"),
            tokens.clone(),
        )
        .expect_err("insecure base URL");
        let token = CmsBasicAuthToken::new(
            "cms",
            base,
            "sid",
            "key",
            Secret::new("t"),
            HttpConfig::default(),
        )
        .expect_err("insecure base URL");
        for error in [cms, kore, token] {
            assert_eq!(error.kind(), ErrorKind::Config, "{base}: {error}");
        }
    }
    // https anywhere, plain http on loopback, and http elsewhere only when
    // explicitly allowed.
    for base in [
        "https://cms.example.com",
        "http://127.0.0.1:9",
        "http://[::1]:9",
    ] {
        CmsSource::new(CmsConfig::new("cms", base, vec![1]), tokens.clone()).expect(base);
        KoreSource::new(
            KoreConfig::new("kore", base, "st-1", "acc-1"),
            tokens.clone(),
        )
        .expect(base);
    }
    let mut allowed = CmsConfig::new("cms", "http://cms.example.com", vec![1]);
    allowed.http.allow_insecure_http = true;
    CmsSource::new(allowed, tokens).expect("allowed explicitly");
}
