//! The per-request context handlers receive ([`RequestContext`]), and what a handler can do besides computing
//! its result: report progress, log, and ask the client things (sampling, elicitation, roots) while the
//! request is open. The transport provides the [`Peer`].

use std::rc::Rc;

use serde_json::{json, Value};

use super::exposure::ToolFilter;
use super::tools::LocalFuture;
use crate::cancellation::Cancellation;
use crate::identity::Identity;
use crate::model::lifecycle::{Implementation, LogLevel};
use crate::model::{ErrorObject, ProtocolVersion};
use crate::session::Session;

/// The client end of the request being answered.
pub trait Peer {
    /// Sends a notification on the request's stream.
    fn notify(&self, method: &str, params: Value);

    /// Sends a request to the client on the request's stream and waits for its answer.
    fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>>;

    /// The same, where the question has a name (`key`): a stateless request carries its questions and answers
    /// by key across rounds (see [`RequestContext::ask_as`]). Lanes that can ask directly ignore the key.
    fn request_as(
        &self,
        key: &str,
        method: &str,
        params: Value,
    ) -> LocalFuture<'_, Result<Value, PeerError>> {
        let _ = key;
        self.request(method, params)
    }

    /// Notes that the handler needed `capability`, which the client did not declare: on the stateless lane a
    /// handler that then fails is answered with -32021 naming it.
    fn missing_capability(&self, capability: &'static str) {
        let _ = capability;
    }

    /// Whether a question is waiting for an input-required result (the stateless lane): the handler's own
    /// result will be replaced by it.
    fn awaits_input(&self) -> bool {
        false
    }

    /// Sends a notification about the session rather than the request (such as
    /// `notifications/resources/updated`): on the standalone stream when one is open.
    fn notify_session(&self, method: &str, params: Value) {
        self.notify(method, params);
    }

    /// Ends the HTTP response carrying the request's stream while the request goes on (SSE polling): the
    /// client resumes with GET and `Last-Event-ID`. Transports without resumable streams ignore it.
    fn close_stream(&self) {}
}

/// GitHub on behalf of the signed-in user who is calling: set in [`RequestContext::github`] only for users
/// signed in with GitHub. The user's GitHub token stays in the grant (encrypted) until a tool asks; the client's
/// token of ours is never sent anywhere.
pub trait GitHubAccess {
    /// The user's GitHub token; an expiring GitHub App token is refreshed first (once, whoever else asks at
    /// the same time). Errors say what failed and never contain a token.
    fn token(&self) -> LocalFuture<'_, Result<String, String>>;

    /// `GET {GITHUB_API_URL}{path}` (e.g. `/user`) with the user's token and GitHub's API headers: the HTTP
    /// status and the JSON body (`null` when the body is not JSON).
    fn get(&self, path: &str) -> LocalFuture<'_, Result<(u16, Value), String>>;
}

/// Why a server-to-client request got no result.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerError {
    /// The client did not declare the capability the request needs.
    Unsupported(&'static str),
    /// No answer came in time.
    Timeout { seconds: u64 },
    /// The client answered with an error.
    Rejected(ErrorObject),
    /// The request cannot be sent: no stream, or the session ended.
    Closed(String),
    /// Not answered yet: on the stateless lane the client is asked in the request's input-required result,
    /// and the handler runs again with the answer. A handler just returns (the error, its result, is dropped).
    InputRequired,
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(cap) => write!(f, "the client does not support {cap}"),
            Self::Timeout { seconds } => write!(f, "the client did not answer within {seconds} s"),
            Self::Rejected(e) => write!(f, "the client answered with error {}: {}", e.code, e.message),
            Self::Closed(why) => write!(f, "cannot reach the client: {why}"),
            Self::InputRequired => f.write_str("the client is asked in an input-required result"),
        }
    }
}

/// A peer that can do nothing: notifications are dropped, requests fail.
pub struct NoPeer;

impl Peer for NoPeer {
    fn notify(&self, _method: &str, _params: Value) {}

    fn request(&self, _method: &str, _params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        Box::pin(async { Err(PeerError::Closed("this request has no stream to the client".into())) })
    }
}

/// Everything a handler (tool, resource, prompt) may use besides its arguments: one per request, whichever
/// lane it came through. On the session lane it carries the session; a stateless request has none, and the
/// same tools serve it unchanged.
#[derive(Clone)]
pub struct RequestContext {
    /// The revision the request speaks (negotiated by the session, or declared by a stateless request).
    pub protocol_version: ProtocolVersion,
    /// What the client declared: in `initialize`, or in a stateless request's `_meta`.
    pub client_capabilities: Value,
    pub client_info: Implementation,
    /// Who is calling, as authentication established.
    pub caller: Identity,
    /// `params._meta.progressToken`, when the client asked for progress notifications.
    pub progress_token: Option<Value>,
    /// `params._meta`, as the client sent it (shared: the context is cloned for each tool call).
    pub meta: Option<Rc<Value>>,
    /// Set when the client cancels this request (`notifications/cancelled`).
    pub cancellation: Cancellation,
    /// The threshold of `notifications/message`; `None` sends no log notifications.
    pub log_level: Option<LogLevel>,
    /// The session, on the session lane.
    pub session: Option<Rc<Session>>,
    pub peer: Rc<dyn Peer>,
    /// The tools the connection narrowed itself to (its URL); the deployment's own bounds apply as well.
    pub tools: ToolFilter,
    /// GitHub as the calling user, when the caller signed in with GitHub; `None` for API keys and anonymous.
    pub github: Option<Rc<dyn GitHubAccess>>,
}

impl RequestContext {
    /// A context with nothing declared, for `caller`, answering through `peer`.
    pub fn new(caller: Identity, peer: Rc<dyn Peer>) -> Self {
        Self {
            protocol_version: ProtocolVersion::LATEST_STATEFUL,
            client_capabilities: json!({}),
            client_info: Implementation::default(),
            caller,
            progress_token: None,
            meta: None,
            cancellation: Cancellation::new(),
            log_level: None,
            session: None,
            peer,
            tools: ToolFilter::all(),
            github: None,
        }
    }

    /// The context of a request inside `session`: what the session negotiated, its log level.
    pub fn in_session(session: Rc<Session>, caller: Identity, peer: Rc<dyn Peer>) -> Self {
        let mut cx = Self::new(caller, peer);
        {
            let state = session.state();
            cx.protocol_version = state.protocol_version;
            cx.client_capabilities = state.client_capabilities.clone();
            cx.client_info = state.client_info.clone();
            cx.log_level = Some(state.log_level);
        }
        cx.session = Some(session);
        cx
    }

    /// This context for one request: its `_meta` and progress token. A context given its `_meta` already
    /// (taken out of the params by [`Self::with_meta`]) keeps it.
    pub fn for_request(&self, params: Option<&Value>, cancellation: Cancellation) -> Self {
        let meta = match params.and_then(|p| p.get("_meta")) {
            Some(meta) => Some(Rc::new(meta.clone())),
            None => self.meta.clone(),
        };
        Self {
            progress_token: meta.as_ref().and_then(|m| m.get("progressToken")).cloned(),
            meta,
            cancellation,
            ..self.clone()
        }
    }

    /// This context with `meta` as the request's `_meta`: moved out of params the caller owns, where
    /// [`Self::for_request`] would copy it.
    pub fn with_meta(mut self, meta: Option<Value>) -> Self {
        self.meta = meta.map(Rc::new);
        self
    }

    /// Whether the client declared `capability` (e.g. `sampling`, `elicitation`, `roots`).
    pub fn client_supports(&self, capability: &str) -> bool {
        crate::session::declares(&self.client_capabilities, capability)
    }

    /// `notifications/progress`, if the client sent a progress token.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.progress_token else { return };
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.peer.notify("notifications/progress", params);
    }

    /// `notifications/message`, if `level` is at or above the request's threshold.
    pub fn log(&self, level: LogLevel, logger: Option<&str>, data: Value) {
        if self.log_level.is_none_or(|threshold| level < threshold) {
            return;
        }
        let mut params = json!({ "level": level, "data": data });
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.peer.notify("notifications/message", params);
    }

    /// Tells the client that resource `uri` changed, if its session subscribed to it.
    pub fn resource_updated(&self, uri: &str) {
        let subscribed = self.session.as_ref().is_some_and(|s| s.state().subscriptions.contains(uri));
        if subscribed {
            self.peer.notify_session("notifications/resources/updated", json!({ "uri": uri }));
        }
    }

    /// A server-to-client request that needs the client `capability`.
    ///
    /// One handler serves both lanes. In a session the client is asked at once, on the request's stream. On the
    /// stateless lane (2026-07-28) there is no such request: the first time, this returns
    /// [`PeerError::InputRequired`] and the client gets an input-required result with every question the
    /// handler asked; the client answers and sends the request again, and the handler runs again from the
    /// start, this time getting the answers. So a handler asks before it changes anything, and asks the same
    /// questions in the same order each time; questions it asks at once (e.g. with `join!`) go to the client
    /// together. Questions are named by method and order (`elicitation`, `elicitation-2`, …) unless named
    /// with [`Self::ask_as`].
    pub async fn ask(
        &self,
        capability: &'static str,
        method: &str,
        params: Value,
    ) -> Result<Value, PeerError> {
        self.ask_keyed(None, capability, method, params).await
    }

    /// [`Self::ask`], with the question named `key` (the key of an input-required result).
    pub async fn ask_as(
        &self,
        key: &str,
        capability: &'static str,
        method: &str,
        params: Value,
    ) -> Result<Value, PeerError> {
        self.ask_keyed(Some(key), capability, method, params).await
    }

    async fn ask_keyed(
        &self,
        key: Option<&str>,
        capability: &'static str,
        method: &str,
        params: Value,
    ) -> Result<Value, PeerError> {
        if !self.client_supports(capability) {
            self.peer.missing_capability(capability);
            return Err(PeerError::Unsupported(capability));
        }
        match key {
            Some(key) => self.peer.request_as(key, method, params).await,
            None => self.peer.request(method, params).await,
        }
    }

    /// `sampling/createMessage`: asks the client's model.
    pub async fn create_message(&self, params: Value) -> Result<Value, PeerError> {
        self.ask("sampling", "sampling/createMessage", params).await
    }

    /// `elicitation/create`: asks the user for input.
    pub async fn elicit(&self, params: Value) -> Result<Value, PeerError> {
        self.ask("elicitation", "elicitation/create", params).await
    }

    /// `roots/list`: the client's roots.
    pub async fn list_roots(&self) -> Result<Value, PeerError> {
        self.ask("roots", "roots/list", json!({})).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<(String, Value)>>);

    impl Peer for Recorder {
        fn notify(&self, method: &str, params: Value) {
            self.0.borrow_mut().push((method.into(), params));
        }
        fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
            self.0.borrow_mut().push((method.into(), params));
            Box::pin(async { Ok(json!({"ok": true})) })
        }
    }

    fn context(peer: Rc<Recorder>, token: Option<Value>, caps: Value) -> RequestContext {
        let opening = crate::session::Opening {
            protocol_version: ProtocolVersion::LATEST_STATEFUL,
            client_info: Implementation::default(),
            client_capabilities: caps,
            opened_at_ms: 0,
        };
        let state = crate::session::SessionState::new("s".into(), opening, &Identity::anonymous(), 0);
        let session = Rc::new(Session::new(state));
        session.update(|s| {
            s.log_level = LogLevel::Warning;
            s.subscriptions.insert("test://watched".into());
        });
        let cx = RequestContext::in_session(session, Identity::anonymous(), peer);
        let params = token.map(|t| json!({"_meta": {"progressToken": t}}));
        cx.for_request(params.as_ref(), Cancellation::new())
    }

    #[test]
    fn resource_updates_only_for_subscribed_uris() {
        let peer = Rc::new(Recorder::default());
        let cx = context(peer.clone(), None, json!({}));
        cx.resource_updated("test://other");
        cx.resource_updated("test://watched");
        let sent = peer.0.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0], ("notifications/resources/updated".into(), json!({"uri": "test://watched"})));
    }

    #[test]
    fn progress_only_with_a_token() {
        let peer = Rc::new(Recorder::default());
        context(peer.clone(), None, json!({})).progress(1.0, None, None);
        assert!(peer.0.borrow().is_empty());
        context(peer.clone(), Some(json!("t")), json!({})).progress(1.0, Some(3.0), Some("one"));
        assert_eq!(
            peer.0.borrow()[0],
            (
                "notifications/progress".into(),
                json!({"progressToken": "t", "progress": 1.0, "total": 3.0, "message": "one"})
            )
        );
    }

    #[test]
    fn a_request_without_a_session_sends_no_logs_and_no_resource_updates() {
        let peer = Rc::new(Recorder::default());
        let cx = RequestContext::new(Identity::anonymous(), peer.clone());
        cx.log(LogLevel::Emergency, None, json!("x"));
        cx.resource_updated("test://watched");
        assert!(peer.0.borrow().is_empty());
    }

    #[test]
    fn logs_are_filtered_by_level() {
        let peer = Rc::new(Recorder::default());
        let cx = context(peer.clone(), None, json!({}));
        cx.log(LogLevel::Info, None, json!("quiet"));
        cx.log(LogLevel::Error, Some("db"), json!("loud"));
        let sent = peer.0.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1, json!({"level": "error", "logger": "db", "data": "loud"}));
    }

    #[test]
    fn client_requests_need_the_capability() {
        let peer = Rc::new(Recorder::default());
        let without = context(peer.clone(), None, json!({}));
        assert_eq!(block_on(without.create_message(json!({}))), Err(PeerError::Unsupported("sampling")));
        let with = context(peer.clone(), None, json!({"sampling": {}, "elicitation": {}}));
        assert_eq!(block_on(with.elicit(json!({"message": "?"}))), Ok(json!({"ok": true})));
        assert_eq!(peer.0.borrow()[0].0, "elicitation/create");
        assert!(block_on(RequestContext::new(Identity::anonymous(), Rc::new(NoPeer)).list_roots()).is_err());
    }
}
