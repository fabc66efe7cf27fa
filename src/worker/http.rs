//! Building `worker::Response`s from the core's answers, and reading headers.

use worker::{Headers, Request, RequestInit, Response, ResponseBuilder};

use crate::error::HttpError;
use crate::transport::sse;
use crate::transport::streamable_http::{ResponseMode, SESSION_HEADER};

pub const JSON: &str = "application/json";
pub const EVENT_STREAM: &str = "text/event-stream";

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A response with `status`, `headers` and a text `body` (empty for no body).
pub fn respond(status: u16, headers: &[(&str, &str)], body: String) -> Response {
    let h = Headers::new();
    for (name, value) in headers {
        let _ = h.set(name, value);
    }
    let builder = ResponseBuilder::new().with_status(status).with_headers(h);
    if body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(body.into_bytes())
    }
}

pub fn json(status: u16, body: String) -> Response {
    respond(status, &[("Content-Type", JSON)], body)
}

/// The JSON-RPC error body, status and headers for `err`.
pub fn error(err: &HttpError) -> Response {
    if let HttpError::Internal(why) = err {
        worker::console_error!("internal error: {why}");
    }
    let extra = err.headers();
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", JSON)];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    respond(err.status(), &headers, err.to_body())
}

/// Headers of every SSE response.
pub fn sse_headers(h: &Headers) {
    let _ = h.set("Content-Type", EVENT_STREAM);
    let _ = h.set("Cache-Control", "no-cache, no-transform");
}

/// Reads a request body of at most `limit` bytes: the declared length is checked before reading, the real
/// one after (a chunked body declares none).
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, HttpError> {
    crate::transport::streamable_http::check_content_length(header(req, "Content-Length").as_deref(), limit)?;
    let body = req.bytes().await.map_err(|e| HttpError::BadRequest(format!("unreadable body: {e}")))?;
    if body.len() > limit {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    Ok(body)
}

/// Logs a runtime failure and turns it into a 500 that says nothing internal.
pub fn internal(context: &str, err: impl std::fmt::Display) -> HttpError {
    HttpError::Internal(format!("{context}: {err}"))
}

/// The answer to `initialize`: its result as JSON or as a one-event stream, with the new session's id.
pub fn opened(mode: ResponseMode, response: &crate::model::Response, session_id: &str) -> Response {
    let json = response.to_value().to_string();
    let (content_type, body) = match mode {
        ResponseMode::Json => (JSON, json),
        ResponseMode::Sse => (EVENT_STREAM, sse::message(None, &json)),
    };
    respond(
        200,
        &[("Content-Type", content_type), ("Cache-Control", "no-cache"), (SESSION_HEADER, session_id)],
        body,
    )
}

/// A copy of `req` carrying `body`, once the original body has been read.
pub fn with_body(req: &Request, body: Vec<u8>) -> Result<Request, HttpError> {
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone())
        .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    Request::new_with_init(&req.inner().url(), &init).map_err(|e| internal("copying the request", e))
}
