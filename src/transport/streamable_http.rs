//! The Streamable HTTP transport's rules (2025-03-26 to 2025-11-25), free of any HTTP library: header
//! checks, where a POST goes, and how a POST's messages are answered inside a session.

use crate::cancellation::Cancellation;
use crate::error::HttpError;
use crate::handler::{RequestContext, Server};
use crate::model::jsonrpc::Malformed;
use crate::model::{Message, Payload, ProtocolVersion, Request, RequestId, Response};
use crate::session::id as session_id;

pub const SESSION_HEADER: &str = "mcp-session-id";
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// How a POST carrying requests is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// One `application/json` body.
    #[default]
    Json,
    /// A `text/event-stream` that ends with the response(s).
    Sse,
}

impl ResponseMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" | "" => Some(Self::Json),
            "sse" => Some(Self::Sse),
            _ => None,
        }
    }
}

fn accepts(accept: Option<&str>, media_type: &str) -> bool {
    accept.is_some_and(|value| {
        value
            .split(',')
            .map(|range| range.split(';').next().unwrap_or("").trim())
            .any(|range| range.eq_ignore_ascii_case(media_type))
    })
}

/// A body nested deeper than `max` levels (`MCP_MAX_JSON_DEPTH`) is refused before it is parsed.
pub fn check_depth(body: &[u8], max: usize) -> Result<(), HttpError> {
    if crate::model::jsonrpc::nests_deeper_than(body, max) {
        return Err(HttpError::InvalidRequest {
            id: None,
            message: format!("the JSON is nested deeper than {max} levels (MCP_MAX_JSON_DEPTH)"),
        });
    }
    Ok(())
}

/// A POST must accept both `application/json` and `text/event-stream`.
pub fn check_post_accept(accept: Option<&str>) -> Result<(), HttpError> {
    if accepts(accept, "application/json") && accepts(accept, "text/event-stream") {
        Ok(())
    } else {
        Err(HttpError::NotAcceptable("both application/json and text/event-stream"))
    }
}

/// A GET must accept `text/event-stream`.
pub fn check_get_accept(accept: Option<&str>) -> Result<(), HttpError> {
    if accepts(accept, "text/event-stream") {
        Ok(())
    } else {
        Err(HttpError::NotAcceptable("text/event-stream"))
    }
}

pub fn check_content_type(content_type: Option<&str>) -> Result<(), HttpError> {
    let media = content_type.and_then(|v| v.split(';').next()).map(str::trim);
    if media.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        Ok(())
    } else {
        Err(HttpError::UnsupportedMediaType)
    }
}

/// Refuses a body over `limit` by its declared length, before reading it.
pub fn check_content_length(content_length: Option<&str>, limit: usize) -> Result<(), HttpError> {
    let Some(declared) = content_length else { return Ok(()) };
    match declared.trim().parse::<u64>() {
        Ok(len) if len > limit as u64 => Err(HttpError::PayloadTooLarge { limit }),
        Ok(_) => Ok(()),
        Err(_) => Err(HttpError::BadRequest("Content-Length must be a whole number of bytes".into())),
    }
}

/// The `MCP-Protocol-Version` header: absent is fine (2025-03-26 is assumed), unknown is 400.
pub fn check_protocol_version(header: Option<&str>) -> Result<Option<ProtocolVersion>, HttpError> {
    match header.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => ProtocolVersion::parse(v)
            .map(Some)
            .ok_or_else(|| HttpError::UnsupportedProtocolVersion(v.to_string())),
    }
}

/// The `Mcp-Session-Id` header, if any, checked for the characters the spec allows.
pub fn check_session_header(value: Option<&str>) -> Result<Option<&str>, HttpError> {
    match value {
        None => Ok(None),
        Some(v) if session_id::is_valid_header(v) => Ok(Some(v)),
        Some(_) => Err(HttpError::MalformedSessionId),
    }
}

/// Where a POST goes.
#[derive(Debug, Clone, PartialEq)]
pub enum PostTarget {
    /// An `initialize` request: a new session is created for it.
    NewSession(Request),
    /// Everything else: the session named by the header.
    Session(String),
}

/// The `initialize` request a POST holds, if any.
pub fn initialize_request(payload: &Payload) -> Option<&Request> {
    payload.items().iter().find_map(|item| match item {
        Ok(Message::Request(r)) if r.method == "initialize" => Some(r),
        _ => None,
    })
}

/// Decides where a parsed POST goes, or why it is refused.
pub fn route_post(payload: &Payload, session: Option<&str>) -> Result<PostTarget, HttpError> {
    if let Some(init) = initialize_request(payload) {
        if payload.is_batch() {
            return Err(HttpError::InvalidRequest {
                id: Some(init.id.clone()),
                message: "initialize must be sent alone, not in a batch".into(),
            });
        }
        return match session {
            Some(_) => Err(HttpError::already_initialized(Some(init.id.clone()))),
            None => Ok(PostTarget::NewSession(init.clone())),
        };
    }
    if let Payload::Single(Err(malformed)) = payload {
        return Err(malformed.clone().into());
    }
    match session {
        Some(id) if session_id::is_well_formed(id) => Ok(PostTarget::Session(id.to_string())),
        Some(_) => Err(HttpError::SessionNotFound),
        None => Err(HttpError::SessionRequired),
    }
}

/// Whether a POST holds nothing but `notifications/initialized`. The Worker acknowledges it for a deferred
/// session (see [`crate::session::id`]) without creating the session's object: it changes nothing the object
/// keeps.
pub fn is_lone_initialized(payload: &Payload) -> bool {
    matches!(payload, Payload::Single(Ok(Message::Notification(n))) if n.method == "notifications/initialized")
}

/// Bodies of a declared length in this range may be the lone `notifications/initialized` that follows
/// `initialize` (`{"jsonrpc":"2.0","method":"notifications/initialized"}` is 54 bytes; a little more with
/// `params` or spaces): the Worker reads those to acknowledge it without the session's object. Others go to the
/// object unread (reading a body in the Worker too costs a measurable share of a request).
pub const PEEK_RANGE: std::ops::RangeInclusive<usize> = 54..=96;

/// A batch is refused (400, `-32600`) where the revision has none: every revision but 2025-03-26 (and the
/// 2024-11-05 legacy transport).
pub fn check_batch(payload: &Payload, version: ProtocolVersion) -> Result<(), HttpError> {
    if payload.is_batch() && !version.allows_batches() {
        let message = format!("JSON-RPC batches are not supported in protocol revision {version}");
        return Err(HttpError::InvalidRequest { id: None, message });
    }
    Ok(())
}

/// The id of the first request a body holds, if it can be read: error bodies answer with it.
pub fn first_request_id(payload: &Payload) -> Option<RequestId> {
    payload.items().iter().find_map(|item| match item {
        Ok(Message::Request(r)) => Some(r.id.clone()),
        Err(malformed) => malformed.id.clone(),
        _ => None,
    })
}

/// What a POST inside a session produced.
#[derive(Debug, Clone, PartialEq)]
pub enum PostOutcome {
    /// Only notifications and responses: 202, no body.
    Accepted,
    /// Answers to the requests, in order (a cancelled request has none); `batch` says whether to send them as
    /// an array.
    Responses { responses: Vec<Response>, batch: bool },
}

/// Answers the messages of one POST inside an existing session, with the session's context `cx` (its peer
/// is the POST's stream); responses from the client (answers to our requests) go to `on_client_response`.
pub async fn handle_post(
    server: &Server,
    cx: &RequestContext,
    payload: Payload,
    on_client_response: &dyn Fn(Response),
) -> Result<PostOutcome, HttpError> {
    let batch = payload.is_batch();
    check_batch(&payload, cx.protocol_version)?;
    if let Some(init) = initialize_request(&payload) {
        return Err(HttpError::already_initialized(Some(init.id.clone())));
    }
    let items = payload.into_items();
    if !batch {
        if let Some(Err(malformed)) = items.first() {
            return Err(malformed.clone().into());
        }
    }
    let saw_request = items.iter().any(|item| matches!(item, Ok(Message::Request(_)) | Err(_)));
    let mut responses = Vec::new();
    for admitted in admit_all(server, cx, items) {
        match admitted {
            Admitted::Request(request, Ok(cancellation)) => {
                responses.extend(server.answer(&request, cx, cancellation).await);
            }
            Admitted::Request(_, Err(refused)) => responses.push(refused),
            Admitted::Other(message) => {
                responses.extend(server.handle_message(message, cx, on_client_response).await)
            }
            Admitted::Malformed(malformed) => responses.push(malformed.into_response()),
        }
    }
    Ok(if saw_request { PostOutcome::Responses { responses, batch } } else { PostOutcome::Accepted })
}

/// One message of a POST, with its requests admitted up front (see [`Server::admit`]).
pub enum Admitted {
    Request(Request, Result<Cancellation, Response>),
    /// Notifications, responses, and `initialize` (which is never in flight: it opens a session).
    Other(Message),
    Malformed(Malformed),
}

/// Admits every request of a POST before any runs, so that `notifications/cancelled` for a later request of a
/// batch finds it, and two requests of one batch cannot share an id.
pub fn admit_all(
    server: &Server,
    cx: &RequestContext,
    items: Vec<Result<Message, Malformed>>,
) -> Vec<Admitted> {
    items
        .into_iter()
        .map(|item| match item {
            Ok(Message::Request(request)) if request.method != "initialize" => {
                let admission = server.admit(&request, cx);
                Admitted::Request(request, admission)
            }
            Ok(other) => Admitted::Other(other),
            Err(malformed) => Admitted::Malformed(malformed),
        })
        .collect()
}

/// The `application/json` body for `responses`.
pub fn json_body(responses: &[Response], batch: bool) -> String {
    if batch {
        serde_json::to_string(responses).unwrap_or_default()
    } else {
        responses.first().map(|r| r.to_json()).unwrap_or_default()
    }
}
