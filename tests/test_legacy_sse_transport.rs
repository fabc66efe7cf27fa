//! The 2024-11-05 transport's rules: a session that exists before `initialize`, replies as message events.

mod common;

use std::rc::Rc;

use futures_executor::block_on;
use mcp_worker::handler::NoPeer;
use mcp_worker::model::Payload;
use mcp_worker::session::{Session, SessionState, TransportKind};
use mcp_worker::transport::legacy_sse::{handle_message, replies_json, Replies};
use serde_json::{json, Value};

fn send(server: &mcp_worker::handler::Server, session: &Rc<Session>, body: Value) -> Replies {
    let payload = Payload::parse(body.to_string().as_bytes()).unwrap();
    block_on(handle_message(server, &common::context(session, Rc::new(NoPeer)), payload, &|_| {}, 5_000))
}

#[test]
fn initialize_defines_the_session_it_arrives_in() {
    let server = common::server(50);
    let session = Rc::new(Session::new(SessionState::legacy(
        "ab".repeat(16),
        &mcp_worker::identity::Identity::anonymous(),
        1_000,
    )));
    let replies = send(
        &server,
        &session,
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2024-11-05","capabilities":{"roots":{}},"clientInfo":{"name":"old","version":"0.1"}}}),
    );
    let reply: Value = serde_json::from_str(&replies_json(&replies).unwrap()).unwrap();
    assert_eq!(reply["result"]["protocolVersion"], "2024-11-05");
    let state = session.state();
    assert_eq!(state.client_info.name, "old");
    assert_eq!(state.transport, TransportKind::LegacySse, "the transport survives initialize");
    assert_eq!(state.id, "ab".repeat(16));
    assert!(mcp_worker::session::declares(&state.client_capabilities, "roots"));
    assert_eq!(state.owner, "anonymous", "initialize keeps the session's owner");
}

#[test]
fn batches_are_answered_as_one_array_and_notifications_not_at_all() {
    let server = common::server(50);
    let session = Rc::new(Session::new(SessionState::legacy(
        "cd".repeat(16),
        &mcp_worker::identity::Identity::anonymous(),
        0,
    )));
    let replies = send(
        &server,
        &session,
        json!([{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"b","method":"nope"}]),
    );
    let reply: Value = serde_json::from_str(&replies_json(&replies).unwrap()).unwrap();
    assert_eq!(reply[0]["id"], "a");
    assert_eq!(reply[1]["error"]["code"], -32601);
    assert!(session.state().initialized);
    let quiet = send(&server, &session, json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    assert_eq!(replies_json(&quiet), None);
}
