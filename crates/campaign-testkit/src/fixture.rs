//! The fixed, varied set of campaigns every backend loads for the suite.

use campaign_core::{
    Campaign, CampaignId, Channel, DialingMode, ListRef, Schedule, Status, TimeRange,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Provider name set on fixture campaigns (sources overwrite it with their own).
pub const FIXTURE_PROVIDER: &str = "fixture";

fn at(text: &str) -> DateTime<Utc> {
    // Only literals from this file reach here; they are valid RFC 3339.
    text.parse().unwrap_or(DateTime::UNIX_EPOCH)
}

/// The `created_at` range the suite queries: `[2025-03-01, 2025-06-01)`.
/// Fixture campaigns sit exactly on both bounds and one second outside them.
pub fn fixture_created_range() -> TimeRange {
    TimeRange {
        start: Some(at("2025-03-01T00:00:00Z")),
        end: Some(at("2025-06-01T00:00:00Z")),
    }
}

/// The `updated_at` range the suite queries: `[2025-07-01, 2025-09-01)`.
pub fn fixture_updated_range() -> TimeRange {
    TimeRange {
        start: Some(at("2025-07-01T00:00:00Z")),
        end: Some(at("2025-09-01T00:00:00Z")),
    }
}

/// The unknown status in the fixture.
pub fn fixture_other_status() -> Status {
    Status::Other("On Hold".into())
}

/// The unknown channel in the fixture.
pub fn fixture_other_channel() -> Channel {
    Channel::Other("whatsapp".into())
}

struct Row {
    native: u32,
    name: String,
    channel: Channel,
    status: Option<Status>,
    priority: Option<u8>,
    mode: Option<DialingMode>,
    created: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
}

/// Hand-picked edge cases: every bound, tie, unknown value and missing field.
fn edge_rows() -> Vec<Row> {
    use Channel::*;
    let row = |native,
               name: &str,
               channel,
               status,
               priority,
               mode,
               created: Option<&str>,
               updated: Option<&str>| Row {
        native,
        name: name.to_owned(),
        channel,
        status,
        priority,
        mode,
        created: created.map(at),
        updated: updated.map(at),
    };
    vec![
        row(
            1001,
            "Renewals",
            Voice,
            Some(Status::Active),
            Some(1),
            Some(DialingMode::Progressive),
            Some("2025-01-10T09:00:00Z"),
            Some("2025-07-01T00:00:00Z"),
        ),
        row(
            1002,
            "Billing Reminder",
            Sms,
            Some(Status::Completed),
            Some(2),
            None,
            Some("2025-03-01T00:00:00Z"),
            Some("2025-08-15T12:00:00Z"),
        ),
        row(
            1003,
            "Renewals",
            Voice,
            Some(Status::Ready),
            Some(3),
            Some(DialingMode::Preview),
            Some("2025-06-01T00:00:00Z"),
            Some("2025-09-01T00:00:00Z"),
        ),
        row(
            1004,
            "Winback",
            Chat,
            Some(Status::Paused),
            Some(4),
            None,
            Some("2025-02-28T23:59:59Z"),
            Some("2025-06-30T23:59:59Z"),
        ),
        row(
            1005,
            "Ünïcode Kampagne",
            Interaction,
            Some(Status::Preparing),
            Some(5),
            None,
            Some("2025-05-31T23:59:59Z"),
            None,
        ),
        row(
            1006,
            "Café Crème Promo",
            fixture_other_channel(),
            Some(Status::Stopped),
            None,
            None,
            None,
            None,
        ),
        row(
            1007,
            "日本のキャンペーン",
            Voice,
            Some(Status::Scheduled),
            Some(2),
            Some(DialingMode::Agentless),
            Some("2025-04-15T10:00:00Z"),
            Some("2025-07-20T08:00:00Z"),
        ),
        row(
            1008,
            "Ελληνικές Προσφορές",
            Sms,
            Some(Status::Rescheduled),
            Some(1),
            None,
            Some("2025-04-15T10:00:00Z"),
            Some("2025-07-20T08:00:00Z"),
        ),
        row(
            1009,
            "Survey",
            Voice,
            None,
            None,
            Some(DialingMode::Predictive),
            Some("2025-04-15T10:00:00Z"),
            None,
        ),
        row(
            1010,
            "Survey",
            Voice,
            Some(fixture_other_status()),
            Some(3),
            Some(DialingMode::Other("power".into())),
            Some("2025-03-15T00:00:00Z"),
            Some("2025-08-01T00:00:00Z"),
        ),
        row(
            1011,
            "Outage Alert 📞",
            Sms,
            Some(Status::Active),
            Some(5),
            None,
            Some("2024-12-31T23:59:59Z"),
            Some("2025-01-01T00:00:00Z"),
        ),
        row(
            1012,
            "collections",
            Voice,
            Some(Status::Active),
            Some(4),
            Some(DialingMode::Predictive),
            Some("2025-05-01T00:00:00Z"),
            Some("2025-08-31T23:59:59Z"),
        ),
        row(
            1013,
            "Collections",
            Voice,
            Some(Status::Completed),
            Some(2),
            Some(DialingMode::Progressive),
            Some("2025-05-01T00:00:00Z"),
            Some("2025-07-01T00:00:00Z"),
        ),
        row(
            1014,
            "Renewals",
            Sms,
            Some(Status::Ready),
            None,
            None,
            None,
            Some("2025-07-05T00:00:00Z"),
        ),
        row(
            1015,
            "Appointment Reminders",
            Sms,
            Some(Status::Scheduled),
            Some(3),
            None,
            Some("2025-02-01T08:30:00Z"),
            Some("2025-06-01T00:00:00Z"),
        ),
    ]
}

/// A fixed, varied set of 40 campaigns whose `id.source` is `source_id`.
///
/// Native ids are the decimal integers `1001..=1040` so backends with integer
/// ids can hold them. The set covers every [`Channel`] (and an unknown one),
/// every [`Status`] plus none and an unknown one, priorities 1 to 5 and none,
/// every [`DialingMode`] plus none and an unknown one, equal names and equal
/// timestamps (sort ties), unicode names, missing dates, and dates exactly on
/// and just outside [`fixture_created_range`] and [`fixture_updated_range`].
/// Every campaign has `provider` [`FIXTURE_PROVIDER`].
pub fn fixture_campaigns(source_id: &str) -> Vec<Campaign> {
    let mut rows = edge_rows();
    rows.extend((16u32..=40).map(generated_row));
    rows.into_iter()
        .map(|row| {
            let mut c = Campaign::new(
                CampaignId::new(source_id, row.native.to_string()),
                FIXTURE_PROVIDER,
                row.name,
                row.channel,
            );
            c.status = row.status;
            c.priority = row.priority;
            c.dialing_mode = row.mode;
            c.created_at = row.created;
            c.updated_at = row.updated;
            if row.native % 3 == 0 {
                c.description = Some(format!("Fixture campaign {}", row.native));
                c.contact_lists = vec![ListRef::named(format!("list-{}", row.native % 7))];
            }
            if row.native % 4 == 0 {
                c.schedule = Some(Schedule {
                    scheduling_enabled: Some(true),
                    recurrence_enabled: Some(row.native % 8 == 0),
                });
            }
            c
        })
        .collect()
}

/// Filler rows cycling through every value, with repeated names and dates.
fn generated_row(n: u32) -> Row {
    const NAMES: [&str; 5] = [
        "Upsell",
        "Payment Plan",
        "Welcome Series",
        "Reactivation",
        "Renewals",
    ];
    let i = n as usize;
    let channels = [
        Channel::Voice,
        Channel::Sms,
        Channel::Chat,
        Channel::Interaction,
    ];
    let mut statuses: Vec<Option<Status>> = Status::KNOWN.iter().cloned().map(Some).collect();
    statuses.push(None);
    let modes = [
        None,
        Some(DialingMode::Progressive),
        Some(DialingMode::Preview),
        Some(DialingMode::Agentless),
        Some(DialingMode::Predictive),
    ];
    let base = Utc
        .with_ymd_and_hms(2025, 1, 6, 9, 0, 0)
        .single()
        .unwrap_or_default();
    // Every fifth row shares its creation time with the row before (sort ties).
    let week = if n.is_multiple_of(5) { n - 1 } else { n };
    let created = base + Duration::days(7 * i64::from(week));
    let created = (!n.is_multiple_of(9)).then_some(created);
    let updated = created
        .filter(|_| !n.is_multiple_of(7))
        .map(|c| c + Duration::days(40));
    let name = if n.is_multiple_of(2) {
        NAMES[i % NAMES.len()].to_owned()
    } else {
        format!("{} Q{}", NAMES[i % NAMES.len()], n % 4 + 1)
    };
    Row {
        native: 1000 + n,
        name,
        channel: channels[i % channels.len()].clone(),
        status: statuses[i % statuses.len()].clone(),
        priority: (!n.is_multiple_of(6)).then_some((n % 5 + 1) as u8),
        mode: modes[i % modes.len()].clone(),
        created,
        updated,
    }
}
