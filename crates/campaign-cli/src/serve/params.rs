//! The query parameters of `GET /v1/campaigns` (and the other routes),
//! named like `list`'s flags and turned into the same [`CampaignQuery`] by
//! the same functions: [`QueryArgs::query_keeping_raw`] and the flags' value parsers.

use std::borrow::Cow;

use campaign_core::CampaignQuery;
use percent_encoding::percent_decode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::args::{
    parse_channel, parse_dialing_mode, parse_instant, parse_sort, parse_status, QueryArgs,
};

use super::error::ApiError;

/// The page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 1000;
/// The most `name=value` pairs a query string may have.
const MAX_PAIRS: usize = 100;

/// The query parameters of `GET /v1/campaigns`, as received. List values
/// may be repeated (`status=active&status=paused`) or comma-separated
/// (`status=active,paused`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignsParams {
    /// Channels to keep: voice, sms, chat, interaction.
    #[param(style = Form, explode)]
    pub channel: Vec<String>,
    /// Statuses to keep: active, completed, ready, paused, preparing, stopped, scheduled, rescheduled.
    #[param(style = Form, explode)]
    pub status: Vec<String>,
    /// Priorities to keep (0-255).
    #[param(style = Form, explode)]
    pub priority: Vec<String>,
    /// Dialing modes to keep: progressive, preview, agentless, predictive.
    #[param(style = Form, explode)]
    pub dialing_mode: Vec<String>,
    /// Created at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub created_from: Option<String>,
    /// Created before this instant (RFC 3339, exclusive).
    #[param(format = DateTime)]
    pub created_to: Option<String>,
    /// Updated at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub updated_from: Option<String>,
    /// Updated before this instant (RFC 3339, exclusive).
    #[param(format = DateTime)]
    pub updated_to: Option<String>,
    /// Keep names containing this text (case-insensitive).
    pub name: Option<String>,
    /// `FIELD:asc|desc` with FIELD one of name, created_at, updated_at (default created_at:desc).
    pub sort: Option<String>,
    /// Arrival order instead of a sort (`unsorted`, `unsorted=true`).
    pub unsorted: Option<bool>,
    /// Campaigns per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (same filters and sort).
    pub cursor: Option<String>,
    /// Include each provider's original record (`raw`).
    pub raw: Option<bool>,
    /// With a store: also list campaigns deleted at their provider.
    pub include_deleted: Option<bool>,
}

/// One page request, parsed and checked.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The filters and sort, as `list` holds them.
    pub filters: QueryArgs,
    /// Campaigns per page.
    pub limit: u32,
    /// The signed cursor, as received.
    pub cursor: Option<String>,
    /// Keep `raw`.
    pub raw: bool,
    /// Include deleted campaigns (store only).
    pub include_deleted: bool,
}

impl ListRequest {
    /// Parses a raw query string (without the `?`).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        Self::from_pairs(pairs(query)?)
    }

    /// Parses decoded `name=value` pairs (see [`ListRequest::parse`]).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut filters = QueryArgs::default();
        let mut request = ListRequest {
            filters: QueryArgs::default(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            raw: false,
            include_deleted: false,
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in pairs {
            let name = known(&name, LIST_PARAMS)?;
            // A filter list may repeat; a single value may not (which one would win?).
            if !matches!(name, "channel" | "status" | "priority" | "dialing_mode") {
                if seen.contains(&name) {
                    return Err(ApiError::bad_parameter(
                        name,
                        format!("`{name}` is given twice"),
                    ));
                }
                seen.push(name);
            }
            let bad = |message: String| ApiError::bad_parameter(name, message);
            let items = || value.split(',').filter(|v| !v.trim().is_empty());
            match name {
                "channel" => {
                    for v in items() {
                        filters.channel.push(parse_channel(v).map_err(bad)?);
                    }
                }
                "status" => {
                    for v in items() {
                        filters.status.push(parse_status(v).map_err(bad)?);
                    }
                }
                "priority" => {
                    for v in items() {
                        let p = v
                            .trim()
                            .parse::<u8>()
                            .map_err(|_| bad(format!("not a priority (0-255): {:?}", clip(v))))?;
                        filters.priority.push(p);
                    }
                }
                "dialing_mode" => {
                    for v in items() {
                        filters
                            .dialing_mode
                            .push(parse_dialing_mode(v).map_err(bad)?);
                    }
                }
                "created_from" => filters.created_from = Some(parse_instant(&value).map_err(bad)?),
                "created_to" => filters.created_to = Some(parse_instant(&value).map_err(bad)?),
                "updated_from" => filters.updated_from = Some(parse_instant(&value).map_err(bad)?),
                "updated_to" => filters.updated_to = Some(parse_instant(&value).map_err(bad)?),
                "name" => filters.name = Some(value),
                "sort" => filters.sort = parse_sort(&value).map_err(bad)?,
                "unsorted" => filters.unsorted = flag(name, &value)?,
                "limit" => request.limit = limit(&value)?,
                "cursor" => request.cursor = Some(value),
                "raw" => request.raw = flag(name, &value)?,
                "include_deleted" => request.include_deleted = flag(name, &value)?,
                _ => unreachable!("`known` returns only listed names"),
            }
        }
        if filters.unsorted && seen.contains(&"sort") {
            return Err(ApiError::bad_parameter(
                "unsorted",
                "`unsorted` and `sort` exclude each other",
            ));
        }
        request.filters = filters;
        // Every bad parameter is found here, inconsistent ranges included.
        request.query()?;
        Ok(request)
    }

    /// The query the filters describe, one page of `limit`.
    pub fn query(&self) -> Result<CampaignQuery, ApiError> {
        // The builder refuses only inconsistent ranges (from after to).
        // Sources keep each campaign's record only when it is answered.
        self.filters
            .query_keeping_raw(self.limit, self.raw)
            .map_err(|message| ApiError::bad_parameter(range_param(&message), message))
    }
}

/// The parameter a query builder error is about, as far as its text says.
fn range_param(message: &str) -> &'static str {
    if message.contains("updated") {
        "updated_from"
    } else {
        "created_from"
    }
}

const LIST_PARAMS: &[&str] = &[
    "channel",
    "status",
    "priority",
    "dialing_mode",
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "name",
    "sort",
    "unsorted",
    "limit",
    "cursor",
    "raw",
    "include_deleted",
];

/// `name` as one of `allowed`, or a 400 naming the parameter (clipped).
pub(crate) fn known(name: &str, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
    allowed.iter().copied().find(|a| *a == name).ok_or_else(|| {
        ApiError::bad_parameter(
            Cow::Owned(clip(name).into_owned()),
            format!(
                "unknown parameter (expected one of: {})",
                allowed.join(", ")
            ),
        )
    })
}

/// The `name=value` pairs of a query string, percent-decoded; a pair that
/// does not decode to UTF-8 is a 400, never replaced by `U+FFFD` in silence.
pub(crate) fn pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_PAIRS {
            return Err(ApiError::bad_parameter(
                "query",
                format!("more than {MAX_PAIRS} parameters"),
            ));
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            let text = text.replace('+', " ");
            percent_decode(text.as_bytes())
                .decode_utf8()
                .map(Cow::into_owned)
        };
        let name = decode(name)
            .map_err(|_| ApiError::bad_parameter("query", "a parameter name is not UTF-8"))?;
        let value = decode(value).map_err(|_| {
            ApiError::bad_parameter(
                Cow::Owned(clip(&name).into_owned()),
                "the value is not UTF-8 once percent-decoded",
            )
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// A boolean parameter: present without a value, `true`/`1` or `false`/`0`.
pub(crate) fn flag(name: &'static str, value: &str) -> Result<bool, ApiError> {
    match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_parameter(name, "expected true or false")),
    }
}

fn limit(value: &str) -> Result<u32, ApiError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => Ok(n as u32),
        _ => Err(ApiError::bad_parameter(
            "limit",
            format!("expected a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// A parameter's name or value, shortened for an error message.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 64;
    if text.len() <= MAX {
        return Cow::Borrowed(text);
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}...", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{Channel, Sort, SortField, Status};

    fn parse(query: &str) -> Result<ListRequest, ApiError> {
        ListRequest::parse(query)
    }

    fn param_of(query: &str) -> (String, String) {
        let error = parse(query).unwrap_err();
        (
            error.kind().to_owned(),
            error.param().unwrap_or("").to_owned(),
        )
    }

    #[test]
    fn lists_are_repeated_or_comma_separated_like_the_flags() {
        let request = parse(
            "channel=voice,sms&channel=chat&status=ACTIVE&priority=1%2C2&sort=name:asc&limit=7&raw",
        )
        .unwrap();
        assert_eq!(
            request.filters.channel,
            [Channel::Voice, Channel::Sms, Channel::Chat]
        );
        assert_eq!(request.filters.status, [Status::Active]);
        assert_eq!(request.filters.priority, [1, 2]);
        assert_eq!(request.filters.sort, Sort::asc(SortField::Name));
        assert_eq!(request.limit, 7);
        assert!(request.raw && !request.include_deleted);
        let query = request.query().unwrap();
        assert_eq!(query.page_size(), Some(7));
    }

    #[test]
    fn defaults_are_lists() {
        let request = parse("").unwrap();
        assert_eq!(request.limit, DEFAULT_LIMIT);
        assert_eq!(
            request.query().unwrap().sort(),
            Some(crate::args::default_sort())
        );
        assert_eq!(
            parse("unsorted=true").unwrap().query().unwrap().sort(),
            None
        );
        let named = parse("name=Billing+Reminder%20Voice").unwrap();
        assert_eq!(
            named.filters.name.as_deref(),
            Some("Billing Reminder Voice")
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, param) in [
            ("status=actve", "status"),
            ("channel=fax", "channel"),
            ("priority=300", "priority"),
            ("dialing_mode=manual", "dialing_mode"),
            ("created_from=yesterday", "created_from"),
            ("updated_to=2024-13-01T00:00:00Z", "updated_to"),
            ("sort=colour:asc", "sort"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=99999999999999999999999", "limit"),
            ("limit=ten", "limit"),
            ("raw=maybe", "raw"),
            ("colour=red", "colour"),
            ("limit=1&limit=2", "limit"),
            ("sort=name:asc&unsorted", "unsorted"),
            ("name=%FF%FE", "name"),
            (
                "created_from=2024-02-01T00:00:00Z&created_to=2024-01-01T00:00:00Z",
                "created_from",
            ),
        ] {
            assert_eq!(
                param_of(query),
                ("bad_parameter".into(), param.into()),
                "{query}"
            );
        }
        let (kind, _) = param_of("%FF=1");
        assert_eq!(kind, "bad_parameter");
        let long = format!("{}=1", "x".repeat(5000));
        let (_, param) = param_of(&long);
        assert!(param.len() < 80, "{param}");
    }
}
