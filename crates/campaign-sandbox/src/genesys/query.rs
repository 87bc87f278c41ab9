//! Parsing and validating the query of `GET /api/v2/outbound/campaigns`
//! (spec §2.1, §2.2), and the links that repeat it (§3).

use super::regex::Regex;
use super::wire::ErrorBody;

/// The documented page-size ceiling ("the max that will be returned is 100").
pub(crate) const MAX_PAGE_SIZE: i64 = 100;
/// `pageSize` when the request leaves it out.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 25;
/// The most `id` values one request may carry (`too.many.bulk.retrieves`).
pub(crate) const MAX_IDS: usize = 100;

/// A refused query: the 400 body to send (boxed, as it is large).
pub(crate) type Rejection = Box<ErrorBody>;

/// What the sandbox does with a `pageSize` outside 1..=100 or a
/// `pageNumber` below 1, which the spec leaves open (§2.3, §8.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutOfRangePaging {
    /// Clamp `pageSize` into 1..=100 and `pageNumber` up to 1, and report
    /// the clamped values in the envelope and its links (the default, as
    /// the spec's emulator checklist suggests).
    #[default]
    Clamp,
    /// Answer 400 `bad.request`.
    Reject,
}

/// `filterType`, how `name` is matched (§2.1, §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FilterType {
    Equals,
    RegEx,
    Contains,
    Prefix,
    LessThan,
    LessThanEqualTo,
    GreaterThan,
    GreaterThanEqualTo,
    BeginsWith,
    EndsWith,
}

/// The enum in the spec's order, with its wire spellings.
const FILTER_TYPES: [(&str, FilterType); 10] = [
    ("Equals", FilterType::Equals),
    ("RegEx", FilterType::RegEx),
    ("Contains", FilterType::Contains),
    ("Prefix", FilterType::Prefix),
    ("LessThan", FilterType::LessThan),
    ("LessThanEqualTo", FilterType::LessThanEqualTo),
    ("GreaterThan", FilterType::GreaterThan),
    ("GreaterThanEqualTo", FilterType::GreaterThanEqualTo),
    ("BeginsWith", FilterType::BeginsWith),
    ("EndsWith", FilterType::EndsWith),
];

/// A `sortBy` field the sandbox sorts on (§2.1: none documented; `name`
/// plus the checklist's "harmless extras").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SortKey {
    Name,
    DateCreated,
    DateModified,
    CampaignStatus,
}

const SORT_KEYS: [(&str, SortKey); 4] = [
    ("name", SortKey::Name),
    ("dateCreated", SortKey::DateCreated),
    ("dateModified", SortKey::DateModified),
    ("campaignStatus", SortKey::CampaignStatus),
];

/// The `name` filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NameFilter {
    pub(crate) filter_type: FilterType,
    pub(crate) value: String,
    pub(crate) case_sensitive: bool,
}

/// Filters and order of one listing, minus paging: the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Selection {
    pub(crate) name: Option<NameFilter>,
    /// Empty means no filter, here and below.
    pub(crate) ids: Vec<String>,
    pub(crate) contact_list_id: Option<String>,
    pub(crate) dnc_list_ids: Vec<String>,
    pub(crate) queue_id: Option<String>,
    pub(crate) edge_group_id: Option<String>,
    pub(crate) response_set_id: Option<String>,
    pub(crate) division_ids: Vec<String>,
    pub(crate) sort: SortKey,
    pub(crate) descending: bool,
    /// Ties go by id descending ([`Fault::TiesReversed`](crate::Fault::TiesReversed)).
    pub(crate) ties_descending: bool,
    /// Storage order ([`Fault::SortIgnored`](crate::Fault::SortIgnored)).
    pub(crate) storage_order: bool,
    /// Names compare case-folded (`alpha` before `Beta`), not byte by byte.
    pub(crate) name_order_folded: bool,
}

/// One piece of the query the links repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinkPart {
    PageSize,
    PageNumber,
    /// A documented parameter, exactly as the client encoded it.
    Raw(String),
}

/// A validated listing request.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    pub(crate) page_size: u64,
    pub(crate) page_number: u64,
    pub(crate) selection: Selection,
    links: Vec<LinkPart>,
}

/// Listing settings from the builder: how queries are read, ordered and
/// answered.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueryOptions {
    pub(crate) paging: OutOfRangePaging,
    pub(crate) name_case_sensitive: bool,
    /// `sortBy=name` orders names case-insensitively (§8.5 leaves the
    /// collation open).
    pub(crate) name_order_folded: bool,
    /// Records are served without `division` (a field added later, §4).
    pub(crate) division_omitted: bool,
}

fn invalid_value(value: &str, kind: &str, allowed: &[&str]) -> Rejection {
    Box::new(ErrorBody::with_params(
        400,
        "invalid.value",
        "Value [{value}] is not valid for field type [{type}]. Allowable values are: {allowableValues}",
        &[
            ("value", value.to_owned()),
            ("type", kind.to_owned()),
            ("allowableValues", allowed.join(", ")),
        ],
    ))
}

fn bad_request(message: &str) -> Rejection {
    Box::new(ErrorBody::plain(400, "bad.request", message))
}

/// An `int32` query value; anything else is a malformed query.
fn int32(name: &str, value: &str) -> Result<i64, Rejection> {
    value.parse::<i32>().map(i64::from).map_err(|_| {
        Box::new(ErrorBody::with_params(
            400,
            "bad.request",
            "The value [{value}] of parameter [{parameter}] is not a valid 32-bit integer.",
            &[("value", value.to_owned()), ("parameter", name.to_owned())],
        ))
    })
}

fn bounded(
    name: &str,
    value: i64,
    min: i64,
    max: i64,
    paging: OutOfRangePaging,
) -> Result<u64, Rejection> {
    if (min..=max).contains(&value) || paging == OutOfRangePaging::Clamp {
        // Both bounds are positive, so the clamped value fits.
        return Ok(value.clamp(min, max).unsigned_abs());
    }
    let range = if max == i64::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    };
    Err(Box::new(ErrorBody::with_params(
        400,
        "bad.request",
        "The value [{value}] of parameter [{parameter}] must be {range}.",
        &[
            ("value", value.to_string()),
            ("parameter", name.to_owned()),
            ("range", range),
        ],
    )))
}

/// Every value of a list parameter, repeated or comma-joined (§2.2).
fn push_list(list: &mut Vec<String>, value: &str) {
    list.extend(
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    );
}

impl ListQuery {
    /// Parses a raw query string. Unknown parameters are ignored (checklist
    /// §7.3), empty values count as absent, and a single-valued parameter
    /// given twice takes its first value.
    pub(crate) fn parse(raw: Option<&str>, options: QueryOptions) -> Result<Self, Rejection> {
        let mut page_size: Option<i64> = None;
        let mut page_number: Option<i64> = None;
        let mut filter_type: Option<FilterType> = None;
        let mut name: Option<String> = None;
        let mut sort: Option<Option<SortKey>> = None;
        let mut descending: Option<bool> = None;
        let mut singles: [Option<String>; 4] = Default::default();
        let (mut ids, mut dnc_list_ids, mut division_ids) = (Vec::new(), Vec::new(), Vec::new());
        let mut links = Vec::new();
        for pair in raw.unwrap_or_default().split('&') {
            let Some((key, value)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let mut echo = true;
            match key.as_ref() {
                "pageSize" => {
                    echo = false;
                    if page_size.is_none() {
                        page_size = Some(int32("pageSize", &value)?);
                        links.push(LinkPart::PageSize);
                    }
                }
                "pageNumber" => {
                    echo = false;
                    if page_number.is_none() {
                        page_number = Some(int32("pageNumber", &value)?);
                        links.push(LinkPart::PageNumber);
                    }
                }
                "filterType" if filter_type.is_none() => {
                    let found = FILTER_TYPES
                        .iter()
                        .find(|(text, _)| text.eq_ignore_ascii_case(&value));
                    let Some(&(_, kind)) = found else {
                        let allowed: Vec<&str> = FILTER_TYPES.iter().map(|(t, _)| *t).collect();
                        return Err(invalid_value(&value, "FilterType", &allowed));
                    };
                    filter_type = Some(kind);
                }
                "name" if name.is_none() => name = Some(value.into_owned()),
                "sortBy" if sort.is_none() => {
                    // No values are documented (§8.1): unknown ones are ignored.
                    sort = Some(
                        SORT_KEYS
                            .iter()
                            .find(|(text, _)| text.eq_ignore_ascii_case(&value))
                            .map(|&(_, key)| key),
                    );
                }
                "sortOrder" if descending.is_none() => {
                    // The spec's own default, `a`, is outside its enum (§2.1).
                    descending = Some(match value.to_ascii_lowercase().as_str() {
                        "ascending" | "a" => false,
                        "descending" => true,
                        _ => {
                            return Err(invalid_value(
                                &value,
                                "SortOrder",
                                &["ascending", "descending"],
                            ))
                        }
                    });
                }
                "id" => push_list(&mut ids, &value),
                "divisionId" => push_list(&mut division_ids, &value),
                // A single id per the spec; commas are accepted too (§8.5).
                "dncListIds" => push_list(&mut dnc_list_ids, &value),
                "contactListId" if singles[0].is_none() => singles[0] = Some(value.into_owned()),
                "distributionQueueId" if singles[1].is_none() => {
                    singles[1] = Some(value.into_owned());
                }
                "edgeGroupId" if singles[2].is_none() => singles[2] = Some(value.into_owned()),
                "callAnalysisResponseSetId" if singles[3].is_none() => {
                    singles[3] = Some(value.into_owned());
                }
                "filterType"
                | "name"
                | "sortBy"
                | "sortOrder"
                | "contactListId"
                | "distributionQueueId"
                | "edgeGroupId"
                | "callAnalysisResponseSetId" => {
                    echo = false;
                }
                // Unknown, including `allowEmptyResult` (a sibling endpoint's)
                // and the removed `dncListId` (§2.1, §2.4).
                _ => echo = false,
            }
            if echo {
                links.push(LinkPart::Raw(pair.to_owned()));
            }
        }
        if ids.len() > MAX_IDS {
            return Err(Box::new(ErrorBody::with_params(
                400,
                "too.many.bulk.retrieves",
                "Too many ids were requested: [{count}]. The maximum is [{max}].",
                &[
                    ("count", ids.len().to_string()),
                    ("max", MAX_IDS.to_string()),
                ],
            )));
        }
        let page_size = bounded(
            "pageSize",
            page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            1,
            MAX_PAGE_SIZE,
            options.paging,
        )?;
        let page_number = bounded(
            "pageNumber",
            page_number.unwrap_or(1),
            1,
            i64::MAX,
            options.paging,
        )?;
        let filter_type = filter_type.unwrap_or(FilterType::Prefix);
        if let (Some(pattern), FilterType::RegEx) = (&name, filter_type) {
            if let Err(error) = Regex::new(pattern, false) {
                return Err(bad_request(&format!(
                    "The name [{pattern}] is not a valid regular expression: {error}."
                )));
            }
        }
        if !links.contains(&LinkPart::PageSize) {
            links.insert(0, LinkPart::PageSize);
        }
        if !links.contains(&LinkPart::PageNumber) {
            let after = links
                .iter()
                .position(|p| *p == LinkPart::PageSize)
                .unwrap_or(0);
            links.insert(after + 1, LinkPart::PageNumber);
        }
        let [contact_list_id, queue_id, edge_group_id, response_set_id] = singles;
        Ok(Self {
            page_size,
            page_number,
            selection: Selection {
                name: name.map(|value| NameFilter {
                    filter_type,
                    value,
                    case_sensitive: options.name_case_sensitive,
                }),
                ids,
                contact_list_id,
                dnc_list_ids,
                queue_id,
                edge_group_id,
                response_set_id,
                division_ids,
                sort: sort.flatten().unwrap_or(SortKey::Name),
                descending: descending.unwrap_or(false),
                ties_descending: false,
                storage_order: false,
                name_order_folded: options.name_order_folded,
            },
            links,
        })
    }

    /// The relative link to `page` of this query (§3): the request's
    /// documented parameters in its order and encoding, with `pageSize` and
    /// `pageNumber` set (and added after any others' lead when missing).
    pub(crate) fn link(&self, page: u64) -> String {
        let parts: Vec<String> = self
            .links
            .iter()
            .map(|part| match part {
                LinkPart::PageSize => format!("pageSize={}", self.page_size),
                LinkPart::PageNumber => format!("pageNumber={page}"),
                LinkPart::Raw(pair) => pair.clone(),
            })
            .collect();
        format!("/api/v2/outbound/campaigns?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<ListQuery, Rejection> {
        ListQuery::parse(Some(raw), QueryOptions::default())
    }

    #[test]
    fn the_spec_sample_query_parses_and_links_back_to_itself() {
        let q = parse("pageSize=3&pageNumber=1&sortBy=name&sortOrder=ascending").unwrap();
        assert_eq!((q.page_size, q.page_number), (3, 1));
        assert_eq!(q.selection.sort, SortKey::Name);
        assert_eq!(
            q.link(2),
            "/api/v2/outbound/campaigns?pageSize=3&pageNumber=2&sortBy=name&sortOrder=ascending"
        );
    }

    #[test]
    fn defaults_lists_and_link_order() {
        let q = ListQuery::parse(None, QueryOptions::default()).unwrap();
        assert_eq!((q.page_size, q.page_number), (25, 1));
        assert_eq!(q.selection.name, None);
        assert!(!q.selection.descending);
        assert_eq!(
            q.link(1),
            "/api/v2/outbound/campaigns?pageSize=25&pageNumber=1"
        );
        let q = parse("sortBy=dateCreated&id=a,b&id=c&x=1&pageSize=500&divisionId=d1%2Cd2&dncListIds=n&allowEmptyResult=true&dncListId=old").unwrap();
        assert_eq!(q.selection.ids, ["a", "b", "c"]);
        assert_eq!(q.selection.division_ids, ["d1", "d2"]);
        assert_eq!(q.selection.dnc_list_ids, ["n"]);
        assert_eq!(q.page_size, 100);
        assert_eq!(
            q.link(3),
            "/api/v2/outbound/campaigns?sortBy=dateCreated&id=a,b&id=c&pageSize=100&pageNumber=3&divisionId=d1%2Cd2&dncListIds=n"
        );
        let q = parse("name=Ren&filterType=contains&sortOrder=A&sortBy=nonsense").unwrap();
        let name = q.selection.name.unwrap();
        assert_eq!(
            (name.filter_type, name.value.as_str()),
            (FilterType::Contains, "Ren")
        );
        assert_eq!(
            (q.selection.sort, q.selection.descending),
            (SortKey::Name, false)
        );
    }

    #[test]
    fn bad_values_get_the_documented_codes() {
        for (raw, code) in [
            ("filterType=Foo", "invalid.value"),
            ("sortOrder=asc", "invalid.value"),
            ("pageSize=abc", "bad.request"),
            ("pageNumber=1.5", "bad.request"),
            ("pageSize=99999999999", "bad.request"),
            ("filterType=RegEx&name=(", "bad.request"),
        ] {
            assert_eq!(parse(raw).unwrap_err().code, code, "{raw}");
        }
        let many: Vec<String> = (0..101).map(|i| format!("id=i{i}")).collect();
        let error = parse(&many.join("&")).unwrap_err();
        assert_eq!(
            (error.status, error.code.as_str()),
            (400, "too.many.bulk.retrieves")
        );
        assert!(parse(&many[..100].join("&")).is_ok());
        let error = parse("filterType=Foo").unwrap_err();
        assert_eq!(error.message_params["type"], "FilterType");
        assert!(error.message.contains("Equals, RegEx, Contains, Prefix"));
    }

    #[test]
    fn out_of_range_paging_clamps_or_rejects() {
        let clamp = parse("pageSize=0&pageNumber=-4").unwrap();
        assert_eq!((clamp.page_size, clamp.page_number), (1, 1));
        let reject = QueryOptions {
            paging: OutOfRangePaging::Reject,
            ..QueryOptions::default()
        };
        for raw in ["pageSize=0", "pageSize=101", "pageNumber=0"] {
            let error = ListQuery::parse(Some(raw), reject).unwrap_err();
            assert_eq!(error.code, "bad.request", "{raw}");
        }
        assert!(ListQuery::parse(Some("pageSize=100&pageNumber=9"), reject).is_ok());
    }
}
