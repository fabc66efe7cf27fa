//! [`StreamPeer`]: the [`Peer`] of the requests of one POST; everything goes out on that POST's stream.

use std::rc::Rc;

use serde_json::Value;

use super::out_stream::OutStream;
use super::outbox::Outbox;
use super::platform::Runtime;
use crate::handler::{LocalFuture, Peer, PeerError};
use crate::model::{Message, Notification};

pub struct StreamPeer<R: Runtime> {
    pub outbox: Rc<Outbox<R>>,
    pub stream: Rc<OutStream>,
    pub timeout_ms: u64,
}

fn notification(method: &str, params: Value) -> String {
    Message::Notification(Notification { method: method.into(), params: Some(params) }).to_json()
}

impl<R: Runtime> Peer for StreamPeer<R> {
    fn notify(&self, method: &str, params: Value) {
        self.outbox.push(&self.stream, notification(method, params));
    }

    fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        let method = method.to_string();
        Box::pin(async move { self.outbox.request(&self.stream, &method, params, self.timeout_ms).await })
    }

    /// On the standalone stream when there is one (stored, so a client that lost it resumes it), else on
    /// the request's own stream.
    fn notify_session(&self, method: &str, params: Value) {
        let standalone = self.outbox.standalone();
        self.outbox.push(standalone.as_deref().unwrap_or(&self.stream), notification(method, params));
    }

    fn close_stream(&self) {
        self.stream.request_close();
    }
}
