//! The thin shell: the `fetch` router, the session Durable Object, KV. Rules live in the core modules;
//! this code only reads requests, applies them and writes responses.

mod documents_kv;
mod http;
mod isolate;
mod session_object;
mod streams;

use worker::{event, Context, Env, Headers, Method, Request, Response, Url};

use crate::error::HttpError;
use crate::model::{Payload, ProtocolVersion};
use crate::transport::origin::is_loopback_host;
use crate::transport::streamable_http::{self as shttp, PostTarget, PROTOCOL_VERSION_HEADER, SESSION_HEADER};
use crate::transport::{cors, streamable_http};

#[allow(unused_imports)]
pub use session_object::McpSession;

/// The Durable Object namespace holding sessions.
const SESSION_BINDING: &str = "MCP_SESSION";
const MCP_PATH: &str = "/mcp";

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    let origin = http::header(&req, "Origin");
    let mut cors_origin = None;
    let mut response = match route(req, &env, &url, origin.as_deref(), &mut cors_origin).await {
        Ok(response) => response,
        Err(err) => http::error(&err),
    };
    // CORS headers only for origins that passed the check; a refused origin gets its 403 without them.
    // Headers of a response that came from the Durable Object are immutable, hence the copy.
    if let Some(origin) = cors_origin {
        let headers = Headers::new();
        for (name, value) in response.headers().entries() {
            let _ = headers.append(&name, &value);
        }
        for (name, value) in cors::headers(&origin) {
            let _ = headers.set(name, &value);
        }
        response = response.with_headers(headers);
    }
    Ok(response)
}

/// Routes one request. `cors_origin` is set once the request's `Origin` has been allowed.
async fn route(
    req: Request,
    env: &Env,
    url: &Url,
    origin: Option<&str>,
    cors_origin: &mut Option<String>,
) -> Result<Response, HttpError> {
    let path = url.path();
    if path == "/" && req.method() == Method::Get {
        return Ok(info());
    }
    if path != MCP_PATH {
        return Err(HttpError::NotFound(path.to_string()));
    }
    let settings = isolate::settings(env).map_err(HttpError::NotConfigured)?;
    let host = http::header(&req, "Host").unwrap_or_else(|| url.host_str().unwrap_or_default().to_string());
    if !settings.hosts.allows(&host) {
        return Err(HttpError::ForbiddenHost(host));
    }
    if let Some(origin) = origin {
        if !settings.origins.allows(origin) {
            return Err(HttpError::ForbiddenOrigin(origin.to_string()));
        }
        *cors_origin = Some(origin.to_string());
    }
    if req.method() == Method::Options {
        let headers: Vec<(&str, &str)> = cors::preflight_headers().to_vec();
        return Ok(http::respond(204, &headers, String::new()));
    }
    let local = url
        .host_str()
        .is_some_and(|h| is_loopback_host(h) || h == "[::1]");
    let authorization = http::header(&req, "Authorization");
    settings.access.admit(authorization.as_deref(), local)?;

    streamable_http::check_protocol_version(http::header(&req, PROTOCOL_VERSION_HEADER).as_deref())?;
    let session_header = http::header(&req, SESSION_HEADER);
    let session = shttp::check_session_header(session_header.as_deref())?.map(str::to_string);
    match req.method() {
        Method::Post => post(req, env, &settings, session).await,
        Method::Get => {
            shttp::check_get_accept(http::header(&req, "Accept").as_deref())?;
            forward(req, env, &session.ok_or(HttpError::SessionRequired)?).await
        }
        Method::Delete => forward(req, env, &session.ok_or(HttpError::SessionRequired)?).await,
        _ => Err(HttpError::MethodNotAllowed {
            allow: "GET, POST, DELETE, OPTIONS",
        }),
    }
}

async fn post(
    mut req: Request,
    env: &Env,
    settings: &crate::config::Settings,
    session: Option<String>,
) -> Result<Response, HttpError> {
    shttp::check_post_accept(http::header(&req, "Accept").as_deref())?;
    shttp::check_content_type(http::header(&req, "Content-Type").as_deref())?;
    shttp::check_content_length(
        http::header(&req, "Content-Length").as_deref(),
        settings.max_body_bytes,
    )?;
    if let Some(id) = session {
        // The session's object parses the body: one parse per request.
        return forward(req, env, &id).await;
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| HttpError::BadRequest(format!("unreadable body: {e}")))?;
    if body.len() > settings.max_body_bytes {
        return Err(HttpError::PayloadTooLarge {
            limit: settings.max_body_bytes,
        });
    }
    let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
    match shttp::route_post(&payload, None)? {
        PostTarget::NewSession(_) => {
            let id = crate::session::id::generate();
            let stub = stub(env, &id)?;
            let inner = session_object::initialize_request(&id, &req, body)?;
            stub.fetch_with_request(inner)
                .await
                .map_err(|e| http::internal("session object", e))
        }
        PostTarget::Session(_) => Err(HttpError::SessionRequired),
    }
}

/// Hands a request for session `id` to its Durable Object, unchanged.
async fn forward(req: Request, env: &Env, id: &str) -> Result<Response, HttpError> {
    if !crate::session::id::is_well_formed(id) {
        return Err(HttpError::SessionNotFound);
    }
    stub(env, id)?
        .fetch_with_request(req)
        .await
        .map_err(|e| http::internal("session object", e))
}

fn stub(env: &Env, id: &str) -> Result<worker::Stub, HttpError> {
    env.durable_object(SESSION_BINDING)
        .and_then(|ns| ns.get_by_name(id))
        .map_err(|e| http::internal("Durable Object binding MCP_SESSION", e))
}

/// `GET /`: what this is and where to connect.
fn info() -> Response {
    let body = serde_json::json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "mcp": { "endpoint": MCP_PATH, "transport": "streamable-http" },
        "protocolVersions": ProtocolVersion::ALL.map(ProtocolVersion::as_str),
    });
    http::json(200, body.to_string())
}
