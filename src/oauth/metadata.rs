//! The two discovery documents, built from the origin a request reached: protected resource metadata
//! (RFC 9728) and authorization server metadata (RFC 8414). The issuer is the origin exactly (no trailing
//! slash): clients compare it byte for byte with the URL they built.

use serde_json::{json, Value};

use super::{resource, SCOPE};

/// The name clients show for this resource.
pub const RESOURCE_NAME: &str = "mcp-worker";
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_post", "client_secret_basic"];

/// `/.well-known/oauth-protected-resource[/mcp]`.
pub fn protected_resource(origin: &str) -> Value {
    json!({
        "resource": resource(origin),
        "authorization_servers": [origin],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": RESOURCE_NAME,
    })
}

/// `/.well-known/oauth-authorization-server`.
pub fn authorization_server(origin: &str) -> Value {
    json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/token"),
        "registration_endpoint": format!("{origin}/register"),
        "revocation_endpoint": format!("{origin}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": [SCOPE],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
    })
}

/// The `WWW-Authenticate` challenge of a refused MCP request (RFC 6750 §3, RFC 9728 §5.1): where to find the
/// resource metadata and which scope to ask for; `error` when a token was sent and refused.
pub fn challenge(origin: &str, error: Option<&str>) -> String {
    let mut value =
        format!("Bearer resource_metadata=\"{origin}{}\", scope=\"{SCOPE}\"", super::RESOURCE_METADATA_PATH);
    if let Some(error) = error {
        value.push_str(&format!(", error=\"{error}\""));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_the_origin_exactly_and_only_s256_is_offered() {
        let m = authorization_server("https://mcp.example.com");
        assert_eq!(m["issuer"], "https://mcp.example.com");
        assert_eq!(m["token_endpoint"], "https://mcp.example.com/token");
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
        assert_eq!(m["client_id_metadata_document_supported"], true);
        assert_eq!(
            m["revocation_endpoint_auth_methods_supported"],
            m["token_endpoint_auth_methods_supported"]
        );
    }

    #[test]
    fn the_resource_points_at_this_server_and_lists_no_offline_access() {
        let m = protected_resource("http://127.0.0.1:8787");
        assert_eq!(m["resource"], "http://127.0.0.1:8787/mcp");
        assert_eq!(m["authorization_servers"], json!(["http://127.0.0.1:8787"]));
        assert_eq!(m["scopes_supported"], json!(["mcp"]));
    }

    #[test]
    fn challenges_name_the_metadata_and_the_scope() {
        assert_eq!(
            challenge("https://h", None),
            "Bearer resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""
        );
        assert!(challenge("https://h", Some("invalid_token")).ends_with(", error=\"invalid_token\""));
    }
}
