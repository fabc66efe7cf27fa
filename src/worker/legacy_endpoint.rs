//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a session and its stream, `POST /messages?sessionId=`
//! feeds it (paths set by `MCP_SSE_PATH` and `MCP_MESSAGES_PATH`). Both end in the session's Durable Object.

use worker::{Env, Method, Request, Response};

use super::{http, send, session_object};
use crate::config::Settings;
use crate::error::HttpError;
use crate::transport::legacy_sse;
use crate::transport::streamable_http as shttp;

/// `GET /sse`: a new session whose stream is the response.
pub async fn open(req: Request, env: &Env) -> Result<Response, HttpError> {
    if req.method() != Method::Get {
        return Err(HttpError::MethodNotAllowed { allow: "GET, OPTIONS" });
    }
    let id = crate::session::id::generate();
    let inner =
        session_object::internal_request(session_object::LEGACY_OPEN_PATH, Method::Get, &id, None, None)?;
    send(env, &id, inner).await
}

/// `POST /messages?sessionId=<id>`: 202, the replies go out on the session's stream.
pub async fn message(
    mut req: Request,
    env: &Env,
    settings: &Settings,
    query: Option<&str>,
) -> Result<Response, HttpError> {
    if req.method() != Method::Post {
        return Err(HttpError::MethodNotAllowed { allow: "POST, OPTIONS" });
    }
    let id = legacy_sse::session_from_query(query)?;
    // This transport predates the 415 rule of Streamable HTTP: a wrong type is a plain bad request.
    shttp::check_content_type(http::header(&req, "Content-Type").as_deref())
        .map_err(|_| HttpError::BadRequest("Content-Type must be application/json".into()))?;
    let body = http::read_body(&mut req, settings.max_body_bytes).await?;
    let inner = session_object::internal_request(
        session_object::LEGACY_MESSAGE_PATH,
        Method::Post,
        &id,
        None,
        Some(body),
    )?;
    send(env, &id, inner).await
}
