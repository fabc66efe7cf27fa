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
use crate::identity::Identity;
use crate::model::{Payload, ProtocolVersion, RequestId};
use crate::session::id::SessionIds;
use crate::transport::cors;
use crate::transport::request_url;
use crate::transport::session_call::{SessionCall, CALL_HEADER};
use crate::transport::streamable_http::first_request_id;

#[allow(unused_imports)]
pub use session_object::McpSession;

/// The Durable Object namespace holding sessions.
const SESSION_BINDING: &str = "MCP_SESSION";
const MCP_PATH: &str = "/mcp";

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// An error on its way to the client, with the id of the JSON-RPC request it answers when one was read.
pub struct Failure {
    pub error: HttpError,
    pub id: Option<RequestId>,
}

impl From<HttpError> for Failure {
    fn from(error: HttpError) -> Self {
        Self { error, id: None }
    }
}

impl Failure {
    /// `error`, answering the first request in `body` (parsed only now, on the error path).
    pub fn answering(error: HttpError, body: &[u8]) -> Self {
        let id = Payload::parse(body).ok().as_ref().and_then(first_request_id);
        Self { error, id }
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let url = req.inner().url();
    let origin = http::header(&req, "Origin");
    // Names this request in the log and in a 500's body; Cloudflare's ray id when there is one.
    let reference = http::header(&req, "cf-ray").unwrap_or_else(crate::random::hex::<8>);
    let mut cors_origin = None;
    let mut response = match route(req, &env, &ctx, &url, origin.as_deref(), &mut cors_origin).await {
        Ok(response) => response,
        Err(Failure { error, id }) => http::error(&error, id, &reference),
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

/// What every MCP endpoint receives once the request is admitted.
pub struct Admitted<'a> {
    pub env: &'a Env,
    pub ctx: &'a Context,
    pub settings: &'a crate::config::Settings,
    pub ids: &'a SessionIds,
    pub caller: Identity,
}

/// Routes one request. `cors_origin` is set once the request's `Origin` has been allowed.
async fn route(
    req: Request,
    env: &Env,
    ctx: &Context,
    url: &str,
    origin: Option<&str>,
    cors_origin: &mut Option<String>,
) -> Result<Response, Failure> {
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
        return Err(HttpError::NotFound(path.to_string()).into());
    };
    let host = http::header(&req, "Host").unwrap_or_else(|| request_url::authority(url).to_string());
    if !settings.hosts.allows(&host) {
        return Err(HttpError::ForbiddenHost(host).into());
    }
    if let Some(origin) = origin {
        if !settings.origins.allows(origin) {
            return Err(HttpError::ForbiddenOrigin(origin.to_string()).into());
        }
        *cors_origin = Some(origin.to_string());
    }
    if req.method() == Method::Options {
        let headers: Vec<(&str, &str)> = cors::preflight_headers().to_vec();
        return Ok(http::respond(204, &headers, String::new()));
    }
    let ids = settings.ready()?;
    let caller = settings.access.admit(http::header(&req, "Authorization").as_deref())?;
    let admitted = Admitted { env, ctx, settings: &settings, ids, caller };
    match endpoint {
        Endpoint::Mcp => mcp_endpoint::handle(req, &admitted).await,
        Endpoint::Sse => legacy_endpoint::open(req, &admitted).await,
        Endpoint::Messages => legacy_endpoint::message(req, &admitted, request_url::query(url)).await,
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

/// Sends `call` (with `body`) to the Durable Object of its session: a request the Worker builds itself.
async fn call_session(env: &Env, call: &SessionCall, body: Option<Vec<u8>>) -> Result<Response, HttpError> {
    let headers = Headers::new();
    let _ = headers.set(CALL_HEADER, &call.to_header());
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let req = Request::new_with_init("https://session/", &init)
        .map_err(|e| http::internal("building the session request", e))?;
    let stub = env
        .durable_object(SESSION_BINDING)
        .and_then(|ns| ns.get_by_name(&call.session))
        .map_err(|e| http::internal("Durable Object binding MCP_SESSION", e))?;
    stub.fetch_with_request(req).await.map_err(|e| http::internal("session object", e))
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
