//! JSON-RPC 2.0 messages, as MCP uses them.
//!
//! Incoming text is parsed leniently into [`serde_json::Value`] first and classified by hand, so that a
//! malformed message gets the precise error the spec asks for (`-32700` for bad JSON, `-32600` for a
//! wrong shape) together with its `id` whenever one can be recovered.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The standard JSON-RPC error codes, plus the ones MCP defines.
pub mod code {
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Implementation-defined server error; MCP SDKs use it for transport-level rejections.
    pub const SERVER_ERROR: i32 = -32000;
    /// MCP: the resource named in `resources/read` does not exist.
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// MCP 2026-07-28: a header disagrees with the body (or is missing).
    pub const HEADER_MISMATCH: i32 = -32020;
    /// MCP 2026-07-28: the request needs a client capability it did not declare.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
    /// MCP 2026-07-28: the declared revision is not one this server speaks.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
}

/// A request id: MCP allows strings and integers, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    String(String),
}

impl RequestId {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Self::String(s.clone())),
            Value::Number(n) => n.as_i64().map(Self::Number),
            _ => None,
        }
    }
}

/// The `error` member of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// `None` only for errors about a message whose id could not be read (sent as `"id": null`).
    pub id: Option<RequestId>,
    pub outcome: Result<Value, ErrorObject>,
}

impl Response {
    pub fn result(id: RequestId, result: Value) -> Self {
        Self { id: Some(id), outcome: Ok(result) }
    }

    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self { id, outcome: Err(error) }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The response as JSON text, written straight from its parts (no intermediate [`Value`], no copy of the
    /// result).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        match &self.outcome {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

/// One JSON-RPC message of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
}

impl Message {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (id, method, params) = match self {
            Message::Response(response) => return response.serialize(serializer),
            Message::Request(Request { id, method, params }) => (Some(id), method, params),
            Message::Notification(Notification { method, params }) => (None, method, params),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        if let Some(id) = id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("method", method)?;
        if let Some(params) = params {
            map.serialize_entry("params", params)?;
        }
        map.end()
    }
}

/// A message that could not be understood; answered with this error (and `id` where one was readable).
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub id: Option<RequestId>,
    pub error: ErrorObject,
}

impl Malformed {
    pub fn into_response(self) -> Response {
        Response::error(self.id, self.error)
    }
}

/// Whether `body` (JSON) nests arrays and objects more than `max` levels deep: checked before parsing, so
/// that a deeply nested body costs a linear scan and no recursion. Brackets inside strings do not count.
pub fn nests_deeper_than(body: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The most messages one batch may hold. Every message is answered in the same response, so without a bound one
/// body within the size limit (4 MiB of `tools/list` calls, say) asks for an answer of hundreds of megabytes.
pub const MAX_BATCH_LEN: usize = 100;

/// What one HTTP body held: a single message or a batch (allowed by the 2025-03-26 revision only).
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Single(Result<Message, Malformed>),
    Batch(Vec<Result<Message, Malformed>>),
}

impl Payload {
    /// Parses a body. Invalid JSON, an empty batch or one over [`MAX_BATCH_LEN`] is an error for the whole body.
    pub fn parse(body: &[u8]) -> Result<Self, Malformed> {
        let unparsable = |e: serde_json::Error| Malformed {
            id: None,
            error: ErrorObject::new(code::PARSE_ERROR, format!("Parse error: {e}")),
        };
        // A single message (nearly every body) is read member by member, never built as a map.
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            let members: Members = serde_json::from_slice(body).map_err(unparsable)?;
            return Ok(Self::Single(members.classify()));
        }
        let value: Value = serde_json::from_slice(body).map_err(unparsable)?;
        match value {
            Value::Array(items) if items.is_empty() => Err(Malformed {
                id: None,
                error: ErrorObject::new(code::INVALID_REQUEST, "Invalid Request: empty batch"),
            }),
            Value::Array(items) if items.len() > MAX_BATCH_LEN => Err(Malformed {
                id: None,
                error: ErrorObject::new(
                    code::INVALID_REQUEST,
                    format!(
                        "Invalid Request: a batch may hold at most {MAX_BATCH_LEN} messages, this one holds {}; \
                         send them in several POSTs",
                        items.len()
                    ),
                ),
            }),
            Value::Array(items) => Ok(Self::Batch(items.into_iter().map(classify).collect())),
            other => Ok(Self::Single(classify(other))),
        }
    }

    pub fn is_batch(&self) -> bool {
        matches!(self, Self::Batch(_))
    }

    pub fn into_items(self) -> Vec<Result<Message, Malformed>> {
        match self {
            Self::Single(item) => vec![item],
            Self::Batch(items) => items,
        }
    }

    pub fn items(&self) -> &[Result<Message, Malformed>] {
        match self {
            Self::Single(item) => std::slice::from_ref(item),
            Self::Batch(items) => items,
        }
    }
}

/// Sorts one JSON value into a request, notification or response, checking the JSON-RPC 2.0 shape.
pub fn classify(value: Value) -> Result<Message, Malformed> {
    let Value::Object(mut map) = value else {
        return Err(invalid(None, "a JSON-RPC message must be an object"));
    };
    let mut take = |key: &str| map.remove(key);
    Members {
        jsonrpc: take("jsonrpc"),
        id: take("id"),
        method: take("method"),
        params: take("params"),
        result: take("result"),
        error: take("error"),
    }
    .classify()
}

/// The members of a message object that JSON-RPC gives a meaning to (any other is ignored). Read straight from
/// the text for a single message: building the object as a map first costs a map, and a copy of every key.
#[derive(Default)]
struct Members {
    jsonrpc: Option<Value>,
    /// `Some(Value::Null)` for `"id": null`, which is not the same as no id.
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Value>,
    result: Option<Value>,
    error: Option<Value>,
}

impl Members {
    fn classify(self) -> Result<Message, Malformed> {
        let Self { jsonrpc, id: raw_id, method, params, result, error } = self;
        let id = raw_id.as_ref().and_then(RequestId::from_value);
        if jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
            return Err(invalid(id, "\"jsonrpc\" must be \"2.0\""));
        }
        if let Some(method) = method {
            let Value::String(method) = method else {
                return Err(invalid(id, "\"method\" must be a string"));
            };
            if let Some(p) = &params {
                if !p.is_object() && !p.is_array() {
                    return Err(invalid(id, "\"params\" must be an object or an array"));
                }
            }
            return match (raw_id, id) {
                (None, _) => Ok(Message::Notification(Notification { method, params })),
                (Some(_), Some(id)) => Ok(Message::Request(Request { id, method, params })),
                (Some(_), None) => {
                    Err(invalid(None, "\"id\" must be a string or an integer from -2^63 to 2^63-1"))
                }
            };
        }
        let Some(id_value) = raw_id else {
            return Err(invalid(None, "a message needs \"method\", or \"id\" with \"result\" or \"error\""));
        };
        let id = RequestId::from_value(&id_value);
        let outcome = match (result, error) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => Err(serde_json::from_value::<ErrorObject>(error)
                .map_err(|_| invalid(id.clone(), "\"error\" must have an integer code and a message"))?),
            _ => return Err(invalid(id, "a response needs exactly one of \"result\" and \"error\"")),
        };
        if id.is_none() && !id_value.is_null() {
            return Err(invalid(None, "\"id\" must be a string or an integer from -2^63 to 2^63-1"));
        }
        Ok(Message::Response(Response { id, outcome }))
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A member's name, told apart without copying it.
        enum Key {
            Jsonrpc,
            Id,
            Method,
            Params,
            Result,
            Error,
            Other,
        }
        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Names;
                impl serde::de::Visitor<'_> for Names {
                    type Value = Key;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a member name")
                    }
                    fn visit_str<E>(self, name: &str) -> Result<Key, E> {
                        Ok(match name {
                            "jsonrpc" => Key::Jsonrpc,
                            "id" => Key::Id,
                            "method" => Key::Method,
                            "params" => Key::Params,
                            "result" => Key::Result,
                            "error" => Key::Error,
                            _ => Key::Other,
                        })
                    }
                }
                deserializer.deserialize_identifier(Names)
            }
        }
        struct Object;
        impl<'de> serde::de::Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Members::default();
                while let Some(key) = map.next_key::<Key>()? {
                    // A repeated member: the last one counts, as in a map.
                    let slot = match key {
                        Key::Jsonrpc => &mut members.jsonrpc,
                        Key::Id => &mut members.id,
                        Key::Method => &mut members.method,
                        Key::Params => &mut members.params,
                        Key::Result => &mut members.result,
                        Key::Error => &mut members.error,
                        Key::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(Object)
    }
}

fn invalid(id: Option<RequestId>, why: &str) -> Malformed {
    Malformed { id, error: ErrorObject::new(code::INVALID_REQUEST, format!("Invalid Request: {why}")) }
}

#[cfg(test)]
mod depth_tests {
    use super::nests_deeper_than;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert!(!nests_deeper_than(br#"{"a":[{"b":1}]}"#, 3));
        assert!(nests_deeper_than(br#"{"a":[{"b":[1]}]}"#, 3));
        assert!(!nests_deeper_than(br#"{"a":"[[[[[[{{{{\"[[["}"#, 1));
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(nests_deeper_than(deep.as_bytes(), 64));
        assert!(!nests_deeper_than(deep.as_bytes(), 100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single(text: &str) -> Result<Message, Malformed> {
        match Payload::parse(text.as_bytes()).unwrap() {
            Payload::Single(item) => item,
            Payload::Batch(_) => panic!("expected a single message"),
        }
    }

    #[test]
    fn parses_requests_notifications_and_responses() {
        let req = single(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
        assert_eq!(
            req,
            Message::Request(Request { id: RequestId::Number(7), method: "ping".into(), params: None })
        );
        let note = single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(note, Message::Notification(n) if n.method == "notifications/initialized"));
        let resp = single(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(matches!(resp, Message::Response(Response { outcome: Ok(_), .. })));
        let err = single(r#"{"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"no"}}"#).unwrap();
        assert!(matches!(err, Message::Response(Response { outcome: Err(e), .. }) if e.code == -1));
    }

    #[test]
    fn bad_json_is_a_parse_error() {
        let err = Payload::parse(b"{not json").unwrap_err();
        assert_eq!(err.error.code, code::PARSE_ERROR);
        assert_eq!(err.id, None);
    }

    #[test]
    fn wrong_shapes_are_invalid_requests_keeping_the_id() {
        for (text, id) in [
            (r#"{"id":1,"method":"ping"}"#, Some(RequestId::Number(1))),
            (r#"{"jsonrpc":"1.0","id":"x","method":"ping"}"#, Some(RequestId::String("x".into()))),
            (r#"{"jsonrpc":"2.0","id":2,"method":5}"#, Some(RequestId::Number(2))),
            (r#"{"jsonrpc":"2.0","id":3,"method":"a","params":"str"}"#, Some(RequestId::Number(3))),
            (r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, None),
            (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, None),
            (r#"{"jsonrpc":"2.0","id":4}"#, Some(RequestId::Number(4))),
            (r#"[1]"#, None),
            (r#""hello""#, None),
        ] {
            let err = match Payload::parse(text.as_bytes()).unwrap() {
                Payload::Single(item) => item.unwrap_err(),
                Payload::Batch(mut items) => items.remove(0).unwrap_err(),
            };
            assert_eq!(err.error.code, code::INVALID_REQUEST, "{text}");
            assert_eq!(err.id, id, "{text}");
        }
    }

    #[test]
    fn a_single_message_reads_as_the_same_message_in_a_batch() {
        // A single message is read member by member; a batch's items through a map. Both must agree.
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","\u0069d":3,"method":"ping","extra":{"deep":[1,{"x":null}]}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/x","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"a","params":null}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#,
            r#"{"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0"}"#,
            r#"  {"method":"ping","jsonrpc":"2.0","id":"s"}  "#,
        ] {
            let Payload::Single(alone) = Payload::parse(text.as_bytes()).unwrap() else { panic!("{text}") };
            let Payload::Batch(mut items) = Payload::parse(format!("[{text}]").as_bytes()).unwrap() else {
                panic!("{text}")
            };
            assert_eq!(alone, items.remove(0), "{text}");
        }
        // A repeated member: the last one counts; an escaped name is the name.
        assert_eq!(
            single(r#"{"jsonrpc":"2.0","id":1,"id":2,"\u006dethod":"ping"}"#).unwrap(),
            Message::Request(Request { id: RequestId::Number(2), method: "ping".into(), params: None })
        );
        // Trailing text after the object is still a parse error.
        assert_eq!(
            Payload::parse(br#"{"jsonrpc":"2.0","method":"x"} x"#).unwrap_err().error.code,
            code::PARSE_ERROR
        );
    }

    #[test]
    fn batches_and_empty_batches() {
        let batch =
            Payload::parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#)
                .unwrap();
        assert!(batch.is_batch());
        assert_eq!(batch.items().len(), 2);
        assert_eq!(Payload::parse(b"[]").unwrap_err().error.code, code::INVALID_REQUEST);
        let batch_of =
            |n: usize| format!("[{}]", vec![r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#; n].join(","));
        assert_eq!(Payload::parse(batch_of(MAX_BATCH_LEN).as_bytes()).unwrap().items().len(), MAX_BATCH_LEN);
        let over = Payload::parse(batch_of(MAX_BATCH_LEN + 1).as_bytes()).unwrap_err();
        assert_eq!(over.error.code, code::INVALID_REQUEST);
        assert!(
            over.error.message.contains("at most 100 messages, this one holds 101"),
            "{}",
            over.error.message
        );
    }

    #[test]
    fn responses_serialize_with_null_id_when_unknown() {
        let r = Response::error(None, ErrorObject::new(code::PARSE_ERROR, "bad"));
        assert_eq!(r.to_value(), json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}));
        let ok = Response::result(RequestId::String("q".into()), json!({}));
        assert_eq!(ok.to_value(), json!({"jsonrpc":"2.0","id":"q","result":{}}));
        assert_eq!(ok.to_json(), r#"{"jsonrpc":"2.0","id":"q","result":{}}"#);
    }

    #[test]
    fn messages_written_as_json_parse_back_to_themselves() {
        let messages = [
            Message::Request(Request {
                id: RequestId::Number(7),
                method: "tools/call".into(),
                params: Some(json!({"name": "echo"})),
            }),
            Message::Request(Request {
                id: RequestId::String("r".into()),
                method: "ping".into(),
                params: None,
            }),
            Message::Notification(Notification {
                method: "notifications/progress".into(),
                params: Some(json!({"progress": 1})),
            }),
            Message::Notification(Notification { method: "notifications/initialized".into(), params: None }),
            Message::Response(Response::result(
                RequestId::Number(1),
                json!({"content": [{"type": "text", "text": "é\"\n"}]}),
            )),
            Message::Response(Response::error(
                Some(RequestId::Number(2)),
                ErrorObject::new(code::INVALID_PARAMS, "x").with_data(json!({"uri": "a"})),
            )),
        ];
        for message in messages {
            let text = message.to_json();
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), message.to_value(), "{text}");
            assert_eq!(Payload::parse(text.as_bytes()).unwrap(), Payload::Single(Ok(message)), "{text}");
        }
    }
}
