//! Building `worker::Response`s from the core's answers, and reading headers.

use wasm_bindgen::JsCast;
use worker::worker_sys::web_sys;
use worker::{Headers, Request, Response, ResponseBuilder};

use crate::error::HttpError;
use crate::model::RequestId;
use crate::transport::sse;
use crate::transport::streamable_http::{ResponseMode, SESSION_HEADER};

pub const JSON: &str = "application/json";

/// Sent on every response this worker builds: no MIME sniffing, no framing (clickjacking), no referrer leaking
/// URLs, and HSTS (browsers ignore it on plain http, so it takes effect exactly on https).
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
];
pub const EVENT_STREAM: &str = "text/event-stream";

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A response with `status`, `headers` and a text `body` (empty for no body).
pub fn respond(status: u16, headers: &[(&str, &str)], body: String) -> Response {
    let h = with_security_headers();
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

/// New headers holding [`SECURITY_HEADERS`], copied in one call from a set made once per isolate (four
/// `set` calls on every response would cost as much again as the rest of building it).
fn with_security_headers() -> Headers {
    thread_local! {
        static BASE: web_sys::Headers = {
            let base = web_sys::Headers::new().expect("Headers can be built");
            for (name, value) in SECURITY_HEADERS {
                let _ = base.set(name, value);
            }
            base
        };
    }
    BASE.with(|base| web_sys::Headers::new_with_headers(base).map(Headers).unwrap_or_else(|_| Headers::new()))
}

/// A JSON answer as the runtime takes it, built in one call. Its init is a response made once per isolate for
/// each status (the runtime copies status and headers from a `Response` init without reading a dictionary),
/// and its body a view of the wasm's own memory, which the runtime copies in the constructor: no headers, init
/// or byte array built on every answer.
pub fn json_reply(status: u16, body: &str) -> web_sys::Response {
    thread_local! {
        static TEMPLATES: std::cell::RefCell<Vec<(u16, web_sys::Response)>> = Default::default();
    }
    let template = TEMPLATES.with(|templates| {
        let mut templates = templates.borrow_mut();
        if let Some((_, template)) = templates.iter().find(|(s, _)| *s == status) {
            return Some(Clone::clone(template));
        }
        let template = web_sys::Response::new_with_opt_str_and_init(None, &json_init(status)).ok()?;
        templates.push((status, Clone::clone(&template)));
        Some(template)
    });
    let Some(template) = template else { return json(500, String::new()).into() };
    // SAFETY: the view is read only by the constructor below, which copies it; nothing allocates in between.
    let bytes = unsafe { js_sys::Uint8Array::view(body.as_bytes()) };
    let init: &web_sys::ResponseInit = template.unchecked_ref();
    web_sys::Response::new_with_opt_buffer_source_and_init(Some(&bytes), init)
        .unwrap_or_else(|_| json(500, String::new()).into())
}

fn json_init(status: u16) -> web_sys::ResponseInit {
    let headers = with_security_headers();
    let _ = headers.set("Content-Type", JSON);
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers.0);
    init
}

pub fn json(status: u16, body: String) -> Response {
    respond(status, &[("Content-Type", JSON)], body)
}

/// The JSON-RPC error body, status and headers for `err`, answering request `id` when it is known. A 500's
/// detail goes to the log under `reference`; the body names only the reference.
pub fn error(err: &HttpError, id: Option<RequestId>, reference: &str) -> Response {
    log_internal(err, reference);
    let extra = err.headers();
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", JSON)];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    respond(err.status(), &headers, err.to_body(id, reference))
}

/// Logs the detail of a failure on our side under `reference` (the client sees only the reference).
pub fn log_internal(err: &HttpError, reference: &str) {
    if let HttpError::Internal(detail) = err {
        worker::console_error!("internal error [{reference}]: {detail}");
    }
}

/// Headers of every SSE response.
pub fn sse_headers(h: &Headers) {
    // Streams are few and long: setting each header is fine here.
    for (name, value) in SECURITY_HEADERS {
        let _ = h.set(name, value);
    }
    let _ = h.set("Content-Type", EVENT_STREAM);
    let _ = h.set("Cache-Control", "no-cache, no-transform");
}

/// A runtime failure as a 500: the detail is logged when the error is answered ([`error`]), never sent.
pub fn internal(context: &str, err: impl std::fmt::Display) -> HttpError {
    HttpError::Internal(format!("{context}: {err}"))
}

/// The answer to `initialize`: its result as JSON or as a one-event stream, with the new session's id.
pub fn opened(mode: ResponseMode, response: &crate::model::Response, session_id: &str) -> Response {
    let json = response.to_json();
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
