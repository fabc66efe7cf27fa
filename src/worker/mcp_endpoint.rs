//! `/mcp`: the Streamable HTTP endpoint. Header checks here; everything inside a session happens in the
//! session's Durable Object.

use worker::{Env, Method, Request, Response};

use super::{forward, http, send, session_object};
use crate::config::Settings;
use crate::error::HttpError;
use crate::model::Payload;
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
        // The session's object reads and parses the body (one parse per request); refuse a declared
        // oversize body before forwarding it.
        shttp::check_content_length(
            http::header(&req, "Content-Length").as_deref(),
            settings.max_body_bytes,
        )?;
        return forward(req, env, &id).await;
    }
    let body = http::read_body(&mut req, settings.max_body_bytes).await?;
    let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
    match shttp::route_post(&payload, None)? {
        PostTarget::NewSession(_) => {
            let id = crate::session::id::generate();
            let inner = session_object::internal_request(
                session_object::INITIALIZE_PATH,
                Method::Post,
                &id,
                http::header(&req, "Accept"),
                Some(body),
            )?;
            send(env, &id, inner).await
        }
        PostTarget::Session(_) => Err(HttpError::SessionRequired),
    }
}
