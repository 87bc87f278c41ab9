//! The normalized campaign record every provider maps into.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::Deserializer;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Declares an enum of known values plus `Other(String)` for anything else.
///
/// Known values parse case-insensitively (ASCII) and serialize lowercase; an
/// `Other` value serializes as its raw string, so nothing a provider sends is
/// lost and unknown values never fail decoding.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this library does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known (non-`Other`) value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)+];

            /// Parses a provider's spelling: known values match case-insensitively,
            /// anything else becomes `Other` with the text untouched.
            pub fn parse(text: &str) -> Self {
                $(if text.eq_ignore_ascii_case($text) { return $name::$variant; })+
                $name::Other(text.to_owned())
            }

            /// The canonical lowercase spelling, or the raw text of `Other`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(raw) => raw,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

open_enum! {
    /// The medium a campaign reaches people through.
    pub enum Channel {
        /// Outbound or inbound voice calls.
        Voice => "voice",
        /// Text messages.
        Sms => "sms",
        /// Chat sessions.
        Chat => "chat",
        /// Multi-channel interaction campaigns (CMS "Interaction Campaign").
        Interaction => "interaction",
    }
}

open_enum! {
    /// Where a campaign is in its lifecycle.
    pub enum Status {
        /// Currently running.
        Active => "active",
        /// Finished.
        Completed => "completed",
        /// Configured and ready to start.
        Ready => "ready",
        /// Temporarily halted.
        Paused => "paused",
        /// Being prepared (lists loading, etc.).
        Preparing => "preparing",
        /// Stopped by an operator.
        Stopped => "stopped",
        /// Waiting for a scheduled start.
        Scheduled => "scheduled",
        /// Moved to a new schedule.
        Rescheduled => "rescheduled",
    }
}

open_enum! {
    /// How a voice campaign places calls.
    pub enum DialingMode {
        /// Dials when an agent is free, one call per agent.
        Progressive => "progressive",
        /// The agent previews the contact before the call is placed.
        Preview => "preview",
        /// No agent: calls play a message or an IVR.
        Agentless => "agentless",
        /// Dials ahead of agent availability using a pacing model.
        Predictive => "predictive",
    }
}

/// A campaign's identity across every source: the source's name plus the
/// provider's own id. Displayed (and serialized) as `source:native`.
///
/// The source name is shared (`Arc<str>`): every campaign of a source holds
/// the same name, so a decoder clones a pointer instead of the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CampaignId {
    /// The configured source name (unique within an aggregate).
    pub source: Arc<str>,
    /// The provider's own identifier of the campaign.
    pub native: String,
}

impl CampaignId {
    /// Creates an id from a source name and a provider-native id.
    pub fn new(source: impl Into<Arc<str>>, native: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            native: native.into(),
        }
    }
}

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.native)
    }
}

/// A named list attached to a campaign (contact list or do-not-call list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRef {
    /// The list's display name.
    pub name: String,
    /// The provider's id of the list, where it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ListRef {
    /// A list known only by name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id: None,
        }
    }
}

/// Scheduling flags as the provider reports them; `None` means not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schedule {
    /// Whether the campaign runs on a schedule.
    #[serde(default)]
    pub scheduling_enabled: Option<bool>,
    /// Whether the schedule repeats.
    #[serde(default)]
    pub recurrence_enabled: Option<bool>,
}

/// Where a campaign sits inside its provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// A CMS hierarchy position: contact center, then process.
    ContactCenter {
        /// The contact center id.
        contact_center_id: i64,
        /// The process id inside the contact center, where known.
        #[serde(default)]
        process_id: Option<i64>,
    },
    /// A Kore.ai-style account and stream (application). Providers may show
    /// these as masked labels, since the raw ids double as credentials.
    /// Shared (`Arc<str>`): every campaign of a source has the same scope.
    Account {
        /// The account, as the provider chooses to display it.
        account: Arc<str>,
        /// The stream or application, as the provider chooses to display it.
        stream: Arc<str>,
    },
    /// The provider has no hierarchy to report.
    Unscoped,
}

/// A provider's original record, kept byte for byte as it arrived.
///
/// Stored as unparsed JSON text, so keeping it costs no second parse: a
/// decoder that has just read the record (with serde_json, e.g. through a
/// reader that reports each value's text) keeps that text as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct RawRecord(Box<str>);

impl RawRecord {
    /// Wraps an already-validated raw JSON value.
    pub fn new(raw: Box<RawValue>) -> Self {
        Self(raw.into())
    }

    /// Keeps `text`, which the caller's JSON parser has just read in full as
    /// one value (it is not checked again). Text that is not JSON cannot
    /// corrupt anything: serializing the record then fails with an error and
    /// [`RawRecord::to_value`] gives `Null`. Use [`RawRecord::parse`] for
    /// text that has not been parsed.
    pub fn from_parsed(text: &str) -> Self {
        Self(text.into())
    }

    /// Checks that `text` is one JSON value and keeps it verbatim.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<&RawValue>(text).map(|raw| Self(raw.get().into()))
    }

    /// Builds a raw record from a JSON value (serializing it once).
    pub fn from_value(value: &serde_json::Value) -> Self {
        // A `Value` always serializes to valid JSON.
        Self(value.to_string().into())
    }

    /// The record's JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// Parses the record into a generic JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for RawRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a `RawValue` verbatim; it offers no way to make
        // one from text without checking it, so the check is paid here, on
        // output, instead of on every decode.
        let raw: &RawValue = serde_json::from_str(&self.0)
            .map_err(|e| serde::ser::Error::custom(format_args!("raw record is not JSON ({e})")))?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::new)
    }
}

impl fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// One campaign, normalized from any provider.
///
/// Construct with [`Campaign::new`] and set the optional fields; the struct is
/// `#[non_exhaustive]` so fields can be added without breaking providers.
///
/// JSON uses snake_case names; `id` serializes as `"source:native"` alongside
/// `source` and `native_id`, and `raw` is omitted when absent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Campaign {
    /// Identity across sources.
    pub id: CampaignId,
    /// The provider kind: `"cms"`, `"kore"` or a plugin's name (a constant
    /// for every provider of this workspace, so it costs no allocation).
    pub provider: Cow<'static, str>,
    /// Display name.
    pub name: String,
    /// Free-text description.
    pub description: Option<String>,
    /// The medium.
    pub channel: Channel,
    /// Lifecycle state; `None` where the provider has no status.
    pub status: Option<Status>,
    /// Priority (Kore.ai uses 1 to 5); `None` where the provider has none.
    pub priority: Option<u8>,
    /// Voice dialing mode, where the provider reports one.
    pub dialing_mode: Option<DialingMode>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Last modification time.
    pub updated_at: Option<DateTime<Utc>>,
    /// Contact lists the campaign dials or messages.
    pub contact_lists: Vec<ListRef>,
    /// Do-not-call lists applied to the campaign.
    pub dnc_lists: Vec<ListRef>,
    /// Scheduling flags, where reported.
    pub schedule: Option<Schedule>,
    /// Position in the provider's hierarchy.
    pub scope: Scope,
    /// The provider's record version, where it has one.
    pub version: Option<i64>,
    /// Decoded message text (SMS campaigns), only where it decodes cleanly.
    pub message: Option<String>,
    /// The provider's original record, untouched.
    pub raw: Option<RawRecord>,
}

impl Campaign {
    /// A campaign with its required fields; everything else starts empty.
    pub fn new(
        id: CampaignId,
        provider: impl Into<Cow<'static, str>>,
        name: impl Into<String>,
        channel: Channel,
    ) -> Self {
        Self {
            id,
            provider: provider.into(),
            name: name.into(),
            description: None,
            channel,
            status: None,
            priority: None,
            dialing_mode: None,
            created_at: None,
            updated_at: None,
            contact_lists: Vec::new(),
            dnc_lists: Vec::new(),
            schedule: None,
            scope: Scope::Unscoped,
            version: None,
            message: None,
            raw: None,
        }
    }
}

impl Serialize for Campaign {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = if self.raw.is_some() { 19 } else { 18 };
        let mut s = serializer.serialize_struct("Campaign", fields)?;
        s.serialize_field("id", &self.id.to_string())?;
        s.serialize_field("source", &*self.id.source)?;
        s.serialize_field("native_id", &self.id.native)?;
        s.serialize_field("provider", &self.provider)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("description", &self.description)?;
        s.serialize_field("channel", &self.channel)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("priority", &self.priority)?;
        s.serialize_field("dialing_mode", &self.dialing_mode)?;
        s.serialize_field("created_at", &self.created_at)?;
        s.serialize_field("updated_at", &self.updated_at)?;
        s.serialize_field("contact_lists", &self.contact_lists)?;
        s.serialize_field("dnc_lists", &self.dnc_lists)?;
        s.serialize_field("scope", &self.scope)?;
        s.serialize_field("schedule", &self.schedule)?;
        s.serialize_field("version", &self.version)?;
        s.serialize_field("message", &self.message)?;
        if let Some(raw) = &self.raw {
            s.serialize_field("raw", raw)?;
        }
        s.end()
    }
}

/// The JSON shape of [`Campaign`], used only to deserialize it.
#[derive(Deserialize)]
struct CampaignJson {
    source: String,
    native_id: String,
    provider: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    channel: Channel,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    dialing_mode: Option<DialingMode>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    contact_lists: Vec<ListRef>,
    #[serde(default)]
    dnc_lists: Vec<ListRef>,
    #[serde(default)]
    schedule: Option<Schedule>,
    #[serde(default = "unscoped")]
    scope: Scope,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    raw: Option<RawRecord>,
}

fn unscoped() -> Scope {
    Scope::Unscoped
}

impl<'de> Deserialize<'de> for Campaign {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = CampaignJson::deserialize(deserializer)?;
        Ok(Campaign {
            id: CampaignId::new(json.source, json.native_id),
            provider: Cow::Owned(json.provider),
            name: json.name,
            description: json.description,
            channel: json.channel,
            status: json.status,
            priority: json.priority,
            dialing_mode: json.dialing_mode,
            created_at: json.created_at,
            updated_at: json.updated_at,
            contact_lists: json.contact_lists,
            dnc_lists: json.dnc_lists,
            schedule: json.schedule,
            scope: json.scope,
            version: json.version,
            message: json.message,
            raw: json.raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_parse_case_insensitively_and_serialize_lowercase() {
        assert_eq!(Status::parse("Ready"), Status::Ready);
        assert_eq!(Status::parse("RESCHEDULED"), Status::Rescheduled);
        assert_eq!(Channel::parse("SMS"), Channel::Sms);
        assert_eq!(DialingMode::parse("Preview"), DialingMode::Preview);
        assert_eq!(serde_json::to_string(&Status::Ready).unwrap(), "\"ready\"");
        assert_eq!(
            serde_json::to_string(&DialingMode::Progressive).unwrap(),
            "\"progressive\""
        );
    }

    #[test]
    fn unknown_values_round_trip_verbatim() {
        let status: Status = serde_json::from_str("\"On Hold\"").unwrap();
        assert_eq!(status, Status::Other("On Hold".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"On Hold\"");
        let channel: Channel = serde_json::from_str("\"whatsapp\"").unwrap();
        assert_eq!(channel.as_str(), "whatsapp");
        for known in Status::KNOWN {
            let text = serde_json::to_string(known).unwrap();
            assert_eq!(&serde_json::from_str::<Status>(&text).unwrap(), known);
        }
        for known in Channel::KNOWN {
            assert_eq!(&Channel::parse(known.as_str()), known);
        }
        for known in DialingMode::KNOWN {
            assert_eq!(&DialingMode::parse(known.as_str()), known);
        }
    }

    #[test]
    fn campaign_json_has_documented_fields_and_round_trips() {
        let mut c = Campaign::new(
            CampaignId::new("kore", "cd-1"),
            "kore",
            "Billing",
            Channel::Voice,
        );
        c.status = Some(Status::Other("Archived".into()));
        c.priority = Some(5);
        c.dialing_mode = Some(DialingMode::Preview);
        c.created_at = Some("2025-12-08T09:17:21.090Z".parse().unwrap());
        c.dnc_lists = vec![ListRef {
            name: "DNC".into(),
            id: Some("cl-1".into()),
        }];
        c.raw = Some(RawRecord::from_value(
            &serde_json::json!({"_id": "cd-1", "priority": "5"}),
        ));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["id"], "kore:cd-1");
        assert_eq!(json["source"], "kore");
        assert_eq!(json["native_id"], "cd-1");
        assert_eq!(json["channel"], "voice");
        assert_eq!(json["status"], "Archived");
        assert_eq!(json["dialing_mode"], "preview");
        assert_eq!(json["raw"]["priority"], "5");
        assert_eq!(json["scope"]["kind"], "unscoped");
        let back: Campaign = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn raw_records_keep_text_verbatim_and_check_it_on_output() {
        let text = r#"{ "_id" : "cd-1",  "priority": "5" }"#;
        let raw = RawRecord::parse(text).unwrap();
        assert_eq!(raw.get(), text);
        assert_eq!(raw, RawRecord::from_parsed(text));
        assert_eq!(raw.to_value()["priority"], "5");
        assert_eq!(serde_json::to_string(&raw).unwrap(), text);
        let back: RawRecord = serde_json::from_str(text).unwrap();
        assert_eq!(back, raw);
        assert!(RawRecord::parse("{\"a\": ").is_err());
        // Not JSON despite the promise: an error on output, never a panic.
        let broken = RawRecord::from_parsed("{\"a\": ");
        assert!(serde_json::to_string(&broken).is_err());
        assert_eq!(broken.to_value(), serde_json::Value::Null);
    }

    #[test]
    fn campaign_without_raw_omits_it() {
        let c = Campaign::new(CampaignId::new("a", "1"), "cms", "x", Channel::Chat);
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("raw").is_none());
        assert_eq!(c.id.to_string(), "a:1");
    }
}
