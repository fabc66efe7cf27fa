//! `/mcp`: the Streamable HTTP endpoint. Header checks, session-id verification and `initialize` here (opening
//! a session creates no Durable Object, see [`crate::session::id`]); everything inside a session happens in the
//! session's object, which the Worker addresses in its own words ([`SessionCall`]).

use super::Routed;

use super::incoming::{Body, Incoming};
use super::{call_session, http, Admitted, Failure};
use crate::error::HttpError;
use crate::model::{Payload, ProtocolVersion};
use crate::session::id::Kind;
use crate::transport::session_call::{Operation, SessionCall};
use crate::transport::stateless::{self, Era};
use crate::transport::streamable_http::{self as shttp, PostTarget, PROTOCOL_VERSION_HEADER, SESSION_HEADER};

pub async fn handle(req: &Incoming, at: &Admitted<'_>) -> Result<Routed, Failure> {
    let session_header = req.header(SESSION_HEADER);
    if req.method == "POST" && session_header.is_none() {
        return match post_without_session(req, at).await {
            Ok(response) => Ok(response),
            Err(Refused { error, body }) => Err(answering(req, at, error, body).await),
        };
    }
    let checked = check_session_headers(req, session_header.as_deref());
    if req.method == "POST" {
        let posted = match checked {
            Ok((session, revision)) => post(req, at, session, revision).await,
            Err(error) => Err(error.into()),
        };
        return match posted {
            Ok(response) => Ok(response),
            // Header errors too answer the request's id, read from the body.
            Err(Refused { error, body }) => Err(answering(req, at, error, body).await),
        };
    }
    let (session, revision) = checked?;
    match req.method.as_str() {
        "GET" => {
            shttp::check_get_accept(req.header("Accept").as_deref())?;
            let id = session.ok_or(HttpError::SessionRequired)?;
            let last_event_id = req.header("Last-Event-ID");
            // Checked here too, so a malformed one never travels to the object.
            if let Some(last) = &last_event_id {
                crate::stream::parse_last_event_id(last)?;
            }
            let (mut call, _) = session_call(at, Operation::Listen, &id, revision)?;
            call.last_event_id = last_event_id;
            Ok(call_session(at.env, &call, Body::None)?)
        }
        "DELETE" => {
            let id = session.ok_or(HttpError::SessionRequired)?;
            let (call, _) = session_call(at, Operation::End, &id, revision)?;
            Ok(call_session(at.env, &call, Body::None)?)
        }
        _ => Err(HttpError::MethodNotAllowed { allow: "GET, POST, DELETE, OPTIONS" }.into()),
    }
}

/// The session a request names and the revision it declares, once both headers are well-formed.
fn check_session_headers(
    req: &Incoming,
    session_header: Option<&str>,
) -> Result<(Option<String>, Option<ProtocolVersion>), HttpError> {
    let revision = shttp::check_protocol_version(req.header(PROTOCOL_VERSION_HEADER).as_deref())?;
    if revision.is_some_and(ProtocolVersion::is_stateless) {
        // Refused here, so that no session object wakes (or is created) for it.
        return Err(HttpError::BadRequest(
            "MCP-Protocol-Version 2026-07-28 has no sessions: send each request without Mcp-Session-Id, as a POST \
             carrying its context in params._meta"
                .into(),
        ));
    }
    let session = shttp::check_session_header(session_header)?.map(str::to_string);
    Ok((session, revision))
}

/// A refused POST, with its body if it was read already.
struct Refused {
    error: HttpError,
    body: Option<Vec<u8>>,
}

impl From<HttpError> for Refused {
    fn from(error: HttpError) -> Self {
        Self { error, body: None }
    }
}

/// `error` for a POST, answering the id of its request: from the body already read, or read now (within the
/// limit; an unreadable or oversized body leaves the id unknown). `initialize` carrying a session id is refused
/// as such (400), whatever the id names.
async fn answering(req: &Incoming, at: &Admitted<'_>, error: HttpError, body: Option<Vec<u8>>) -> Failure {
    let body = match body {
        Some(body) => body,
        None if matches!(error, HttpError::PayloadTooLarge { .. }) => Vec::new(),
        None => req.read_body(at.settings.max_body_bytes, at.ctx).await.unwrap_or_default(),
    };
    let payload = Payload::parse(&body).ok();
    let error = match (&error, payload.as_ref().and_then(shttp::initialize_request)) {
        (HttpError::SessionNotFound, Some(init)) => HttpError::already_initialized(Some(init.id.clone())),
        _ => error,
    };
    Failure::answering(error, &body)
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
    match super::isolate::verified_session(at.ids, id, &at.caller, super::now_ms()) {
        Some(kind) => {
            let mut call = SessionCall::new(op, id, &at.caller);
            call.revision = revision;
            call.tools = at.tools.clone();
            if op == Operation::Post {
                call.bearer = at.bearer.clone().map(crate::transport::session_call::Bearer);
            }
            Ok((call, kind))
        }
        None => Err(HttpError::SessionNotFound),
    }
}

async fn post(
    req: &Incoming,
    at: &Admitted<'_>,
    session: Option<String>,
    revision: Option<ProtocolVersion>,
) -> Result<Routed, Refused> {
    shttp::check_post_accept(req.header("Accept").as_deref())?;
    shttp::check_content_type(req.header("Content-Type").as_deref())?;
    let id = session.ok_or(HttpError::SessionRequired)?;
    post_to_session(req, at, &id, revision).await
}

/// A POST without `Mcp-Session-Id`: which era it speaks is in its body. A request whose `_meta` claims a
/// revision is stateless (even an unknown one: it gets -32022 there); a lone notification of that era is
/// acknowledged (there is nothing to cancel without a session); anything else is the session era's
/// `initialize`.
async fn post_without_session(req: &Incoming, at: &Admitted<'_>) -> Result<Routed, Refused> {
    shttp::check_post_accept(req.header("Accept").as_deref())?;
    shttp::check_content_type(req.header("Content-Type").as_deref())?;
    let body = req.read_body(at.settings.max_body_bytes, at.ctx).await?;
    if let Err(error) = shttp::check_depth(&body, at.settings.max_json_depth) {
        return Err(Refused { error, body: Some(body) });
    }
    let header_version = req.header(PROTOCOL_VERSION_HEADER);
    let payload = match Payload::parse(&body) {
        Ok(payload) => payload,
        Err(malformed) => return Err(Refused { error: HttpError::Parse(malformed.error), body: Some(body) }),
    };
    match stateless::classify(payload, header_version.as_deref()) {
        Era::Stateless(request) => super::stateless_endpoint::post(req, at, request, header_version)
            .await
            .map(Routed::Here)
            .map_err(|f| Refused { error: f.error, body: Some(body) }),
        Era::Acknowledge => Ok(http::respond(202, &[], String::new()).into()),
        Era::Refused(response) => Err(Refused { error: response.into(), body: None }),
        Era::Session(payload) => {
            shttp::check_protocol_version(header_version.as_deref())?;
            let opened = open_session(at, &payload, &body).await;
            opened.map_err(|error| Refused { error, body: Some(body) })
        }
    }
}

/// `initialize`: answered here, with a deferred id; the session's object is created by its first request.
async fn open_session(at: &Admitted<'_>, payload: &Payload, body: &[u8]) -> Result<Routed, HttpError> {
    let PostTarget::NewSession(init) = shttp::route_post(payload, None)? else {
        return Err(HttpError::SessionRequired);
    };
    let server = super::isolate::server(at.env, at.settings).await;
    // Invalid initialize params: 400, and no session is created.
    let (response, opening) = server.initialize_by(&init, &at.caller, super::now_ms())?;
    match at.ids.mint(&opening, &at.caller) {
        Some(id) => {
            super::caller_object::open_session(at.env, at.settings, &at.caller, &id).await?;
            Ok(http::opened(at.settings.response_mode, &response, &id).into())
        }
        // An opening too big to carry in an id: the object is created now, from the same request.
        None => {
            let id = at.ids.mint_plain();
            super::caller_object::open_session(at.env, at.settings, &at.caller, &id).await?;
            let call = SessionCall::new(Operation::Initialize, &id, &at.caller);
            call_session(at.env, &call, Body::Bytes(body.to_vec()))
        }
    }
}

/// A POST inside a session goes to the session's object, which parses the body (one parse per request). The
/// body travels unread when its length is declared, except a short one for a deferred session: it may be the
/// lone `notifications/initialized` the Worker acknowledges itself, so that opening a session never creates an
/// object.
async fn post_to_session(
    req: &Incoming,
    at: &Admitted<'_>,
    id: &str,
    revision: Option<ProtocolVersion>,
) -> Result<Routed, Refused> {
    let (call, kind) = session_call(at, Operation::Post, id, revision)?;
    let limit = at.settings.max_body_bytes;
    let length = req.header("Content-Length");
    let declared: Option<usize> = length.as_deref().and_then(|v| v.trim().parse().ok());
    let may_be_initialized =
        matches!(kind, Kind::Deferred { .. }) && declared.is_none_or(|n| shttp::PEEK_RANGE.contains(&n));
    if !may_be_initialized {
        if let Some(body) = req.declared_body(length.as_deref(), limit)? {
            return Ok(call_session(at.env, &call, body)?);
        }
    }
    let body = req.read_body(limit, at.ctx).await?;
    if let Kind::Deferred { opening, .. } = &kind {
        let fresh = !opening.is_stale(super::now_ms(), at.settings.session_ttl_ms);
        let payload = Payload::parse(&body).ok();
        if fresh && payload.as_ref().is_some_and(shttp::is_lone_initialized) {
            return Ok(http::respond(202, &[], String::new()).into());
        }
    }
    Ok(call_session(at.env, &call, Body::Bytes(body))?)
}
