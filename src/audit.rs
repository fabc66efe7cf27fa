//! The audit log: one JSON line per HTTP request and one per tool call, for Workers Logs (which indexes every
//! field of a JSON line) or any log drain. A line holds only what names the event: ids, names, statuses and
//! durations. Never a credential, cookie, or request or response body, by construction: no field can hold one.

use serde::Serialize;

/// `MCP_LOG_LEVEL`: how much the worker logs. Audit lines are `info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    Error,
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Ok(Self::Off),
            "error" => Ok(Self::Error),
            "info" => Ok(Self::Info),
            "debug" => Ok(Self::Debug),
            other => Err(format!("MCP_LOG_LEVEL must be off, error, info or debug, not {other:?}")),
        }
    }

    /// Whether audit lines are written.
    pub fn audits(self) -> bool {
        self >= Self::Info
    }
}

/// One HTTP request, as the Worker answered it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestLine<'a> {
    pub event: &'static str,
    /// Cloudflare's ray id, or a random one: the reference a 500's body names.
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    /// The caller's identity id (`key:<name>`, `github:<id>`, `anonymous`), once authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<&'a str>,
    /// From the `Mcp-Method` header (sent by clients of the stateless revision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_method: Option<&'a str>,
    /// From the `MCP-Protocol-Version` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<&'a str>,
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A result without `isError`.
    Ok,
    /// A result with `isError` (the tool failed, or its arguments were invalid).
    ToolError,
    /// Stopped after `MCP_TOOL_TIMEOUT_SECONDS` (the client got a result with `isError`).
    Timeout,
    /// A protocol error: unknown or hidden tool, malformed params.
    Refused,
    /// Asked the client through an input-required result (stateless revision).
    InputRequired,
}

/// One tool call, wherever it ran (the Worker for the stateless lane, a session object for sessions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallLine<'a> {
    pub event: &'static str,
    pub tool: &'a str,
    pub outcome: Outcome,
    pub duration_ms: f64,
    pub caller: &'a str,
    pub protocol_version: &'a str,
}

/// A line as JSON.
pub fn line<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).expect("audit records serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_json_object_with_only_what_names_the_event() {
        let request = RequestLine {
            event: "request",
            request_id: "8f0e",
            method: "POST",
            path: "/mcp",
            status: 200,
            duration_ms: 1.5,
            caller: Some("key:alice"),
            mcp_method: None,
            protocol_version: Some("2025-11-25"),
        };
        let text = line(&request);
        assert!(!text.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["caller"], "key:alice");
        assert!(value.get("mcp_method").is_none());
        let tool = ToolCallLine {
            event: "tool_call",
            tool: "search",
            outcome: Outcome::ToolError,
            duration_ms: 3.0,
            caller: "github:1",
            protocol_version: "2026-07-28",
        };
        assert_eq!(serde_json::from_str::<serde_json::Value>(&line(&tool)).unwrap()["outcome"], "tool_error");
    }

    #[test]
    fn levels_parse_and_only_info_and_debug_audit() {
        assert_eq!(LogLevel::parse(" INFO "), Ok(LogLevel::Info));
        assert!(!LogLevel::parse("off").unwrap().audits());
        assert!(!LogLevel::Error.audits());
        assert!(LogLevel::Debug.audits());
        assert!(LogLevel::parse("loud").unwrap_err().contains("MCP_LOG_LEVEL"));
    }
}
