//! Values we hand out and must recognise later without storing them: the validated authorization request on
//! the consent page, the state we send GitHub, and access tokens. Each is `<prefix>.<payload>.<tag>`: the
//! payload JSON (base64url, readable, nothing secret in it) and a 128-bit HMAC-SHA256 tag under the OAuth key
//! of the server secret with a label per kind, so one kind never passes for another. Every payload expires.
//!
//! Access tokens are sealed rather than stored because KV is eventually consistent between locations: a
//! sealed token verifies anywhere the moment it is issued, with no store round trip.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::{Key, Purpose, ServerSecret};

const TAG_BYTES: usize = 16;
/// The longest sealed value accepted back.
pub const MAX_SEALED_CHARS: usize = 16 * 1024;

/// What a sealed value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The validated authorization request, carried by the consent form (10 minutes).
    AuthorizationRequest,
    /// The `state` we send GitHub (10 minutes).
    UpstreamState,
    /// An access token for the MCP endpoints.
    AccessToken,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::AuthorizationRequest => "mcp_ar",
            Self::UpstreamState => "mcp_st",
            Self::AccessToken => "mcp_at",
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Self::AuthorizationRequest => b"authorize",
            Self::UpstreamState => b"state",
            Self::AccessToken => b"access",
        }
    }
}

/// Why a sealed value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// Not ours, edited, or another kind.
    Forged,
    Expired,
}

/// A payload with an expiry.
pub trait Expiring {
    /// Milliseconds since the epoch after which the value is refused.
    fn expires_ms(&self) -> u64;
}

/// Seals and opens with the OAuth key.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealer {
    key: Key,
}

impl Sealer {
    pub fn new(secret: &ServerSecret) -> Self {
        Self { key: secret.key(Purpose::OAuth) }
    }

    pub fn seal<T: Serialize>(&self, kind: Kind, payload: &T) -> String {
        let json = serde_json::to_value(payload).map(|v| v.to_string()).unwrap_or_default();
        let tag = self.key.sign(&[kind.label(), json.as_bytes()]);
        format!("{}.{}.{}", kind.prefix(), B64.encode(&json), B64.encode(&tag[..TAG_BYTES]))
    }

    /// The payload of `text` if it is a value of `kind` we sealed, unedited and not expired at `now_ms`.
    pub fn open<T: DeserializeOwned + Expiring>(
        &self,
        kind: Kind,
        text: &str,
        now_ms: u64,
    ) -> Result<T, SealError> {
        if text.len() > MAX_SEALED_CHARS {
            return Err(SealError::Forged);
        }
        let mut parts = text.split('.');
        let (Some(prefix), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Forged);
        };
        let json = B64.decode(payload).map_err(|_| SealError::Forged)?;
        let tag = B64.decode(tag).map_err(|_| SealError::Forged)?;
        if prefix != kind.prefix() || tag.len() != TAG_BYTES || !self.key.verify(&[kind.label(), &json], &tag)
        {
            return Err(SealError::Forged);
        }
        let value: Value = serde_json::from_slice(&json).map_err(|_| SealError::Forged)?;
        let payload: T = serde_json::from_value(value).map_err(|_| SealError::Forged)?;
        if now_ms >= payload.expires_ms() {
            return Err(SealError::Expired);
        }
        Ok(payload)
    }

    /// A MAC under the OAuth key with its own `label`, for values derived rather than stored (the CSRF token,
    /// the upstream PKCE verifier).
    pub fn derive(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut all: Vec<&[u8]> = vec![label];
        all.extend_from_slice(parts);
        self.key.sign(&all)
    }

    /// Whether `tag` is [`Sealer::derive`] of the same label and parts (constant time).
    pub fn verify_derived(&self, label: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut all: Vec<&[u8]> = vec![label];
        all.extend_from_slice(parts);
        self.key.verify(&all, tag)
    }
}

/// A validated authorization request, waiting for the user's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    #[serde(rename = "c")]
    pub client_id: String,
    #[serde(rename = "u")]
    pub redirect_uri: String,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The client's PKCE challenge (S256).
    #[serde(rename = "p")]
    pub code_challenge: String,
    #[serde(rename = "s")]
    pub scope: String,
    /// The resource (audience) the tokens will be for.
    #[serde(rename = "r")]
    pub resource: String,
    #[serde(rename = "x")]
    pub expires_ms: u64,
}

impl Expiring for AuthorizationRequest {
    fn expires_ms(&self) -> u64 {
        self.expires_ms
    }
}

/// The `state` sent to GitHub: the approved request and the grant it will create. The upstream PKCE verifier
/// is derived from the grant id ([`Sealer::derive`]), never carried, since the state travels in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamState {
    #[serde(rename = "q")]
    pub request: AuthorizationRequest,
    #[serde(rename = "g")]
    pub grant_id: String,
    #[serde(rename = "x")]
    pub expires_ms: u64,
}

impl Expiring for UpstreamState {
    fn expires_ms(&self) -> u64 {
        self.expires_ms
    }
}

/// What an access token says: whose grant, which user and client, which scope and audience, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    #[serde(rename = "g")]
    pub grant_id: String,
    /// GitHub's user id.
    #[serde(rename = "u")]
    pub user_id: u64,
    #[serde(rename = "l")]
    pub login: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "c")]
    pub client_id: String,
    #[serde(rename = "s")]
    pub scope: String,
    #[serde(rename = "r")]
    pub resource: String,
    #[serde(rename = "x")]
    pub expires_ms: u64,
    #[serde(rename = "i")]
    pub issued_ms: u64,
}

impl Expiring for AccessClaims {
    fn expires_ms(&self) -> u64 {
        self.expires_ms
    }
}

impl AccessClaims {
    /// Whether the scope holds `scope` (scopes are space-separated).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn sealer(c: char) -> Sealer {
        Sealer::new(&ServerSecret::parse(&c.to_string().repeat(40)).unwrap())
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            grant_id: "g1".into(),
            user_id: 42,
            login: "octocat".into(),
            name: Some("The Octocat".into()),
            client_id: "c1".into(),
            scope: "mcp".into(),
            resource: "https://h/mcp".into(),
            expires_ms: NOW + 1000,
            issued_ms: NOW,
        }
    }

    #[test]
    fn a_sealed_token_opens_until_it_expires() {
        let s = sealer('a');
        let token = s.seal(Kind::AccessToken, &claims());
        assert!(token.starts_with("mcp_at."));
        assert_eq!(s.open::<AccessClaims>(Kind::AccessToken, &token, NOW), Ok(claims()));
        assert_eq!(s.open::<AccessClaims>(Kind::AccessToken, &token, NOW + 1000), Err(SealError::Expired));
    }

    #[test]
    fn edited_foreign_or_other_kinds_are_forged() {
        let s = sealer('a');
        let token = s.seal(Kind::AccessToken, &claims());
        let open = |t: &str| s.open::<AccessClaims>(Kind::AccessToken, t, NOW);
        assert_eq!(sealer('b').open::<AccessClaims>(Kind::AccessToken, &token, NOW), Err(SealError::Forged));
        let mut edited = claims();
        edited.user_id = 1;
        let forged_payload = B64.encode(serde_json::to_string(&edited).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(open(&format!("mcp_at.{forged_payload}.{}", parts[2])), Err(SealError::Forged));
        assert_eq!(open(&token.replacen("mcp_at", "mcp_st", 1)), Err(SealError::Forged));
        assert_eq!(
            s.open::<AccessClaims>(Kind::UpstreamState, &token.replacen("mcp_at", "mcp_st", 1), NOW),
            Err(SealError::Forged),
            "the label binds the kind"
        );
        assert_eq!(open(&format!("{token}.x")), Err(SealError::Forged));
        assert_eq!(open("mcp_at.abc"), Err(SealError::Forged));
        assert_eq!(open(""), Err(SealError::Forged));
        assert_eq!(open(&"a".repeat(MAX_SEALED_CHARS + 1)), Err(SealError::Forged));
    }

    #[test]
    fn scopes_are_words() {
        let mut c = claims();
        assert!(c.has_scope("mcp"));
        c.scope = "mcpx other".into();
        assert!(!c.has_scope("mcp"));
    }

    #[test]
    fn derived_values_depend_on_label_and_parts() {
        let s = sealer('a');
        let t = s.derive(b"csrf", &[b"x", b"y"]);
        assert!(s.verify_derived(b"csrf", &[b"x", b"y"], &t[..16]));
        assert!(!s.verify_derived(b"pkce", &[b"x", b"y"], &t[..16]));
        assert!(!s.verify_derived(b"csrf", &[b"x", b"z"], &t[..16]));
    }
}
