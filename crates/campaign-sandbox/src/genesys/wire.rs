//! Genesys Cloud record shapes as the sandbox writes them: the `Campaign`
//! object (spec §4, keys in the SDK's `attribute_map` order) and the
//! Platform `ErrorBody` (§5.1). Absent values are omitted, never `null` (§3).

use std::collections::BTreeMap;

use serde::Serialize;

/// A `DomainEntityRef`: `{id, name, selfUri}`, all optional (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntityRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

impl EntityRef {
    /// A ref with all three fields; `path` is the collection's `selfUri`
    /// prefix, e.g. `/api/v2/outbound/contactlists`.
    pub(crate) fn new(path: &str, id: &str, name: &str) -> Self {
        Self {
            id: Some(id.to_owned()),
            name: Some(name.to_owned()),
            self_uri: Some(format!("{path}/{id}")),
        }
    }

    /// A ref without `name`, as filters and some rule sets come (§4.2).
    pub(crate) fn unnamed(path: &str, id: &str) -> Self {
        Self {
            name: None,
            ..Self::new(path, id, "")
        }
    }
}

/// `selfUri` prefixes of the referenced collections (§4.2).
pub(crate) mod paths {
    pub(crate) const CAMPAIGNS: &str = "/api/v2/outbound/campaigns";
    pub(crate) const CONTACT_LISTS: &str = "/api/v2/outbound/contactlists";
    pub(crate) const QUEUES: &str = "/api/v2/routing/queues";
    pub(crate) const SCRIPTS: &str = "/api/v2/scripts";
    pub(crate) const EDGE_GROUPS: &str = "/api/v2/telephony/providers/edges/edgegroups";
    pub(crate) const SITES: &str = "/api/v2/telephony/providers/edges/sites";
    pub(crate) const DNC_LISTS: &str = "/api/v2/outbound/dnclists";
    pub(crate) const CALLABLE_TIME_SETS: &str = "/api/v2/outbound/callabletimesets";
    pub(crate) const RESPONSE_SETS: &str = "/api/v2/outbound/callanalysisresponsesets";
    pub(crate) const RULE_SETS: &str = "/api/v2/outbound/rulesets";
    pub(crate) const CONTACT_LIST_FILTERS: &str = "/api/v2/outbound/contactlistfilters";
    pub(crate) const DIVISIONS: &str = "/api/v2/authorization/divisions";
}

/// A `PhoneColumn` (§4.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneColumn {
    pub(crate) column_name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// A `ContactSort` (§4.2); `direction` is `ASC` or `DESC`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactSort {
    pub(crate) field_name: String,
    pub(crate) direction: String,
    pub(crate) numeric: bool,
}

/// A `RestErrorDetail`, an item of `Campaign.errors` (§4.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RestErrorDetail {
    pub(crate) error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) user_params: Vec<UserParam>,
}

/// A `UserParam` of a [`RestErrorDetail`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UserParam {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// `DynamicContactQueueingSettings` (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct DynamicContactQueueing {
    pub(crate) sort: bool,
    pub(crate) filter: bool,
}

/// `DynamicLineBalancingSettings` (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DynamicLineBalancing {
    pub(crate) enabled: bool,
    pub(crate) relative_weight: i32,
}

/// `DiagnosticsSettings` (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Diagnostics {
    pub(crate) report_low_max_calls_per_agent_alert: bool,
}

/// A Genesys `Campaign` (§4), fields in the SDK's order. Arrays the server
/// normally sends as `[]` (§4.4) are plain `Vec`s; the rest is omitted when
/// unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenesysWire {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_modified: Option<String>,
    pub(crate) version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) contact_list: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dialing_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) script: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) edge_group: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) site: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) campaign_status: Option<String>,
    pub(crate) phone_columns: Vec<PhoneColumn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) abandon_rate: Option<f64>,
    pub(crate) dnc_lists: Vec<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) callable_time_set: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) call_analysis_response_set: Option<EntityRef>,
    pub(crate) errors: Vec<RestErrorDetail>,
    pub(crate) caller_name: String,
    pub(crate) caller_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outbound_line_count: Option<i32>,
    pub(crate) rule_sets: Vec<EntityRef>,
    pub(crate) skip_preview_disabled: bool,
    pub(crate) preview_time_out_seconds: i64,
    pub(crate) always_running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) contact_sort: Option<ContactSort>,
    pub(crate) contact_sorts: Vec<ContactSort>,
    pub(crate) no_answer_timeout: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) call_analysis_language: Option<String>,
    pub(crate) priority: i32,
    pub(crate) contact_list_filters: Vec<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) division: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agent_owned_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dynamic_contact_queueing_settings: Option<DynamicContactQueueing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) skill_columns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) preview_auto_end: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_calls_per_agent: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_calls_per_agent_decimal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) callback_auto_answer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dynamic_line_balancing_settings: Option<DynamicLineBalancing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) diagnostics_settings: Option<Diagnostics>,
    pub(crate) self_uri: String,
}

/// A `Limit`, on limit violations only (§5.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Limit {
    pub(crate) key: String,
    pub(crate) namespace: String,
    pub(crate) value: u64,
}

/// The Platform `ErrorBody` (§5.1), fields in the spec's order. `details`
/// and `errors` are always written (as `[]`), like the spec's example.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    pub(crate) message: String,
    pub(crate) code: String,
    pub(crate) status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_with_params: Option<String>,
    pub(crate) message_params: BTreeMap<String, String>,
    pub(crate) context_id: String,
    pub(crate) details: Vec<serde_json::Value>,
    pub(crate) errors: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<Limit>,
}

impl ErrorBody {
    /// An error whose message has no parameters.
    pub(crate) fn plain(status: u16, code: &str, message: &str) -> Self {
        Self {
            message: message.to_owned(),
            code: code.to_owned(),
            status,
            message_with_params: None,
            message_params: BTreeMap::new(),
            context_id: String::new(),
            details: Vec::new(),
            errors: Vec::new(),
            limit: None,
        }
    }

    /// An error with a `{placeholder}` template and its values; `message`
    /// is the template with the values filled in.
    pub(crate) fn with_params(
        status: u16,
        code: &str,
        template: &str,
        params: &[(&str, String)],
    ) -> Self {
        let mut message = template.to_owned();
        for (key, value) in params {
            message = message.replace(&format!("{{{key}}}"), value);
        }
        Self {
            message_with_params: Some(template.to_owned()),
            message_params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..Self::plain(status, code, &message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_fills_its_template_and_keeps_the_spec_order() {
        let mut body = ErrorBody::with_params(
            400,
            "invalid.value",
            "Value [{value}] is not valid for field type [{type}].",
            &[
                ("value", "Foo".to_owned()),
                ("type", "FilterType".to_owned()),
            ],
        );
        body.context_id = "ctx".to_owned();
        let text = serde_json::to_string(&body).unwrap();
        assert!(text.starts_with(
            "{\"message\":\"Value [Foo] is not valid for field type [FilterType].\",\"code\":\"invalid.value\",\"status\":400,\"messageWithParams\":"
        ), "{text}");
        assert!(text.ends_with("\"contextId\":\"ctx\",\"details\":[],\"errors\":[]}"));
    }

    #[test]
    fn campaign_omits_unset_fields_but_keeps_empty_arrays() {
        let wire = GenesysWire {
            id: "c1".to_owned(),
            name: "N".to_owned(),
            version: 1,
            abandon_rate: Some(5.0),
            contact_list_filters: vec![EntityRef::unnamed(paths::CONTACT_LIST_FILTERS, "f")],
            self_uri: format!("{}/c1", paths::CAMPAIGNS),
            ..GenesysWire::default()
        };
        let value: serde_json::Value = serde_json::to_value(&wire).unwrap();
        assert!(value.get("queue").is_none() && value.get("dateCreated").is_none());
        assert_eq!(value["dncLists"], serde_json::json!([]));
        assert_eq!(value["abandonRate"], 5.0);
        assert_eq!(
            value["contactListFilters"][0],
            serde_json::json!({"id": "f", "selfUri": "/api/v2/outbound/contactlistfilters/f"})
        );
        assert!(serde_json::to_string(&wire)
            .unwrap()
            .contains("\"abandonRate\":5.0"));
    }
}
