//! `McpSession`: the Durable Object holding one MCP session.
//!
//! Its state ([`SessionState`]) lives in Durable Object storage under [`STATE_KEY`], so the session survives
//! isolate restarts and eviction; memory only caches it. A deferred session (see [`crate::session::id`]) is
//! created here by its first request, from its id. An alarm ends the session once it has been idle for the
//! configured time. Streams and server-to-client requests live in the [`Outbox`].
//!
//! The object reads only what the Worker built ([`SessionCall`]: operation, session, caller), never a
//! client's headers, and serves a session only to the identity that opened it.
//!
//! A POST is answered with one JSON body when its requests finish without sending anything else; as soon as
//! a handler sends a message first (progress, a log, a request to the client), the answer becomes an SSE
//! stream (`MCP_RESPONSE_MODE=sse` always streams).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{join, select, Either};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::worker_sys::web_sys;
use worker::{Env, State};

use super::eager;
use super::streams::{sse_response, ObjectRuntime, OutStream, Outbox};
use super::{http, isolate, metrics_recorder, Failure, Reply};
use crate::config::{Settings, DEFAULT_KEEPALIVE_SECONDS};
use crate::error::HttpError;
use crate::handler::ToolFilter;
use crate::handler::{GitHubAccess, RequestContext, Server};
use crate::identity::Identity;
use crate::model::{Message, Payload, ProtocolVersion, RequestId};
use crate::session::{self, id::Kind, Opening, Session, SessionState, TransportKind};
use crate::stream::StreamMeta;
use crate::transport::legacy_sse;
use crate::transport::session_call::{Operation, SessionCall, CALL_HEADER};
use crate::transport::streamable_http::{self as shttp, PostOutcome, ResponseMode};

const STATE_KEY: &str = "state";
/// Marks a deferred session as ended until its id goes stale (until then the id could create it again).
const ENDED_KEY: &str = "ended";

/// The class the runtime instantiates, written out rather than made by `#[durable_object]`: its `fetch` is
/// polled eagerly ([`eager`]) with the body `entry.mjs` read first, so that a call answered without waiting (a
/// tool call in JSON mode) costs no task, no future of wasm-bindgen's and no closure per request.
#[wasm_bindgen]
pub struct McpSession {
    object: Rc<SessionObject>,
}

#[wasm_bindgen]
impl McpSession {
    #[wasm_bindgen(constructor)]
    pub fn new(state: worker::worker_sys::DurableObjectState, env: Env) -> Self {
        Self { object: Rc::new(SessionObject::new(State::from(state), env)) }
    }

    /// A request of the Worker's with its body, read by `entry.mjs` before calling in (its text, `null` for
    /// none, or why it could not be read): its answer now, or a promise of it.
    pub fn fetch(&self, req: web_sys::Request, body: JsValue) -> JsValue {
        let body = super::incoming::handed_in(body).unwrap_or(Ok(Vec::new()));
        let object = self.object.clone();
        eager::run(async move { object.fetch(&req, body).await })
    }

    /// Ends an idle session. A failure rejects, so the runtime retries the alarm (with back-off) instead of
    /// leaving the session's storage behind for good.
    pub fn alarm(&self) -> js_sys::Promise {
        let object = self.object.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            object.alarm().await.map(|()| JsValue::UNDEFINED).map_err(|e| JsValue::from(e.to_string()))
        })
    }
}

/// The body of a call that carries the client's messages: read (through the Worker, by `entry.mjs`), and nested
/// no deeper than the limit; a refusal answers the request's id when the body names one.
fn checked_body(body: Result<Vec<u8>, String>, max_depth: usize) -> Result<Vec<u8>, Failure> {
    let body = body.map_err(super::incoming::unreadable)?;
    shttp::check_depth(&body, max_depth).map_err(|e| Failure::answering(e, &body))?;
    Ok(body)
}

/// One session's object: its storage, and the session and streams it keeps in memory.
struct SessionObject {
    state: State,
    env: Env,
    /// The session, once loaded from storage; `None` before that or after it ended.
    session: RefCell<Option<Rc<Session>>>,
    outbox: Rc<Outbox>,
}

impl SessionObject {
    fn new(state: State, env: Env) -> Self {
        let keepalive = isolate::settings(&env).map_or(DEFAULT_KEEPALIVE_SECONDS * 1000, |s| s.keepalive_ms);
        let limits = isolate::settings(&env).map(|s| s.streams.clone()).unwrap_or_default();
        let keepalive = Duration::from_millis(keepalive);
        let outbox = Rc::new(Outbox::with_limits(ObjectRuntime::new(state.storage()), keepalive, limits));
        Self { state, env, session: RefCell::new(None), outbox }
    }

    async fn fetch(&self, req: &web_sys::Request, body: Result<Vec<u8>, String>) -> JsValue {
        let response = self.serve(req, body).await.unwrap_or_else(|Failure { error, id }| {
            if matches!(error, HttpError::LimitReached { .. }) {
                // The only bound a session object enforces itself: its open streams.
                metrics_recorder::rate_limited("streams");
            }
            http::error(&error, id, &crate::random::hex::<8>()).into()
        });
        // What this request counted (tool calls, a session opened or ended) goes to the metrics hub.
        metrics_recorder::flush(&self.env, None);
        response.into()
    }

    async fn alarm(&self) -> worker::Result<()> {
        let settings = isolate::settings(&self.env).map_err(worker::Error::RustError)?;
        let ttl = settings.session_ttl_ms;
        let loaded =
            self.load(None, None, &settings).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
        match loaded {
            Some(session) => {
                let expires = session.state().expires_at_ms(ttl);
                let now = super::now_ms();
                if now >= expires {
                    self.end(ttl).await?;
                } else {
                    self.state.storage().set_alarm(Duration::from_millis(expires - now)).await?;
                }
            }
            // Nothing left but, perhaps, the marker of an ended session whose id is now stale.
            None => self.end(ttl).await?,
        }
        metrics_recorder::flush(&self.env, None);
        Ok(())
    }
}

impl SessionObject {
    async fn serve(&self, req: &web_sys::Request, body: Result<Vec<u8>, String>) -> Result<Reply, Failure> {
        let settings = isolate::settings(&self.env).map_err(HttpError::NotConfigured)?;
        let server = isolate::server(&self.env, &settings).await;
        let call = super::incoming::header(&req.headers(), CALL_HEADER)
            .and_then(|h| SessionCall::from_header(&h))
            .ok_or_else(|| {
                HttpError::Internal("a session object got a request the Worker did not build".into())
            })?;
        let caller = call.caller();
        let id = call.session.as_str();
        let github =
            super::github_access::for_token(&self.env, &settings, call.bearer.as_ref().map(|b| b.0.as_str()));
        match call.op {
            Operation::Initialize => {
                let body = checked_body(body, settings.max_json_depth)?;
                Ok(self.initialize(&server, &settings, id, caller, &body).await?)
            }
            Operation::LegacyOpen => Ok(self.open_legacy(&settings, id, caller, &call.tools).await?),
            Operation::LegacyMessage => {
                let body = checked_body(body, settings.max_json_depth)?;
                self.legacy_message(&body, id, (caller, github), call.tools, server, settings)
                    .await
                    .map_err(|e| Failure::answering(e, &body))
            }
            Operation::Post => {
                // The Worker read the body within the limit already.
                let body = checked_body(body, settings.max_json_depth)?;
                let payload = Payload::parse(&body).map_err(|m| HttpError::Parse(m.error))?;
                let request_id = shttp::first_request_id(&payload);
                let answering = |error| Failure { error, id: request_id.clone() };
                // `initialize` carrying a session id is refused whether or not that session exists.
                if let Some(init) = shttp::initialize_request(&payload) {
                    return Err(answering(HttpError::already_initialized(Some(init.id.clone()))));
                }
                let session = self.active_session(id, &caller, &settings).await.map_err(answering)?;
                require_transport(&session, TransportKind::StreamableHttp).map_err(answering)?;
                check_revision(&session, call.revision).map_err(answering)?;
                // Refused before the answer can become a stream (`MCP_RESPONSE_MODE=sse`), so it stays a 400.
                shttp::check_batch(&payload, session.protocol_version()).map_err(answering)?;
                let limited = settings.tool_rate_limits.calls_in(&payload, |r| server.tools_reached(r));
                if !limited.is_empty() {
                    // A POST refused for its streams must not use up the caller's tool calls.
                    self.outbox.room_for_requests().map_err(answering)?;
                }
                super::caller_object::take_tool_calls(&self.env, &caller, &limited)
                    .await
                    .map_err(answering)?;
                self.post(server, settings, session, (caller, github), call.tools, payload)
                    .await
                    .map_err(answering)
            }
            Operation::Listen => {
                let session = self.active_session(id, &caller, &settings).await?;
                require_transport(&session, TransportKind::StreamableHttp)?;
                check_revision(&session, call.revision)?;
                save_state(&self.outbox, &session).await;
                let version = session.protocol_version();
                let body = match call.last_event_id {
                    Some(last) => self.outbox.resume(&last, version).await?,
                    None => self.outbox.open_standalone(version).await?,
                };
                Ok(sse_response(body, "get")?.into())
            }
            Operation::End => {
                let session = self.active_session(id, &caller, &settings).await?;
                require_transport(&session, TransportKind::StreamableHttp)?;
                self.end(settings.session_ttl_ms)
                    .await
                    .map_err(|e| http::internal("ending the session", e))?;
                Ok(http::respond(204, &[], String::new()).into())
            }
        }
    }

    /// Runs the POST's messages in a task of their own, then answers with JSON if they finished without
    /// sending anything else first, or with the stream they write to.
    async fn post(
        &self,
        server: Rc<Server>,
        settings: Rc<Settings>,
        session: Rc<Session>,
        (caller, github): (Identity, Option<Rc<dyn GitHubAccess>>),
        tools: ToolFilter,
        payload: Payload,
    ) -> Result<Reply, HttpError> {
        let request_ids = request_ids(&payload);
        // Only a POST carrying requests may be refused: one carrying answers may be what a tool waits for.
        let stream = match request_ids.is_empty() {
            true => self.outbox.open(session.protocol_version()),
            false => self.outbox.open_for_requests(session.protocol_version())?,
        };
        let first_message = stream.on_first_message();
        let peer = self.outbox.peer(&stream, settings.client_request_timeout_ms);
        let outbox = self.outbox.clone();
        let env = self.env.clone();
        // Each request is cancellable on its own (`notifications/cancelled` names one): a cancelled request
        // gets no response, the others of the POST still do.
        let (done_tx, done_rx) = oneshot::channel();
        let streaming = settings.response_mode == ResponseMode::Sse && !request_ids.is_empty();
        // A task of its own: the work goes on after a streaming answer has been returned. Started here when the
        // answer may be JSON, so that a call that never waits is answered without a task.
        let work = async move {
            let mut cx = RequestContext::in_session(session.clone(), caller, peer);
            cx.tools = tools;
            cx.github = github;
            let deliver = |response| outbox.deliver(response);
            let outcome = shttp::handle_post(&server, &cx, payload, &deliver).await;
            save_state(&outbox, &session).await;
            let _ = done_tx.send(outcome);
            // A streamed answer's tool calls end after the response left: they are sent from here.
            metrics_recorder::flush(&env, None);
        };
        match streaming {
            true => wasm_bindgen_futures::spawn_local(work),
            false => eager::spawn(work),
        }
        let done_rx = if streaming {
            done_rx
        } else {
            match select(done_rx, first_message).await {
                Either::Left((Ok(outcome), _)) => return self.answer(&stream, &request_ids, outcome).await,
                Either::Left((Err(_), _)) => {
                    return Err(HttpError::Internal("the POST's task ended unanswered".into()))
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
                Ok(Ok(PostOutcome::Accepted)) | Err(_) => Vec::new(),
                Ok(Err(err)) => failed(&request_ids, &err),
            };
            outbox.finish(&stream, &responses);
        });
        Ok(response.into())
    }

    /// The answer of a POST whose requests all finished (or failed as a whole).
    async fn answer(
        &self,
        stream: &Rc<OutStream>,
        request_ids: &[RequestId],
        outcome: Result<PostOutcome, HttpError>,
    ) -> Result<Reply, HttpError> {
        let quiet = !stream.has_events();
        if quiet {
            self.outbox.discard(stream);
        }
        match outcome? {
            PostOutcome::Accepted => Ok(http::respond(202, &[], String::new()).into()),
            // Every request was cancelled before anything was sent: an event stream that ends without a
            // response, as the spec asks, and without an event id (there is nothing to resume).
            PostOutcome::Responses { responses, .. } if quiet && responses.is_empty() => {
                let response = http::respond(200, &[], String::new());
                http::sse_headers(response.headers());
                Ok(response.into())
            }
            PostOutcome::Responses { responses, batch } if quiet => {
                Ok(http::json_reply(200, &shttp::json_body(&responses, batch)))
            }
            // Messages went out first (a race lost to the final answer): keep them, as a finished stream.
            PostOutcome::Responses { responses, .. } => {
                self.outbox.start_storing(stream, StreamMeta::Requests(request_ids.to_vec())).await?;
                let response = self.outbox.stream_response(stream)?;
                self.outbox.finish(stream, &responses);
                Ok(response.into())
            }
        }
    }

    /// `initialize` whose opening does not fit in a deferred id: the session is created now.
    async fn initialize(
        &self,
        server: &Server,
        settings: &Settings,
        id: &str,
        caller: Identity,
        body: &[u8],
    ) -> Result<Reply, HttpError> {
        let Ok(Payload::Single(Ok(Message::Request(request)))) = Payload::parse(body) else {
            return Err(HttpError::Internal("the Worker forwarded something other than initialize".into()));
        };
        let now = super::now_ms();
        // Invalid initialize params: 400, and no session is created.
        let (response, opening) = server.initialize_by(&request, &caller, now)?;
        self.create(SessionState::new(id.to_string(), opening, &caller, now), settings).await?;
        Ok(http::opened(settings.response_mode, &response, id).into())
    }

    /// `GET /sse`: a new 2024-11-05 session of `caller`, whose stream starts with the `endpoint` event (whose URL
    /// keeps the tools the connection narrowed itself to, since the client POSTs to exactly that URL).
    async fn open_legacy(
        &self,
        settings: &Settings,
        id: &str,
        caller: Identity,
        tools: &ToolFilter,
    ) -> Result<Reply, HttpError> {
        let state = SessionState::legacy(id.to_string(), &caller, super::now_ms());
        self.create(state, settings).await?;
        let endpoint = legacy_sse::endpoint_event(&settings.messages_path, id, &tools.to_query());
        sse_response(self.outbox.open_legacy(endpoint), "legacy").map(Reply::from)
    }

    /// `POST /messages`: 202 at once; the replies go out on the session's stream when ready (a tool may wait
    /// for the client, whose answer comes as another POST).
    async fn legacy_message(
        &self,
        body: &[u8],
        id: &str,
        (caller, github): (Identity, Option<Rc<dyn GitHubAccess>>),
        tools: ToolFilter,
        server: Rc<Server>,
        settings: Rc<Settings>,
    ) -> Result<Reply, HttpError> {
        let session = self.active_session(id, &caller, &settings).await?;
        require_transport(&session, TransportKind::LegacySse)?;
        let Some(stream) = self.outbox.legacy_stream() else {
            // The stream closed, and with it the session: this transport cannot resume it.
            self.end(settings.session_ttl_ms).await.map_err(|e| http::internal("ending the session", e))?;
            return Err(HttpError::SessionNotFound);
        };
        let payload = Payload::parse(body).map_err(|m| HttpError::Parse(m.error))?;
        let limited = settings.tool_rate_limits.calls_in(&payload, |r| server.tools_reached(r));
        super::caller_object::take_tool_calls(&self.env, &caller, &limited).await?;
        let peer = self.outbox.peer(&stream, settings.client_request_timeout_ms);
        let outbox = self.outbox.clone();
        let env = self.env.clone();
        // A cancelled request sends no reply; the others of the POST still do.
        wasm_bindgen_futures::spawn_local(async move {
            let mut cx = RequestContext::in_session(session.clone(), caller, peer);
            cx.tools = tools;
            cx.github = github;
            let deliver = |response| outbox.deliver(response);
            let now = super::now_ms();
            let replies = legacy_sse::handle_message(&server, &cx, payload, &deliver, now).await;
            save_state(&outbox, &session).await;
            if let Some(json) = legacy_sse::replies_json(&replies) {
                outbox.push(&stream, json);
            }
            metrics_recorder::flush(&env, None);
        });
        Ok(http::respond(202, &[("Content-Type", "text/plain")], "Accepted".into()).into())
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
        metrics_recorder::session(1);
        Ok(session)
    }

    /// Session `id` if it exists (or, deferred, can be created now), belongs to `caller` and has not expired;
    /// 404 otherwise: to anyone but its owner a session does not exist.
    async fn active_session(
        &self,
        id: &str,
        caller: &Identity,
        settings: &Settings,
    ) -> Result<Rc<Session>, HttpError> {
        let session = self.load(Some(id), Some(caller), settings).await?.ok_or(HttpError::SessionNotFound)?;
        if !session.state().is_owned_by(caller) {
            return Err(HttpError::SessionNotFound);
        }
        let now = super::now_ms();
        if session.state().is_expired(now, settings.session_ttl_ms) {
            self.end(settings.session_ttl_ms).await.map_err(|e| http::internal("ending the session", e))?;
            return Err(HttpError::SessionNotFound);
        }
        if session.state().needs_touch(now, settings.session_ttl_ms) {
            session.update(|s| s.last_seen_ms = now);
            let expires = session.state().expires_at_ms(settings.session_ttl_ms);
            let owner = session.state().owner.clone();
            super::caller_object::keep_session(&self.env, settings, &owner, id, expires);
        }
        Ok(session)
    }

    /// The session, from memory or storage; with `id` (a client's request), a deferred session's first
    /// request, from its owner `caller`, creates it.
    async fn load(
        &self,
        id: Option<&str>,
        caller: Option<&Identity>,
        settings: &Settings,
    ) -> Result<Option<Rc<Session>>, HttpError> {
        if let Some(session) = self.cached() {
            return Ok(Some(session));
        }
        let stored: Option<SessionState> = self.read(STATE_KEY).await?;
        if let Some(state) = stored {
            // A request that arrived while storage was read may have loaded it already; keep that one.
            return Ok(Some(self.cached().unwrap_or_else(|| self.keep(state))));
        }
        let Some((id, opening)) = self.first_use(id, caller, settings).await? else { return Ok(None) };
        if let Some(session) = self.cached() {
            return Ok(Some(session));
        }
        let caller = caller.expect("first_use needs the caller");
        let state = SessionState::new(id.to_string(), opening, caller, super::now_ms());
        Ok(Some(self.create(state, settings).await?))
    }

    /// The opening of deferred session `id`, if this can be its first use: by its owner, not ended, not stale.
    async fn first_use<'a>(
        &self,
        id: Option<&'a str>,
        caller: Option<&Identity>,
        settings: &Settings,
    ) -> Result<Option<(&'a str, Opening)>, HttpError> {
        let (Some(id), Some(caller)) = (id, caller) else { return Ok(None) };
        let Some(Kind::Deferred { opening, owner }) = session::id::kind_of_verified(id) else {
            return Ok(None);
        };
        let owned = settings.session_ids.as_ref().is_some_and(|ids| ids.is_owner(&owner, caller));
        if !owned || opening.is_stale(super::now_ms(), settings.session_ttl_ms) {
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
        let session = self.session.borrow_mut().take();
        if let Some(session) = &session {
            session.end();
        }
        let id = session.as_ref().map(|s| s.state().id.clone());
        self.outbox.close_all();
        // Only storage calls hold the input gate: storage goes first, so no request arriving meanwhile can load
        // the session again; the caller's ledger is told after (a call to another object lets requests in).
        let storage = self.state.storage();
        storage.delete_alarm().await?;
        storage.delete_all().await?;
        if session.is_some() {
            // The session was live (loaded: every path that ends a session loads it first).
            metrics_recorder::session(-1);
        }
        let now = super::now_ms();
        if let Some(Kind::Deferred { opening, .. }) = id.as_deref().and_then(session::id::kind_of_verified) {
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
        // Last: once storage (and a deferred session's marker) says the session is gone.
        if let (Some(session), Ok(settings)) = (&session, isolate::settings(&self.env)) {
            let (owner, id) = (session.state().owner.clone(), session.state().id.clone());
            super::caller_object::close_session(&self.env, &settings, &owner, &id).await;
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

/// The same error as the answer to each request of a POST that failed as a whole after its stream began; a
/// failure on our side is logged under a reference, which the answers name.
fn failed(ids: &[RequestId], err: &HttpError) -> Vec<crate::model::Response> {
    let reference = crate::random::hex::<8>();
    http::log_internal(err, &reference);
    ids.iter().map(|id| err.to_response(Some(id.clone()), &reference)).collect()
}

/// A request declaring another revision than its session negotiated is a bad request (400).
fn check_revision(session: &Session, revision: Option<ProtocolVersion>) -> Result<(), HttpError> {
    match revision {
        Some(declared) if declared != session.protocol_version() => Err(HttpError::BadRequest(format!(
            "MCP-Protocol-Version {declared} does not match this session's negotiated revision {}",
            session.protocol_version()
        ))),
        _ => Ok(()),
    }
}

/// Writes the session state back if a request changed it, unless the session ended meanwhile (that would
/// bring it back). A failed write is logged and retried with the next request: the answers already computed
/// are not thrown away for it.
async fn save_state(outbox: &Outbox, session: &Session) {
    if session.is_ended() || !session.take_dirty() {
        return;
    }
    if let Err(e) = outbox.storage().put(STATE_KEY, &session.snapshot()).await {
        session.mark_dirty();
        worker::console_error!("saving the session: {e}");
    }
}
