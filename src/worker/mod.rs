//! The thin shell: the `fetch` router, the session Durable Object, KV. Rules live in the core modules;
//! this code only reads requests, applies them and writes responses.

mod analytics;
mod audit_log;
mod caller_object;
mod documents_kv;
mod eager;
mod github_access;
mod github_client;
mod grant_object;
mod health_endpoint;
mod http;
mod incoming;
mod interned;
mod isolate;
mod legacy_endpoint;
mod listen_hub;
mod mcp_endpoint;
mod metrics_endpoint;
mod metrics_hub;
mod metrics_recorder;
mod oauth_endpoints;
mod oauth_store;
mod oauth_token;
mod object_call;
mod openapi_apis;
mod outbound;
mod rate_limiter;
mod session_object;
mod stateless_endpoint;
mod streams;
mod timer;

use wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::web_sys;
use worker::{event, Context, Env, Response};

use crate::auth::TokenCheck;
use crate::error::HttpError;
use crate::handler::ToolFilter;
use crate::identity::Identity;
use crate::model::{Payload, ProtocolVersion, RequestId};
use crate::session::id::SessionIds;
use crate::transport::cors;
use crate::transport::request_state::RequestStates;
use crate::transport::request_url;
use crate::transport::session_call::{SessionCall, CALL_HEADER};
use crate::transport::streamable_http::first_request_id;
use incoming::{Body, Incoming};

#[allow(unused_imports)]
pub use caller_object::CallerLedger;
#[allow(unused_imports)]
pub use grant_object::OAuthGrant;
#[allow(unused_imports)]
pub use listen_hub::ListenHub;
#[allow(unused_imports)]
pub use metrics_hub::MetricsHub;
#[allow(unused_imports)]
pub use session_object::McpSession;

/// The Durable Object namespace holding sessions.
const SESSION_BINDING: &str = "MCP_SESSION";
/// The URL of the Worker's requests to a session object (the object reads only the call header and the body).
const SESSION_URL: &str = "https://session/";
const MCP_PATH: &str = "/mcp";
const HEALTH_PATH: &str = "/health";

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Chains [`eager::trapped`] onto the panic hook, once per instance. Not in [`start`]: `worker`'s own start function
/// runs after it and installs its hook over ours. Every call in from `entry.mjs` arms it first: the Worker's
/// `fetch` here, and each Durable Object call through this export (which, like any export, also runs the glue's
/// guard that replaces a terminated instance). A panic, not the trap that follows it: once the instance is
/// terminated, a call out of it (the abort handler's) traps again.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = armPanicHook)]
pub fn arm_panic_hook() {
    thread_local! {
        static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !ARMED.with(|armed| armed.replace(true)) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eager::trapped();
        }));
    }
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

/// A response as the runtime takes it. A session object's answer passes through unconverted.
pub type Reply = web_sys::Response;

/// Where a routed request's answer comes from.
pub enum Routed {
    /// Made by the Worker.
    Here(Reply),
    /// The session object's, passed on as it arrives (no task waits for it).
    Forwarded(Forwarded),
}

impl From<Reply> for Routed {
    fn from(reply: Reply) -> Self {
        Self::Here(reply)
    }
}

impl From<Response> for Routed {
    fn from(response: Response) -> Self {
        Self::Here(response.into())
    }
}

/// A request sent to its session object: the promise of the object's answer, and the body sent when it was
/// read here (to name the request's id should the object fail).
pub struct Forwarded {
    answer: js_sys::Promise,
    body: Option<Vec<u8>>,
}

/// The fetch handler (what `#[event(fetch)]` would generate, run by [`eager::run`] instead of as an `async`
/// export). `body` is the request's body when `entry.mjs` read it before calling in (its text, or why it could
/// not be read; `null` otherwise): it does so for a POST to `/mcp` without a session and of small declared
/// length, which is stateless or `initialize`, answered from its body in this Worker without a task. `started`:
/// when the request came in (before that read), for the latency logged and counted.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn fetch(
    req: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
    body: JsValue,
    started: f64,
) -> JsValue {
    arm_panic_hook();
    let ctx = Context::new(ctx);
    let req = Incoming::new(req).with_body(body);
    eager::run(respond(req, env, ctx, started))
}

/// The answer to `req`, as the runtime takes it: routed, then logged, counted and given its CORS headers (once
/// the session object has answered, for a request forwarded to one).
async fn respond(req: Incoming, env: Env, ctx: Context, started: f64) -> JsValue {
    let origin = req.header("Origin");
    let mut seen = Seen::default();
    let routed = route(&req, &env, &ctx, origin.as_deref(), &mut seen).await;
    let done = Done { req, env, ctx, seen, started };
    match routed {
        Ok(Routed::Here(response)) => done.finish(Ok(response)),
        Err(failure) => done.finish(Err(failure)),
        // Nothing to add to the object's answer: it goes to the runtime as it is, with no call back in here. A
        // rejection (a trap in the object) or anything but a response becomes the fixed 500 in `entry.mjs`; with
        // the body unread there is no request id to name anyway.
        Ok(Routed::Forwarded(Forwarded { answer, body: None })) if done.adds_nothing() => answer.into(),
        Ok(Routed::Forwarded(Forwarded { answer, body })) => eager::after(&answer, move |settled| {
            // Anything but a response (after a trap in the object, say) is a failure too.
            let answered = settled
                .map_err(|e| format!("{e:?}"))
                .and_then(|answer| {
                    answer.dyn_into::<Reply>().map_err(|other| format!("not a response: {other:?}"))
                })
                .map_err(|detail| {
                    let error = http::internal("session object", detail);
                    Failure::answering(error, body.as_deref().unwrap_or_default())
                });
            done.finish(answered)
        }),
    }
}

/// A request whose answer is known, or about to be.
struct Done {
    req: Incoming,
    env: Env,
    ctx: Context,
    seen: Seen,
    started: f64,
}

impl Done {
    /// Whether [`Done::finish`] leaves a response as it is: no audit line, no metrics, no CORS headers.
    fn adds_nothing(&self) -> bool {
        let audits = isolate::settings(&self.env).map_or(true, |s| s.log_level.audits());
        !audits && !metrics_recorder::enabled() && self.seen.cors_origin.is_none()
    }

    /// The answer as sent: an error made into its response, the request logged and counted, CORS headers added.
    fn finish(self, answered: Result<Reply, Failure>) -> JsValue {
        let Self { req, env, ctx, seen, started } = self;
        // Names this request in the log (and in a 500's body); Cloudflare's ray id when there is one.
        let reference = || req.header("cf-ray").unwrap_or_else(crate::random::hex::<8>);
        let mut request_id = None;
        let response: Reply = match answered {
            Ok(response) => response,
            Err(Failure { error, id }) => {
                let reference = request_id.insert(reference());
                http::error(&error, id, reference).into()
            }
        };
        if isolate::settings(&env).map_or(true, |s| s.log_level.audits()) {
            let request_id = request_id.unwrap_or_else(reference);
            let (mcp_method, protocol_version) =
                (req.header("Mcp-Method"), req.header("MCP-Protocol-Version"));
            audit_log::request(&crate::audit::RequestLine {
                event: "request",
                request_id: &request_id,
                method: &req.method,
                path: req.path(),
                status: response.status(),
                duration_ms: js_sys::Date::now() - started,
                caller: seen.caller.as_ref().map(Identity::id),
                mcp_method: mcp_method.as_deref(),
                protocol_version: protocol_version.as_deref(),
            });
        }
        if metrics_recorder::enabled() {
            record_metrics(&req, &env, &seen, response.status(), js_sys::Date::now() - started);
            metrics_recorder::flush(&env, Some(&ctx));
        }
        // CORS headers only for origins that passed the check; a refused origin gets its 403 without them.
        let response = match seen.cors_origin {
            Some(origin) => with_cors(response, &origin),
            None => Ok(response),
        };
        response.map_or_else(
            |e| {
                worker::console_error!("adding CORS headers: {e}");
                let response = Response::error("Internal Server Error", 500).map(web_sys::Response::from);
                response.map_or(JsValue::UNDEFINED, Into::into)
            },
            Into::into,
        )
    }
}

/// What routing learned about a request that the answer, the log and the metrics need.
#[derive(Default)]
struct Seen {
    /// Set once the request's `Origin` has been allowed.
    cors_origin: Option<String>,
    /// Set once the caller is authenticated.
    caller: Option<Identity>,
    /// Why authentication refused the request (see [`crate::auth::refusal_reason`]).
    refused: Option<&'static str>,
    /// The rate limit policy that denied the request (`mcp`, `oauth`).
    rate_limited: Option<&'static str>,
}

/// Counts one answered request in this isolate's metrics batch: the request, its latency, how its caller
/// authenticated (MCP endpoints), a rate-limit denial.
fn record_metrics(req: &Incoming, env: &Env, seen: &Seen, status: u16, duration_ms: f64) {
    let settings = isolate::settings(env);
    let (sse, messages) = match &settings {
        Ok(s) => (s.sse_path.as_str(), s.messages_path.as_str()),
        Err(_) => ("/sse", "/messages"),
    };
    let route = crate::metrics::labels::route(req.path(), sse, messages);
    metrics_recorder::http_request(route, &req.method, status, duration_ms / 1000.0);
    match (&seen.caller, seen.refused) {
        (Some(caller), _) => metrics_recorder::auth(Ok(crate::metrics::labels::auth_method(caller))),
        (None, Some(reason)) => metrics_recorder::auth(Err(reason)),
        (None, None) => {}
    }
    if let Some(policy) = seen.rate_limited {
        metrics_recorder::rate_limited(policy);
    }
}

/// `response` with the CORS headers for `origin`. Headers of a response that came from the Durable Object are
/// immutable, hence a new response around the same body.
fn with_cors(response: Reply, origin: &str) -> worker::Result<Reply> {
    let headers = web_sys::Headers::new_with_headers(&response.headers())?;
    for (name, value) in cors::headers(origin) {
        headers.set(name, &value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status());
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(response.body().as_ref(), &init)?)
}

/// What every MCP endpoint receives once the request is admitted.
pub struct Admitted<'a> {
    pub env: &'a Env,
    pub ctx: &'a Context,
    pub settings: &'a crate::config::Settings,
    pub ids: &'a SessionIds,
    pub states: &'a RequestStates,
    pub caller: Identity,
    /// The tools the connection narrowed itself to through its URL (`?tools=`, `?exclude=`, `?readonly`).
    pub tools: ToolFilter,
    /// The access token of ours of a user signed in with GitHub (for tools calling GitHub as the user).
    pub bearer: Option<String>,
}

/// Routes one request, noting in `seen` what the answer and the log need.
async fn route(
    req: &Incoming,
    env: &Env,
    ctx: &Context,
    origin: Option<&str>,
    seen: &mut Seen,
) -> Result<Routed, Failure> {
    let path = req.path();
    if path == "/" {
        // HEAD as GET: the runtime sends a HEAD's answer without its body.
        return match req.method.as_str() {
            "GET" | "HEAD" => Ok(info().into()),
            _ => Err(HttpError::MethodNotAllowed { allow: "GET, HEAD" }.into()),
        };
    }
    // Before the settings are read, so that a broken setting is reported rather than refused.
    if path == HEALTH_PATH {
        return Ok(health_endpoint::handle(env, &req.method).await.into());
    }
    let settings = isolate::settings(env).map_err(HttpError::NotConfigured)?;
    if path == metrics_endpoint::PATH {
        return metrics_endpoint::handle(req, env, &settings).await.map(Routed::Here);
    }
    if let (Some(route), Some(sign_in)) = (crate::oauth::Route::of(path), &settings.sign_in) {
        return oauth(req, env, ctx, &settings, sign_in, route, origin, seen).await.map(Routed::Here);
    }
    let endpoint = if path == MCP_PATH {
        Endpoint::Mcp
    } else if path == settings.sse_path {
        Endpoint::Sse
    } else if path == settings.messages_path {
        Endpoint::Messages
    } else {
        return Err(HttpError::NotFound(path.to_string()).into());
    };
    if !settings.hosts.allows_any() {
        let host = req.header("Host").unwrap_or_else(|| request_url::authority(&req.url).to_string());
        if !settings.hosts.allows(&host) {
            return Err(HttpError::ForbiddenHost(host).into());
        }
    }
    if let Some(origin) = origin {
        if !settings.origins.allows(origin) {
            return Err(HttpError::ForbiddenOrigin(origin.to_string()).into());
        }
        seen.cors_origin = Some(origin.to_string());
    }
    if req.method == "OPTIONS" {
        let headers: Vec<(&str, &str)> = cors::preflight_headers().to_vec();
        return Ok(http::respond(204, &headers, String::new()).into());
    }
    let (ids, states) = settings.ready()?;
    let check = settings.oauth.as_ref().map(|sealer| TokenCheck {
        sealer,
        origin: crate::oauth::origin_of(&req.url),
        now_ms: now_ms(),
    });
    let refused = |seen: &mut Seen, error: HttpError| {
        seen.refused = Some(crate::auth::refusal_reason(&error));
        error
    };
    let caller =
        settings.access.admit(|| req.header("Authorization"), check).map_err(|e| refused(seen, e))?;
    if let Some(grant) = &caller.grant {
        check_grant(env, grant, crate::oauth::origin_of(&req.url)).await.map_err(|e| refused(seen, e))?;
    }
    let bearer = caller
        .grant
        .as_ref()
        .and_then(|_| req.header("Authorization"))
        .and_then(|h| crate::auth::bearer_token(&h).map(str::to_string));
    let caller = caller.identity;
    seen.caller = Some(caller.clone());
    if let Some(policy) = settings.caller_rate_limit {
        let key = crate::rate_limit::caller_key(&caller, || req.header("CF-Connecting-IP"));
        caller_object::admit_request(env, policy, &key)
            .await
            .inspect_err(|_| seen.rate_limited = Some("mcp"))?;
    }
    let tools = ToolFilter::from_query(request_url::query(&req.url).unwrap_or(""))
        .map_err(|why| HttpError::BadRequest(format!("the URL's tool selection: {why}")))?;
    let admitted = Admitted { env, ctx, settings: &settings, ids, states, caller, tools, bearer };
    match endpoint {
        Endpoint::Mcp => mcp_endpoint::handle(req, &admitted).await,
        Endpoint::Sse => legacy_endpoint::open(req, &admitted).await,
        Endpoint::Messages => legacy_endpoint::message(req, &admitted, request_url::query(&req.url)).await,
    }
}

/// Whether the grant of an OAuth access token is still live: asked of its object the first time this isolate
/// sees the grant, then remembered for [`isolate::GRANT_STATUS_MS`].
async fn check_grant(env: &Env, grant: &str, origin: &str) -> Result<(), HttpError> {
    let now = now_ms();
    let live = match isolate::grant_status(grant, now) {
        Some(live) => live,
        None => {
            let reply = grant_object::call(env, grant, &crate::oauth::grant_call::GrantCall::Status)
                .await
                .map_err(|e| http::internal("asking a grant", e))?;
            let live = matches!(reply, crate::oauth::grant_call::GrantReply::Status { live: true });
            isolate::remember_grant(grant, live, now);
            live
        }
    };
    if live {
        Ok(())
    } else {
        Err(crate::auth::invalid_token_for(origin, crate::auth::REVOKED, Some("invalid_token")))
    }
}

/// The authorization server's paths (only with GitHub sign-in on). Scripts of browser-based clients call
/// the metadata, registration, token and revocation endpoints from any origin (they carry no cookie, and
/// PKCE or client credentials protect them); the consent page and the callback are navigations.
#[allow(clippy::too_many_arguments)]
async fn oauth(
    req: &Incoming,
    env: &Env,
    ctx: &Context,
    settings: &crate::config::Settings,
    sign_in: &crate::config::SignIn,
    route: crate::oauth::Route,
    origin: Option<&str>,
    seen: &mut Seen,
) -> Result<Reply, Failure> {
    if !settings.hosts.allows_any() {
        let host = req.header("Host").unwrap_or_else(|| request_url::authority(&req.url).to_string());
        if !settings.hosts.allows(&host) {
            return Err(HttpError::ForbiddenHost(host).into());
        }
    }
    if route.is_api() {
        seen.cors_origin = origin.map(str::to_string);
        if req.method == "OPTIONS" {
            let headers: Vec<(&str, &str)> = cors::preflight_headers().to_vec();
            return Ok(http::respond(204, &headers, String::new()).into());
        }
    }
    settings.ready()?;
    if let Some(policy) = settings.ip_rate_limit {
        let key = crate::rate_limit::ip_key(req.header("CF-Connecting-IP").as_deref());
        if !rate_limiter::allows(env, rate_limiter::IPS, &key).await {
            seen.rate_limited = Some("oauth");
            // An OAuth error body (RFC 6749 §5.2 shape), with the same headers as on the MCP endpoints. The
            // binding does not say when its window ends: the whole window is the honest bound.
            let denial = HttpError::RateLimited { policy, retry_after_seconds: policy.window_seconds.into() };
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": denial.to_error_object().message,
            });
            let mut headers =
                vec![("Content-Type", http::JSON.to_string()), ("Cache-Control", "no-store".to_string())];
            headers.extend(denial.headers());
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            return Ok(http::respond(429, &headers, body.to_string()).into());
        }
    }
    let Some(sealer) = &settings.oauth else { return Err(HttpError::Internal("no OAuth key".into()).into()) };
    let at = oauth_endpoints::OAuth {
        env,
        ctx,
        settings,
        sign_in,
        sealer,
        origin: crate::oauth::origin_of(&req.url),
    };
    Ok(oauth_endpoints::handle(req, &at, route).await)
}

enum Endpoint {
    /// Streamable HTTP.
    Mcp,
    /// HTTP+SSE (2024-11-05): the stream.
    Sse,
    /// HTTP+SSE (2024-11-05): the POSTs.
    Messages,
}

/// Sends `call` (with `body`) to the Durable Object of its session: a request the Worker builds itself. Its
/// answer is passed on as it arrives.
fn call_session(env: &Env, call: &SessionCall, body: Body) -> Result<Routed, HttpError> {
    let header = call.to_header();
    let answer =
        object_call::send(env, SESSION_BINDING, &call.session, SESSION_URL, (CALL_HEADER, &header), &body)
            .map_err(|e| http::internal("session object", e))?;
    let body = match body {
        Body::Bytes(bytes) => Some(bytes),
        _ => None,
    };
    Ok(Routed::Forwarded(Forwarded { answer, body }))
}

/// Milliseconds since the epoch. `js_sys::Date::now` reads the clock without building a `Date` object, which
/// `worker::Date::now` does on every call.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
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
