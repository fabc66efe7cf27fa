//! `ListenHub`: the one Durable Object (named [`HUB_NAME`] in `MCP_LISTEN`) holding every open
//! `subscriptions/listen` stream, so that a change announced by a request in any isolate reaches streams held
//! for clients of any other. Streams live in memory only ([`Listeners`]): if the object restarts they end and
//! clients listen again; nothing is stored.
//!
//! Like the session object, it reads only requests the Worker built: `POST /listen` with [`LISTEN_HEADER`]
//! (a [`ListenCall`]) answers a stream, `POST /announce` with [`ANNOUNCE_HEADER`] (a [`ListKind`] name)
//! writes to the streams that want it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use worker::worker_sys::web_sys;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::streams::sse_response;
use super::{http, isolate, Reply};
use crate::config::DEFAULT_KEEPALIVE_SECONDS;
use crate::error::HttpError;
use crate::model::stateless::{ListKind, SubscriptionFilter};
use crate::transport::listen::{ListenCall, Listeners, ANNOUNCE_HEADER, LISTEN_HEADER, MAX_LISTENERS};

/// The Durable Object namespace of the hub.
const LISTEN_BINDING: &str = "MCP_LISTEN";
/// The hub's one instance: every listener and every announcement meet there.
const HUB_NAME: &str = "lists";

#[durable_object(fetch)]
pub struct ListenHub {
    listeners: Rc<RefCell<Listeners>>,
    keepalive: Duration,
    /// Whether the keepalive task is running (at most one, and only while streams are open).
    beating: Rc<Cell<bool>>,
}

impl DurableObject for ListenHub {
    fn new(_state: State, env: Env) -> Self {
        let keepalive = isolate::settings(&env).map_or(DEFAULT_KEEPALIVE_SECONDS * 1000, |s| s.keepalive_ms);
        Self {
            listeners: Rc::new(RefCell::new(Listeners::new())),
            keepalive: Duration::from_millis(keepalive),
            beating: Rc::new(Cell::new(false)),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(self.serve(&req).unwrap_or_else(|error| http::error(&error, None, &crate::random::hex::<8>())))
    }
}

impl ListenHub {
    fn serve(&self, req: &Request) -> Result<Response, HttpError> {
        let built_by_worker =
            || HttpError::Internal("the listen hub got a request the Worker did not build".into());
        match req.path().as_str() {
            "/listen" => {
                let call = http::header(req, LISTEN_HEADER)
                    .and_then(|h| ListenCall::from_header(&h))
                    .ok_or_else(built_by_worker)?;
                let Some(body) = self.listeners.borrow_mut().add(call.id, call.filter) else {
                    return Ok(http::respond(503, &[("Retry-After", "60")], String::new()));
                };
                self.keep_alive();
                sse_response(body, "listen")
            }
            "/announce" => {
                let kind = http::header(req, ANNOUNCE_HEADER)
                    .and_then(|h| ListKind::from_name(&h))
                    .ok_or_else(built_by_worker)?;
                self.listeners.borrow_mut().announce(kind);
                Ok(http::respond(204, &[], String::new()))
            }
            // `/health`: Durable Objects answer.
            "/ping" => Ok(http::respond(204, &[], String::new())),
            other => Err(HttpError::NotFound(other.to_string())),
        }
    }

    /// Starts the keepalive task unless it runs: a comment on every stream each interval, which also finds the
    /// streams whose clients left when no change comes. It stops once no stream is open.
    fn keep_alive(&self) {
        if self.beating.replace(true) {
            return;
        }
        let (listeners, beating, every) = (self.listeners.clone(), self.beating.clone(), self.keepalive);
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                super::timer::sleep(every).await;
                if listeners.borrow_mut().keepalive() == 0 {
                    break;
                }
            }
            beating.set(false);
        });
    }
}

/// Opens a listen stream for listen request `id`, carrying what `filter` names: pass it through
/// [`crate::transport::listen::honoured`] first, since the hub delivers whatever it is given. The answer is the
/// hub's streaming `text/event-stream` response, its acknowledgement already written; return it as it is.
pub async fn open(env: &Env, id: &Value, filter: &SubscriptionFilter) -> Result<Reply, HttpError> {
    let call = ListenCall { id: id.clone(), filter: filter.clone() };
    let response = call_hub(env, "https://listen-hub/listen", LISTEN_HEADER, &call.to_header())
        .await
        .map_err(|e| http::internal("listen hub", e))?;
    match response.status() {
        200 => Ok(response),
        503 => Err(HttpError::Overloaded(format!(
            "{MAX_LISTENERS} listen streams are open, the most this server holds; try again later"
        ))),
        status => Err(http::internal("listen hub", format!("answered {status} to a listen"))),
    }
}

/// Tells every open listen stream that wants it that list `kind` changed. `Err` says only that the hub could
/// not be reached; the detail is logged (it names bindings, and tools show errors to clients).
pub async fn announce(env: &Env, kind: ListKind) -> Result<(), String> {
    let outcome = match call_hub(env, "https://listen-hub/announce", ANNOUNCE_HEADER, kind.as_str()).await {
        Ok(response) if response.status() == 204 => return Ok(()),
        Ok(response) => format!("answered {} to an announcement", response.status()),
        Err(e) => e,
    };
    let reference = crate::random::hex::<8>();
    worker::console_error!("listen hub [{reference}]: {outcome}");
    Err(format!("the listen hub could not be told (reference {reference})"))
}

/// Whether the hub (and so Durable Objects) answers, for `/health`. `Err` holds the detail, for the log.
pub async fn ping(env: &Env) -> Result<(), String> {
    match call_hub(env, "https://listen-hub/ping", "x-mcp-ping", "1").await {
        Ok(response) if response.status() == 204 => Ok(()),
        Ok(response) => Err(format!("the listen hub answered {} to a ping", response.status())),
        Err(e) => Err(e),
    }
}

/// Sends a bodiless POST to `url` of the hub with one header.
async fn call_hub(
    env: &Env,
    url: &'static str,
    header: &'static str,
    value: &str,
) -> Result<web_sys::Response, String> {
    super::object_call::call(env, LISTEN_BINDING, HUB_NAME, url, (header, value), super::incoming::Body::None)
        .await
}
