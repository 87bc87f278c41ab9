//! Turning the pushed-down part of a query into the documented request body.
//!
//! Sent to the server: `type`, `skip`/`limit`/`page`, `startDate`/`endDate`
//! (the created range, start rounded down and end rounded up to the
//! millisecond so nothing in range is lost), `sortBy` with one field, and
//! `filters.status` / `filters.priority` / `filters.dialingMode` (voice
//! only). A filter holding a value outside the documented allowed values
//! (an unknown status, a priority outside 1..=5, a dialing mode other than
//! Progressive or Preview) is not sent at all, since sending only part of it
//! would drop campaigns; the source then applies it to each page itself.

use campaign_core::{Channel, DialingMode, QueryPlan, SortDirection, SortField, Status};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::wire::{Filters, RequestBody};

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

fn iso_millis(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `at` rounded up to the next whole millisecond.
fn ceil_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = at.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(at);
    if floor == at {
        at
    } else {
        floor + TimeDelta::milliseconds(1)
    }
}

/// The body for one page of `channel` under `plan`.
pub(crate) fn body<'a>(
    plan: &QueryPlan,
    channel: &'a Channel,
    skip: u64,
    limit: u32,
) -> RequestBody<'a> {
    let pushed = &plan.pushdown;
    let created = pushed.created();
    let filters = Filters {
        status: all_or_none(pushed.statuses(), status_name),
        priority: all_or_none(pushed.priorities(), |&p| (1..=5).contains(&p).then_some(p)),
        dialing_mode: if *channel == Channel::Voice {
            all_or_none(pushed.dialing_modes(), dialing_mode_name)
        } else {
            Vec::new()
        },
    };
    let sort_by = pushed.sort().filter(|_| plan.sort_pushed).map(|sort| {
        let field = match sort.field {
            SortField::Name => "name",
            SortField::CreatedAt => "createdAt",
            SortField::UpdatedAt => "updatedAt",
        };
        let direction = match sort.direction {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        };
        serde_json::Map::from_iter([(field.to_owned(), direction.into())])
    });
    RequestBody {
        limit,
        skip,
        page: (skip / u64::from(limit.max(1))).saturating_add(1),
        start_date: created
            .start
            .map(|t| iso_millis(t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t))),
        end_date: created.end.map(|t| iso_millis(ceil_millis(t))),
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
        let json = serde_json::to_value(body(&plan(&query), &Channel::Voice, 0, 10)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"limit": 10, "skip": 0, "page": 1, "type": "voice", "sortBy": {"name": "asc"}})
        );
    }

    #[test]
    fn dates_round_outwards_to_milliseconds() {
        let start: DateTime<Utc> = "2025-12-01T00:00:00.0005Z".parse().unwrap();
        let end: DateTime<Utc> = "2025-12-04T00:00:00.0005Z".parse().unwrap();
        let query = CampaignQuery::builder()
            .created_from(start)
            .created_to(end)
            .build()
            .unwrap();
        let b = body(&plan(&query), &Channel::Sms, 100, 50);
        assert_eq!(b.start_date.as_deref(), Some("2025-12-01T00:00:00.000Z"));
        assert_eq!(b.end_date.as_deref(), Some("2025-12-04T00:00:00.001Z"));
        assert_eq!(b.page, 3);
    }
}
