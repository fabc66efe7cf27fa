//! Errors as types, and the one place where they become HTTP statuses and JSON-RPC error codes.
//!
//! [`McpError`] is an error answering one JSON-RPC request (HTTP 200 around it); [`HttpError`] rejects a
//! whole HTTP request before or instead of any JSON-RPC processing.

use crate::model::jsonrpc::Malformed;
use crate::model::{code, ErrorObject, RequestId, Response};

/// MCP SDKs answer an unknown or ended session with this code (and HTTP 404).
pub const SESSION_NOT_FOUND: i32 = -32001;

/// An error answering one request.
#[derive(Debug, Clone, PartialEq)]
pub enum McpError {
    MethodNotFound(String),
    InvalidParams(String),
    ResourceNotFound(String),
    InvalidRequest(String),
    Internal(String),
}

impl McpError {
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            Self::MethodNotFound(method) => {
                ErrorObject::new(code::METHOD_NOT_FOUND, format!("Method not found: {method}"))
            }
            Self::InvalidParams(why) => {
                ErrorObject::new(code::INVALID_PARAMS, format!("Invalid params: {why}"))
            }
            Self::ResourceNotFound(uri) => {
                ErrorObject::new(code::RESOURCE_NOT_FOUND, format!("Resource not found: {uri}"))
                    .with_data(serde_json::json!({ "uri": uri }))
            }
            Self::InvalidRequest(why) => {
                ErrorObject::new(code::INVALID_REQUEST, format!("Invalid Request: {why}"))
            }
            Self::Internal(why) => ErrorObject::new(code::INTERNAL_ERROR, format!("Internal error: {why}")),
        }
    }

    /// Params that do not deserialize into the method's type.
    pub fn bad_params(err: serde_json::Error) -> Self {
        Self::InvalidParams(err.to_string())
    }
}

impl std::fmt::Display for McpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_error_object().message)
    }
}

/// Why an HTTP request is refused as a whole.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// 400: the body is not JSON (`-32700`).
    Parse(ErrorObject),
    /// 400: the JSON-RPC shape is wrong (`-32600`), e.g. a batch where the revision forbids it.
    InvalidRequest { id: Option<RequestId>, message: String },
    /// 400: a request refused before any session exists (invalid `initialize` params), with its own error.
    Rejected { id: Option<RequestId>, error: ErrorObject },
    /// 400: a request other than `initialize` without `Mcp-Session-Id`.
    SessionRequired,
    /// 400: an `Mcp-Session-Id` that is not a visible-ASCII token.
    MalformedSessionId,
    /// 400: an `MCP-Protocol-Version` header naming a revision we do not speak.
    UnsupportedProtocolVersion(String),
    /// 400: a query parameter or header that is missing or malformed.
    BadRequest(String),
    /// 401: no or wrong credentials; `www_authenticate` is sent back.
    Unauthorized { message: String, www_authenticate: String },
    /// 403: an OAuth token without the scope the endpoint needs; `www_authenticate` is sent back.
    InsufficientScope { www_authenticate: String },
    /// 403: an `Origin` that is not allowed (DNS-rebinding protection).
    ForbiddenOrigin(String),
    /// 403: a `Host` that is not allowed (`MCP_ALLOWED_HOSTS`).
    ForbiddenHost(String),
    /// 404: the session does not exist or has ended.
    SessionNotFound,
    /// 404: no such path.
    NotFound(String),
    /// 405: the method is not served on this path.
    MethodNotAllowed { allow: &'static str },
    /// 406: `Accept` lacks a media type the transport needs.
    NotAcceptable(&'static str),
    /// 413: the body is over the configured limit.
    PayloadTooLarge { limit: usize },
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 503: the deployment refuses traffic until it is configured.
    NotConfigured(String),
    /// 503: a bounded resource is full for now (e.g. listen streams); `Retry-After` says when to try again.
    Overloaded(String),
    /// 429: the caller sent more than its rate limit allows; its window ends in `retry_after_seconds`.
    RateLimited { policy: crate::rate_limit::Policy, retry_after_seconds: u64 },
    /// 429: a bound of this session or caller is reached (open streams, sessions); `message` names the
    /// setting. 429 rather than 503: the server is fine, this client holds too much at once.
    LimitReached { message: String, retry_after_seconds: u64 },
    /// 429: calls of one tool past its limit for this caller (`MCP_TOOL_RATE_LIMITS`).
    ToolRateLimited(crate::rate_limit::ToolDenial),
    /// 500: something failed on our side. The detail is for the log only: the client gets a fixed message and a
    /// reference to find the log line.
    Internal(String),
}

impl HttpError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Parse(_)
            | Self::Rejected { .. }
            | Self::InvalidRequest { .. }
            | Self::SessionRequired
            | Self::MalformedSessionId
            | Self::UnsupportedProtocolVersion(_)
            | Self::BadRequest(_) => 400,
            Self::Unauthorized { .. } => 401,
            Self::InsufficientScope { .. } | Self::ForbiddenOrigin(_) | Self::ForbiddenHost(_) => 403,
            Self::SessionNotFound | Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::NotAcceptable(_) => 406,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::NotConfigured(_) | Self::Overloaded(_) => 503,
            Self::RateLimited { .. } | Self::LimitReached { .. } | Self::ToolRateLimited(_) => 429,
            Self::Internal(_) => 500,
        }
    }

    pub fn to_error_object(&self) -> ErrorObject {
        use crate::model::ProtocolVersion;
        let server = |message: String| ErrorObject::new(code::SERVER_ERROR, message);
        match self {
            Self::Parse(error) | Self::Rejected { error, .. } => error.clone(),
            Self::InvalidRequest { message, .. } => {
                ErrorObject::new(code::INVALID_REQUEST, format!("Invalid Request: {message}"))
            }
            Self::SessionRequired => server(
                "Bad Request: Mcp-Session-Id header is required (send initialize first to open a session)".into(),
            ),
            Self::MalformedSessionId => {
                server("Bad Request: Mcp-Session-Id must be visible ASCII characters".into())
            }
            Self::UnsupportedProtocolVersion(v) => server(format!(
                "Bad Request: unsupported MCP-Protocol-Version {v:?} (supported: {})",
                ProtocolVersion::supported_list()
            )),
            Self::BadRequest(why) => server(format!("Bad Request: {why}")),
            Self::Unauthorized { message, .. } => server(format!("Unauthorized: {message}")),
            Self::InsufficientScope { .. } => server("Forbidden: the access token lacks the scope mcp".into()),
            Self::ForbiddenOrigin(origin) => server(format!(
                "Forbidden: origin {origin:?} is not allowed (add it to MCP_ALLOWED_ORIGINS)"
            )),
            Self::SessionNotFound => ErrorObject::new(
                SESSION_NOT_FOUND,
                "Session not found: it expired or was deleted; send initialize to start a new one",
            ),
            Self::ForbiddenHost(host) => server(format!(
                "Forbidden: host {host:?} is not allowed (add it to MCP_ALLOWED_HOSTS)"
            )),
            Self::NotFound(path) => server(format!("Not Found: {path}")),
            Self::MethodNotAllowed { allow } => {
                server(format!("Method Not Allowed: use one of {allow}"))
            }
            Self::NotAcceptable(needs) => server(format!("Not Acceptable: the Accept header must include {needs}")),
            Self::PayloadTooLarge { limit } => {
                server(format!("Payload Too Large: the body is over {limit} bytes"))
            }
            Self::UnsupportedMediaType => {
                server("Unsupported Media Type: Content-Type must be application/json".into())
            }
            Self::NotConfigured(why) | Self::Overloaded(why) => server(format!("Service Unavailable: {why}")),
            Self::RateLimited { policy: p, retry_after_seconds } => server(format!(
                "Too Many Requests: at most {} requests per {} s; retry after {retry_after_seconds} s",
                p.limit, p.window_seconds
            )),
            Self::LimitReached { message, .. } => server(format!("Too Many Requests: {message}")),
            Self::ToolRateLimited(d) => server(format!(
                "Too Many Requests: at most {} calls of tool {} per {} s (MCP_TOOL_RATE_LIMITS); retry after {} s",
                d.limit, d.tool, d.window_seconds, d.retry_after_seconds
            )),
            Self::Internal(_) => ErrorObject::new(
                code::INTERNAL_ERROR,
                "Internal error: the server could not answer this request; try again, and if it persists report \
                 the reference",
            ),
        }
    }

    /// The JSON-RPC error body sent with the status: with the id of the request it answers when one could be
    /// read (`request_id`, unless the error carries its own), and for a 500 the `reference` under which the
    /// detail was logged.
    pub fn to_body(&self, request_id: Option<RequestId>, reference: &str) -> String {
        self.to_response(request_id, reference).to_json()
    }

    /// The JSON-RPC error response of [`HttpError::to_body`], for a stream that is already open.
    pub fn to_response(&self, request_id: Option<RequestId>, reference: &str) -> Response {
        let id = match self {
            Self::InvalidRequest { id: Some(id), .. } | Self::Rejected { id: Some(id), .. } => {
                Some(id.clone())
            }
            _ => request_id,
        };
        let mut error = self.to_error_object();
        if matches!(self, Self::Internal(_)) {
            error = error.with_data(serde_json::json!({ "reference": reference }));
        }
        Response::error(id, error)
    }

    /// `initialize` inside an existing session: an invalid request (`-32600`) answering the initialize's id.
    pub fn already_initialized(id: Option<RequestId>) -> Self {
        Self::InvalidRequest {
            id,
            message: "initialize must not be sent inside a session; this session is already initialized"
                .into(),
        }
    }

    /// Extra headers the status calls for.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed { allow } => vec![("Allow", (*allow).to_string())],
            Self::Overloaded(_) => vec![("Retry-After", "60".to_string())],
            Self::RateLimited { policy, retry_after_seconds } => policy.denial_headers(*retry_after_seconds),
            Self::LimitReached { retry_after_seconds, .. } => {
                vec![("Retry-After", retry_after_seconds.to_string())]
            }
            Self::ToolRateLimited(denial) => denial.headers(),
            Self::Unauthorized { www_authenticate, .. } | Self::InsufficientScope { www_authenticate } => {
                vec![("WWW-Authenticate", www_authenticate.clone())]
            }
            _ => Vec::new(),
        }
    }
}

/// A request answered with an error before any session exists (400).
impl From<Response> for HttpError {
    fn from(response: Response) -> Self {
        match (response.id, response.outcome) {
            (id, Err(error)) => Self::Rejected { id, error },
            (id, Ok(_)) => Self::InvalidRequest { id, message: "the request was refused".into() },
        }
    }
}

/// A message with the wrong JSON-RPC shape, refusing its whole POST (400 with `-32600` and its id).
impl From<Malformed> for HttpError {
    fn from(malformed: Malformed) -> Self {
        let message = malformed.error.message.trim_start_matches("Invalid Request: ").to_string();
        Self::InvalidRequest { id: malformed.id, message }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status(), self.to_error_object().message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_http_error_has_a_jsonrpc_body() {
        let cases = [
            (HttpError::SessionRequired, 400, code::SERVER_ERROR),
            (HttpError::already_initialized(Some(RequestId::Number(9))), 400, code::INVALID_REQUEST),
            (HttpError::Internal("secret detail".into()), 500, code::INTERNAL_ERROR),
            (HttpError::SessionNotFound, 404, SESSION_NOT_FOUND),
            (HttpError::NotAcceptable("text/event-stream"), 406, code::SERVER_ERROR),
            (HttpError::UnsupportedMediaType, 415, code::SERVER_ERROR),
            (HttpError::PayloadTooLarge { limit: 10 }, 413, code::SERVER_ERROR),
            (
                HttpError::InvalidRequest { id: Some(RequestId::Number(3)), message: "x".into() },
                400,
                code::INVALID_REQUEST,
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status);
            let body: serde_json::Value =
                serde_json::from_str(&err.to_body(Some(RequestId::Number(9)), "ref-1")).unwrap();
            assert_eq!(body["error"]["code"], code, "{err}");
            assert_eq!(body["jsonrpc"], "2.0");
            assert!(!body.to_string().contains("secret detail"), "{body}");
        }
        let own_id = HttpError::InvalidRequest { id: Some(RequestId::Number(3)), message: "x".into() };
        let body: serde_json::Value =
            serde_json::from_str(&own_id.to_body(Some(RequestId::Number(9)), "r")).unwrap();
        assert_eq!(body["id"], 3);
        let body: serde_json::Value =
            serde_json::from_str(&HttpError::SessionNotFound.to_body(Some(RequestId::Number(9)), "r"))
                .unwrap();
        assert_eq!(body["id"], 9, "the request's id when it could be read");
        let body: serde_json::Value =
            serde_json::from_str(&HttpError::Internal("db password wrong".into()).to_body(None, "abc123"))
                .unwrap();
        assert_eq!(body["error"]["data"]["reference"], "abc123");
        assert!(!body.to_string().contains("password"));
    }

    #[test]
    fn the_entry_module_answers_a_trap_with_the_same_fixed_message() {
        // src/worker/entry.mjs writes the 500 of a request a trap left without an answer itself (the Rust side
        // may be the instance that trapped): its message must stay this one.
        let message = HttpError::Internal(String::new()).to_error_object().message;
        let entry = include_str!("worker/entry.mjs");
        assert!(entry.contains(&format!("message: '{message}'")), "entry.mjs must say: {message}");
        assert!(entry.contains(&format!("code: {}", code::INTERNAL_ERROR)));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let err = HttpError::MethodNotAllowed { allow: "GET, POST" };
        assert_eq!(err.headers(), vec![("Allow", "GET, POST".to_string())]);
    }
}
