//! The queries the suite runs, and how it names them in messages.

use campaign_core::{
    CampaignQuery, CampaignQueryBuilder, Channel, DialingMode, Filter, Sort, SortField, Status,
    TimeRange,
};

use crate::fixture::{
    fixture_created_range, fixture_other_channel, fixture_other_status, fixture_updated_range,
};

/// A short, stable description of `query` for failure messages.
pub(crate) fn describe(query: &CampaignQuery) -> String {
    fn list<T: std::fmt::Display>(values: &[T]) -> String {
        let parts: Vec<String> = values.iter().map(ToString::to_string).collect();
        format!("[{}]", parts.join(", "))
    }
    fn range(r: TimeRange) -> String {
        let show = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or_else(|| "..".to_owned(), |t| t.to_rfc3339())
        };
        format!("[{}, {})", show(r.start), show(r.end))
    }
    let mut parts = Vec::new();
    if !query.channels().is_empty() {
        parts.push(format!("channels={}", list(query.channels())));
    }
    if !query.statuses().is_empty() {
        parts.push(format!("statuses={}", list(query.statuses())));
    }
    if !query.priorities().is_empty() {
        parts.push(format!("priorities={}", list(query.priorities())));
    }
    if !query.dialing_modes().is_empty() {
        parts.push(format!("dialing_modes={}", list(query.dialing_modes())));
    }
    if !query.created().is_unbounded() {
        parts.push(format!("created={}", range(query.created())));
    }
    if !query.updated().is_unbounded() {
        parts.push(format!("updated={}", range(query.updated())));
    }
    if let Some(text) = query.name_contains() {
        parts.push(format!("name_contains={text:?}"));
    }
    if let Some(sort) = query.sort() {
        parts.push(format!("sort={sort}"));
    }
    if let Some(size) = query.page_size() {
        parts.push(format!("page_size={size}"));
    }
    if parts.is_empty() {
        "all".to_owned()
    } else {
        parts.join(" ")
    }
}

/// The query with only `filter` kept from `query` (what one pushed-down
/// filter alone must satisfy).
pub(crate) fn only(filter: Filter, query: &CampaignQuery) -> CampaignQuery {
    let caps = campaign_core::Capabilities {
        filters: [filter].into(),
        ..Default::default()
    };
    caps.split(query).pushdown
}

fn build(builder: CampaignQueryBuilder) -> CampaignQuery {
    // The suite's own queries are valid by construction; an invalid one would
    // only widen to "all", never panic.
    builder.build().unwrap_or_default()
}

/// Every filter kind alone, combinations, range bounds, unicode and
/// unknown values, then every sort.
pub(crate) fn semantic_queries(page_size: Option<u32>) -> Vec<CampaignQuery> {
    let q = CampaignQuery::builder;
    let created = fixture_created_range();
    let updated = fixture_updated_range();
    let mut builders: Vec<CampaignQueryBuilder> = Vec::new();
    for channel in Channel::KNOWN
        .iter()
        .cloned()
        .chain([fixture_other_channel()])
    {
        builders.push(q().channel(channel));
    }
    builders.push(q().channels([Channel::Voice, Channel::Sms]));
    for status in Status::KNOWN
        .iter()
        .cloned()
        .chain([fixture_other_status()])
    {
        builders.push(q().status(status));
    }
    builders.push(q().status(Status::Other("no-such-status".into())));
    builders.push(q().statuses([Status::Active, Status::Paused]));
    for priority in [1, 3, 5] {
        builders.push(q().priority(priority));
    }
    builders.push(q().priorities([2, 4]));
    for mode in DialingMode::KNOWN {
        builders.push(q().dialing_mode(mode.clone()));
    }
    builders.push(q().dialing_modes([DialingMode::Preview, DialingMode::Predictive]));
    let (cs, ce) = (
        created.start.unwrap_or_default(),
        created.end.unwrap_or_default(),
    );
    let (us, ue) = (
        updated.start.unwrap_or_default(),
        updated.end.unwrap_or_default(),
    );
    builders.extend([
        q().created_from(cs).created_to(ce),
        q().created_from(cs),
        q().created_to(ce),
        q().updated_from(us).updated_to(ue),
        q().updated_from(us),
        q().updated_to(ue),
    ]);
    for text in ["renew", "COLLECT", "üNÏ", "日本", "📞", "crème"] {
        builders.push(q().name_contains(text));
    }
    builders.extend([
        q().status(Status::Active).channel(Channel::Voice),
        q().channel(Channel::Sms)
            .created_from(cs)
            .created_to(ce)
            .sort(Sort::desc(SortField::CreatedAt)),
        q().priorities([1, 2])
            .name_contains("e")
            .sort(Sort::desc(SortField::Name)),
        q().statuses([Status::Ready, Status::Scheduled, Status::Completed])
            .dialing_modes([DialingMode::Progressive, DialingMode::Preview])
            .updated_from(us)
            .sort(Sort::asc(SortField::UpdatedAt)),
    ]);
    for field in SortField::ALL {
        builders.push(q().sort(Sort::asc(field)));
        builders.push(q().sort(Sort::desc(field)));
    }
    builders
        .into_iter()
        .map(|b| match page_size {
            Some(size) => build(b.page_size(size)),
            None => build(b),
        })
        .collect()
}

/// Queries the paging check walks: everything unsorted, and a filtered,
/// sorted query so residual filters and sort ties cross page boundaries.
pub(crate) fn paging_queries(page_size: u32) -> Vec<CampaignQuery> {
    vec![
        build(CampaignQuery::builder().page_size(page_size)),
        build(
            CampaignQuery::builder()
                .statuses([Status::Active, Status::Ready, Status::Completed])
                .sort(Sort::asc(SortField::Name))
                .page_size(page_size),
        ),
    ]
}
