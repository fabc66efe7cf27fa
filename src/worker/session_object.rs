//! `McpSession`: the Durable Object holding one MCP session.
//!
//! Its state ([`SessionState`]) lives in Durable Object storage under [`STATE_KEY`], so the session survives
//! isolate restarts and eviction; memory only caches it. A deferred session (see [`crate::session::id`]) is
//! created here by its first request, from its id. An alarm ends the session once it has been idle for the
//! configured time. Streams and server-to-client requests live in the [`Outbox`].
//!
//! A POST is answered with one JSON body when its requests finish without sending anything else; as soon as
//! a handler sends a message first (progress, a log, a request to the client), the answer becomes an SSE
//! stream (`MCP_RESPONSE_MODE=sse` always streams).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{join, select, Either};
use worker::{
    durable_object, Date, DurableObject, Env, Headers, Method, Request, RequestInit, Response, State,
};

use super::streams::{sse_response, ObjectRuntime, OutStream, Outbox};
use super::{http, isolate};
use crate::config::{Settings, DEFAULT_KEEPALIVE_SECONDS};
use crate::error::HttpError;
use crate::handler::Server;
use crate::model::{Message, Payload, RequestId};
use crate::session::{self, id::Kind, Opening, Session, SessionState, TransportKind};
use crate::stream::StreamMeta;
use crate::transport::legacy_sse;
use crate::transport::streamable_http::{self as shttp, PostOutcome, ResponseMode, SESSION_HEADER};

const STATE_KEY: &str = "state";
/// Marks a deferred session as ended until its id goes stale (until then the id could create it again).
const ENDED_KEY: &str = "ended";
/// Internal paths the Worker uses: create a session from `initialize`; open a legacy SSE session; feed it.
pub const INITIALIZE_PATH: &str = "/__initialize";
pub const LEGACY_OPEN_PATH: &str = "/__sse";
pub const LEGACY_MESSAGE_PATH: &str = "/__messages";

#[durable_object]
pub struct McpSession {
    state: State,
    env: Env,
    /// The session, once loaded from storage; `None` before that or after it ended.
    session: RefCell<Option<Rc<Session>>>,
    outbox: Rc<Outbox>,
}

/// A request from the Worker to the object of session `id`, on one of the internal paths.
pub fn internal_request(
    path: &str,
    method: Method,
    id: &str,
    accept: Option<String>,
    body: Option<Vec<u8>>,
) -> Result<Request, HttpError> {
    let headers = Headers::new();
    let _ = headers.set(SESSION_HEADER, id);
    if let Some(accept) = accept {
        let _ = headers.set("Accept", &accept);
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    Request::new_with_init(&format!("https://session{path}"), &init)
        .map_err(|e| http::internal("building the session request", e))
}

impl DurableObject for McpSession {
    fn new(state: State, env: Env) -> Self {
        let keepalive = isolate::settings(&env).map_or(DEFAULT_KEEPALIVE_SECONDS * 1000, |s| s.keepalive_ms);
        let outbox =
            Rc::new(Outbox::new(ObjectRuntime::new(state.storage()), Duration::from_millis(keepalive)));
        Self { state, env, session: RefCell::new(None), outbox }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(self.serve(req).await.unwrap_or_else(|err| http::error(&err)))
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let settings = isolate::settings(&self.env).map_err(worker::Error::RustError)?;
        let ttl = settings.session_ttl_ms;
        match self.load(None, &settings).await {
            Ok(Some(session)) => {
                let expires = session.state().expires_at_ms(ttl);
                let now = Date::now().as_millis();
                if now >= expires {
                    self.end(ttl).await?;
                } else {
                    self.state.storage().set_alarm(Duration::from_millis(expires - now)).await?;
                }
            }
            // Nothing left but, perhaps, the marker of an ended session whose id is now stale.
            Ok(None) => self.end(ttl).await?,
            Err(err) => worker::console_error!("session alarm: {err}"),
        }
        Response::empty()
    }
}

impl McpSession {
    async fn serve(&self, mut req: Request) -> Result<Response, HttpError> {
        let settings = isolate::settings(&self.env).map_err(HttpError::NotConfigured)?;
        let server = isolate::server(&self.env, &settings);
        let id =
            http::header(&req, SESSION_HEADER).ok_or_else(|| HttpError::Internal("no session id".into()))?;
        match req.path().as_str() {
            INITIALIZE_PATH => {
                let body = req.bytes().await.map_err(|e| http::internal("reading the body", e))?;
                return self.initialize(&server, &settings, id, &body).await;
            }
            LEGACY_OPEN_PATH => return self.open_legacy(&settings, id).await,
            LEGACY_MESSAGE_PATH => return self.legacy_message(req, &id, server, settings).await,
            _ => {}
        }
        match req.method() {
            Method::Post => {
                let body = http::read_body(&mut req, settings.max_body_bytes).await?;
                let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
                // `initialize` carrying a session id is refused whether or not that session exists.
                if shttp::contains_initialize(&payload) {
                    return Err(HttpError::AlreadyInitialized);
                }
                let session = self.active_session(&id, &settings).await?;
                require_transport(&session, TransportKind::StreamableHttp)?;
                self.post(server, settings, session, payload).await
            }
            Method::Get => {
                let session = self.active_session(&id, &settings).await?;
                require_transport(&session, TransportKind::StreamableHttp)?;
                persist(&self.outbox, &session).await?;
                let version = session.protocol_version();
                let body = match http::header(&req, "Last-Event-ID") {
                    Some(last) => self.outbox.resume(&last, version).await?,
                    None => self.outbox.open_standalone(version).await?,
                };
                sse_response(body)
            }
            Method::Delete => {
                let session = self.active_session(&id, &settings).await?;
                require_transport(&session, TransportKind::StreamableHttp)?;
                self.end(settings.session_ttl_ms)
                    .await
                    .map_err(|e| http::internal("ending the session", e))?;
                Ok(http::respond(204, &[], String::new()))
            }
            _ => Err(HttpError::MethodNotAllowed { allow: "GET, POST, DELETE, OPTIONS" }),
        }
    }

    /// Runs the POST's messages in a task of their own, then answers with JSON if they finished without
    /// sending anything else first, or with the stream they write to.
    async fn post(
        &self,
        server: Rc<Server>,
        settings: Rc<Settings>,
        session: Rc<Session>,
        payload: Payload,
    ) -> Result<Response, HttpError> {
        let request_ids = request_ids(&payload);
        let stream = self.outbox.open(session.protocol_version());
        let first_message = stream.on_first_message();
        let (done_tx, done_rx) = oneshot::channel();
        let peer = self.outbox.peer(&stream, settings.client_request_timeout_ms);
        let outbox = self.outbox.clone();
        let work = async move {
            let deliver = |response| outbox.deliver(response);
            let outcome = shttp::handle_post(&server, &session, payload, peer, &deliver).await;
            let outcome = match (outcome, persist(&outbox, &session).await) {
                (Ok(outcome), Err(e)) if outcome != PostOutcome::Accepted => Err(e),
                (outcome, _) => outcome,
            };
            let _ = done_tx.send(outcome);
        };
        // `notifications/cancelled` for one of these requests aborts the task; `done_rx` then reports
        // `Canceled` and the POST ends without a response, as the spec asks.
        self.outbox.spawn_cancellable(request_ids.clone(), work);

        let streaming = settings.response_mode == ResponseMode::Sse && !request_ids.is_empty();
        let done_rx = if streaming {
            done_rx
        } else {
            match select(done_rx, first_message).await {
                Either::Left((Ok(outcome), _)) => return self.answer(&stream, &request_ids, outcome).await,
                // Cancelled before anything was sent: a stream that ends without a response.
                Either::Left((Err(_), _)) => {
                    let response = self.outbox.stream_response(&stream)?;
                    self.outbox.finish(&stream, &[]);
                    return Ok(response);
                }
                Either::Right((_, done_rx)) => done_rx,
            }
        };
        // Something was sent before the answer, or SSE was asked for: stream from here on.
        self.outbox.start_storing(&stream, StreamMeta::Requests(request_ids.clone())).await?;
        let response = self.outbox.stream_response(&stream)?;
        let outbox = self.outbox.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let responses = match done_rx.await {
                Ok(Ok(PostOutcome::Responses { responses, .. })) => responses,
                Ok(Ok(PostOutcome::Accepted)) => Vec::new(),
                Ok(Err(err)) => failed(&request_ids, err.to_error_object()),
                // Cancelled by the client (notifications/cancelled): no response.
                Err(_) => Vec::new(),
            };
            outbox.finish(&stream, &responses);
        });
        Ok(response)
    }

    /// The answer of a POST whose requests all finished (or failed as a whole).
    async fn answer(
        &self,
        stream: &Rc<OutStream>,
        request_ids: &[RequestId],
        outcome: Result<PostOutcome, HttpError>,
    ) -> Result<Response, HttpError> {
        let quiet = !stream.has_events();
        if quiet {
            self.outbox.discard(stream);
        }
        match outcome? {
            PostOutcome::Accepted => Ok(http::respond(202, &[], String::new())),
            PostOutcome::Responses { responses, batch } if quiet => {
                Ok(http::json(200, shttp::json_body(&responses, batch)))
            }
            // Messages went out first (a race lost to the final answer): keep them, as a finished stream.
            PostOutcome::Responses { responses, .. } => {
                self.outbox.start_storing(stream, StreamMeta::Requests(request_ids.to_vec())).await?;
                let response = self.outbox.stream_response(stream)?;
                self.outbox.finish(stream, &responses);
                Ok(response)
            }
        }
    }

    /// `initialize` whose opening does not fit in a deferred id: the session is created now.
    async fn initialize(
        &self,
        server: &Server,
        settings: &Settings,
        id: String,
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let Ok(Payload::Single(Ok(Message::Request(request)))) = Payload::parse(body) else {
            return Err(HttpError::Internal("the Worker forwarded something other than initialize".into()));
        };
        let now = Date::now().as_millis();
        let (response, opening) = match server.initialize(&request, now) {
            Ok(opened) => opened,
            // Invalid initialize params: no session is created.
            Err(error) => return Ok(http::json(400, error.to_value().to_string())),
        };
        self.create(SessionState::new(id.clone(), opening, now), settings).await?;
        Ok(http::opened(settings.response_mode, &response, &id))
    }

    /// `GET /sse`: a new 2024-11-05 session, whose stream starts with the `endpoint` event.
    async fn open_legacy(&self, settings: &Settings, id: String) -> Result<Response, HttpError> {
        self.create(SessionState::legacy(id.clone(), Date::now().as_millis()), settings).await?;
        sse_response(self.outbox.open_legacy(legacy_sse::endpoint_event(&settings.messages_path, &id)))
    }

    /// `POST /messages`: 202 at once; the replies go out on the session's stream when ready (a tool may wait
    /// for the client, whose answer comes as another POST).
    async fn legacy_message(
        &self,
        mut req: Request,
        id: &str,
        server: Rc<Server>,
        settings: Rc<Settings>,
    ) -> Result<Response, HttpError> {
        let session = self.active_session(id, &settings).await?;
        require_transport(&session, TransportKind::LegacySse)?;
        let Some(stream) = self.outbox.legacy_stream() else {
            // The stream closed, and with it the session: this transport cannot resume it.
            self.end(settings.session_ttl_ms).await.map_err(|e| http::internal("ending the session", e))?;
            return Err(HttpError::SessionNotFound);
        };
        let body = http::read_body(&mut req, settings.max_body_bytes).await?;
        let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
        let peer = self.outbox.peer(&stream, settings.client_request_timeout_ms);
        let ids = request_ids(&payload);
        let outbox = self.outbox.clone();
        // A cancelled request sends no reply.
        self.outbox.spawn_cancellable(ids, async move {
            let deliver = |response| outbox.deliver(response);
            let now = Date::now().as_millis();
            let replies = legacy_sse::handle_message(&server, &session, payload, peer, &deliver, now).await;
            if let Err(err) = persist(&outbox, &session).await {
                worker::console_error!("legacy session: {err}");
            }
            if let Some(json) = legacy_sse::replies_json(&replies) {
                outbox.push(&stream, json);
            }
        });
        Ok(http::respond(202, &[("Content-Type", "text/plain")], "Accepted".into()))
    }

    /// A new session: kept in memory at once (so requests arriving meanwhile find it), then stored with its
    /// expiry scheduled. Both writes are issued at once: one round trip.
    async fn create(&self, state: SessionState, settings: &Settings) -> Result<Rc<Session>, HttpError> {
        let stored = state.clone();
        let session = self.keep(state);
        let storage = self.state.storage();
        let (saved, scheduled) = join(
            storage.put(STATE_KEY, &stored),
            storage.set_alarm(Duration::from_millis(settings.session_ttl_ms)),
        )
        .await;
        saved.map_err(|e| http::internal("saving the session", e))?;
        scheduled.map_err(|e| http::internal("scheduling session expiry", e))?;
        Ok(session)
    }

    /// Session `id` if it exists (or, deferred, can be created now) and has not expired; 404 otherwise.
    async fn active_session(&self, id: &str, settings: &Settings) -> Result<Rc<Session>, HttpError> {
        let session = self.load(Some(id), settings).await?.ok_or(HttpError::SessionNotFound)?;
        let now = Date::now().as_millis();
        if session.state().is_expired(now, settings.session_ttl_ms) {
            self.end(settings.session_ttl_ms).await.map_err(|e| http::internal("ending the session", e))?;
            return Err(HttpError::SessionNotFound);
        }
        if session.state().needs_touch(now, settings.session_ttl_ms) {
            session.update(|s| s.last_seen_ms = now);
        }
        Ok(session)
    }

    /// The session, from memory or storage; with `id` (a client's request), a deferred session's first
    /// request creates it.
    async fn load(&self, id: Option<&str>, settings: &Settings) -> Result<Option<Rc<Session>>, HttpError> {
        if let Some(session) = self.cached() {
            return Ok(Some(session));
        }
        let stored: Option<SessionState> = self.read(STATE_KEY).await?;
        if let Some(state) = stored {
            // A request that arrived while storage was read may have loaded it already; keep that one.
            return Ok(Some(self.cached().unwrap_or_else(|| self.keep(state))));
        }
        let Some((id, opening)) = self.first_use(id, settings).await? else { return Ok(None) };
        if let Some(session) = self.cached() {
            return Ok(Some(session));
        }
        let state = SessionState::new(id.to_string(), opening, Date::now().as_millis());
        Ok(Some(self.create(state, settings).await?))
    }

    /// The opening of deferred session `id`, if this can be its first use: it has not ended and is not stale.
    async fn first_use<'a>(
        &self,
        id: Option<&'a str>,
        settings: &Settings,
    ) -> Result<Option<(&'a str, Opening)>, HttpError> {
        let Some(id) = id else { return Ok(None) };
        let Some(Kind::Deferred(opening)) = session::id::classify(id) else { return Ok(None) };
        if opening.is_stale(Date::now().as_millis(), settings.session_ttl_ms) {
            return Ok(None);
        }
        let ended: Option<u64> = self.read(ENDED_KEY).await?;
        Ok(ended.is_none().then_some((id, opening)))
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, HttpError> {
        self.state.storage().get(key).await.map_err(|e| http::internal("loading the session", e))
    }

    fn cached(&self) -> Option<Rc<Session>> {
        self.session.borrow().clone()
    }

    fn keep(&self, state: SessionState) -> Rc<Session> {
        let session = Rc::new(Session::new(state));
        *self.session.borrow_mut() = Some(session.clone());
        session
    }

    /// Ends the session: storage, alarm, streams and waiting requests. A deferred session's id could create
    /// it again until the id goes stale, so until then a marker stays.
    async fn end(&self, ttl_ms: u64) -> worker::Result<()> {
        let id = self.session.borrow_mut().take().map(|s| s.state().id.clone());
        self.outbox.close_all();
        let storage = self.state.storage();
        storage.delete_alarm().await?;
        storage.delete_all().await?;
        let now = Date::now().as_millis();
        if let Some(Kind::Deferred(opening)) = id.as_deref().and_then(session::id::classify) {
            if !opening.is_stale(now, ttl_ms) {
                let until = opening.opened_at_ms.saturating_add(ttl_ms);
                let (marked, scheduled) = join(
                    storage.put(ENDED_KEY, until),
                    storage.set_alarm(Duration::from_millis(until - now)),
                )
                .await;
                marked?;
                scheduled?;
            }
        }
        Ok(())
    }
}

/// The ids of the requests in a POST.
fn request_ids(payload: &Payload) -> Vec<RequestId> {
    payload
        .items()
        .iter()
        .filter_map(|item| match item {
            Ok(Message::Request(r)) => Some(r.id.clone()),
            _ => None,
        })
        .collect()
}

/// Sessions of one transport cannot be used through the other.
fn require_transport(session: &Session, kind: TransportKind) -> Result<(), HttpError> {
    if session.state().transport == kind {
        Ok(())
    } else {
        Err(HttpError::SessionNotFound)
    }
}

/// The same error as the answer to each request.
fn failed(ids: &[RequestId], error: crate::model::ErrorObject) -> Vec<crate::model::Response> {
    ids.iter().map(|id| crate::model::Response::error(Some(id.clone()), error.clone())).collect()
}

/// Writes the session state back if a request changed it.
async fn persist(outbox: &Outbox, session: &Session) -> Result<(), HttpError> {
    if session.take_dirty() {
        let snapshot = session.snapshot();
        outbox
            .storage()
            .put(STATE_KEY, &snapshot)
            .await
            .map_err(|e| http::internal("saving the session", e))?;
    }
    Ok(())
}
