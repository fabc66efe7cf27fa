//! Helpers shared by the native behaviour tests: a server over the bundled documents, driven through the
//! same transport functions the worker uses.
#![allow(dead_code)]

use std::rc::Rc;

use futures_executor::block_on;
use mcp_worker::documents::{Corpus, StaticDocuments};
use mcp_worker::handler::{NoPeer, Peer, RequestContext, Server};
use mcp_worker::identity::Identity;
use mcp_worker::model::{Message, Payload, Request, RequestId, Response};
use mcp_worker::session::{Opening, Session, SessionState};
use mcp_worker::transport::streamable_http::{handle_post, PostOutcome};
use serde_json::{json, Value};

pub fn server(page_size: usize) -> Server {
    mcp_worker::toolset::server(
        Rc::new(StaticDocuments(Rc::new(Corpus::bundled()))),
        page_size,
        mcp_worker::toolset::Fixtures::None,
    )
}

/// The server with the conformance fixtures; pauses return at once.
pub fn fixture_server() -> Server {
    let sleep: mcp_worker::toolset::conformance::Sleep = Rc::new(|_| Box::pin(async {}));
    mcp_worker::toolset::server(
        Rc::new(StaticDocuments(Rc::new(Corpus::bundled()))),
        50,
        mcp_worker::toolset::Fixtures::Conformance {
            sleep,
            announce: Rc::new(|_| Box::pin(async { Ok(()) })),
        },
    )
}

pub fn corpus() -> Corpus {
    Corpus::bundled()
}

pub fn initialize(server: &Server, version: &str) -> (Value, Rc<Session>) {
    let request = Request {
        id: RequestId::Number(0),
        method: "initialize".into(),
        params: Some(json!({
            "protocolVersion": version,
            "capabilities": {"sampling": {}},
            "clientInfo": {"name": "test-client", "version": "1.0"}
        })),
    };
    let (response, opening): (Response, Opening) = server.initialize(&request, 1_000).expect("initialize");
    let state =
        SessionState::new("0123456789abcdef0123456789abcdef".into(), opening, &Identity::anonymous(), 1_000);
    (response.to_value(), Rc::new(Session::new(state)))
}

/// The context of a request in `session` from its owner, answering through `peer`.
pub fn context(session: &Rc<Session>, peer: Rc<dyn Peer>) -> RequestContext {
    RequestContext::in_session(session.clone(), Identity::anonymous(), peer)
}

/// Posts `body` into the session, as the Durable Object does.
pub fn post(
    server: &Server,
    session: &Rc<Session>,
    body: Value,
) -> Result<PostOutcome, mcp_worker::error::HttpError> {
    let payload = Payload::parse(body.to_string().as_bytes()).expect("valid JSON");
    block_on(handle_post(server, &context(session, Rc::new(NoPeer)), payload, &|_| {}))
}

/// Sends one request and returns the JSON of its response.
pub fn call(server: &Server, session: &Rc<Session>, method: &str, params: Value) -> Value {
    match post(server, session, json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})) {
        Ok(PostOutcome::Responses { responses, .. }) => responses[0].to_value(),
        other => panic!("expected a response, got {other:?}"),
    }
}

pub fn is_message(_: &Message) {}
