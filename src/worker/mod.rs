//! The thin shell: the `fetch` router, the session Durable Object, KV. Rules live in the core modules;
//! this code only reads requests, applies them and writes responses.

mod documents_kv;
mod http;
mod isolate;
mod legacy_endpoint;
mod mcp_endpoint;
mod session_object;
mod streams;

use worker::{event, Context, Env, Headers, Method, Request, Response};

use crate::error::HttpError;
use crate::model::ProtocolVersion;
use crate::transport::cors;
use crate::transport::origin::is_loopback_host;
use crate::transport::request_url;

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
    let url = req.inner().url();
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
    url: &str,
    origin: Option<&str>,
    cors_origin: &mut Option<String>,
) -> Result<Response, HttpError> {
    let path = req.path();
    let path = path.as_str();
    if path == "/" && req.method() == Method::Get {
        return Ok(info());
    }
    let settings = isolate::settings(env).map_err(HttpError::NotConfigured)?;
    let endpoint = if path == MCP_PATH {
        Endpoint::Mcp
    } else if path == settings.sse_path {
        Endpoint::Sse
    } else if path == settings.messages_path {
        Endpoint::Messages
    } else {
        return Err(HttpError::NotFound(path.to_string()));
    };
    let host = http::header(&req, "Host").unwrap_or_else(|| request_url::authority(url).to_string());
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
    let local = is_loopback_host(request_url::authority(url));
    let authorization = http::header(&req, "Authorization");
    settings.access.admit(authorization.as_deref(), local)?;
    match endpoint {
        Endpoint::Mcp => mcp_endpoint::handle(req, env, &settings).await,
        Endpoint::Sse => legacy_endpoint::open(req, env).await,
        Endpoint::Messages => legacy_endpoint::message(req, env, &settings, request_url::query(url)).await,
    }
}

enum Endpoint {
    /// Streamable HTTP.
    Mcp,
    /// HTTP+SSE (2024-11-05): the stream.
    Sse,
    /// HTTP+SSE (2024-11-05): the POSTs.
    Messages,
}

/// Hands a client's request for session `id` to its Durable Object, unchanged; an id we cannot have issued
/// is a 404 without a lookup.
async fn forward(req: Request, env: &Env, id: &str) -> Result<Response, HttpError> {
    if crate::session::id::classify(id).is_none() {
        return Err(HttpError::SessionNotFound);
    }
    send(env, id, req).await
}

/// Sends `req` to the Durable Object of session `id`.
async fn send(env: &Env, id: &str, req: Request) -> Result<Response, HttpError> {
    stub(env, id)?.fetch_with_request(req).await.map_err(|e| http::internal("session object", e))
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
        "legacySse": "GET the SSE path (default /sse), then POST to the endpoint it names",
        "protocolVersions": ProtocolVersion::ALL.map(ProtocolVersion::as_str),
    });
    http::json(200, body.to_string())
}
