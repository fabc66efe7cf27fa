//! Label values, each bounded to a known set so that no client can grow the number of series: a path becomes
//! the name of the route that served it, an unknown method or tool becomes `other`.

use crate::audit::Outcome;
use crate::identity::{CallerKind, Identity};
use crate::oauth::Route;

/// The value every unknown input becomes.
pub const OTHER: &str = "other";

/// The route an HTTP request reached, by name: `/sse` and `/messages` whatever paths `MCP_SSE_PATH` and
/// `MCP_MESSAGES_PATH` chose, the OAuth paths, `/health`, `/metrics`, `/`, and `other` for anything else.
pub fn route(path: &str, sse_path: &str, messages_path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/mcp" => "/mcp",
        "/health" => "/health",
        "/metrics" => "/metrics",
        _ if path == sse_path => "/sse",
        _ if path == messages_path => "/messages",
        _ => match Route::of(path) {
            Some(Route::ResourceMetadata) => "/.well-known/oauth-protected-resource",
            Some(Route::ServerMetadata) => "/.well-known/oauth-authorization-server",
            Some(Route::Register) => "/register",
            Some(Route::Authorize) => "/authorize",
            Some(Route::Callback) => "/callback",
            Some(Route::Token) => "/token",
            Some(Route::Revoke) => "/revoke",
            None => OTHER,
        },
    }
}

/// An HTTP method.
pub fn http_method(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "DELETE", "OPTIONS", "HEAD", "PUT", "PATCH"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or(OTHER)
}

/// An HTTP status: its three digits, or `other` outside 100–599.
pub fn status(status: u16) -> String {
    if (100..=599).contains(&status) {
        status.to_string()
    } else {
        OTHER.to_string()
    }
}

/// The JSON-RPC methods of MCP (every revision this server speaks); any other is `other`.
pub const MCP_METHODS: [&str; 19] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
];

pub fn mcp_method(method: &str) -> &'static str {
    MCP_METHODS.into_iter().find(|m| *m == method).unwrap_or(OTHER)
}

/// A tool's name when the server has a tool of that name (`known`), else `other`: a client may call any
/// name.
pub fn tool(name: &str, known: impl Fn(&str) -> bool) -> &str {
    if known(name) {
        name
    } else {
        OTHER
    }
}

/// How a tool call ended, as in the audit log.
pub fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::ToolError => "tool_error",
        Outcome::Timeout => "timeout",
        Outcome::Refused => "refused",
        Outcome::InputRequired => "input_required",
    }
}

/// How an admitted caller was authenticated: `api_key`, `oauth` (a GitHub user's access token of ours), or
/// `anonymous` (development mode, `MCP_ALLOW_ANONYMOUS`).
pub fn auth_method(caller: &Identity) -> &'static str {
    match caller.kind() {
        CallerKind::ApiKey => "api_key",
        CallerKind::User => "oauth",
        CallerKind::Anonymous => "anonymous",
    }
}

/// The kinds of SSE stream counted in `mcp_open_streams`.
pub const STREAM_KINDS: [&str; 5] = ["post", "get", "legacy", "listen", "stateless"];

/// A stream kind, bounded to [`STREAM_KINDS`].
pub fn stream_kind(kind: &str) -> &'static str {
    STREAM_KINDS.into_iter().find(|k| *k == kind).unwrap_or(OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_route_names_and_anything_else_other() {
        assert_eq!(route("/mcp", "/sse", "/messages"), "/mcp");
        assert_eq!(route("/events", "/events", "/post"), "/sse");
        assert_eq!(route("/post", "/events", "/post"), "/messages");
        assert_eq!(route("/sse", "/events", "/post"), OTHER, "the default path is not served when moved");
        assert_eq!(route("/token", "/sse", "/messages"), "/token");
        assert_eq!(
            route("/.well-known/oauth-protected-resource/mcp", "/sse", "/messages"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(route("/mcp/../../etc/passwd", "/sse", "/messages"), OTHER);
        assert_eq!(route("/metrics", "/sse", "/messages"), "/metrics");
    }

    #[test]
    fn methods_statuses_and_tools_are_bounded() {
        assert_eq!(http_method("POST"), "POST");
        assert_eq!(http_method("BREW"), OTHER);
        assert_eq!(status(429), "429");
        assert_eq!(status(42), OTHER);
        assert_eq!(mcp_method("tools/call"), "tools/call");
        assert_eq!(mcp_method("tools/call2"), OTHER);
        let known = |n: &str| n == "search";
        assert_eq!(tool("search", known), "search");
        assert_eq!(tool("x".repeat(500).as_str(), known), OTHER);
        assert_eq!(stream_kind("listen"), "listen");
        assert_eq!(stream_kind("websocket"), OTHER);
    }

    #[test]
    fn callers_are_named_by_how_they_authenticated() {
        assert_eq!(auth_method(&Identity::api_key("ops")), "api_key");
        assert_eq!(auth_method(&Identity::user(1, "octocat", None)), "oauth");
        assert_eq!(auth_method(&Identity::anonymous()), "anonymous");
        assert_eq!(outcome(Outcome::Timeout), "timeout");
    }
}
