//! Deferred sessions: `initialize` yields an opening that travels in the session id, and the session built from
//! it later, anywhere, behaves as the one `initialize` described.

mod common;

use std::rc::Rc;

use common::{post, server};
use mcp_worker::identity::Identity;
use mcp_worker::keys::ServerSecret;
use mcp_worker::model::{Payload, Request, RequestId};
use mcp_worker::session::id::{Kind, SessionIds};
use mcp_worker::session::{Session, SessionState};
use mcp_worker::transport::streamable_http::{is_lone_initialized, PostOutcome};
use serde_json::json;

fn initialize(version: &str, capabilities: serde_json::Value) -> Request {
    Request {
        id: RequestId::Number(1),
        method: "initialize".into(),
        params: Some(json!({
            "protocolVersion": version,
            "capabilities": capabilities,
            "clientInfo": {"name": "claude-ai", "version": "0.1.0", "title": "Claude"}
        })),
    }
}

fn ids() -> SessionIds {
    SessionIds::new(&ServerSecret::parse("a test secret that is long enough!!").unwrap())
}

fn alice() -> Identity {
    Identity::api_key("alice")
}

/// What the Worker and the Durable Object do on a deferred session's first request, by its owner.
fn first_use(id: &str, now_ms: u64) -> Rc<Session> {
    let Some(Kind::Deferred { opening, owner }) = ids().verify(id, now_ms) else {
        panic!("{id} is not deferred")
    };
    assert!(ids().is_owner(&owner, &alice()), "only alice may use it");
    Rc::new(Session::new(SessionState::new(id.to_string(), opening, &alice(), now_ms)))
}

#[test]
fn a_session_built_from_its_id_is_the_one_initialize_described() {
    let server = server(50);
    let caps = json!({"sampling": {}, "elicitation": {"form": {}}, "roots": {"listChanged": true}});
    let (response, opening) = server.initialize(&initialize("2025-03-26", caps.clone()), 1_000).unwrap();
    assert_eq!(response.to_value()["result"]["protocolVersion"], "2025-03-26");
    let id = ids().mint(&opening, &alice()).expect("a typical opening fits in an id");

    let session = first_use(&id, 50_000);
    let state = session.snapshot();
    assert_eq!(state.id, id);
    assert_eq!(state.client_capabilities, caps);
    assert_eq!(state.client_info.title.as_deref(), Some("Claude"));
    let declares = |c| mcp_worker::session::declares(&state.client_capabilities, c);
    assert!(declares("sampling") && declares("roots"));
    assert_eq!((state.created_at_ms, state.last_seen_ms), (1_000, 50_000), "opened, then first used");
    assert_eq!(state.owner, "key:alice", "the session belongs to whoever opened it");

    // The negotiated revision's rules apply: 2025-03-26 takes batches.
    let batch = json!([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]);
    match post(&server, &session, batch).unwrap() {
        PostOutcome::Responses { responses, batch: true } => assert_eq!(responses.len(), 2),
        other => panic!("expected two responses, got {other:?}"),
    }
}

#[test]
fn a_later_revision_keeps_its_rules_too() {
    let server = server(50);
    let (_, opening) = server.initialize(&initialize("2025-11-25", json!({})), 0).unwrap();
    let session = first_use(&ids().mint(&opening, &alice()).unwrap(), 10);
    let batch = json!([{"jsonrpc":"2.0","id":1,"method":"ping"}]);
    assert_eq!(post(&server, &session, batch).unwrap_err().status(), 400);
}

#[test]
fn only_a_lone_initialized_notification_can_skip_the_object() {
    let parse = |v: serde_json::Value| Payload::parse(v.to_string().as_bytes()).unwrap();
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    assert!(is_lone_initialized(&parse(initialized.clone())));
    assert!(!is_lone_initialized(&parse(json!([initialized]))), "a batch goes to the object");
    assert!(!is_lone_initialized(&parse(json!({"jsonrpc":"2.0","method":"notifications/cancelled"}))));
    assert!(!is_lone_initialized(&parse(
        json!({"jsonrpc":"2.0","id":1,"method":"notifications/initialized"})
    )));
}
