//! `/mcp`: the Streamable HTTP endpoint. Header checks and `initialize` here (opening a session creates no
//! Durable Object, see [`crate::session::id`]); everything inside a session happens in the session's object.

use worker::{Date, Env, Method, Request, Response};

use super::{forward, http, isolate, send, session_object};
use crate::config::Settings;
use crate::error::HttpError;
use crate::model::Payload;
use crate::session::{self, id::Kind};
use crate::transport::streamable_http::{self as shttp, PostTarget, PROTOCOL_VERSION_HEADER, SESSION_HEADER};

pub async fn handle(req: Request, env: &Env, settings: &Settings) -> Result<Response, HttpError> {
    shttp::check_protocol_version(http::header(&req, PROTOCOL_VERSION_HEADER).as_deref())?;
    let session_header = http::header(&req, SESSION_HEADER);
    let session = shttp::check_session_header(session_header.as_deref())?.map(str::to_string);
    match req.method() {
        Method::Post => post(req, env, settings, session).await,
        Method::Get => {
            shttp::check_get_accept(http::header(&req, "Accept").as_deref())?;
            forward(req, env, &session.ok_or(HttpError::SessionRequired)?).await
        }
        Method::Delete => forward(req, env, &session.ok_or(HttpError::SessionRequired)?).await,
        _ => Err(HttpError::MethodNotAllowed { allow: "GET, POST, DELETE, OPTIONS" }),
    }
}

async fn post(
    mut req: Request,
    env: &Env,
    settings: &Settings,
    session: Option<String>,
) -> Result<Response, HttpError> {
    shttp::check_post_accept(http::header(&req, "Accept").as_deref())?;
    shttp::check_content_type(http::header(&req, "Content-Type").as_deref())?;
    if let Some(id) = session {
        return post_to_session(req, env, settings, &id).await;
    }
    let body = http::read_body(&mut req, settings.max_body_bytes).await?;
    let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
    let PostTarget::NewSession(init) = shttp::route_post(&payload, None)? else {
        return Err(HttpError::SessionRequired);
    };
    let server = isolate::server(env, settings);
    let (response, opening) = match server.initialize(&init, Date::now().as_millis()) {
        Ok(opened) => opened,
        // Invalid initialize params: no session is created.
        Err(error) => return Ok(http::json(400, error.to_value().to_string())),
    };
    match session::id::mint(&opening) {
        // The session's object is created by its first request that needs it.
        Some(id) => Ok(http::opened(settings.response_mode, &response, &id)),
        // An opening too big to carry in an id: the object is created now, from the same request.
        None => {
            let id = session::id::generate();
            let inner = session_object::internal_request(
                session_object::INITIALIZE_PATH,
                Method::Post,
                &id,
                http::header(&req, "Accept"),
                Some(body),
            )?;
            send(env, &id, inner).await
        }
    }
}

/// A POST inside a session goes to the session's object, which reads and parses the body (one parse per
/// request), except a lone `notifications/initialized` for a deferred session that is not stale: the
/// Worker acknowledges that one itself, so opening a session never creates an object.
async fn post_to_session(
    mut req: Request,
    env: &Env,
    settings: &Settings,
    id: &str,
) -> Result<Response, HttpError> {
    let length = http::header(&req, "Content-Length");
    shttp::check_content_length(length.as_deref(), settings.max_body_bytes)?;
    let short = length.and_then(|v| v.trim().parse::<usize>().ok()).is_some_and(|n| n <= shttp::PEEK_LIMIT);
    if !(short && session::id::is_deferred(id)) {
        return forward(req, env, id).await;
    }
    let body = http::read_body(&mut req, settings.max_body_bytes).await?;
    let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
    // Decoded once here; `send` then skips `forward`'s check of the same id.
    let Some(Kind::Deferred(opening)) = session::id::classify(id) else {
        return Err(HttpError::SessionNotFound);
    };
    if shttp::is_lone_initialized(&payload)
        && !opening.is_stale(Date::now().as_millis(), settings.session_ttl_ms)
    {
        return Ok(http::respond(202, &[], String::new()));
    }
    send(env, id, http::with_body(&req, body)?).await
}
