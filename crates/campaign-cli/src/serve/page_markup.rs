//! The web page's HTML (maud escapes every value it writes): the layout,
//! the filters form, the campaigns table, the notices, the sources and a
//! campaign's detail. The data comes from [`super::page`].

use campaign_core::{Campaign, Channel, DialingMode, Sort, SortField, Status};
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

use crate::output::CSV_HEADER;

use super::error::ApiError;
use super::page::{campaign_href, pretty_json, sort_link, PageQuery, CSS};
use super::params::DEFAULT_LIMIT;
use super::routes::{Listing, SourceEntry, SourceList};

/// What `GET /` shows.
#[derive(Debug)]
pub(crate) struct CampaignsView<'a> {
    /// Where the answers come from (`live from 3 sources`).
    pub(crate) mode: String,
    pub(crate) query: &'a PageQuery,
    /// The page's order; `None` when unsorted.
    pub(crate) sort: Option<Sort>,
    /// The page, unless the request failed.
    pub(crate) listing: Option<&'a Listing>,
    /// Why there is no page.
    pub(crate) error: Option<&'a ApiError>,
    pub(crate) sources: &'a SourceList,
    /// Whether this is a later page (it came with a cursor).
    pub(crate) paged: bool,
}

/// What `GET /campaigns/{id}` shows.
#[derive(Debug)]
pub(crate) struct DetailView<'a> {
    pub(crate) mode: String,
    /// The id asked for.
    pub(crate) id: &'a str,
    pub(crate) found: Result<&'a Campaign, &'a ApiError>,
}

/// The sort options of the form, as the API spells them.
const SORTS: &[(&str, &str)] = &[
    ("created_at:desc", "Created, newest first"),
    ("created_at:asc", "Created, oldest first"),
    ("updated_at:desc", "Updated, newest first"),
    ("updated_at:asc", "Updated, oldest first"),
    ("name:asc", "Name, A to Z"),
    ("name:desc", "Name, Z to A"),
];

/// The instant ranges of the form: parameter and label.
const RANGES: &[(&str, &str)] = &[
    ("created_from", "Created from"),
    ("created_to", "Created before"),
    ("updated_from", "Updated from"),
    ("updated_to", "Updated before"),
];

/// Every page: the head (the inline stylesheet), the top bar, `body` and
/// a footer linking the same data as JSON (`json`).
fn layout(title: &str, mode: &str, json: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · campaigns" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header.top {
                    a.brand href="/" { "Campaigns" }
                    span.mode { (mode) }
                }
                main { (body) }
                footer {
                    "The same as JSON: "
                    a href=(json) { "this page" } " · "
                    a href="/v1/sources" { "sources" } " · "
                    a href="/openapi.json" { "the API's OpenAPI document" }
                }
            }
        }
    }
}

/// `GET /`.
pub(crate) fn campaigns(view: &CampaignsView<'_>) -> Markup {
    let json = view.query.href("/v1/campaigns", &[], &[]);
    let body = html! {
        (filters(view))
        @if let Some(error) = view.error {
            (failure(error))
        }
        @if let Some(listing) = view.listing {
            (notices(listing))
            (table(view, listing))
            (pager(view, listing))
        }
        (sources(view.sources))
    };
    layout("Campaigns", &view.mode, &json, body)
}

/// The filters: one field per API parameter, sent back with GET.
fn filters(view: &CampaignsView<'_>) -> Markup {
    let query = view.query;
    let sort = view.sort.map(|s| s.to_string());
    let limit = query
        .text("limit")
        .map_or_else(|| DEFAULT_LIMIT.to_string(), str::to_owned);
    html! {
        form.filters #filters method="get" action="/" {
            (choices("Channel", "channel", Channel::KNOWN.iter().map(Channel::as_str), query))
            (choices("Status", "status", Status::KNOWN.iter().map(Status::as_str), query))
            (choices(
                "Dialing mode",
                "dialing_mode",
                DialingMode::KNOWN.iter().map(DialingMode::as_str),
                query,
            ))
            div.fields {
                label {
                    span { "Name contains" }
                    input type="search" name="name" value=[query.text("name")];
                }
                label {
                    span { "Priority (0-255, comma-separated)" }
                    input type="text" name="priority" inputmode="numeric" placeholder="e.g. 1,2"
                        value=[query.joined("priority")];
                }
                @for (name, label) in RANGES {
                    label {
                        span { (label) }
                        input type="text" name=(name) placeholder="2025-12-01T00:00:00Z"
                            value=[query.text(name)];
                    }
                }
                label {
                    span { "Sort" }
                    select name="sort" {
                        @for (value, label) in SORTS {
                            option value=(value) selected[sort.as_deref() == Some(*value)] {
                                (label)
                            }
                        }
                    }
                }
                label {
                    span { "Per page (1-1000)" }
                    input type="number" name="limit" min="1" max="1000" value=(limit);
                }
                @if view.sources.store {
                    label.check {
                        input type="checkbox" name="include_deleted" value="true"
                            checked[query.lists("include_deleted", "true")];
                        " Include deleted"
                    }
                }
            }
            div.actions {
                button #apply type="submit" { "Apply filters" }
                a href="/" { "Reset" }
            }
        }
    }
}

/// A fieldset of checkboxes, one per known value of the list parameter `name`.
fn choices<'a>(
    legend: &str,
    name: &str,
    values: impl Iterator<Item = &'a str>,
    query: &PageQuery,
) -> Markup {
    html! {
        fieldset.choices {
            legend { (legend) }
            @for value in values {
                label.check {
                    input type="checkbox" name=(name) value=(value) checked[query.lists(name, value)];
                    " " (value.replace('_', " "))
                }
            }
        }
    }
}

/// Why the request has no answer: the API's error, on the page.
fn failure(error: &ApiError) -> Markup {
    html! {
        div.notice.error #failure role="alert" {
            strong { (error.status().as_u16()) " " (error.kind()) }
            @if let Some(param) = error.param() {
                " (parameter " code { (param) } ")"
            }
            ": " (error.message())
        }
    }
}

/// The page's partial failures and warnings.
fn notices(listing: &Listing) -> Markup {
    html! {
        @if !listing.errors.is_empty() {
            div.notice.error #errors role="alert" {
                strong { "Some sources failed: the others' campaigns are listed." }
                ul {
                    @for error in &listing.errors {
                        li {
                            strong { (error.source) }
                            @if let Some(partition) = &error.partition { " (" (partition) ")" }
                            ": " (error.kind)
                            @if let Some(status) = error.status { " " (status) }
                            @if let Some(code) = &error.code { " " code { (code) } }
                            ": " (error.message)
                        }
                    }
                }
            }
        }
        @if !listing.warnings.is_empty() {
            div.notice.warning #warnings {
                strong { "Warnings" }
                ul {
                    @for warning in &listing.warnings {
                        li {
                            strong { (warning.source) }
                            @if let Some(partition) = &warning.partition { " (" (partition) ")" }
                            ": " (warning.message)
                        }
                    }
                }
            }
        }
    }
}

/// A sortable column's header: a link that sorts by it, or reverses.
fn sortable(view: &CampaignsView<'_>, label: &str, field: SortField) -> Markup {
    let (href, arrow) = sort_link(view.query, view.sort, field);
    html! {
        th.sorted[arrow.is_some()] {
            a.sort href=(href) data-field=(field.as_str()) { (label) @if let Some(a) = arrow { " " (a) } }
        }
    }
}

/// The campaigns table.
fn table(view: &CampaignsView<'_>, listing: &Listing) -> Markup {
    html! {
        table #campaigns {
            thead {
                tr {
                    (sortable(view, "Name", SortField::Name))
                    th { "Channel" }
                    th { "Status" }
                    th.num { "Priority" }
                    th { "Dialing mode" }
                    (sortable(view, "Created", SortField::CreatedAt))
                    (sortable(view, "Updated", SortField::UpdatedAt))
                    th { "Source" }
                }
            }
            tbody {
                @for campaign in &listing.campaigns {
                    @let id = campaign.id.to_string();
                    tr data-id=(id) {
                        td.name { a href=(campaign_href(&id)) { (campaign.name) } }
                        td.channel { (campaign.channel.as_str()) }
                        td.status {
                            @if let Some(status) = &campaign.status {
                                @let known = !matches!(status, Status::Other(_));
                                span.badge.(if known { status.as_str() } else { "other" }) {
                                    (status.as_str())
                                }
                            } @else { (none()) }
                        }
                        td.num.priority {
                            @match campaign.priority { Some(p) => (p), None => (none()) }
                        }
                        td.dialing_mode {
                            @match &campaign.dialing_mode {
                                Some(mode) => (mode.as_str()),
                                None => (none()),
                            }
                        }
                        td.created { (instant(campaign.created_at)) }
                        td.updated { (instant(campaign.updated_at)) }
                        td.source { (campaign.id.source) }
                    }
                }
                @if listing.campaigns.is_empty() {
                    tr.empty { td colspan="8" { "No campaign matches these filters." } }
                }
            }
        }
    }
}

/// The page's count and its links to the first and the next page.
fn pager(view: &CampaignsView<'_>, listing: &Listing) -> Markup {
    let query = view.query;
    html! {
        nav.pager {
            span.count { (listing.campaigns.len()) " campaigns on this page" }
            @if view.paged {
                a #first href=(query.href("/", &["cursor"], &[])) { "First page" }
            }
            @if let Some(next) = &listing.next_cursor {
                a #next rel="next" href=(query.href("/", &["cursor"], &[("cursor", next)])) {
                    "Next page →"
                }
            } @else {
                span.last { "Last page" }
            }
        }
    }
}

/// The sources: health, last check, last sync (with a store).
fn sources(list: &SourceList) -> Markup {
    html! {
        section.sources {
            h2 { "Sources" }
            table #sources {
                thead {
                    tr {
                        th { "Source" } th { "Provider" } th { "Health" } th { "Checked" }
                        th { "Last sync" } th { "Last error" }
                    }
                }
                tbody {
                    @for source in &list.sources {
                        tr data-source=(source.name) {
                            td { (source.name) }
                            td { (source.provider) }
                            td { span.health.(source.health.status) { (source.health.status) } }
                            td { (stamp(source.health.checked_at.as_deref())) }
                            td { (last_sync(list.store, source)) }
                            td.error {
                                @let error = source.health.error.as_deref()
                                    .or(source.last_sync.as_ref().and_then(|s| s.error.as_deref()))
                                    .or(source.last_sync.as_ref().and_then(|s| s.busy.as_deref()));
                                @match error { Some(error) => (error), None => (none()) }
                            }
                        }
                    }
                }
            }
            @if !list.store {
                p.hint { "Live: a source's health is that of its last read by this server." }
            }
        }
    }
}

fn last_sync(store: bool, source: &SourceEntry) -> Markup {
    match &source.last_sync {
        Some(sync) => html! {
            (stamp(Some(&sync.at)))
            " (run " (sync.run) @if sync.full { ", full" } "): "
            (sync.added) " added, " (sync.updated) " updated, " (sync.deleted) " deleted, "
            (sync.unchanged) " unchanged"
        },
        None if store => html! { "not yet" },
        None => html! { span.none { "no store" } },
    }
}

/// `GET /campaigns/{id}`.
pub(crate) fn detail(view: &DetailView<'_>) -> Markup {
    let back = html! { p.back { a href="/" { "← All campaigns" } } };
    match view.found {
        Ok(campaign) => {
            let id = campaign.id.to_string();
            let json = format!("/v1{}?raw=true", campaign_href(&id));
            let body = html! {
                (back)
                h1 #name { (campaign.name) }
                p.id { code { (id) } }
                dl.fields #fields {
                    @for (key, value) in fields(campaign) {
                        dt { (key.replace('_', " ")) }
                        dd data-field=(key) { (field(&value)) }
                    }
                }
                h2 { "Raw record" }
                @match &campaign.raw {
                    Some(raw) => pre #raw { code { (pretty_json(raw.get())) } },
                    None => p.none { "The source keeps no raw record of this campaign." },
                }
            };
            layout(&campaign.name, &view.mode, &json, body)
        }
        Err(error) => {
            let body = html! {
                (back)
                h1 { "Campaign " code { (view.id) } }
                (failure(error))
            };
            layout("No campaign", &view.mode, "/v1/campaigns", body)
        }
    }
}

/// Every field of `campaign` but `raw`, as the API serializes it.
fn fields(campaign: &Campaign) -> Vec<(String, Value)> {
    let Ok(Value::Object(mut map)) = serde_json::to_value(campaign) else {
        return Vec::new();
    };
    map.remove("raw");
    // The columns of `--format csv` first, in their order; the rest after.
    let mut fields: Vec<(String, Value)> = CSV_HEADER
        .iter()
        .filter_map(|key| map.remove(*key).map(|v| ((*key).to_owned(), v)))
        .collect();
    fields.extend(map);
    fields
}

fn field(value: &Value) -> Markup {
    match value {
        Value::Null => none(),
        Value::Array(items) if items.is_empty() => none(),
        Value::String(text) => html! { (text) },
        Value::Number(n) => html! { (n) },
        other => html! { code { (other.to_string()) } },
    }
}

/// An empty cell.
fn none() -> Markup {
    html! { span.none { "—" } }
}

/// A campaign's time, to the minute (the exact instant in `datetime`).
fn instant(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339_opts(SecondsFormat::Secs, true)) {
                (at.format("%Y-%m-%d %H:%M"))
            }
        },
        None => none(),
    }
}

/// An RFC 3339 stamp of the server's, to the second.
fn stamp(at: Option<&str>) -> Markup {
    match at.map(|t| (t, DateTime::parse_from_rfc3339(t))) {
        Some((text, Ok(at))) => html! {
            time datetime=(text) { (at.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S UTC")) }
        },
        Some((text, Err(_))) => html! { (text) },
        None => none(),
    }
}
