//! The shipped tools, resources and prompts, through the JSON-RPC methods clients call.

mod common;

use common::{call, corpus, initialize, server};
use serde_json::{json, Value};

fn text_of(result: &Value) -> &str {
    result["result"]["content"][0]["text"].as_str().expect("a text item")
}

#[test]
fn tools_list_has_schemas_annotations_and_pages() {
    let server = server(2);
    let (_, session) = initialize(&server, "2025-11-25");
    let first = call(&server, &session, "tools/list", json!({}));
    let tools = first["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    let cursor = first["result"]["nextCursor"].as_str().expect("a next page");
    let second = call(&server, &session, "tools/list", json!({"cursor": cursor}));
    assert!(second["result"].get("nextCursor").is_none());
    let mut names: Vec<&str> = tools
        .iter()
        .chain(second["result"]["tools"].as_array().unwrap())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["echo", "fetch", "search", "whoami"]);
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object");
        assert_eq!(tool["inputSchema"]["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(tool["annotations"]["readOnlyHint"], true);
    }
    let bad = call(&server, &session, "tools/list", json!({"cursor": "nonsense"}));
    assert_eq!(bad["error"]["code"], -32602);
}

#[test]
fn output_schema_is_hidden_from_revisions_without_structured_output() {
    let server = server(50);
    let (_, new) = initialize(&server, "2025-06-18");
    let tools = call(&server, &new, "tools/list", json!({}));
    assert!(tools["result"]["tools"][0]["outputSchema"].is_object());
    let (_, old) = initialize(&server, "2025-03-26");
    let tools = call(&server, &old, "tools/list", json!({}));
    assert!(tools["result"]["tools"][0].get("outputSchema").is_none());
}

#[test]
fn search_returns_chatgpt_shaped_results() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let result = call(
        &server,
        &session,
        "tools/call",
        json!({"name": "search", "arguments": {"query": "Claude Desktop"}}),
    );
    let content = result["result"]["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    let parsed: Value = serde_json::from_str(text_of(&result)).unwrap();
    assert_eq!(parsed, result["result"]["structuredContent"]);
    let first = &parsed["results"][0];
    let doc = corpus().get("claude-desktop").unwrap().clone();
    assert_eq!(first, &json!({"id": doc.id, "title": doc.title, "url": doc.url}));
    let none =
        call(&server, &session, "tools/call", json!({"name": "search", "arguments": {"query": "qqqxxyz"}}));
    assert_eq!(none["result"]["structuredContent"], json!({"results": []}));
}

#[test]
fn fetch_returns_the_whole_document() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let doc = corpus().documents()[0].clone();
    let result = call(&server, &session, "tools/call", json!({"name": "fetch", "arguments": {"id": doc.id}}));
    let parsed: Value = serde_json::from_str(text_of(&result)).unwrap();
    assert_eq!(parsed, serde_json::to_value(&doc).unwrap());
    assert_eq!(parsed, result["result"]["structuredContent"]);
    let missing =
        call(&server, &session, "tools/call", json!({"name": "fetch", "arguments": {"id": "nope"}}));
    assert_eq!(missing["result"]["isError"], true);
    assert!(text_of(&missing).contains("nope"));
}

#[test]
fn argument_errors_are_tool_results_and_unknown_tools_are_protocol_errors() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let bad = call(&server, &session, "tools/call", json!({"name": "echo", "arguments": {"message": 5}}));
    assert_eq!(bad["result"]["isError"], true);
    assert!(text_of(&bad).contains("/message: expected string"));
    let missing = call(&server, &session, "tools/call", json!({"name": "echo"}));
    assert_eq!(missing["result"]["isError"], true);
    let unknown = call(&server, &session, "tools/call", json!({"name": "nope", "arguments": {}}));
    assert_eq!(unknown["error"]["code"], -32602);
    let no_name = call(&server, &session, "tools/call", json!({}));
    assert_eq!(no_name["error"]["code"], -32602);
    let echo =
        call(&server, &session, "tools/call", json!({"name": "echo", "arguments": {"message": "héllo"}}));
    assert_eq!(text_of(&echo), "héllo");
}

#[test]
fn documents_are_resources() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let list = call(&server, &session, "resources/list", json!({}));
    let resources = list["result"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), corpus().documents().len());
    let doc = corpus().documents()[1].clone();
    let uri = format!("docs://{}", doc.id);
    assert!(resources.iter().any(|r| r["uri"] == uri && r["title"] == doc.title.as_str()));
    let read = call(&server, &session, "resources/read", json!({"uri": uri}));
    assert_eq!(read["result"]["contents"][0]["text"], doc.text.as_str());
    assert_eq!(read["result"]["contents"][0]["uri"], uri);
    let templates = call(&server, &session, "resources/templates/list", json!({}));
    assert_eq!(templates["result"]["resourceTemplates"][0]["uriTemplate"], "docs://{id}");
    for missing in ["docs://nope", "file:///etc/passwd"] {
        let err = call(&server, &session, "resources/read", json!({"uri": missing}));
        assert_eq!(err["error"]["code"], -32002, "{missing}");
    }
}

#[test]
fn prompts_fill_in_their_arguments() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let list = call(&server, &session, "prompts/list", json!({}));
    assert_eq!(list["result"]["prompts"].as_array().unwrap().len(), 2);
    let got = call(
        &server,
        &session,
        "prompts/get",
        json!({"name": "answer_from_docs", "arguments": {"question": "How do I deploy?"}}),
    );
    assert_eq!(got["result"]["messages"][0]["role"], "user");
    assert!(got["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains("How do I deploy?"));
    let doc = corpus().documents()[2].clone();
    let summary = call(
        &server,
        &session,
        "prompts/get",
        json!({"name": "summarize_document", "arguments": {"id": doc.id}}),
    );
    assert!(summary["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains(&doc.text));
    for params in [
        json!({"name": "answer_from_docs"}),
        json!({"name": "nope"}),
        json!({"name": "summarize_document", "arguments": {"id": "nope"}}),
    ] {
        assert_eq!(
            call(&server, &session, "prompts/get", params.clone())["error"]["code"],
            -32602,
            "{params}"
        );
    }
}

#[test]
fn lifecycle_methods() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    assert_eq!(call(&server, &session, "ping", json!({}))["result"], json!({}));
    assert_eq!(call(&server, &session, "logging/setLevel", json!({"level": "debug"}))["result"], json!({}));
    assert!(session.take_dirty(), "the level change must be persisted");
    assert_eq!(
        call(&server, &session, "logging/setLevel", json!({"level": "loud"}))["error"]["code"],
        -32602
    );
    assert_eq!(call(&server, &session, "no/such/method", json!({}))["error"]["code"], -32601);
}

#[test]
fn completions_for_prompt_arguments_and_template_variables() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let doc = corpus().documents()[3].clone();
    let typed = &doc.id[..3];
    let by_prompt = call(
        &server,
        &session,
        "completion/complete",
        json!({
            "ref": {"type": "ref/prompt", "name": "summarize_document"}, "argument": {"name": "id", "value": typed}
        }),
    );
    let values = by_prompt["result"]["completion"]["values"].as_array().unwrap();
    assert!(values.iter().any(|v| v == doc.id.as_str()), "{by_prompt}");
    assert!(values.iter().all(|v| v.as_str().unwrap().starts_with(typed)));
    let by_template = call(
        &server,
        &session,
        "completion/complete",
        json!({
            "ref": {"type": "ref/resource", "uri": "docs://{id}"}, "argument": {"name": "id", "value": ""}
        }),
    );
    assert_eq!(by_template["result"]["completion"]["total"], corpus().documents().len());
    for bad in [
        json!({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "id", "value": ""}}),
        json!({"ref": {"type": "ref/prompt", "name": "summarize_document"}, "argument": {"name": "zzz", "value": ""}}),
        json!({"ref": {"type": "ref/resource", "uri": "nope://{x}"}, "argument": {"name": "x", "value": ""}}),
        json!({"ref": {"type": "ref/other"}, "argument": {"name": "x"}}),
    ] {
        assert_eq!(
            call(&server, &session, "completion/complete", bad.clone())["error"]["code"],
            -32602,
            "{bad}"
        );
    }
}

#[test]
fn subscriptions_are_recorded_in_the_session() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let uri = "docs://settings";
    assert_eq!(call(&server, &session, "resources/subscribe", json!({"uri": uri}))["result"], json!({}));
    assert!(session.state().subscriptions.contains(uri));
    assert!(session.take_dirty());
    assert_eq!(call(&server, &session, "resources/unsubscribe", json!({"uri": uri}))["result"], json!({}));
    assert!(session.state().subscriptions.is_empty());
    assert_eq!(call(&server, &session, "resources/subscribe", json!({}))["error"]["code"], -32602);
}

#[test]
fn subscriptions_per_session_are_bounded() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let subscribe = |uri: &str| call(&server, &session, "resources/subscribe", json!({"uri": uri}));
    let long = subscribe(&format!("docs://{}", "x".repeat(4096)));
    assert_eq!(long["error"]["code"], -32602, "an overlong URI is refused: {long}");
    assert!(long["error"]["message"].as_str().unwrap().contains("characters"), "{long}");
    for i in 0..mcp_worker::session::MAX_SUBSCRIPTIONS {
        assert_eq!(subscribe(&format!("docs://doc-{i}"))["result"], json!({}), "subscription {i}");
    }
    let refused = subscribe("docs://one-too-many");
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("at most"), "{refused}");
    assert_eq!(subscribe("docs://doc-0")["result"], json!({}), "an existing subscription is not a new one");
    let unsubscribed = call(&server, &session, "resources/unsubscribe", json!({"uri": "docs://doc-0"}));
    assert_eq!(unsubscribed["result"], json!({}));
    assert_eq!(subscribe("docs://one-too-many")["result"], json!({}), "room again after unsubscribing");
}

#[test]
fn invalid_params_are_named_in_protocol_terms_not_rust_types() {
    let server = server(50);
    let (_, session) = initialize(&server, "2025-11-25");
    let cases = [
        ("logging/setLevel", json!({"level": 3})),
        ("logging/setLevel", json!({"level": {"debug": null}})),
        ("logging/setLevel", json!({"level": {"debug": 5}})),
        ("logging/setLevel", json!([])),
        ("completion/complete", json!({"ref": 5, "argument": {"name": "a", "value": "b"}})),
        ("completion/complete", json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": 5})),
        ("tools/call", json!({"name": 7})),
        ("resources/read", json!({"uri": false})),
        ("prompts/get", json!(["x"])),
        ("tools/list", json!({"cursor": 1})),
    ];
    for (method, params) in cases {
        let answer = call(&server, &session, method, params.clone());
        assert_eq!(answer["error"]["code"], -32602, "{method} {params}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        for rust in ["struct ", "enum ", "expected unit", "string or map", "Params", "Reference", "Argument"]
        {
            assert!(!message.contains(rust), "{method} {params}: {message}");
        }
    }
    // The map form serde's derive takes for an enum is not a level.
    let map_form = call(&server, &session, "logging/setLevel", json!({"level": {"debug": null}}));
    assert!(map_form["error"]["message"].as_str().unwrap().contains("expected a string"), "{map_form}");
    let named = call(&server, &session, "logging/setLevel", json!({"level": "loud"}));
    assert!(named["error"]["message"].as_str().unwrap().contains("`debug`"), "{named}");
}
