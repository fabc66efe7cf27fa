//! The wire of the stateless revision (2026-07-28): what every request declares in `params._meta`, the
//! headers that repeat the body, caching hints, input-required results and listen filters.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lifecycle::{Implementation, LogLevel};

/// `params._meta` keys of the stateless revision.
pub mod meta {
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    /// In a result's `_meta`: who answered.
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    /// In every frame of a `subscriptions/listen` stream: the listen request's id.
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
}

/// Headers that repeat the body, so that intermediaries can route without parsing it.
pub mod header {
    pub const METHOD: &str = "Mcp-Method";
    pub const NAME: &str = "Mcp-Name";
}

/// What a stateless request declares about its client, read from `params._meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    /// As sent: an unsupported revision is refused after the headers are compared with it.
    pub protocol_version: String,
    pub client_capabilities: Value,
    pub client_info: Option<Implementation>,
    pub log_level: Option<LogLevel>,
}

/// Whether `params` claim the stateless revision: a `_meta` with the protocol-version key, whatever its value.
pub fn claims_stateless(params: Option<&Value>) -> bool {
    params.and_then(|p| p.get("_meta")).and_then(|m| m.get(meta::PROTOCOL_VERSION)).is_some()
}

impl Declared {
    /// Reads `params._meta`; `Err` names the required keys that are missing or of the wrong type.
    pub fn read(params: Option<&Value>) -> Result<Self, String> {
        let meta = params.and_then(|p| p.get("_meta")).and_then(Value::as_object);
        let field = |key: &str| meta.and_then(|m| m.get(key));
        let version = field(meta::PROTOCOL_VERSION).and_then(Value::as_str);
        let capabilities = field(meta::CLIENT_CAPABILITIES).filter(|c| c.is_object());
        let (Some(version), Some(capabilities)) = (version, capabilities) else {
            let mut missing = Vec::new();
            if version.is_none() {
                missing.push(format!("{} (a string)", meta::PROTOCOL_VERSION));
            }
            if capabilities.is_none() {
                missing.push(format!("{} (an object)", meta::CLIENT_CAPABILITIES));
            }
            return Err(format!("params._meta must carry {}", missing.join(" and ")));
        };
        Ok(Self {
            protocol_version: version.to_string(),
            client_capabilities: capabilities.clone(),
            // Optional: a malformed one is ignored rather than refused.
            client_info: field(meta::CLIENT_INFO).and_then(|v| Implementation::deserialize(v).ok()),
            log_level: field(meta::LOG_LEVEL).and_then(|v| LogLevel::deserialize(v).ok()),
        })
    }
}

/// A header value as the spec carries it: surrounding whitespace stripped, and `=?base64?…?=` (for values
/// that are not header-safe) decoded. `None` when the sentinel form does not decode to UTF-8.
pub fn header_value(raw: &str) -> Option<String> {
    use base64::Engine;
    let value = raw.trim();
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(encoded) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(value.to_string()),
    }
}

/// Who may reuse a cached answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// The answer is the same for every caller.
    Public,
    /// The answer depends on the caller.
    Private,
}

/// The caching hint of a cacheable result (`ttlMs`, `cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    pub ttl_ms: u64,
    pub scope: CacheScope,
}

/// A complete result as the revision sends it: the handler's result, with `resultType`, the caching hint and
/// `serverInfo` (in `_meta`) added as it is written. Neither the result (which may be the server's own, shared)
/// nor `serverInfo` is copied into a new map for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    pub result: Rc<Value>,
    pub hint: Option<CacheHint>,
    pub server_info: Rc<Value>,
}

impl Serialize for Completed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(result) = &*self.result else { return self.result.serialize(serializer) };
        let added = |key: &str| match key {
            "resultType" => true,
            "ttlMs" | "cacheScope" => self.hint.is_some(),
            "_meta" => true,
            _ => false,
        };
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in result.iter().filter(|(key, _)| !added(key)) {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("resultType", COMPLETE)?;
        if let Some(hint) = self.hint {
            map.serialize_entry("ttlMs", &hint.ttl_ms)?;
            map.serialize_entry("cacheScope", &hint.scope)?;
        }
        match result.get("_meta") {
            // A `_meta` that is not an object is the handler's to answer for; it is sent as it is.
            Some(other) if !other.is_object() => map.serialize_entry("_meta", other)?,
            meta => map.serialize_entry(
                "_meta",
                &WithServerInfo(meta.and_then(Value::as_object), &self.server_info),
            )?,
        }
        map.end()
    }
}

/// A result's `_meta` (if it has one) with `serverInfo` set.
struct WithServerInfo<'a>(Option<&'a Map<String, Value>>, &'a Value);

impl Serialize for WithServerInfo<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0.into_iter().flatten().filter(|(key, _)| *key != meta::SERVER_INFO) {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry(meta::SERVER_INFO, self.1)?;
        map.end()
    }
}

/// `resultType` of every result in the stateless revision.
pub const COMPLETE: &str = "complete";
pub const INPUT_REQUIRED: &str = "input_required";

/// One question of an input-required result: a request the client answers as if the server had sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputRequest {
    pub method: String,
    pub params: Value,
}

/// What a listen stream asks to hear about (`subscriptions/listen` params `notifications`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a filter object")]
pub struct SubscriptionFilter {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tools_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prompts_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resources_list_changed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_subscriptions: Vec<String>,
}

/// A list whose changes listen streams can hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
}

impl ListKind {
    /// Its name where the shell passes it along (`tools`, `prompts`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "tools" => Some(Self::Tools),
            "prompts" => Some(Self::Prompts),
            _ => None,
        }
    }

    /// The notification that tells a client this list changed.
    pub fn list_changed_method(self) -> &'static str {
        match self {
            Self::Tools => "notifications/tools/list_changed",
            Self::Prompts => "notifications/prompts/list_changed",
        }
    }
}

/// Adds `key: value` to `result._meta` (creating it).
pub fn insert_meta(result: &mut Map<String, Value>, key: &str, value: Value) {
    let meta = result.entry("_meta").or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(key.into(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_completed_result_gains_result_type_hint_and_server_info_as_it_is_written() {
        let info = Rc::new(json!({"name": "s", "version": "1"}));
        let written = |result: Value, hint| {
            let completed = Completed { result: Rc::new(result), hint, server_info: info.clone() };
            serde_json::to_value(&completed).unwrap()
        };
        let hint = Some(CacheHint { ttl_ms: 5, scope: CacheScope::Private });
        assert_eq!(
            written(json!({"tools": [], "resultType": "x", "ttlMs": 1}), hint),
            json!({"tools": [], "resultType": "complete", "ttlMs": 5, "cacheScope": "private",
                   "_meta": {meta::SERVER_INFO: {"name": "s", "version": "1"}}})
        );
        // Without a hint, the result's own members stay; its `_meta` keeps its keys and gets `serverInfo`.
        assert_eq!(
            written(json!({"ttlMs": 1, "_meta": {"k": 1, meta::SERVER_INFO: "old"}}), None),
            json!({"ttlMs": 1, "resultType": "complete", "_meta": {"k": 1, meta::SERVER_INFO: {"name": "s", "version": "1"}}})
        );
        // A `_meta` that is not an object is sent as the handler made it.
        assert_eq!(written(json!({"_meta": 3}), None), json!({"_meta": 3, "resultType": "complete"}));
    }

    #[test]
    fn declared_context_needs_version_and_capabilities_but_not_client_info() {
        let ok = json!({"_meta": {meta::PROTOCOL_VERSION: "2026-07-28", meta::CLIENT_CAPABILITIES: {}}});
        let declared = Declared::read(Some(&ok)).unwrap();
        assert_eq!(declared.protocol_version, "2026-07-28");
        assert_eq!(declared.client_info, None);
        let no_caps = json!({"_meta": {meta::PROTOCOL_VERSION: "2026-07-28"}});
        assert!(Declared::read(Some(&no_caps)).unwrap_err().contains(meta::CLIENT_CAPABILITIES));
        let err = Declared::read(Some(&json!({}))).unwrap_err();
        assert!(err.contains(meta::PROTOCOL_VERSION) && err.contains(meta::CLIENT_CAPABILITIES));
        assert!(Declared::read(None).is_err());
    }

    #[test]
    fn a_claim_is_the_key_whatever_its_value() {
        assert!(claims_stateless(Some(&json!({"_meta": {meta::PROTOCOL_VERSION: "v999"}}))));
        assert!(!claims_stateless(Some(&json!({"_meta": {}}))));
        assert!(!claims_stateless(None));
    }

    #[test]
    fn header_values_are_trimmed_and_sentinels_decoded() {
        assert_eq!(header_value("  tools/call \t").as_deref(), Some("tools/call"));
        assert_eq!(header_value("=?base64?SGVsbG8=?=").as_deref(), Some("Hello"));
        // Bad padding or characters: not a value.
        assert_eq!(header_value("=?base64?SGVsbG8?="), None);
        assert_eq!(header_value("=?base64?SGVs!!!bG8=?="), None);
        // Without both ends, taken literally.
        assert_eq!(header_value("=?base64?SGVsbG8=").as_deref(), Some("=?base64?SGVsbG8="));
        assert_eq!(header_value("SGVsbG8=").as_deref(), Some("SGVsbG8="));
    }

    #[test]
    fn list_kinds_round_trip_through_their_names() {
        for kind in [ListKind::Tools, ListKind::Prompts] {
            assert_eq!(ListKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(ListKind::from_name("resources"), None);
        assert_eq!(ListKind::Prompts.list_changed_method(), "notifications/prompts/list_changed");
    }

    #[test]
    fn filters_serialize_only_what_is_on() {
        let filter: SubscriptionFilter = serde_json::from_value(json!({"toolsListChanged": true})).unwrap();
        assert_eq!(serde_json::to_value(&filter).unwrap(), json!({"toolsListChanged": true}));
    }
}
