//! Which base URLs a source may talk to.

use std::net::IpAddr;

use campaign_core::SourceError;
use url::{Host, Url};

/// Parses and checks a provider base URL.
///
/// `https` is required; `http` is accepted only for loopback hosts
/// (`localhost`, 127.0.0.0/8, `::1`) unless `allow_insecure_http` is set.
/// URLs carrying user info, a query or a fragment are refused: credentials
/// in a URL end up in logs, and the providers build their own queries.
pub fn check_base_url(
    source_id: &str,
    raw: &str,
    allow_insecure_http: bool,
) -> Result<Url, SourceError> {
    let config_error = |why: String| SourceError::config(source_id, format!("base_url: {why}"));
    if raw.chars().any(char::is_control) {
        return Err(config_error("contains a control character".into()));
    }
    let url = Url::parse(raw.trim()).map_err(|e| config_error(format!("not a valid URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(
            "must not carry user info (credentials)".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config_error("must not carry a query or fragment".into()));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err(config_error(format!(
            "plain http is allowed only for loopback hosts (got host {}); use https or set allow_insecure_http",
            url.host_str().unwrap_or("?")
        ))),
        other => Err(config_error(format!("unsupported scheme {other:?} (use https)"))),
    }
}

/// Whether the URL's host is this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Appends path segments to a base URL, each percent-encoded as exactly one
/// segment (`/`, `?`, `#` and `%` included), so an id like `../x` cannot
/// change the path. `.` and `..` alone are refused as ids.
pub fn join_segments<'a>(
    source_id: &str,
    base: &Url,
    segments: impl IntoIterator<Item = &'a str>,
) -> Result<Url, SourceError> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| SourceError::config(source_id, "base_url cannot take a path"))?;
        path.pop_if_empty();
        for segment in segments {
            if segment == "." || segment == ".." || segment.is_empty() {
                return Err(SourceError::config(
                    source_id,
                    format!("path segment {segment:?} is not a valid id"),
                ));
            }
            path.push(segment);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(check_base_url("s", "https://cms.example.com:443", false).is_ok());
        assert!(check_base_url("s", "http://127.0.0.1:8080", false).is_ok());
        assert!(check_base_url("s", "http://localhost:1", false).is_ok());
        assert!(check_base_url("s", "http://[::1]:1", false).is_ok());
        let e = check_base_url("s", "http://cms.example.com", false).unwrap_err();
        assert_eq!(e.kind(), campaign_core::ErrorKind::Config);
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(check_base_url("s", "http://cms.example.com", true).is_ok());
        assert!(check_base_url("s", "ftp://x", true).is_err());
        assert!(check_base_url("s", "https://user:pw@x.com", false).is_err());
        assert!(check_base_url("s", "https://x.com/\r\nHost: y", false).is_err());
        assert!(check_base_url("s", "not a url", false).is_err());
    }

    #[test]
    fn segments_are_encoded_as_one_segment_each() {
        let base = Url::parse("https://h.example/campaign/api/").unwrap();
        let url = join_segments("s", &base, ["v2", "../x", "a/b?c#d"]).unwrap();
        assert_eq!(url.path(), "/campaign/api/v2/..%2Fx/a%2Fb%3Fc%23d");
        assert!(join_segments("s", &base, [".."]).is_err());
        assert!(join_segments("s", &base, [""]).is_err());
    }
}
