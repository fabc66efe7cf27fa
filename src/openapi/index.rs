//! The operation index: everything the Worker needs to list an API's operations as tools and to call them,
//! worked out at import time (names, flat input schemas, where each argument goes) so that serving it is plain
//! `serde_json` over a few fields.
//!
//! Schemas are kept as raw JSON text ([`RawValue`]): the Worker hands them to clients as they are, and only
//! the operation being called, listed or searched needs its other fields parsed.
//!
//! The index never holds a base URL: calls go to the URL the operator configured, whatever the spec's
//! `servers` say.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The index format this build reads and writes; an index of another format is refused with a message saying
/// to import the spec again.
pub const INDEX_FORMAT: u32 = 1;

/// One API's operations, as imported.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiIndex {
    /// [`INDEX_FORMAT`] of the importer that wrote it.
    pub format: u32,
    /// `info.title` and `info.version` of the spec.
    pub title: String,
    pub version: String,
    /// The spec's security schemes, by name: only what attaching a credential needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    /// The operations kept by the import's filters, in the spec's order (paths, then methods).
    pub operations: Vec<Operation>,
}

/// One operation, offered as one tool (or through the search/describe/invoke tools of a large API).
#[derive(Debug, Serialize, Deserialize)]
pub struct Operation {
    /// The tool name: `[A-Za-z0-9_-]`, at most 56 characters, unique within the API.
    pub name: String,
    /// The spec's `operationId`, when it has one (filters and overrides name operations by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    pub method: Method,
    /// The path template, as in the spec (`/pets/{petId}`), appended to the configured base URL.
    pub path: String,
    /// The tool's title: the operation's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The tool's description: summary and description, bounded.
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Path, query, header and cookie parameters, in the spec's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// The security requirement in force (the operation's, else the spec's): alternatives, each a set of
    /// scheme names that must all be satisfied. Empty: the operation needs no credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Vec<String>>,
    /// One flat JSON Schema (2020-12) object of every argument: parameters and body properties.
    pub input_schema: Box<RawValue>,
    /// The schema of the first 2xx JSON response, an object (a non-object response is wrapped as
    /// `{"result": ...}`, see [`Operation::wraps_output`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Box<RawValue>>,
    /// Whether the JSON response is a non-object wrapped as `{"result": <response>}` in `structuredContent`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wraps_output: bool,
}

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }
}

/// Where a parameter goes in the HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

/// How a parameter's value is serialized (OpenAPI `style`), resolved at import time from the spec's defaults
/// (`simple` for path and header, `form` for query and cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The name in the HTTP request.
    pub name: String,
    /// The name in the tool's arguments: `name`, or `name__<location>` when it collides with another argument.
    pub arg: String,
    #[serde(rename = "in")]
    pub location: Location,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    pub style: Style,
    /// OpenAPI `explode`, resolved (true for `form`, false otherwise, unless the spec says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explode: bool,
    /// A parameter declared with `content: application/json` rather than a schema: its value is sent as JSON
    /// text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json: bool,
}

/// The request body of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// The media type sent as `Content-Type` (the first the spec lists that we can send).
    pub content_type: String,
    pub encoding: BodyEncoding,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    pub shape: BodyShape,
}

/// How a body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// `application/json` and `+json` types.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// Any other type (`text/plain`, `application/octet-stream`, ...): the argument's text as it is.
    Text,
}

/// Which arguments make up the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BodyShape {
    /// An object body whose properties are arguments of their own (flattened beside the parameters).
    Properties(Vec<BodyProperty>),
    /// The whole body is one argument (`body`, or another name on collision): non-object bodies, and objects
    /// whose properties are not known.
    Whole { arg: String },
}

/// One body property flattened into the arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyProperty {
    /// The property's name in the body.
    pub name: String,
    /// Its name in the tool's arguments (`name`, or `name__body` on collision).
    pub arg: String,
}

/// A security scheme: what attaching its credential needs. The secret itself comes from the operator's
/// settings, never from the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SecurityScheme {
    /// `http` with scheme `bearer`: `Authorization: Bearer <token>`.
    Bearer,
    /// `http` with scheme `basic`: `Authorization: Basic base64(user:password)`.
    Basic,
    /// `apiKey`: the key in a header, query parameter or cookie of this name.
    ApiKey {
        #[serde(rename = "in")]
        location: Location,
        name: String,
    },
    /// `oauth2` with a `clientCredentials` flow. The token URL in the spec is only a default the operator
    /// must confirm: credentials go where the operator's settings say.
    #[serde(rename_all = "camelCase")]
    OAuth2ClientCredentials {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_url: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        scopes: Vec<String>,
    },
    /// A scheme the Worker cannot satisfy by itself (other OAuth flows, OpenID Connect, mutual TLS): an
    /// operation that needs only it gets a credential only from a configured override (for example the
    /// signed-in user's GitHub token).
    Other { kind: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_round_trips_with_its_schemas_verbatim() {
        let text = r#"{"format":1,"title":"Pets","version":"1","securitySchemes":{},"security_schemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"}},"operations":[{"name":"getPet","operation_id":"getPet","method":"get","path":"/pets/{petId}","description":"Find a pet","params":[{"name":"petId","arg":"petId","in":"path","required":true,"style":"simple"}],"security":[["key"]],"input_schema":{"type":"object","properties":{"petId":{"type":"integer"}},"required":["petId"]}}]}"#;
        let index: ApiIndex = serde_json::from_str(text).unwrap();
        assert_eq!(index.operations[0].method, Method::Get);
        assert_eq!(index.operations[0].params[0].location, Location::Path);
        assert_eq!(
            index.security_schemes["key"],
            SecurityScheme::ApiKey { location: Location::Header, name: "X-Key".into() }
        );
        assert_eq!(
            index.operations[0].input_schema.get(),
            r#"{"type":"object","properties":{"petId":{"type":"integer"}},"required":["petId"]}"#
        );
        let again: ApiIndex = serde_json::from_str(&serde_json::to_string(&index).unwrap()).unwrap();
        assert_eq!(again.operations[0].params, index.operations[0].params);
    }
}
