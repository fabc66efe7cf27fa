//! The Streamable HTTP rules the worker applies: headers, routing of POSTs, and answering a POST's messages.

mod common;

use common::{initialize, post, server};
use mcp_worker::error::HttpError;
use mcp_worker::model::{Payload, RequestId};
use mcp_worker::transport::sse;
use mcp_worker::transport::streamable_http::*;
use serde_json::json;

#[test]
fn post_needs_both_media_types_in_accept() {
    assert!(check_post_accept(Some("application/json, text/event-stream")).is_ok());
    assert!(check_post_accept(Some("text/event-stream;q=0.9, Application/JSON")).is_ok());
    for bad in [None, Some("application/json"), Some("text/event-stream"), Some("*/*")] {
        assert_eq!(check_post_accept(bad).unwrap_err().status(), 406, "{bad:?}");
    }
    assert!(check_get_accept(Some("text/event-stream")).is_ok());
    assert_eq!(check_get_accept(Some("application/json")).unwrap_err().status(), 406);
}

#[test]
fn content_type_length_and_version_headers() {
    assert!(check_content_type(Some("application/json; charset=utf-8")).is_ok());
    assert_eq!(check_content_type(Some("text/plain")).unwrap_err().status(), 415);
    assert_eq!(check_content_type(None).unwrap_err().status(), 415);
    assert_eq!(check_content_length(Some("2000"), 1000).unwrap_err().status(), 413);
    assert!(check_content_length(Some("1000"), 1000).is_ok());
    assert!(check_content_length(None, 1000).is_ok());
    assert_eq!(check_protocol_version(None).unwrap(), None);
    assert!(check_protocol_version(Some("2025-06-18")).unwrap().is_some());
    let err = check_protocol_version(Some("1999-01-01")).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_error_object().message.contains("2025-11-25"));
    assert_eq!(check_session_header(Some("bad id")).unwrap_err(), HttpError::MalformedSessionId);
}

fn payload(v: serde_json::Value) -> Payload {
    Payload::parse(v.to_string().as_bytes()).unwrap()
}

#[test]
fn routing_of_posts() {
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}});
    assert!(matches!(route_post(&payload(init.clone()), None), Ok(PostTarget::NewSession(_))));
    let inside = route_post(&payload(init.clone()), Some("abc")).unwrap_err();
    assert_eq!(inside, HttpError::already_initialized(Some(RequestId::Number(1))));
    assert_eq!(inside.to_error_object().code, -32600);
    let in_batch = route_post(&payload(json!([init])), None).unwrap_err();
    assert!(matches!(in_batch, HttpError::InvalidRequest { .. }));
    let ping = payload(json!({"jsonrpc":"2.0","id":2,"method":"ping"}));
    assert_eq!(route_post(&ping, None).unwrap_err(), HttpError::SessionRequired);
    let id = "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";
    assert_eq!(route_post(&ping, Some(id)).unwrap(), PostTarget::Session(id.into()));
    assert_eq!(route_post(&ping, Some("not-one-of-ours")).unwrap_err(), HttpError::SessionNotFound);
    let malformed = route_post(&payload(json!({"jsonrpc":"2.0","id":5,"method":7})), None).unwrap_err();
    let body: serde_json::Value = serde_json::from_str(&malformed.to_body(None, "r")).unwrap();
    assert_eq!(body["error"]["code"], -32600);
    assert_eq!(body["id"], 5);
}

#[test]
fn notifications_and_responses_alone_are_accepted() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let outcome =
        post(&server, &session, json!({"jsonrpc":"2.0","method":"notifications/initialized"})).unwrap();
    assert_eq!(outcome, PostOutcome::Accepted);
    assert!(session.state().initialized);
    let outcome = post(&server, &session, json!({"jsonrpc":"2.0","id":"s1","result":{}})).unwrap();
    assert_eq!(outcome, PostOutcome::Accepted);
}

#[test]
fn batches_only_where_the_revision_allows_them() {
    let server = server(50);
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"ping"},
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","id":2,"method":"tools/list"},
        {"jsonrpc":"2.0","id":3}
    ]);
    let (_, old) = initialize(&server, "2025-03-26");
    let PostOutcome::Responses { responses, batch: true } = post(&server, &old, batch.clone()).unwrap()
    else {
        panic!("expected batch responses")
    };
    assert_eq!(responses.len(), 3, "two requests and one malformed message get answers");
    assert_eq!(responses[0].to_value()["id"], 1);
    assert_eq!(responses[2].to_value()["error"]["code"], -32600);
    let body: serde_json::Value = serde_json::from_str(&json_body(&responses, true)).unwrap();
    assert_eq!(body.as_array().unwrap().len(), 3);

    let (_, new) = initialize(&server, "2025-06-18");
    let err = post(&server, &new, batch).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_error_object().message.contains("2025-06-18"));
}

#[test]
fn initialize_inside_a_session_is_refused() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let err = post(&server, &session, json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}))
        .unwrap_err();
    assert_eq!(err, HttpError::already_initialized(Some(RequestId::Number(1))));
}

#[test]
fn sse_bodies_prime_then_carry_each_response_with_an_id() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let PostOutcome::Responses { responses, .. } =
        post(&server, &session, json!({"jsonrpc":"2.0","id":7,"method":"ping"})).unwrap()
    else {
        panic!()
    };
    // Framed as the session object frames a POST's stream.
    let mut body = sse::priming("abc", 2000);
    for (n, response) in responses.iter().enumerate() {
        body.push_str(&sse::message(
            Some(&sse::event_id("abc", n as u64 + 1)),
            &response.to_value().to_string(),
        ));
    }
    assert!(body.starts_with("id: abc-0\nretry: 2000\ndata: \n\n"), "{body}");
    assert!(body.contains("id: abc-1\nevent: message\ndata: {"), "{body}");
    let data = body.lines().find(|l| l.starts_with("data: {")).unwrap();
    let message: serde_json::Value = serde_json::from_str(&data[6..]).unwrap();
    assert_eq!(message["id"], 7);
    assert_eq!(message["result"], json!({}));
}
