//! `/mcp`: the Streamable HTTP endpoint. Header checks, session-id verification and `initialize` here (opening
//! a session creates no Durable Object, see [`crate::session::id`]); everything inside a session happens in the
//! session's object, which the Worker addresses in its own words ([`SessionCall`]).

use worker::{Date, Method, Request, Response};

use super::{call_session, http, Admitted, Failure};
use crate::error::HttpError;
use crate::model::{Payload, ProtocolVersion};
use crate::session::id::Kind;
use crate::transport::session_call::{Operation, SessionCall};
use crate::transport::streamable_http::{self as shttp, PostTarget, PROTOCOL_VERSION_HEADER, SESSION_HEADER};

pub async fn handle(mut req: Request, at: &Admitted<'_>) -> Result<Response, Failure> {
    let revision = shttp::check_protocol_version(http::header(&req, PROTOCOL_VERSION_HEADER).as_deref())?;
    let session_header = http::header(&req, SESSION_HEADER);
    let session = shttp::check_session_header(session_header.as_deref())?.map(str::to_string);
    match req.method() {
        Method::Post => {
            // Read first (within the limit), so that every later error can answer with the request's id.
            let body = http::read_body(&mut req, at.settings.max_body_bytes, at.ctx).await?;
            post(&req, at, session, revision, &body).await.map_err(|e| Failure::answering(e, &body))
        }
        Method::Get => {
            shttp::check_get_accept(http::header(&req, "Accept").as_deref())?;
            let id = session.ok_or(HttpError::SessionRequired)?;
            let last_event_id = http::header(&req, "Last-Event-ID");
            // Checked here too, so a malformed one never travels to the object.
            if let Some(last) = &last_event_id {
                crate::stream::parse_last_event_id(last)?;
            }
            let (mut call, _) = session_call(at, Operation::Listen, &id, revision)?;
            call.last_event_id = last_event_id;
            Ok(call_session(at.env, &call, None).await?)
        }
        Method::Delete => {
            let id = session.ok_or(HttpError::SessionRequired)?;
            let (call, _) = session_call(at, Operation::End, &id, revision)?;
            Ok(call_session(at.env, &call, None).await?)
        }
        _ => Err(HttpError::MethodNotAllowed { allow: "GET, POST, DELETE, OPTIONS" }.into()),
    }
}

/// The call for an existing session `id`, once the id is verified and belongs to the caller (a deferred id
/// says who opened it, so a stranger is refused without reaching any object). Anything else is 404: the
/// session does not exist as far as this caller can tell.
fn session_call(
    at: &Admitted<'_>,
    op: Operation,
    id: &str,
    revision: Option<ProtocolVersion>,
) -> Result<(SessionCall, Kind), HttpError> {
    match at.ids.verify(id, Date::now().as_millis()) {
        Some(Kind::Deferred { owner, .. }) if !at.ids.is_owner(&owner, &at.caller) => {
            Err(HttpError::SessionNotFound)
        }
        Some(kind) => {
            let mut call = SessionCall::new(op, id, &at.caller);
            call.revision = revision;
            Ok((call, kind))
        }
        None => Err(HttpError::SessionNotFound),
    }
}

async fn post(
    req: &Request,
    at: &Admitted<'_>,
    session: Option<String>,
    revision: Option<ProtocolVersion>,
    body: &[u8],
) -> Result<Response, HttpError> {
    shttp::check_post_accept(http::header(req, "Accept").as_deref())?;
    shttp::check_content_type(http::header(req, "Content-Type").as_deref())?;
    if let Some(id) = session {
        return post_to_session(at, &id, revision, body).await;
    }
    let payload = Payload::parse(body).map_err(|m| HttpError::Parse(m.error))?;
    let PostTarget::NewSession(init) = shttp::route_post(&payload, None)? else {
        return Err(HttpError::SessionRequired);
    };
    let server = super::isolate::server(at.env, at.settings);
    // Invalid initialize params: 400, and no session is created.
    let (response, opening) = server.initialize(&init, Date::now().as_millis())?;
    match at.ids.mint(&opening, &at.caller) {
        // The session's object is created by its first request that needs it.
        Some(id) => Ok(http::opened(at.settings.response_mode, &response, &id)),
        // An opening too big to carry in an id: the object is created now, from the same request.
        None => {
            let id = at.ids.mint_plain();
            let call = SessionCall::new(Operation::Initialize, &id, &at.caller);
            call_session(at.env, &call, Some(body.to_vec())).await
        }
    }
}

/// A POST inside a session goes to the session's object, which parses the body (one parse per request),
/// except a lone `notifications/initialized` for a deferred session that is not stale: the Worker
/// acknowledges that one itself, so opening a session never creates an object.
async fn post_to_session(
    at: &Admitted<'_>,
    id: &str,
    revision: Option<ProtocolVersion>,
    body: &[u8],
) -> Result<Response, HttpError> {
    let (call, kind) = session_call(at, Operation::Post, id, revision).map_err(|e| {
        // `initialize` carrying a session id is refused as such (400), whatever the id names.
        let payload = Payload::parse(body).ok();
        match payload.as_ref().and_then(shttp::initialize_request) {
            Some(init) => HttpError::already_initialized(Some(init.id.clone())),
            None => e,
        }
    })?;
    if body.len() <= shttp::PEEK_LIMIT {
        if let Kind::Deferred { opening, .. } = kind {
            let payload = Payload::parse(body).map_err(|m| HttpError::Parse(m.error))?;
            let fresh = !opening.is_stale(Date::now().as_millis(), at.settings.session_ttl_ms);
            if shttp::is_lone_initialized(&payload) && fresh {
                return Ok(http::respond(202, &[], String::new()));
            }
        }
    }
    call_session(at.env, &call, Some(body.to_vec())).await
}
