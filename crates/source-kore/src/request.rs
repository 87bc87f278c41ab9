//! Turning the pushed-down part of a query into the documented request body.
//!
//! Sent to the server: `type`, `skip`/`limit`/`page` (`page` empty where
//! `skip` is not a multiple of `limit`), `sortBy` (the sorted
//! field, plus `name` for a server that insists on it), and `filters.status`
//! / `filters.priority` / `filters.dialingMode` (voice only). A filter
//! holding a value outside the documented allowed values (an unknown status,
//! a priority outside 1..=5, a dialing mode other than Progressive or
//! Preview) is not sent at all, since sending only part of it would drop
//! campaigns; the source then applies it to each page itself.
//!
//! `startDate`/`endDate` are never sent: the spec does not say what they
//! filter, and its own voice sample (a Dec 1-4 window answered with
//! campaigns created Dec 4-8) shows it is not the creation time.

use crate::wire::{Filters, RequestBody, SortBy};
use campaign_core::{Channel, DialingMode, QueryPlan, SortDirection, SortField, Status};

/// The documented spelling of a status, if it is an allowed value.
fn status_name(status: &Status) -> Option<&'static str> {
    Some(match status {
        Status::Active => "Active",
        Status::Completed => "Completed",
        Status::Ready => "Ready",
        Status::Paused => "Paused",
        Status::Preparing => "Preparing",
        Status::Stopped => "Stopped",
        Status::Scheduled => "Scheduled",
        Status::Rescheduled => "Rescheduled",
        _ => return None,
    })
}

fn dialing_mode_name(mode: &DialingMode) -> Option<&'static str> {
    match mode {
        DialingMode::Progressive => Some("Progressive"),
        DialingMode::Preview => Some("Preview"),
        _ => None,
    }
}

/// All values mapped, or nothing (the filter then stays local).
fn all_or_none<T, U>(values: &[T], map: impl Fn(&T) -> Option<U>) -> Vec<U> {
    values
        .iter()
        .map(map)
        .collect::<Option<Vec<U>>>()
        .unwrap_or_default()
}

/// The body for one page of `channel` under `plan`; `with_name` adds
/// `name` to `sortBy` after the sorted field.
pub(crate) fn body<'a>(
    plan: &QueryPlan,
    channel: &'a Channel,
    skip: u64,
    limit: u32,
    with_name: bool,
) -> RequestBody<'a> {
    let pushed = &plan.pushdown;
    let filters = Filters {
        status: all_or_none(pushed.statuses(), status_name),
        priority: all_or_none(pushed.priorities(), |&p| (1..=5).contains(&p).then_some(p)),
        dialing_mode: if *channel == Channel::Voice {
            all_or_none(pushed.dialing_modes(), dialing_mode_name)
        } else {
            Vec::new()
        },
    };
    let sort_by = pushed
        .sort()
        .filter(|_| plan.sort_pushed)
        .map(|sort| SortBy {
            field: match sort.field {
                SortField::Name => "name",
                SortField::CreatedAt => "createdAt",
                SortField::UpdatedAt => "updatedAt",
            },
            direction: match sort.direction {
                SortDirection::Asc => "asc",
                SortDirection::Desc => "desc",
            },
            with_name,
        });
    let limit_step = u64::from(limit.max(1));
    RequestBody {
        limit,
        skip,
        // Past records skipped or a page shorter than the limit, `skip` is
        // no page boundary: a page number would name other records, and a
        // server that reads it would answer them. The spec allows "".
        page: skip
            .is_multiple_of(limit_step)
            .then(|| (skip / limit_step).saturating_add(1)),
        kind: channel.as_str(),
        sort_by,
        filters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{CampaignQuery, Sort};

    fn plan(query: &CampaignQuery) -> QueryPlan {
        crate::source::capabilities().split(query)
    }

    #[test]
    fn unsendable_values_keep_the_whole_filter_local() {
        let query = CampaignQuery::builder()
            .statuses([Status::Ready, Status::Other("On Hold".into())])
            .priorities([5, 9])
            .dialing_modes([DialingMode::Preview, DialingMode::Agentless])
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let json =
            serde_json::to_value(body(&plan(&query), &Channel::Voice, 0, 10, false)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"limit": 10, "skip": 0, "page": 1, "type": "voice", "sortBy": {"name": "asc"}})
        );
    }

    #[test]
    fn dates_are_never_sent_and_name_follows_the_sorted_field() {
        let start: chrono::DateTime<chrono::Utc> = "2025-12-01T00:00:00Z".parse().unwrap();
        let query = CampaignQuery::builder()
            .created_from(start)
            .updated_from(start)
            .sort(Sort::desc(SortField::UpdatedAt))
            .build()
            .unwrap();
        let json =
            serde_json::to_string(&body(&plan(&query), &Channel::Sms, 100, 50, true)).unwrap();
        assert_eq!(
            json,
            r#"{"limit":50,"skip":100,"page":3,"type":"sms","sortBy":{"updatedAt":"desc","name":"asc"}}"#
        );
        let by_name = CampaignQuery::builder()
            .sort(Sort::desc(SortField::Name))
            .build()
            .unwrap();
        let json =
            serde_json::to_string(&body(&plan(&by_name), &Channel::Sms, 0, 50, true)).unwrap();
        assert!(json.ends_with(r#""sortBy":{"name":"desc"}}"#), "{json}");
    }

    #[test]
    fn page_is_empty_where_skip_is_no_page_boundary() {
        let query = CampaignQuery::all();
        let page = |skip, limit| {
            serde_json::to_value(body(&plan(&query), &Channel::Voice, skip, limit, false)).unwrap()
                ["page"]
                .clone()
        };
        assert_eq!(page(0, 50), serde_json::json!(1));
        assert_eq!(page(100, 50), serde_json::json!(3));
        assert_eq!(page(20, 50), serde_json::json!(""));
        assert_eq!(page(120, 50), serde_json::json!(""));
        assert_eq!(page(40, 20), serde_json::json!(3));
    }
}
