//! Tools: their descriptions (`tools/list`) and call results (`tools/call`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::Content;

/// Hints about a tool's behaviour; clients use `readOnlyHint` to skip confirmation prompts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// One entry of `tools/list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    pub input_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
}

/// `tools/call` params as the server reads them: the tool's name; the arguments are read where they are
/// ([`CallToolParams::arguments`]), never copied out of the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(expecting = "an object with a `name` string and optional `arguments`")]
pub struct CallToolParams {
    pub name: String,
}

impl CallToolParams {
    /// `params.arguments`: an object (`{}` when absent or null); anything else is refused with why.
    pub fn arguments(params: Option<&Value>) -> Result<&Value, &'static str> {
        static NONE: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| Value::Object(Map::new()));
        match params.and_then(|p| p.get("arguments")) {
            None | Some(Value::Null) => Ok(&NONE),
            Some(arguments) if arguments.is_object() => Ok(arguments),
            Some(_) => Err("arguments must be an object"),
        }
    }
}

/// The result of `tools/call`. Failures of the tool itself are results with `isError: true`, so the model
/// sees them; only protocol errors (unknown tool, malformed params) are JSON-RPC errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    pub content: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

impl CallToolResult {
    pub fn text(text: impl Into<String>) -> Self {
        Self { content: vec![Content::text(text)], structured_content: None, is_error: false }
    }

    /// One text item holding `value` as JSON, and the same value as `structuredContent`: the shape
    /// ChatGPT connectors and deep research require.
    pub fn json(value: Value) -> Self {
        Self {
            content: vec![Content::text(value.to_string())],
            structured_content: Some(value),
            is_error: false,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self { content: vec![Content::text(message)], structured_content: None, is_error: true }
    }
}
