//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a session and its stream, `POST /messages?sessionId=`
//! feeds it (paths set by `MCP_SSE_PATH` and `MCP_MESSAGES_PATH`). Both end in the session's Durable Object.

use super::Routed;

use super::incoming::{Body, Incoming};
use super::{call_session, Admitted, Failure};
use crate::error::HttpError;
use crate::session::id::Kind;
use crate::transport::legacy_sse;
use crate::transport::session_call::{Operation, SessionCall};
use crate::transport::streamable_http as shttp;

/// `GET /sse`: a new session, owned by the caller, whose stream is the response.
pub async fn open(req: &Incoming, at: &Admitted<'_>) -> Result<Routed, Failure> {
    if req.method != "GET" {
        return Err(HttpError::MethodNotAllowed { allow: "GET, OPTIONS" }.into());
    }
    let id = at.ids.mint_plain();
    super::caller_object::open_session(at.env, at.settings, &at.caller, &id).await?;
    let mut call = SessionCall::new(Operation::LegacyOpen, &id, &at.caller);
    call.tools = at.tools.clone();
    Ok(call_session(at.env, &call, Body::None)?)
}

/// `POST /messages?sessionId=<id>`: 202, the replies go out on the session's stream.
pub async fn message(req: &Incoming, at: &Admitted<'_>, query: Option<&str>) -> Result<Routed, Failure> {
    if req.method != "POST" {
        return Err(HttpError::MethodNotAllowed { allow: "POST, OPTIONS" }.into());
    }
    let id = legacy_sse::session_from_query(query)?;
    let body = req.read_body(at.settings.max_body_bytes, at.ctx).await?;
    let checked = (|| {
        // This transport predates the 415 rule of Streamable HTTP: a wrong type is a plain bad request.
        shttp::check_content_type(req.header("Content-Type").as_deref())
            .map_err(|_| HttpError::BadRequest("Content-Type must be application/json".into()))?;
        match at.ids.verify(&id, super::now_ms()) {
            Some(Kind::Plain) => Ok(()),
            _ => Err(HttpError::SessionNotFound),
        }
    })();
    checked.map_err(|e| Failure::answering(e, &body))?;
    let mut call = SessionCall::new(Operation::LegacyMessage, &id, &at.caller);
    call.tools = at.tools.clone();
    call.bearer = at.bearer.clone().map(crate::transport::session_call::Bearer);
    Ok(call_session(at.env, &call, Body::Bytes(body))?)
}
