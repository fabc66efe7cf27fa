//! How the Worker speaks to a grant's Durable Object: what it asks ([`GrantCall`], the request body) and what
//! the object answers ([`GrantReply`]). Externally tagged, and read through `serde_json::Value` as elsewhere:
//! both keep the upload smaller than internally tagged enums parsed from text. Like session objects, a grant object reads only what the Worker built;
//! the client's request never reaches it.

use serde::{Deserialize, Serialize};

use super::grant::{Upstream, User};
use super::{ErrorCode, OAuthError};

/// The Durable Object name of grant `id`.
pub fn object_name(grant_id: &str) -> String {
    format!("grant:{grant_id}")
}

/// One request to a grant object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantCall {
    /// Create the grant (after GitHub named the user); fails if it exists, which makes the state one-time.
    Create {
        grant_id: String,
        client_id: String,
        redirect_uri: String,
        scope: String,
        resource: String,
        code_challenge: String,
        user: User,
        upstream: Upstream,
    },
    /// `grant_type=authorization_code`.
    Exchange { code: String, client_id: String, redirect_uri: Option<String>, code_verifier: Option<String> },
    /// `grant_type=refresh_token`.
    Refresh { refresh_token: String, client_id: String },
    /// Revoke the grant: by a refresh token of it, or (`refresh_token` absent) for an access token the Worker
    /// verified. `client_id`, when the client authenticated, must be the grant's.
    Revoke { refresh_token: Option<String>, client_id: Option<String> },
    /// Whether access tokens of the grant may be used.
    Status,
    /// The user's GitHub token, for a tool calling GitHub on the user's behalf with a live `access_token` of
    /// the grant: the object keeps the grant key wrapped under each access token it issues, so this works at
    /// once in every location. An expiring GitHub App token is refreshed here first (once: the object runs one
    /// call at a time).
    UpstreamFor { access_token: String },
}

/// A grant object's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantReply {
    Created {
        code: String,
    },
    /// New tokens, and the grant key wrapped under the access token (for its KV record).
    Tokens {
        access_token: String,
        refresh_token: String,
        expires_in: u64,
        scope: String,
        access_key: String,
    },
    Status {
        live: bool,
    },
    /// The GitHub token (answered only to the Worker, for a tool).
    Upstream {
        access_token: String,
    },
    Revoked {
        revoked: bool,
    },
    Refused {
        error: String,
        description: String,
    },
}

/// A call or reply as the JSON text that travels.
pub fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).map(|v| v.to_string()).unwrap_or_default()
}

/// A call or reply from its JSON text.
pub fn from_text<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::from_str(text).ok()?).ok()
}

impl GrantReply {
    pub fn refused(error: &OAuthError) -> Self {
        Self::Refused { error: error.code.as_str().into(), description: error.description.clone() }
    }

    /// The error of a refusal, as the token endpoint answers it.
    pub fn to_error(error: &str, description: &str) -> OAuthError {
        let code = match error {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "invalid_client" => ErrorCode::InvalidClient,
            _ => ErrorCode::ServerError,
        };
        OAuthError::new(code, description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_replies_round_trip_as_json() {
        let call = GrantCall::Exchange {
            code: "g.s".into(),
            client_id: "c".into(),
            redirect_uri: Some("http://127.0.0.1/cb".into()),
            code_verifier: None,
        };
        let text = to_text(&call);
        assert!(text.starts_with("{\"exchange\":"), "{text}");
        assert_eq!(from_text::<GrantCall>(&text), Some(call));
        let reply = GrantReply::refused(&OAuthError::invalid_grant("used"));
        let back: GrantReply = from_text(&to_text(&reply)).unwrap();
        let GrantReply::Refused { error, description } = back else { panic!() };
        assert_eq!(GrantReply::to_error(&error, &description), OAuthError::invalid_grant("used"));
        assert_eq!(object_name("abc"), "grant:abc");
    }
}
