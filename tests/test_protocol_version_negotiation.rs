//! `initialize` negotiates the protocol revision and declares only what is implemented.

mod common;

use common::{initialize, server};
use mcp_worker::model::ProtocolVersion;

#[test]
fn every_supported_revision_is_echoed() {
    let server = server(50);
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let (result, session) = initialize(&server, version);
        assert_eq!(result["result"]["protocolVersion"], version);
        assert_eq!(session.protocol_version().as_str(), version);
    }
}

#[test]
fn an_unknown_revision_gets_the_latest() {
    let (result, session) = initialize(&server(50), "2030-01-01");
    assert_eq!(result["result"]["protocolVersion"], ProtocolVersion::LATEST_STATEFUL.as_str());
    assert_eq!(session.protocol_version(), ProtocolVersion::LATEST_STATEFUL);
}

#[test]
fn capabilities_and_server_info_are_declared() {
    let (result, session) = initialize(&server(50), "2025-11-25");
    let caps = &result["result"]["capabilities"];
    assert!(caps["tools"].is_object());
    assert!(caps["resources"].is_object());
    assert_eq!(caps["resources"]["subscribe"], true);
    assert!(caps["prompts"].is_object());
    assert!(caps["logging"].is_object());
    assert!(caps["completions"].is_object());
    assert_eq!(result["result"]["serverInfo"]["name"], "mcp-worker");
    assert!(result["result"]["instructions"].as_str().unwrap().contains("search"));
    assert_eq!(session.state().client_info.name, "test-client");
    assert!(mcp_worker::session::declares(&session.state().client_capabilities, "sampling"));
}

#[test]
fn initialize_with_bad_params_is_invalid_params_and_creates_nothing() {
    let request = mcp_worker::model::Request {
        id: mcp_worker::model::RequestId::Number(9),
        method: "initialize".into(),
        params: Some(serde_json::json!({"protocolVersion": 5})),
    };
    let err = server(50).initialize(&request, 0).unwrap_err();
    assert_eq!(err.to_value()["error"]["code"], -32602);
    assert_eq!(err.to_value()["id"], 9);
}
