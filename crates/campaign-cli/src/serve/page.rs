//! The web page: `GET /` (the campaigns table, its filters, sorting and
//! paging, the sources' health) and `GET /campaigns/{id}` (one campaign and
//! its raw record). Server-rendered HTML, no script, the stylesheet inline:
//! the page loads nothing but itself, which its `Content-Security-Policy`
//! enforces.
//!
//! The page reads through the very functions that answer the JSON API
//! ([`list_page`], [`find_campaign`], [`source_list`]) with the request
//! parsed by the same [`ListRequest`], so it shows what `/v1/campaigns`
//! answers for the same query string: its form's fields are the API's
//! parameters, its links carry them (and the signed `cursor`).
//!
//! It is behind the same API-key guard as the API. A browser does not send
//! `Authorization: Bearer` on its own, so with keys configured the page is
//! for a proxy that adds the header; without keys the server listens on
//! loopback only (unless `--insecure-no-auth`).

use std::sync::{Arc, LazyLock};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use campaign_core::{Sort, SortDirection, SortField};
use maud::Markup;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::page_markup::{self, CampaignsView, DetailView};
use super::params::{pairs, ListRequest};
use super::routes::{find_campaign, list_page, source_list, AppState, Backend};

/// The stylesheet, inlined in every page.
pub(crate) const CSS: &str = include_str!("page.css");

/// Nothing from elsewhere, no script, only this stylesheet (by its hash),
/// forms posted back here only.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("a policy of ASCII text")
});

/// The characters escaped in a query value or a path segment: all but
/// letters, digits and `-._~:`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// The parameters that are flags: present without a value means true.
const FLAGS: &[&str] = &["unsorted", "raw", "include_deleted"];

/// The query string of a page, as `name=value` pairs. A form sends every
/// field, the empty ones too, so an empty value means "not given" (a flag's
/// aside); the rest is exactly what the API receives.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageQuery {
    pairs: Vec<(String, String)>,
}

impl PageQuery {
    fn of(all: Vec<(String, String)>) -> Self {
        let pairs = all
            .into_iter()
            .filter(|(name, value)| FLAGS.contains(&name.as_str()) || !value.trim().is_empty())
            .collect();
        Self { pairs }
    }

    /// The first value of `name`, as sent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, comma-separated (a list parameter's field).
    pub(crate) fn joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// Whether `name` lists `value` (repeated or comma-separated, any case).
    pub(crate) fn lists(&self, name: &str, value: &str) -> bool {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(value))
    }

    /// `path?query` with the pairs named in `drop` left out and `add` added.
    pub(crate) fn href(&self, path: &str, drop: &[&str], add: &[(&str, &str)]) -> String {
        let kept = self
            .pairs
            .iter()
            .filter(|(n, _)| !drop.contains(&n.as_str()))
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let query: Vec<String> = kept
            .chain(add.iter().copied())
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(n, COMPONENT),
                    utf8_percent_encode(v, COMPONENT)
                )
            })
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }
}

/// The link of a column header: sorted by `field`, the other way round when
/// the page already is (names A to Z first, times newest first), from the
/// first page; and the arrow showing the current order, if by `field`.
pub(crate) fn sort_link(
    query: &PageQuery,
    current: Option<Sort>,
    field: SortField,
) -> (String, Option<&'static str>) {
    let (direction, arrow) = match current {
        Some(sort) if sort.field == field => match sort.direction {
            SortDirection::Asc => (SortDirection::Desc, Some("▲")),
            SortDirection::Desc => (SortDirection::Asc, Some("▼")),
        },
        _ if field == SortField::Name => (SortDirection::Asc, None),
        _ => (SortDirection::Desc, None),
    };
    let sort = Sort { field, direction }.to_string();
    let href = query.href("/", &["sort", "unsorted", "cursor"], &[("sort", &sort)]);
    (href, arrow)
}

/// The detail page's address of the campaign `id`.
pub(crate) fn campaign_href(id: &str) -> String {
    format!("/campaigns/{}", utf8_percent_encode(id, COMPONENT))
}

/// An HTML answer with the page's headers.
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY.clone(),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The links carry cursors; a page is a moment's view.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Where the server reads from, in a few words.
fn mode(state: &AppState) -> String {
    match &state.backend {
        Backend::Live { aggregate, .. } => {
            format!("live from {} sources", aggregate.sources().len())
        }
        Backend::Store { .. } => "from the store".to_owned(),
    }
}

/// `GET /`: one page of campaigns, as `GET /v1/campaigns` with the same
/// query string answers it; a bad parameter is shown on the page (400).
pub(crate) async fn campaigns_page(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    let (query, answer) = match pairs(&raw) {
        Err(error) => (PageQuery::default(), Err(error)),
        Ok(all) => {
            let query = PageQuery::of(all);
            let answer = match ListRequest::from_pairs(query.pairs.clone()) {
                Ok(request) => list_page(&state, &request)
                    .await
                    .map(|listing| (request, listing)),
                Err(error) => Err(error),
            };
            (query, answer)
        }
    };
    // After the listing: a live page has just updated the sources' health.
    let sources = source_list(&state);
    let status = answer
        .as_ref()
        .err()
        .map_or(StatusCode::OK, ApiError::status);
    let (request, listing, error) = match &answer {
        Ok((request, listing)) => (Some(request), Some(listing.as_ref()), None),
        Err(error) => (None, None, Some(error)),
    };
    let sort = match request {
        Some(request) if request.filters.unsorted => None,
        Some(request) => Some(request.filters.sort),
        None => Some(crate::args::default_sort()),
    };
    let view = CampaignsView {
        mode: mode(&state),
        query: &query,
        sort,
        listing,
        error,
        sources: &sources,
        paged: request.is_some_and(|r| r.cursor.is_some()),
    };
    html(status, page_markup::campaigns(&view))
}

/// `GET /campaigns/{id}`: every field of one campaign and its raw record,
/// as `GET /v1/campaigns/{id}?raw=true` answers; 404 when unknown.
pub(crate) async fn campaign_page(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let found = match &id {
        Ok(Path(id)) => find_campaign(&state, id).await,
        Err(_) => Err(ApiError::bad_parameter("id", "the id is not UTF-8 text")),
    };
    let status = found
        .as_ref()
        .err()
        .map_or(StatusCode::OK, ApiError::status);
    let view = DetailView {
        mode: mode(&state),
        id: id.as_ref().map_or("", |Path(id)| id.as_str()),
        found: found.as_ref(),
    };
    html(status, page_markup::detail(&view))
}

/// `text` (one JSON value) indented by two spaces a level, its keys in the
/// provider's order (a parsed `serde_json::Value` would sort them), or
/// `text` as it is if it is not JSON.
pub(crate) fn pretty_json(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut from = serde_json::Deserializer::from_str(text);
    // Streams token by token from the text to the pretty printer, so
    // nothing is reordered.
    match serde_transcode::transcode(&mut from, &mut serde_json::Serializer::pretty(&mut out)) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_keeps_the_order_and_the_strings() {
        let text = r#" {"b": 1,"a":[ ],"c":{"d":"x:,{\"}","e":[1,{}]}} "#;
        let pretty = pretty_json(text);
        assert_eq!(
            pretty,
            "{\n  \"b\": 1,\n  \"a\": [],\n  \"c\": {\n    \"d\": \"x:,{\\\"}\",\n    \
             \"e\": [\n      1,\n      {}\n    ]\n  }\n}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(
            parsed,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert_eq!(pretty_json(&pretty), pretty);
    }

    #[test]
    fn empty_fields_are_not_given_and_links_keep_the_rest() {
        let all =
            pairs("status=active&status=Paused&name=&created_from=+&unsorted&cursor=c1").unwrap();
        let query = PageQuery::of(all);
        assert!(query.lists("status", "paused") && !query.lists("status", "ready"));
        assert_eq!(query.text("name"), None);
        assert_eq!(query.text("unsorted"), Some(""));
        assert_eq!(
            query.href("/", &["cursor"], &[("cursor", "a b/+=")]),
            "/?status=active&status=Paused&unsorted=&cursor=a%20b%2F%2B%3D"
        );
        let (href, arrow) = sort_link(&query, None, SortField::Name);
        assert_eq!(
            (href.as_str(), arrow),
            ("/?status=active&status=Paused&sort=name:asc", None)
        );
        let current = Some(Sort::desc(SortField::CreatedAt));
        let (href, arrow) = sort_link(&PageQuery::default(), current, SortField::CreatedAt);
        assert_eq!((href.as_str(), arrow), ("/?sort=created_at:asc", Some("▼")));
        assert_eq!(campaign_href("cms:7/8 x"), "/campaigns/cms:7%2F8%20x");
    }
}
