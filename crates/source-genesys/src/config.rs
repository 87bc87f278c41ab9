//! What a Genesys Cloud source needs to know, with documented defaults, the
//! login-host rule and the checks that run before any request.

use std::borrow::Cow;
use std::fmt;

use campaign_core::{mask, Secret, SourceError};
use campaign_http::{
    check_base_url, check_paging, check_source_id, join_segments, HttpConfig, Url,
};

/// Largest `pageSize` sent: the spec says "the max that will be returned is 100".
pub const MAX_PAGE_SIZE: u32 = 100;

/// The page size when neither the config nor the query sets one: the
/// documented maximum, since every request counts against the quota.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The documented quota of a client-credentials token: 300 requests a minute.
pub const DEFAULT_RATE_LIMIT: u32 = 300;

/// How a source authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum GenesysCredentials {
    /// OAuth client credentials: tokens are requested from
    /// `{login_url}/oauth/token` (HTTP Basic, `grant_type=client_credentials`),
    /// cached until shortly before `expires_in` and renewed after a 401.
    ClientCredentials {
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
    },
    /// A ready bearer token; it cannot be renewed, so once it lapses every
    /// request fails `Unauthorized`.
    Token(Secret),
}

impl GenesysCredentials {
    /// Client credentials `client_id` / `client_secret`.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl fmt::Debug for GenesysCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", &mask(client_id))
                .field("client_secret", &"[REDACTED]")
                .finish(),
            Self::Token(_) => f.write_str("Token([REDACTED])"),
        }
    }
}

/// Settings of one Genesys Cloud outbound campaigns source.
///
/// Build with [`GenesysConfig::new`] and adjust the public fields (or the
/// `with_*` methods); everything is checked by
/// [`GenesysSource::new`](crate::GenesysSource::new).
#[derive(Debug, Clone)]
pub struct GenesysConfig {
    /// The source's name (the `source` part of every campaign id).
    pub source_id: String,
    /// The region: its API base URL, e.g. `https://api.mypurecloud.ie`, or
    /// its domain, e.g. `mypurecloud.ie` (see [`api_base_url`]). `https` is
    /// required; `http` only for loopback hosts unless
    /// `http.allow_insecure_http` is set.
    pub base_url: String,
    /// The region's login host, e.g. `https://login.mypurecloud.com`.
    /// `None` (the default) derives it with [`login_url_for`].
    pub login_url: Option<String>,
    /// Only campaigns of these divisions (sent as `divisionId`, and checked
    /// on every campaign that comes back: one in another division is left
    /// out with a warning, one without a division is kept). Empty (the
    /// default): every division the OAuth client may view.
    pub division_ids: Vec<String>,
    /// Campaigns per request when the query sets no page size. Default
    /// [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// Pages requested at once once the first page tells the page count.
    /// Default 4; 1 pages sequentially.
    pub prefetch: usize,
    /// Client-side requests per minute (prefetches included), shared by
    /// every source of the process with the same login host and OAuth
    /// client. Default [`DEFAULT_RATE_LIMIT`]; `None` turns it off.
    pub rate_limit: Option<u32>,
    /// What a record that is not a usable campaign does: `false` (the
    /// default) skips it and reports it as a page warning naming the
    /// request, the record's index and id and the cause; `true` fails its
    /// page instead.
    pub strict: bool,
    /// Timeouts, retries, body limits and the insecure-http switch.
    pub http: HttpConfig,
}

impl GenesysConfig {
    /// A config with every default: login host derived from `base_url`,
    /// every division, page size 100, prefetch 4, 300 requests a minute.
    pub fn new(source_id: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
            base_url: base_url.into(),
            login_url: None,
            division_ids: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            prefetch: 4,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            strict: false,
            http: HttpConfig::default(),
        }
    }

    /// Sets the login host.
    pub fn with_login_url(mut self, login_url: impl Into<String>) -> Self {
        self.login_url = Some(login_url.into());
        self
    }

    /// Lists only these divisions.
    pub fn with_division_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.division_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the default page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Checks every setting; nothing is sent before this passes.
    pub(crate) fn validate(&self) -> Result<Validated, SourceError> {
        let id = self.source_id.as_str();
        check_source_id(crate::PROVIDER, id)?;
        let fail = |message: String| Err(SourceError::config(id, message));
        let insecure = self.http.allow_insecure_http;
        let base_url = check_base_url(id, &api_base_url(&self.base_url), insecure)?;
        let login_url = match &self.login_url {
            Some(raw) => check_base_url(id, raw, insecure).map_err(|e| {
                SourceError::config(id, e.message().replacen("base_url", "login_url", 1))
            })?,
            None => login_url_for(&base_url),
        };
        let endpoint = join_segments(id, &base_url, ["api", "v2", "outbound", "campaigns"])?;
        let token_url = join_segments(id, &login_url, ["oauth", "token"])?;
        for (i, division) in self.division_ids.iter().enumerate() {
            if division.trim().is_empty() || division.chars().any(char::is_control) {
                return fail(format!(
                    "division_ids[{i}] must be non-empty without control characters"
                ));
            }
            if self.division_ids[..i].contains(division) {
                return fail(format!("division_ids[{i}] repeats an earlier division"));
            }
        }
        check_paging(id, self.page_size, MAX_PAGE_SIZE, self.prefetch)?;
        if self.rate_limit == Some(0) {
            return fail(
                "rate_limit must be at least 1 request a minute (None turns it off)".into(),
            );
        }
        Ok(Validated {
            base_url,
            login_url,
            endpoint,
            token_url,
        })
    }
}

/// The parts of a config that checking turned into ready values.
#[derive(Debug)]
pub(crate) struct Validated {
    pub(crate) base_url: Url,
    pub(crate) login_url: Url,
    pub(crate) endpoint: Url,
    pub(crate) token_url: Url,
}

/// `host` without its leading `api.` (any case), if it has one.
fn after_api(host: &str) -> Option<&str> {
    host.get(..4)
        .filter(|head| head.eq_ignore_ascii_case("api."))
        .and_then(|_| host.get(4..))
        .filter(|rest| !rest.is_empty())
}

/// The API base URL of `base_url` as configured: a full URL as it is; a
/// bare domain, as the SDKs name regions (spec §1.1: "either a domain
/// string or a full base URL"), as the region's API host: `mypurecloud.ie`
/// gives `https://api.mypurecloud.ie/`, and a domain already starting with
/// `api.` is taken as that host. A bare domain is letters, digits, `-` and
/// dots, with a dot inside and not only digits (an IP address is not a
/// region); anything else is left to the URL checks.
pub fn api_base_url(base_url: &str) -> Cow<'_, str> {
    let domain = base_url.trim();
    let bare = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !domain.chars().all(|c| c.is_ascii_digit() || c == '.');
    match (bare, after_api(domain)) {
        (false, _) => Cow::Borrowed(base_url),
        (true, Some(_)) => Cow::Owned(format!("https://{domain}/")),
        (true, None) => Cow::Owned(format!("https://api.{domain}/")),
    }
}

/// The login host of the API host `base_url`, as the SDKs build it: a host
/// starting with `api.` becomes the same host with `login.` instead
/// (`https://api.mypurecloud.ie` gives `https://login.mypurecloud.ie`).
/// Any other host (a proxy, the loopback sandbox, which serves both hosts'
/// paths on one address) is taken as its own login host.
pub fn login_url_for(base_url: &Url) -> Url {
    let mut login = base_url.clone();
    if let Some(rest) = base_url.host_str().and_then(after_api) {
        // A valid domain with its first label replaced stays a valid domain.
        let _ = login.set_host(Some(&format!("login.{rest}")));
    }
    login
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::ErrorKind;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn login_hosts_follow_the_sdk_rule() {
        for (api, login) in [
            (
                "https://api.mypurecloud.com",
                "https://login.mypurecloud.com/",
            ),
            (
                "https://API.usw2.pure.cloud/",
                "https://login.usw2.pure.cloud/",
            ),
            (
                "https://api.mypurecloud.com.au:8443",
                "https://login.mypurecloud.com.au:8443/",
            ),
            ("http://127.0.0.1:4000/", "http://127.0.0.1:4000/"),
            (
                "https://genesys-proxy.example",
                "https://genesys-proxy.example/",
            ),
            ("https://apix.example", "https://apix.example/"),
        ] {
            assert_eq!(login_url_for(&url(api)).as_str(), login, "{api}");
        }
        let valid = GenesysConfig::new("g", "https://api.mypurecloud.ie")
            .validate()
            .unwrap();
        assert_eq!(
            valid.token_url.as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        assert_eq!(
            valid.endpoint.as_str(),
            "https://api.mypurecloud.ie/api/v2/outbound/campaigns"
        );
        let explicit = GenesysConfig::new("g", "https://api.mypurecloud.ie")
            .with_login_url("https://sso.example/")
            .validate()
            .unwrap();
        assert_eq!(
            explicit.token_url.as_str(),
            "https://sso.example/oauth/token"
        );
        assert_eq!(explicit.base_url.as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(explicit.login_url.as_str(), "https://sso.example/");
    }

    #[test]
    fn a_region_domain_is_its_api_host() {
        for (region, api, token) in [
            (
                "mypurecloud.ie",
                "https://api.mypurecloud.ie/",
                "https://login.mypurecloud.ie/oauth/token",
            ),
            (
                " use2.us-gov-pure.cloud ",
                "https://api.use2.us-gov-pure.cloud/",
                "https://login.use2.us-gov-pure.cloud/oauth/token",
            ),
            (
                "API.mypurecloud.de",
                "https://api.mypurecloud.de/",
                "https://login.mypurecloud.de/oauth/token",
            ),
            (
                "https://api.mypurecloud.jp",
                "https://api.mypurecloud.jp/",
                "https://login.mypurecloud.jp/oauth/token",
            ),
        ] {
            let valid = GenesysConfig::new("g", region).validate().unwrap();
            assert_eq!(valid.base_url.as_str(), api, "{region}");
            assert_eq!(valid.token_url.as_str(), token, "{region}");
        }
        // Not a domain: left to the URL checks.
        for other in ["127.0.0.1", "localhost", "mypurecloud.ie/x", ".ie", "api."] {
            assert_eq!(api_base_url(other), other);
            let e = GenesysConfig::new("g", other).validate().unwrap_err();
            assert!(e.message().contains("base_url"), "{other}: {e}");
        }
    }

    #[test]
    fn bad_values_are_config_errors() {
        type Change = Box<dyn Fn(&mut GenesysConfig)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| c.base_url = "http://api.example".into()),
                "base_url",
            ),
            (
                Box::new(|c| c.login_url = Some("ftp://x".into())),
                "login_url",
            ),
            (
                Box::new(|c| c.division_ids = vec!["".into()]),
                "division_ids[0]",
            ),
            (
                Box::new(|c| c.division_ids = vec!["a".into(), "a".into()]),
                "division_ids[1]",
            ),
            (
                Box::new(|c| c.division_ids = vec!["a\r\nb".into()]),
                "division_ids[0]",
            ),
            (Box::new(|c| c.page_size = 0), "page_size"),
            (Box::new(|c| c.page_size = 101), "page_size"),
            (Box::new(|c| c.prefetch = 0), "prefetch"),
            (Box::new(|c| c.rate_limit = Some(0)), "rate_limit"),
            (Box::new(|c| c.source_id = " ".into()), "source_id"),
        ];
        for (change, key) in cases {
            let mut c = GenesysConfig::new("g", "https://api.mypurecloud.com");
            change(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{key}: {e}");
            assert!(e.message().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let creds = GenesysCredentials::client_credentials("client-id-1234567890", "s3cret");
        let shown = format!("{creds:?} {:?}", GenesysCredentials::Token("tok-1".into()));
        for hidden in ["client-id-1234567890", "s3cret", "tok-1"] {
            assert!(!shown.contains(hidden), "{shown}");
        }
        assert!(shown.contains("…7890"), "{shown}");
    }
}
