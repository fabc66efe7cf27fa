//! The stateless revision (2026-07-28) through `transport::stateless`: the order of its checks, the shape of
//! its results, and input-required rounds with sealed request state, on the same server and tools as sessions.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{fixture_server, server};
use futures_executor::block_on;
use mcp_worker::handler::{Server, ToolFilter};
use mcp_worker::identity::Identity;
use mcp_worker::keys::ServerSecret;
use mcp_worker::model::Payload;
use mcp_worker::model::{Request, RequestId};
use mcp_worker::transport::request_state::RequestStates;
use mcp_worker::transport::request_state::LIFETIME_MS;
use mcp_worker::transport::stateless::{check, classify, Answer, Era, Lane, WireHeaders};
use serde_json::{json, Value};

const V: &str = "2026-07-28";

fn meta(caps: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": caps,
    })
}

fn all_caps() -> Value {
    json!({"sampling": {}, "elicitation": {}, "roots": {}})
}

fn states() -> RequestStates {
    RequestStates::new(&ServerSecret::parse(&"s".repeat(40)).unwrap())
}

/// The headers a conforming client sends for `method` with `params`.
fn headers_for(method: &str, params: &Value) -> WireHeaders {
    let name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str).map(str::to_string);
    WireHeaders { protocol_version: Some(V.into()), method: Some(method.into()), name }
}

/// Sends one request as `caller`; the answer as JSON (status, response) and the notifications sent on the way.
fn send_as(
    server: &Server,
    caller: &Identity,
    method: &str,
    params: Value,
    headers: WireHeaders,
) -> (u16, Value, Vec<Value>) {
    send_at(server, caller, method, params, headers, NOW)
}

const NOW: u64 = 1_800_000_000_000;

fn send_at(
    server: &Server,
    caller: &Identity,
    method: &str,
    params: Value,
    headers: WireHeaders,
    now_ms: u64,
) -> (u16, Value, Vec<Value>) {
    let request = Request { id: RequestId::Number(7), method: method.into(), params: Some(params) };
    let sent = Rc::new(RefCell::new(Vec::new()));
    let answer: Answer = match check(&request, &headers, server) {
        Err(refused) => refused,
        Ok(checked) => {
            let sink = sent.clone();
            let lane = Lane {
                github: None,
                server,
                states: &states(),
                caller: caller.clone(),
                tools: ToolFilter::all(),
                now_ms,
                notify: Rc::new(move |n| sink.borrow_mut().push(n)),
            };
            block_on(lane.answer(request, checked))
        }
    };
    let notifications = sent.borrow().clone();
    (answer.status, answer.to_value(), notifications)
}

fn send(server: &Server, method: &str, params: Value) -> (u16, Value) {
    let headers = headers_for(method, &params);
    let (status, body, _) = send_as(server, &Identity::anonymous(), method, params, headers);
    (status, body)
}

#[test]
fn missing_meta_is_invalid_params_before_any_header_is_compared() {
    let server = server(50);
    let no_caps = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": V}});
    for params in [json!({}), no_caps] {
        let headers = WireHeaders { protocol_version: Some("1999-01-01".into()), ..Default::default() };
        let (status, body, _) = send_as(&server, &Identity::anonymous(), "server/discover", params, headers);
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32602)), "{body}");
        assert_eq!(body["id"], 7);
    }
}

#[test]
fn a_header_that_disagrees_is_a_mismatch_even_when_the_version_is_unknown() {
    let server = server(50);
    let params = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "v999.0.0",
        "io.modelcontextprotocol/clientCapabilities": {}}});
    let (status, body, _) = send_as(
        &server,
        &Identity::anonymous(),
        "server/discover",
        params.clone(),
        headers_for("server/discover", &json!({})),
    );
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32020)), "{body}");
    // The same unknown version in header and body: unsupported, with what is supported.
    let headers = WireHeaders {
        protocol_version: Some("v999.0.0".into()),
        method: Some("server/discover".into()),
        name: None,
    };
    let (status, body, _) = send_as(&server, &Identity::anonymous(), "server/discover", params, headers);
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32022)), "{body}");
    assert_eq!(body["error"]["data"], json!({"supported": [V], "requested": "v999.0.0"}));
}

#[test]
fn method_and_name_headers_must_repeat_the_body_trimmed_or_base64_encoded() {
    let server = server(50);
    let params = json!({"name": "echo", "arguments": {"message": "hi"}, "_meta": meta(json!({}))});
    let with = |method: Option<&str>, name: Option<&str>| {
        let headers = WireHeaders {
            protocol_version: Some(format!(" {V} ")),
            method: method.map(str::to_string),
            name: name.map(str::to_string),
        };
        let (status, body, _) =
            send_as(&server, &Identity::anonymous(), "tools/call", params.clone(), headers);
        (status, body["error"]["code"].as_i64())
    };
    assert_eq!(with(Some("tools/call"), Some("  echo ")), (200, None));
    assert_eq!(with(Some("tools/call"), Some("=?base64?ZWNobw==?=")), (200, None));
    assert_eq!(with(Some("tools/call"), Some("=?base64?ZWNobw?=")), (400, Some(-32020)));
    assert_eq!(with(Some("tools/call"), Some("fetch")), (400, Some(-32020)));
    assert_eq!(with(Some("tools/call"), None), (400, Some(-32020)));
    assert_eq!(with(Some("TOOLS/CALL"), Some("echo")), (400, Some(-32020)));
    assert_eq!(with(None, Some("echo")), (400, Some(-32020)));
}

#[test]
fn removed_and_unknown_methods_are_404_method_not_found() {
    let server = server(50);
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "unknown/method",
    ] {
        let (status, body) = send(&server, method, json!({"_meta": meta(json!({}))}));
        assert_eq!((status, body["error"]["code"].as_i64()), (404, Some(-32601)), "{method}: {body}");
    }
    // Without changing lists there is nothing to listen to.
    let (status, _) =
        send(&server, "subscriptions/listen", json!({"_meta": meta(json!({})), "notifications": {}}));
    assert_eq!(status, 404);
}

#[test]
fn discover_and_lists_carry_result_type_server_info_and_caching_hints() {
    let server = server(50);
    let (status, discover) = send(&server, "server/discover", json!({"_meta": meta(json!({}))}));
    assert_eq!(status, 200);
    let result = &discover["result"];
    assert_eq!(result["supportedVersions"], json!([V]));
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-worker");
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(result["capabilities"]["tools"]["listChanged"], false, "the shipped lists never change");
    let resources = result["capabilities"]["resources"].as_object().expect("resources are declared");
    assert!(
        resources.get("subscribe").is_none_or(|s| s == &json!(false)),
        "no resources/subscribe in 2026-07-28"
    );
    for method in ["tools/list", "prompts/list", "resources/list", "resources/templates/list"] {
        let (_, body) = send(&server, method, json!({"_meta": meta(json!({}))}));
        assert_eq!(body["result"]["resultType"], "complete", "{method}");
        assert_eq!(body["result"]["cacheScope"], "public", "{method}");
        assert!(body["result"]["ttlMs"].as_u64().is_some(), "{method}");
    }
    let (_, call) = send(
        &server,
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "hi"}, "_meta": meta(json!({}))}),
    );
    assert_eq!(call["result"]["content"][0]["text"], "hi");
    assert_eq!(call["result"]["resultType"], "complete");
    assert!(call["result"].get("ttlMs").is_none(), "tool results are not cacheable");
}

#[test]
fn a_missing_resource_is_invalid_params_with_its_uri() {
    let server = server(50);
    let uri = "docs://no-such-document";
    let (status, body) = send(&server, "resources/read", json!({"uri": uri, "_meta": meta(json!({}))}));
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], -32602);
    assert_eq!(body["error"]["data"]["uri"], uri);
}

#[test]
fn progress_goes_to_the_stream_and_logs_only_with_a_log_level() {
    let server = fixture_server();
    let mut m = meta(json!({}));
    m["progressToken"] = json!("p1");
    let params = json!({"name": "test_tool_with_progress", "arguments": {}, "_meta": m});
    let (_, body, sent) = send_as(
        &server,
        &Identity::anonymous(),
        "tools/call",
        params.clone(),
        headers_for("tools/call", &params),
    );
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(sent.iter().filter(|n| n["method"] == "notifications/progress").count() >= 3, "{sent:?}");
    let quiet = json!({"name": "test_logging_tool", "arguments": {}, "_meta": meta(json!({}))});
    let (_, _, sent) = send_as(
        &server,
        &Identity::anonymous(),
        "tools/call",
        quiet.clone(),
        headers_for("tools/call", &quiet),
    );
    assert!(sent.is_empty(), "no logLevel, no log notifications: {sent:?}");
    let mut m = meta(json!({}));
    m["io.modelcontextprotocol/logLevel"] = json!("debug");
    let loud = json!({"name": "test_logging_tool", "arguments": {}, "_meta": m});
    let (_, _, sent) = send_as(
        &server,
        &Identity::anonymous(),
        "tools/call",
        loud.clone(),
        headers_for("tools/call", &loud),
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["method"], "notifications/message");
}

#[test]
fn a_tool_that_needs_an_undeclared_capability_is_refused_with_minus_32021() {
    let server = fixture_server();
    let (status, body) = send(
        &server,
        "tools/call",
        json!({"name": "test_missing_capability", "arguments": {}, "_meta": meta(json!({}))}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32021);
    assert_eq!(body["error"]["data"]["requiredCapabilities"], json!({"sampling": {}}));
}

/// Runs rounds of `tools/call name` as `caller`, answering each question with `answer(method)`; returns every
/// round's result.
fn rounds(
    server: &Server,
    caller: &Identity,
    name: &str,
    caps: Value,
    answer: impl Fn(&str) -> Value,
) -> Vec<Value> {
    let mut results = Vec::new();
    let mut extra = json!({});
    for _ in 0..5 {
        let mut params = json!({"name": name, "arguments": {}, "_meta": meta(caps.clone())});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (_, body, _) =
            send_as(server, caller, "tools/call", params.clone(), headers_for("tools/call", &params));
        let result = body["result"].clone();
        assert!(body.get("error").is_none(), "{body}");
        results.push(result.clone());
        if result["resultType"] != "input_required" {
            return results;
        }
        let responses: serde_json::Map<String, Value> = result["inputRequests"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, q)| (k.clone(), answer(q["method"].as_str().unwrap())))
            .collect();
        extra = json!({"inputResponses": responses, "requestState": result["requestState"]});
    }
    panic!("no complete result after 5 rounds: {results:?}");
}

fn answer(method: &str) -> Value {
    match method {
        "elicitation/create" => {
            json!({"action": "accept", "content": {"name": "Alice", "color": "blue", "ok": true}})
        }
        "sampling/createMessage" => {
            json!({"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"})
        }
        "roots/list" => json!({"roots": [{"uri": "file:///r"}]}),
        other => panic!("unexpected question {other}"),
    }
}

#[test]
fn one_tool_asks_through_input_required_rounds_and_completes() {
    let server = fixture_server();
    let alice = Identity::api_key("alice");
    let r = rounds(&server, &alice, "test_input_required_result_elicitation", all_caps(), answer);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["inputRequests"]["user_name"]["method"], "elicitation/create");
    assert_eq!(r[1]["content"][0]["text"], "Hello, Alice!");

    let r = rounds(&server, &alice, "test_input_required_result_multi_round", all_caps(), answer);
    assert_eq!(r.len(), 3, "two rounds of questions, then the result");
    assert_ne!(r[0]["requestState"], r[1]["requestState"]);
    assert_eq!(r[2]["content"][0]["text"], "Multi-round complete for Alice who likes blue");

    let r = rounds(&server, &alice, "test_input_required_result_multiple_inputs", all_caps(), answer);
    let keys: Vec<&String> = r[0]["inputRequests"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "asked together: {keys:?}");
    assert_eq!(r[1]["content"][0]["text"], "Name: Alice; Greeting: Paris; Roots: 1");
}

#[test]
fn answers_sealed_by_an_earlier_round_cannot_be_replaced() {
    let server = fixture_server();
    let alice = Identity::api_key("alice");
    let call = |extra: Value| {
        let mut params = json!({"name": "test_input_required_result_multi_round", "arguments": {}, "_meta": meta(all_caps())});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (_, body, _) =
            send_as(&server, &alice, "tools/call", params.clone(), headers_for("tools/call", &params));
        body["result"].clone()
    };
    let first = call(json!({}));
    let second = call(json!({"requestState": first["requestState"],
        "inputResponses": {"step1": {"action": "accept", "content": {"name": "Alice"}}}}));
    assert_eq!(second["resultType"], "input_required");
    assert_eq!(second["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-worker");
    let third = call(json!({"requestState": second["requestState"], "inputResponses": {
        "step1": {"action": "accept", "content": {"name": "Mallory"}},
        "step2": {"action": "accept", "content": {"color": "red"}}}}));
    assert_eq!(third["content"][0]["text"], "Multi-round complete for Alice who likes red");
}

#[test]
fn only_declared_capabilities_are_asked_for() {
    let server = fixture_server();
    let r = rounds(
        &server,
        &Identity::anonymous(),
        "test_input_required_result_capabilities",
        json!({"sampling": {}}),
        answer,
    );
    let methods: Vec<&Value> =
        r[0]["inputRequests"].as_object().unwrap().values().map(|q| &q["method"]).collect();
    assert_eq!(methods, [&json!("sampling/createMessage")]);
    assert_eq!(r[1]["content"][0]["text"], "capabilities-ok: received sampling");
}

#[test]
fn wrong_or_malformed_answers_are_asked_again_and_extra_ones_ignored() {
    let server = fixture_server();
    let ask = |responses: Value| {
        let params = json!({"name": "test_input_required_result_elicitation", "arguments": {},
            "inputResponses": responses, "_meta": meta(all_caps())});
        send(&server, "tools/call", params).1["result"].clone()
    };
    for responses in [json!({"wrong_key": {"action": "accept"}}), json!({"user_name": 12345}), Value::Null] {
        assert_eq!(ask(responses.clone())["resultType"], "input_required", "{responses}");
    }
    let done = ask(
        json!({"user_name": {"action": "accept", "content": {"name": "Bo"}}, "extra": {"action": "accept"}}),
    );
    assert_eq!(done["content"][0]["text"], "Hello, Bo!");
}

#[test]
fn request_state_is_refused_when_tampered_or_moved_to_another_caller_or_tool() {
    let server = fixture_server();
    let alice = Identity::api_key("alice");
    let first = |name: &str| {
        let params = json!({"name": name, "arguments": {}, "_meta": meta(all_caps())});
        let (_, body, _) =
            send_as(&server, &alice, "tools/call", params.clone(), headers_for("tools/call", &params));
        body["result"]["requestState"].as_str().unwrap().to_string()
    };
    let state = first("test_input_required_result_request_state");
    let retry = |who: &Identity, name: &str, state: &str| {
        let params = json!({"name": name, "arguments": {}, "requestState": state,
            "inputResponses": {"confirm": {"action": "accept", "content": {"ok": true}}}, "_meta": meta(all_caps())});
        let (_, body, _) =
            send_as(&server, who, "tools/call", params.clone(), headers_for("tools/call", &params));
        body
    };
    assert_eq!(
        retry(&alice, "test_input_required_result_request_state", &state)["result"]["resultType"],
        "complete"
    );
    for body in [
        retry(&alice, "test_input_required_result_request_state", &format!("{state}-TAMPERED")),
        retry(&Identity::api_key("bob"), "test_input_required_result_request_state", &state),
        retry(&alice, "test_input_required_result_tampered_state", &state),
    ] {
        assert_eq!(body["error"]["code"], -32602, "{body}");
    }
}

#[test]
fn an_expired_or_edited_state_is_refused_not_asked_again() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let server = fixture_server();
    let alice = Identity::api_key("alice");
    let name = "test_input_required_result_request_state";
    let first = json!({"name": name, "arguments": {}, "_meta": meta(all_caps())});
    let (_, body, _) =
        send_as(&server, &alice, "tools/call", first.clone(), headers_for("tools/call", &first));
    let state = body["result"]["requestState"].as_str().unwrap().to_string();
    let retry = |state: &str, now: u64| {
        let params = json!({"name": name, "arguments": {}, "requestState": state,
            "inputResponses": {"confirm": {"action": "accept", "content": {"ok": true}}}, "_meta": meta(all_caps())});
        send_at(&server, &alice, "tools/call", params.clone(), headers_for("tools/call", &params), now).1
    };
    assert_eq!(retry(&state, NOW + 1000)["result"]["resultType"], "complete");
    let expired = retry(&state, NOW + LIFETIME_MS);
    assert_eq!(expired["error"]["code"], -32602, "{expired}");
    assert!(expired["error"]["message"].as_str().unwrap().contains("expired"));
    // The payload edited (a later expiry), the tag kept: the MAC over the payload refuses it.
    let (payload, tag) = state.split_once('.').unwrap();
    let mut decoded: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    decoded["x"] = json!(decoded["x"].as_u64().unwrap() + 3_600_000);
    let edited = format!("{}.{tag}", b64.encode(decoded.to_string()));
    let refused = retry(&edited, NOW + LIFETIME_MS);
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("integrity"));
}

fn era(body: Value, header: Option<&str>) -> Era {
    classify(Payload::parse(body.to_string().as_bytes()).unwrap(), header)
}

#[test]
fn the_era_of_a_post_without_a_session_is_in_its_body() {
    let modern =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta(json!({}))}});
    assert!(matches!(era(modern, Some(V)), Era::Stateless(_)));
    // Even an unknown version claimed in _meta is the stateless lane's to refuse (-32022).
    let unknown = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "v9"}}});
    assert!(matches!(era(unknown, None), Era::Stateless(_)));
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    assert!(matches!(era(initialize.clone(), Some("2025-11-25")), Era::Session(_)));
    assert!(matches!(era(initialize, None), Era::Session(_)));
}

#[test]
fn a_modern_header_without_the_context_batches_and_bad_notifications_are_refused() {
    let bare = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"});
    let Era::Refused(response) = era(bare, Some(V)) else { panic!("refused") };
    let body = response.to_value();
    assert_eq!((body["id"].clone(), body["error"]["code"].clone()), (json!(4), json!(-32602)));
    assert!(body["error"]["message"].as_str().unwrap().contains("io.modelcontextprotocol/protocolVersion"));

    let item =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta(json!({}))}});
    let Era::Refused(response) = era(json!([item]), None) else { panic!("a claiming batch is refused") };
    assert_eq!(response.to_value()["error"]["code"], -32600);
    let plain = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert!(matches!(era(json!([plain.clone()]), Some(V)), Era::Refused(_)));
    assert!(matches!(era(json!([plain]), None), Era::Session(_)));

    let cancelled = |meta: Value| json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "_meta": meta}});
    assert_eq!(era(cancelled(meta(json!({}))), Some(V)), Era::Acknowledge);
    assert_eq!(
        era(json!({"jsonrpc": "2.0", "method": "notifications/cancelled"}), Some(V)),
        Era::Acknowledge
    );
    let Era::Refused(r) = era(cancelled(meta(json!({}))), Some("2099-01-01")) else { panic!("mismatch") };
    assert_eq!(r.to_value()["error"]["code"], -32020);
    let Era::Refused(r) = era(cancelled(json!({"io.modelcontextprotocol/protocolVersion": 5})), Some(V))
    else {
        panic!("a claim that is not a string")
    };
    assert_eq!(r.to_value()["error"]["code"], -32602);
}
