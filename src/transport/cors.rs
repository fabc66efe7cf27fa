//! CORS headers, so browser clients (the Inspector's web UI) can reach the server.

/// Request headers browser clients send to an MCP server.
pub const ALLOW_HEADERS: &str =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";
/// Response headers browser clients must be able to read.
pub const EXPOSE_HEADERS: &str = "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate";
pub const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE: &str = "86400";

/// Headers for a response to an allowed `origin`.
pub fn headers(origin: &str) -> [(&'static str, String); 3] {
    [
        ("Access-Control-Allow-Origin", origin.to_string()),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS.to_string()),
        ("Vary", "Origin".to_string()),
    ]
}

/// Extra headers for a preflight (`OPTIONS`) answer.
pub fn preflight_headers() -> [(&'static str, &'static str); 3] {
    [
        ("Access-Control-Allow-Methods", ALLOW_METHODS),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Max-Age", MAX_AGE),
    ]
}
