//! Keeps a request's credentials out of the error text quoted from its response.
//!
//! A server that echoes the request (a proxy, a misbehaving endpoint) would
//! otherwise put the token, Kore's `auth`/`iid`/`accountId` values or an id
//! from the URL into an error message, and from there into logs.

use campaign_core::Secret;
use reqwest::header::{HeaderMap, HeaderName, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use url::Url;

use crate::response::clean;

/// What replaces each credential.
const MASK: &str = "***";

/// Path segments, query values and header words this long or longer are
/// treated as credentials (stream ids, account ids, the token after `Bearer `);
/// shorter ones (`v1`, `50`) are not, so messages stay readable.
const MIN_SECRET_CHARS: usize = 8;

/// Headers whose values are never credentials.
const PLAIN_HEADERS: [HeaderName; 4] = [CONTENT_TYPE, ACCEPT, USER_AGENT, CONTENT_LENGTH];

/// Every credential one request carried, to mask before quoting a response.
///
/// The rule: the token; the value of every header sent (request and auth
/// headers alike) except `content-type`, `accept`, `user-agent` and
/// `content-length`, whole and each of its space-separated words, when 8
/// or more characters long (the credential after `Bearer `); every query value of
/// the URL of 8 or more characters, and every path segment of 8 or more
/// characters that holds a digit, both as sent and percent-decoded. Ids hold
/// digits (stream ids, account SIDs); route words (`campaign`,
/// `configuration`) do not, and provider messages use those words. No
/// `Debug`: it holds the secrets.
pub(crate) struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// The credentials of a request to `url` with `headers` and `token`.
    pub(crate) fn new<'h>(
        url: &Url,
        headers: impl IntoIterator<Item = &'h HeaderMap>,
        token: Option<&Secret>,
    ) -> Self {
        let mut secrets: Vec<String> = token.map(|t| t.expose().to_owned()).into_iter().collect();
        for (name, value) in headers.into_iter().flatten() {
            if PLAIN_HEADERS.contains(name) {
                continue;
            }
            let value = String::from_utf8_lossy(value.as_bytes());
            secrets.extend(
                value
                    .split_whitespace()
                    .filter(|word| word.chars().count() >= MIN_SECRET_CHARS)
                    .map(str::to_owned),
            );
            // A short value masked wherever it occurs would garble unrelated
            // words and numbers; credentials are longer.
            let whole = value.trim();
            if whole.chars().count() >= MIN_SECRET_CHARS {
                secrets.push(whole.to_owned());
            }
        }
        let segments = url
            .path_segments()
            .into_iter()
            .flatten()
            // `%20` is not a digit of the segment: test the decoded form.
            .filter(|segment| percent_decode(segment).bytes().any(|b| b.is_ascii_digit()));
        let query_values = url
            .query()
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|pair| pair.split_once('=').map(|(_, v)| v));
        for raw in segments.chain(query_values) {
            for form in [raw.to_owned(), percent_decode(raw)] {
                if form.chars().count() >= MIN_SECRET_CHARS {
                    secrets.push(form);
                }
            }
        }
        // Query values may also be sent form-encoded (`+` for a space).
        secrets.extend(
            url.query_pairs()
                .map(|(_, v)| v.into_owned())
                .filter(|v| v.chars().count() >= MIN_SECRET_CHARS),
        );
        secrets.retain(|s| !s.is_empty());
        secrets.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` safe to quote: every credential masked, then control characters
    /// replaced and cut to a short length like [`snippet`](crate::snippet).
    /// Masking comes first so a cut cannot leave half a secret behind.
    pub(crate) fn quote(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        clean(&text)
    }
}

/// Percent-decodes a path segment or query value (`+` stays a `+`), with
/// `url`'s own decoder: `form_urlencoded` decodes `%XX` in a pair's value,
/// once `+` and the pair separators are escaped so it leaves them alone.
fn percent_decode(raw: &str) -> String {
    let escaped = format!("x={}", raw.replace('+', "%2B").replace('&', "%26"));
    url::form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, AUTHORIZATION};

    use super::*;

    fn redactor() -> Redactor {
        let url = Url::parse(
            "https://h.example/api/v1/st-1234%20abcd/campaigns?accountId=acc%2B12345678&limit=50",
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("iid", HeaderValue::from_static("cs-5"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let auth = HeaderMap::from_iter([(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer jwt.header.sig"),
        )]);
        Redactor::new(
            &url,
            [&headers, &auth],
            Some(&Secret::new("jwt.header.sig")),
        )
    }

    #[test]
    fn masks_headers_token_and_long_url_parts_in_every_form() {
        let r = redactor();
        let quoted = r.quote(
            "auth=Bearer jwt.header.sig tok=jwt.header.sig iid=cs-5 \
             path=/api/v1/st-1234%20abcd/campaigns decoded=st-1234 abcd \
             q=acc%2B12345678 acc+12345678 limit=50 type=application/json",
        );
        assert_eq!(
            quoted,
            "auth=*** tok=*** iid=cs-5 path=/api/v1/***/campaigns decoded=*** \
             q=*** *** limit=50 type=application/json"
        );
    }

    /// Route words stay readable: provider messages use them.
    #[test]
    fn route_words_of_the_path_are_not_masked() {
        let quoted = redactor().quote("no campaigns for this configuration");
        assert_eq!(quoted, "no campaigns for this configuration");
    }

    #[test]
    fn masks_before_cutting_and_strips_control_characters() {
        let r = redactor();
        let text = format!("{}jwt.header.sig\nfake line", "x".repeat(110));
        let quoted = r.quote(&text);
        assert!(!quoted.contains("jwt."), "{quoted}");
        assert!(!quoted.contains('\n'), "{quoted}");
        assert!(quoted.starts_with(&format!("{}*** fake", "x".repeat(110))));
    }

    #[test]
    fn percent_decoding_keeps_plus_and_separators() {
        assert_eq!(percent_decode("a%2Fb+c&d=e%20f"), "a/b+c&d=e f");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
