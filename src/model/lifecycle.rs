//! `initialize`: implementation info and capabilities.

use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `clientInfo` / `serverInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object with `name` and `version` strings")]
pub struct Implementation {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object with `protocolVersion`, `capabilities` and `clientInfo`"
)]
pub struct InitializeParams {
    pub protocol_version: String,
    /// An object; absent or `null` reads as none declared.
    #[serde(default = "no_capabilities", deserialize_with = "object_or_null")]
    pub capabilities: Value,
    pub client_info: Implementation,
}

/// What this server can do. Every capability listed here is implemented.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChanged>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChanged>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChanged {
    pub list_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    pub subscribe: bool,
    pub list_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    pub protocol_version: String,
    pub capabilities: ServerCapabilities,
    pub server_info: Implementation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

fn no_capabilities() -> Value {
    Value::Object(Default::default())
}

/// `capabilities`: an object (`null` read as `{}`); anything else is malformed.
fn object_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(no_capabilities()),
        object @ Value::Object(_) => Ok(object),
        other => Err(D::Error::invalid_type(unexpected(&other), &"an object")),
    }
}

/// How serde names a JSON value's type in an error.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// Log levels of `logging/setLevel` and `notifications/message` (RFC 5424 severities), least severe first.
/// Read from a string only (serde's derive would also take `{"debug": null}`); written and read by [`Self::NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    /// Every level, least severe first, and its name on the wire, in the same order.
    const ALL: [Self; 8] = [
        Self::Debug,
        Self::Info,
        Self::Notice,
        Self::Warning,
        Self::Error,
        Self::Critical,
        Self::Alert,
        Self::Emergency,
    ];
    const NAMES: &'static [&'static str] =
        &["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
}

impl Serialize for LogLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `ALL` and `NAMES` follow the declaration order.
        serializer.serialize_str(Self::NAMES[*self as usize])
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        let known = Self::NAMES.iter().position(|known| *known == name);
        known.map(|i| Self::ALL[i]).ok_or_else(|| D::Error::unknown_variant(&name, Self::NAMES))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(expecting = "an object with a `level` string")]
pub struct SetLevelParams {
    pub level: LogLevel,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn initialize_capabilities_are_an_object_or_absent() {
        let params = |capabilities: Option<Value>| {
            let mut p = json!({"protocolVersion": "2025-11-25", "clientInfo": {"name": "c", "version": "1"}});
            if let Some(c) = capabilities {
                p["capabilities"] = c;
            }
            InitializeParams::deserialize(&p)
        };
        assert_eq!(params(None).unwrap().capabilities, json!({}));
        assert_eq!(params(Some(Value::Null)).unwrap().capabilities, json!({}));
        assert_eq!(params(Some(json!({"roots": {}}))).unwrap().capabilities, json!({"roots": {}}));
        for wrong in [json!([]), json!("all"), json!(1), json!(true)] {
            let error = params(Some(wrong.clone())).unwrap_err().to_string();
            assert!(error.contains("expected an object"), "{wrong}: {error}");
        }
        let error =
            InitializeParams::deserialize(&json!({"protocolVersion": "x", "clientInfo": "x"})).unwrap_err();
        assert!(error.to_string().contains("an object with `name` and `version` strings"), "{error}");
    }

    #[test]
    fn log_levels_read_from_their_names_only() {
        for (name, level) in LogLevel::NAMES.iter().zip(LogLevel::ALL) {
            assert_eq!(LogLevel::deserialize(&json!(name)).unwrap(), level);
            assert_eq!(serde_json::to_value(level).unwrap(), json!(name), "written as read");
        }
        for wrong in [json!({"debug": null}), json!("DEBUG"), json!(3), json!(null)] {
            assert!(LogLevel::deserialize(&wrong).is_err(), "{wrong}");
        }
    }
}
