//! `notifications/cancelled` reaches the transport's peer, which knows the requests in flight.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use futures_executor::block_on;
use mcp_worker::handler::{LocalFuture, Peer, PeerError};
use mcp_worker::model::{Notification, RequestId};
use serde_json::{json, Value};

#[derive(Default)]
struct Canceller(RefCell<Vec<RequestId>>);

impl Peer for Canceller {
    fn notify(&self, _method: &str, _params: Value) {}
    fn request(&self, _method: &str, _params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        Box::pin(async { Err(PeerError::Closed("test".into())) })
    }
    fn cancel(&self, id: &RequestId) {
        self.0.borrow_mut().push(id.clone());
    }
}

#[test]
fn cancelled_notifications_name_the_request_to_stop() {
    let server = common::server(50);
    let (_, session) = common::initialize(&server, "2025-11-25");
    let peer = Rc::new(Canceller::default());
    for params in [
        json!({"requestId": 7, "reason": "user stopped it"}),
        json!({"requestId": "abc"}),
        json!({}),
        json!({"requestId": null}),
    ] {
        let message = mcp_worker::model::Message::Notification(Notification {
            method: "notifications/cancelled".into(),
            params: Some(params),
        });
        let answer = block_on(server.handle_message(message, &session, peer.clone(), &|_| {}));
        assert!(answer.is_none(), "a notification gets no answer");
    }
    assert_eq!(*peer.0.borrow(), vec![RequestId::Number(7), RequestId::String("abc".into())]);
}
