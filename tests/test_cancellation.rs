//! `notifications/cancelled` stops exactly the request it names: the other requests of the same POST (a
//! 2025-03-26 batch) are still answered, and an id in flight cannot be reused to reach another request.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use mcp_worker::handler::{LocalFuture, Peer, PeerError};
use mcp_worker::model::{Message, Notification, Payload, Response};
use mcp_worker::transport::streamable_http::{handle_post, PostOutcome};
use serde_json::{json, Value};

/// A client that never answers server-to-client requests.
struct Silent;

impl Peer for Silent {
    fn notify(&self, _method: &str, _params: Value) {}
    fn request(&self, _method: &str, _params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        Box::pin(std::future::pending())
    }
}

fn cancel(id: Value) -> Message {
    Message::Notification(Notification {
        method: "notifications/cancelled".into(),
        params: Some(json!({"requestId": id, "reason": "user stopped it"})),
    })
}

#[test]
fn a_cancelled_request_in_a_batch_leaves_the_others_answered() {
    let server = Rc::new(common::fixture_server());
    let (_, session) = common::initialize(&server, "2025-03-26");
    let cx = common::context(&session, Rc::new(Silent));
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "test_sampling", "arguments": {"prompt": "hi"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    ]);
    let (mut pool, outcome) = start_post(&server, &cx, batch);
    pool.run_until_stalled();
    assert!(outcome.borrow().is_none(), "request 1 waits for the client");
    assert_eq!(session.in_flight().len(), 2, "both requests of the batch are in flight from the start");

    // Another POST of the same session cancels request 1.
    let answer = futures_executor::block_on(server.handle_message(cancel(json!(1)), &cx, &|_| {}));
    assert!(answer.is_none());
    pool.run_until_stalled();
    let Some(Ok(PostOutcome::Responses { responses, batch })) = outcome.borrow_mut().take() else {
        panic!("the batch finished");
    };
    assert!(batch);
    let ids: Vec<Value> = responses.iter().map(|r: &Response| r.to_value()["id"].clone()).collect();
    assert_eq!(ids, vec![json!(2)], "the cancelled request has no response, the other one has");
    assert!(session.in_flight().is_empty());
}

#[test]
fn an_id_in_flight_cannot_be_reused() {
    let server = Rc::new(common::fixture_server());
    let (_, session) = common::initialize(&server, "2025-11-25");
    let cx = common::context(&session, Rc::new(Silent));
    let call = json!({"jsonrpc": "2.0", "id": "x", "method": "tools/call", "params": {"name": "test_sampling", "arguments": {"prompt": "hi"}}});
    let (mut pool, _outcome) = start_post(&server, &cx, call);
    pool.run_until_stalled();
    let again = json!({"jsonrpc": "2.0", "id": "x", "method": "ping"});
    let outcome = futures_executor::block_on(handle_post(
        &server,
        &cx,
        Payload::parse(again.to_string().as_bytes()).unwrap(),
        &|_| {},
    ));
    let Ok(PostOutcome::Responses { responses, .. }) = outcome else { panic!("answered") };
    assert_eq!(responses[0].to_value()["error"]["code"], -32600, "{:?}", responses[0]);
    assert_eq!(session.in_flight().len(), 1, "the first request still runs and can still be cancelled");
    assert!(session.in_flight().cancel(&mcp_worker::model::RequestId::String("x".into())));
}

#[test]
fn cancelling_an_unknown_or_malformed_id_changes_nothing() {
    let server = common::server(50);
    let (_, session) = common::initialize(&server, "2025-11-25");
    let cx = common::context(&session, Rc::new(Silent));
    for id in [json!(7), json!("abc"), json!(null), json!({"a": 1})] {
        assert!(futures_executor::block_on(server.handle_message(cancel(id), &cx, &|_| {})).is_none());
    }
    assert!(session.in_flight().is_empty());
}

/// Runs `body` as one POST of `session` on a local pool; returns the pool and the POST's outcome cell.
fn start_post(
    server: &Rc<mcp_worker::handler::Server>,
    cx: &mcp_worker::handler::RequestContext,
    body: Value,
) -> (LocalPool, OutcomeCell) {
    let pool = LocalPool::new();
    let outcome: OutcomeCell = Rc::new(RefCell::new(None));
    let (server, cx, cell) = (server.clone(), cx.clone(), outcome.clone());
    pool.spawner()
        .spawn_local(async move {
            let payload = Payload::parse(body.to_string().as_bytes()).unwrap();
            *cell.borrow_mut() = Some(handle_post(&server, &cx, payload, &|_| {}).await);
        })
        .unwrap();
    (pool, outcome)
}

type OutcomeCell = Rc<RefCell<Option<Result<PostOutcome, mcp_worker::error::HttpError>>>>;

#[test]
fn cancelling_a_batch_request_that_has_not_started_yet_is_not_lost() {
    let server = Rc::new(common::fixture_server());
    let (_, session) = common::initialize(&server, "2025-03-26");
    let cx = common::context(&session, Rc::new(Silent));
    let sampling = json!({"name": "test_sampling", "arguments": {"prompt": "hi"}});
    let batch = json!([
        {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": sampling},
        {"jsonrpc": "2.0", "id": "b", "method": "ping"},
        {"jsonrpc": "2.0", "id": "c", "method": "ping"},
    ]);
    let (mut pool, outcome) = start_post(&server, &cx, batch);
    pool.run_until_stalled();
    // "b" waits behind "a"; cancelling it now must still count.
    futures_executor::block_on(server.handle_message(cancel(json!("b")), &cx, &|_| {}));
    futures_executor::block_on(server.handle_message(cancel(json!("a")), &cx, &|_| {}));
    pool.run_until_stalled();
    let Some(Ok(PostOutcome::Responses { responses, .. })) = outcome.borrow_mut().take() else {
        panic!("finished")
    };
    let ids: Vec<Value> = responses.iter().map(|r| r.to_value()["id"].clone()).collect();
    assert_eq!(ids, vec![json!("c")]);
    assert!(session.in_flight().is_empty());
}

#[test]
fn two_requests_of_one_batch_cannot_share_an_id() {
    let server = Rc::new(common::fixture_server());
    let (_, session) = common::initialize(&server, "2025-03-26");
    let cx = common::context(&session, Rc::new(Silent));
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
    ]);
    let (mut pool, outcome) = start_post(&server, &cx, batch);
    pool.run_until_stalled();
    let Some(Ok(PostOutcome::Responses { responses, .. })) = outcome.borrow_mut().take() else {
        panic!("finished")
    };
    let answers: Vec<Value> = responses.iter().map(Response::to_value).collect();
    assert_eq!(answers[0]["result"], json!({}), "{answers:?}");
    assert_eq!(answers[1]["error"]["code"], -32600, "{answers:?}");
}

#[test]
fn an_ended_session_starts_no_request() {
    let server = Rc::new(common::fixture_server());
    let (_, session) = common::initialize(&server, "2025-11-25");
    let cx = common::context(&session, Rc::new(Silent));
    session.end();
    let (mut pool, outcome) = start_post(&server, &cx, json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}));
    pool.run_until_stalled();
    let Some(Ok(PostOutcome::Responses { responses, .. })) = outcome.borrow_mut().take() else {
        panic!("finished")
    };
    assert_eq!(responses[0].to_value()["error"]["code"], -32600);
    assert!(responses[0].to_value()["error"]["message"].as_str().unwrap().contains("ended"));
}
