//! `McpSession`: the Durable Object holding one MCP session.
//!
//! Its state ([`SessionState`]) lives in Durable Object storage under [`STATE_KEY`], so the session survives
//! isolate restarts and eviction; memory only caches it. An alarm ends the session once it has been idle for
//! the configured time. The standalone GET stream is held here, so later requests can write to it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc::{unbounded, UnboundedSender};
use futures_util::StreamExt;
use worker::{
    durable_object, Date, DurableObject, Env, Headers, Method, Request, RequestInit, Response, State,
};

use super::{http, isolate};
use crate::config::Settings;
use crate::error::HttpError;
use crate::handler::{NoPeer, Server};
use crate::model::{Message, Payload};
use crate::session::{Session, SessionState};
use crate::transport::sse;
use crate::transport::streamable_http::{self as shttp, PostOutcome, ResponseMode, SESSION_HEADER};

const STATE_KEY: &str = "state";
/// The internal path the Worker uses to create a session.
const INITIALIZE_PATH: &str = "/__initialize";
/// Idle SSE streams get a comment this often, so proxies and the edge keep them open.
const KEEPALIVE: Duration = Duration::from_secs(25);

#[durable_object]
pub struct McpSession {
    state: State,
    env: Env,
    /// The session, once loaded from storage; `None` before that or after it ended.
    session: RefCell<Option<Rc<Session>>>,
    /// The standalone GET stream, while one is open.
    get_stream: RefCell<Option<UnboundedSender<Vec<u8>>>>,
}

/// The request the Worker sends to a fresh object to create session `id` from an `initialize` POST.
pub fn initialize_request(id: &str, original: &Request, body: Vec<u8>) -> Result<Request, HttpError> {
    let headers = Headers::new();
    let _ = headers.set(SESSION_HEADER, id);
    if let Some(accept) = http::header(original, "Accept") {
        let _ = headers.set("Accept", &accept);
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    Request::new_with_init(&format!("https://session{INITIALIZE_PATH}"), &init)
        .map_err(|e| http::internal("building the session request", e))
}

impl DurableObject for McpSession {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            session: RefCell::new(None),
            get_stream: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(self.serve(req).await.unwrap_or_else(|err| http::error(&err)))
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let settings = isolate::settings(&self.env).map_err(worker::Error::RustError)?;
        match self.load().await {
            Ok(Some(session)) => {
                let expires = session.state().expires_at_ms(settings.session_ttl_ms);
                if Date::now().as_millis() >= expires {
                    self.end().await?;
                } else {
                    self.state
                        .storage()
                        .set_alarm(Duration::from_millis(expires - Date::now().as_millis()))
                        .await?;
                }
            }
            Ok(None) => self.end().await?,
            Err(err) => worker::console_error!("session alarm: {err}"),
        }
        Response::empty()
    }
}

impl McpSession {
    async fn serve(&self, mut req: Request) -> Result<Response, HttpError> {
        let settings = isolate::settings(&self.env).map_err(HttpError::NotConfigured)?;
        let server = isolate::server(&self.env, &settings);
        if req.path() == INITIALIZE_PATH {
            let body = req
                .bytes()
                .await
                .map_err(|e| http::internal("reading the body", e))?;
            return self.initialize(&server, &settings, &req, &body).await;
        }
        let response = match req.method() {
            Method::Post => {
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
                // `initialize` carrying a session id is refused whether or not that session exists.
                if shttp::contains_initialize(&payload) {
                    return Err(HttpError::AlreadyInitialized);
                }
                let session = self.active_session(&settings).await?;
                let outcome =
                    shttp::handle_post(&server, &session, payload, Rc::new(NoPeer), &|_| {}).await?;
                self.persist(&session).await?;
                match outcome {
                    PostOutcome::Accepted => http::respond(202, &[], String::new()),
                    PostOutcome::Responses { responses, batch } => match settings.response_mode {
                        ResponseMode::Json => http::json(200, shttp::json_body(&responses, batch)),
                        ResponseMode::Sse => sse_response(shttp::sse_body(&responses, &stream_id())),
                    },
                }
            }
            Method::Get => {
                let session = self.active_session(&settings).await?;
                self.persist(&session).await?;
                self.open_get_stream()?
            }
            Method::Delete => {
                self.active_session(&settings).await?;
                self.end()
                    .await
                    .map_err(|e| http::internal("ending the session", e))?;
                http::respond(204, &[], String::new())
            }
            _ => {
                return Err(HttpError::MethodNotAllowed {
                    allow: "GET, POST, DELETE, OPTIONS",
                })
            }
        };
        Ok(response)
    }

    async fn initialize(
        &self,
        server: &Server,
        settings: &Settings,
        req: &Request,
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let id =
            http::header(req, SESSION_HEADER).ok_or_else(|| HttpError::Internal("no session id".into()))?;
        let Ok(Payload::Single(Ok(Message::Request(request)))) = Payload::parse(body) else {
            return Err(HttpError::Internal(
                "the Worker forwarded something other than initialize".into(),
            ));
        };
        let now = Date::now().as_millis();
        let (response, state) = match server.initialize(&request, id.clone(), now) {
            Ok(created) => created,
            // Invalid initialize params: no session is created.
            Err(error) => return Ok(http::json(400, error.to_value().to_string())),
        };
        let storage = self.state.storage();
        storage
            .put(STATE_KEY, &state)
            .await
            .map_err(|e| http::internal("saving the session", e))?;
        storage
            .set_alarm(Duration::from_millis(settings.session_ttl_ms))
            .await
            .map_err(|e| http::internal("scheduling session expiry", e))?;
        *self.session.borrow_mut() = Some(Rc::new(Session::new(state)));
        let body = response.to_value().to_string();
        let mut resp = match settings.response_mode {
            ResponseMode::Json => http::json(200, body),
            ResponseMode::Sse => sse_response(shttp::sse_body(&[response], &stream_id())),
        };
        let _ = resp.headers_mut().set(SESSION_HEADER, &id);
        Ok(resp)
    }

    /// The session if it exists and has not expired; 404 otherwise.
    async fn active_session(&self, settings: &Settings) -> Result<Rc<Session>, HttpError> {
        let session = self.load().await?.ok_or(HttpError::SessionNotFound)?;
        let now = Date::now().as_millis();
        if session.state().is_expired(now, settings.session_ttl_ms) {
            self.end()
                .await
                .map_err(|e| http::internal("ending the session", e))?;
            return Err(HttpError::SessionNotFound);
        }
        if session.state().needs_touch(now, settings.session_ttl_ms) {
            session.update(|s| s.last_seen_ms = now);
        }
        Ok(session)
    }

    async fn load(&self) -> Result<Option<Rc<Session>>, HttpError> {
        if let Some(session) = self.session.borrow().as_ref() {
            return Ok(Some(session.clone()));
        }
        let stored: Option<SessionState> = self
            .state
            .storage()
            .get(STATE_KEY)
            .await
            .map_err(|e| http::internal("loading the session", e))?;
        let Some(state) = stored else { return Ok(None) };
        // A request that arrived while storage was read may have loaded it already; keep that one.
        let mut slot = self.session.borrow_mut();
        Ok(Some(
            slot.get_or_insert_with(|| Rc::new(Session::new(state))).clone(),
        ))
    }

    /// Writes the state back if a request changed it.
    async fn persist(&self, session: &Session) -> Result<(), HttpError> {
        if session.take_dirty() {
            let snapshot = session.snapshot();
            self.state
                .storage()
                .put(STATE_KEY, &snapshot)
                .await
                .map_err(|e| http::internal("saving the session", e))?;
        }
        Ok(())
    }

    /// Ends the session: storage, alarm and open streams.
    async fn end(&self) -> worker::Result<()> {
        *self.session.borrow_mut() = None;
        if let Some(stream) = self.get_stream.borrow_mut().take() {
            // Closes the channel for every sender (the keepalive task's too), which ends the response.
            stream.close_channel();
        }
        let storage = self.state.storage();
        storage.delete_alarm().await?;
        storage.delete_all().await
    }

    /// The standalone server-to-client stream (one per session; a second one is 409).
    fn open_get_stream(&self) -> Result<Response, HttpError> {
        let mut slot = self.get_stream.borrow_mut();
        if slot.as_ref().is_some_and(|tx| !tx.is_closed()) {
            return Err(HttpError::StreamConflict);
        }
        let (tx, rx) = unbounded::<Vec<u8>>();
        let priming = sse::Event {
            id: Some(&format!("{}-0", stream_id())),
            ..Default::default()
        }
        .encode();
        let _ = tx.unbounded_send(priming.into_bytes());
        *slot = Some(tx.clone());
        wasm_bindgen_futures::spawn_local(keepalive(tx));
        let response = Response::from_stream(rx.map(Ok::<Vec<u8>, worker::Error>))
            .map_err(|e| http::internal("opening the stream", e))?;
        http::sse_headers(response.headers());
        Ok(response)
    }
}

/// Sends `: keepalive` until the stream's reader goes away.
async fn keepalive(tx: UnboundedSender<Vec<u8>>) {
    loop {
        worker::Delay::from(KEEPALIVE).await;
        if tx.unbounded_send(sse::comment("keepalive").into_bytes()).is_err() {
            break;
        }
    }
}

fn sse_response(body: String) -> Response {
    let response = http::respond(200, &[], body);
    http::sse_headers(response.headers());
    response
}

/// A random id for one SSE stream; event ids are `<stream>-<n>`.
fn stream_id() -> String {
    crate::session::id::generate()[..16].to_string()
}
