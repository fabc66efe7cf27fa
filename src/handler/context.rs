//! What a handler can do besides computing its result: report progress, log, and ask the client things
//! (sampling, elicitation, roots) while the request is open. The transport provides the [`Peer`].

use std::collections::BTreeSet;
use std::rc::Rc;

use serde_json::{json, Value};

use super::tools::LocalFuture;
use crate::model::lifecycle::LogLevel;
use crate::model::{ErrorObject, RequestId};

/// The client end of the request being answered.
pub trait Peer {
    /// Sends a notification on the request's stream.
    fn notify(&self, method: &str, params: Value);

    /// Sends a request to the client on the request's stream and waits for its answer.
    fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>>;

    /// Sends a notification about the session rather than the request (such as
    /// `notifications/resources/updated`): on the standalone stream when one is open.
    fn notify_session(&self, method: &str, params: Value) {
        self.notify(method, params);
    }

    /// The client cancelled request `id` of this session (`notifications/cancelled`): stop working on it and
    /// send no response. Transports that cannot stop a request ignore it.
    fn cancel(&self, _id: &RequestId) {}

    /// Ends the HTTP response carrying the request's stream while the request goes on (SSE polling): the
    /// client resumes with GET and `Last-Event-ID`. Transports without resumable streams ignore it.
    fn close_stream(&self) {}
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
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(cap) => write!(f, "the client does not support {cap}"),
            Self::Timeout { seconds } => write!(f, "the client did not answer within {seconds} s"),
            Self::Rejected(e) => write!(f, "the client answered with error {}: {}", e.code, e.message),
            Self::Closed(why) => write!(f, "cannot reach the client: {why}"),
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

/// Everything a tool handler may use besides its arguments.
#[derive(Clone)]
pub struct ToolContext {
    /// `params._meta.progressToken`, when the client asked for progress notifications.
    pub progress_token: Option<Value>,
    /// The session's `logging/setLevel` threshold.
    pub log_level: LogLevel,
    /// What the client declared in `initialize`.
    pub client_capabilities: Value,
    /// Resource URIs the session subscribed to.
    pub subscriptions: BTreeSet<String>,
    pub peer: Rc<dyn Peer>,
}

impl Default for ToolContext {
    fn default() -> Self {
        Self {
            progress_token: None,
            log_level: LogLevel::default(),
            client_capabilities: json!({}),
            subscriptions: BTreeSet::new(),
            peer: Rc::new(NoPeer),
        }
    }
}

impl ToolContext {
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

    /// `notifications/message`, if `level` is at or above the session's threshold.
    pub fn log(&self, level: LogLevel, logger: Option<&str>, data: Value) {
        if level < self.log_level {
            return;
        }
        let mut params = json!({ "level": level, "data": data });
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.peer.notify("notifications/message", params);
    }

    /// Tells the client that resource `uri` changed, if the session subscribed to it.
    pub fn resource_updated(&self, uri: &str) {
        if self.subscriptions.contains(uri) {
            self.peer.notify_session("notifications/resources/updated", json!({ "uri": uri }));
        }
    }

    /// A server-to-client request that needs the client `capability`.
    pub async fn ask(
        &self,
        capability: &'static str,
        method: &str,
        params: Value,
    ) -> Result<Value, PeerError> {
        if !crate::session::declares(&self.client_capabilities, capability) {
            return Err(PeerError::Unsupported(capability));
        }
        self.peer.request(method, params).await
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

    fn context(peer: Rc<Recorder>, token: Option<Value>, caps: Value) -> ToolContext {
        ToolContext {
            progress_token: token,
            log_level: LogLevel::Warning,
            client_capabilities: caps,
            subscriptions: BTreeSet::from(["test://watched".to_string()]),
            peer,
        }
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
        assert!(block_on(ToolContext::default().list_roots()).is_err());
    }
}
