//! OAuth errors as types, and the one place where they become statuses, JSON bodies (RFC 6749 §5.2, RFC 7591
//! §3.2.2) or redirect parameters (RFC 6749 §4.1.2.1, with `iss` per RFC 9207). Descriptions are written by us
//! and never hold a token, code, secret or anything an upstream server sent.

use serde_json::json;

/// The registered error codes this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    InvalidTarget,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidClientMetadata,
    InvalidRedirectUri,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
        }
    }
}

/// One refused OAuth request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// The client authenticated with HTTP Basic: a 401 then carries `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub basic_auth: bool,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: description.into(), basic_auth: false }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "the server could not complete the request; try again")
    }

    /// The same error, marked as answering a client that used HTTP Basic.
    pub fn with_basic(mut self, basic: bool) -> Self {
        self.basic_auth = basic;
        self
    }

    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The JSON body of a token, revocation or registration error.
    pub fn to_json(&self) -> String {
        json!({ "error": self.code.as_str(), "error_description": self.description }).to_string()
    }

    /// Headers of the JSON answer: never cached; `WWW-Authenticate` when Basic authentication failed.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("Cache-Control", "no-store".to_string()), ("Pragma", "no-cache".to_string())];
        if self.status() == 401 && self.basic_auth {
            headers.push(("WWW-Authenticate", "Basic realm=\"oauth\"".to_string()));
        }
        headers
    }

    /// The query parameters of an error redirect to a validated redirect URI: `error`, `error_description`, the
    /// client's `state` and our `iss`.
    pub fn redirect_params(&self, state: Option<&str>, issuer: &str) -> Vec<(&'static str, String)> {
        let mut params =
            vec![("error", self.code.as_str().to_string()), ("error_description", self.description.clone())];
        if let Some(state) = state {
            params.push(("state", state.to_string()));
        }
        params.push(("iss", issuer.to_string()));
        params
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_rfc_6749() {
        assert_eq!(OAuthError::invalid_client("unknown client").status(), 401);
        assert_eq!(OAuthError::invalid_grant("x").status(), 400);
        assert_eq!(OAuthError::new(ErrorCode::UnsupportedGrantType, "x").status(), 400);
        assert_eq!(OAuthError::server_error().status(), 500);
    }

    #[test]
    fn a_basic_client_refused_gets_a_basic_challenge_and_nothing_is_cached() {
        let e = OAuthError::invalid_client("wrong secret").with_basic(true);
        let headers = e.headers();
        assert!(headers.contains(&("WWW-Authenticate", "Basic realm=\"oauth\"".into())));
        assert!(headers.contains(&("Cache-Control", "no-store".into())));
        assert!(!OAuthError::invalid_client("x").headers().iter().any(|(k, _)| *k == "WWW-Authenticate"));
        let body: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], "wrong secret");
    }

    #[test]
    fn redirects_carry_state_and_issuer() {
        let e = OAuthError::new(ErrorCode::AccessDenied, "the user denied access");
        let params = e.redirect_params(Some("xyz"), "https://mcp.example");
        assert_eq!(params[0], ("error", "access_denied".into()));
        assert!(params.contains(&("state", "xyz".into())));
        assert!(params.contains(&("iss", "https://mcp.example".into())));
        assert!(!e.redirect_params(None, "i").iter().any(|(k, _)| *k == "state"));
    }
}
