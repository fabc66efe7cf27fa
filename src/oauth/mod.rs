//! The OAuth 2.1 authorization server that signs users in with GitHub, as rules without I/O: what the
//! endpoints accept, what tokens look like, and how a grant moves through its life. The Worker (`worker/`) does
//! the fetching and storing around these.
//!
//! Why tokens are shaped as they are (the storage reasoning, also in `docs/architecture.md`): KV is eventually
//! consistent between locations (about 60 s) and has no transactions, yet a fresh token must work everywhere at
//! once, a code must work once, and refresh tokens rotate with reuse detection. So access tokens verify
//! themselves ([`sealed`]: a MAC, an expiry, an audience), and every single-use or rotation rule is decided in
//! one Durable Object per grant ([`grant`]), which serializes the requests that race.

pub mod cimd;
pub mod client;
pub mod consent;
pub mod error;
pub mod form;
pub mod github;
pub mod grant;
pub mod grant_call;
pub mod metadata;
pub mod pkce;
pub mod sealed;
pub mod vault;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

pub use error::{ErrorCode, OAuthError};

/// The one scope this server grants: use of the MCP endpoints.
pub const SCOPE: &str = "mcp";
/// The path of the protected resource (RFC 8707 audience `<origin>/mcp`).
pub const RESOURCE_PATH: &str = "/mcp";
/// Where GitHub sends the user back.
pub const CALLBACK_PATH: &str = "/callback";
/// The protected resource metadata clients find through the 401 challenge.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// The paths of the authorization server and of the resource metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ResourceMetadata,
    ServerMetadata,
    Register,
    Authorize,
    Callback,
    Token,
    Revoke,
}

impl Route {
    pub fn of(path: &str) -> Option<Self> {
        Some(match path {
            RESOURCE_METADATA_PATH | "/.well-known/oauth-protected-resource" => Self::ResourceMetadata,
            "/.well-known/oauth-authorization-server" => Self::ServerMetadata,
            "/register" => Self::Register,
            "/authorize" => Self::Authorize,
            CALLBACK_PATH => Self::Callback,
            "/token" => Self::Token,
            "/revoke" => Self::Revoke,
            _ => return None,
        })
    }

    /// Whether clients call it from scripts (browser-based clients, from any origin: CORS), rather than
    /// navigating a browser to it.
    pub fn is_api(self) -> bool {
        !matches!(self, Self::Authorize | Self::Callback)
    }
}

/// The resource identifier of this server: `<origin>/mcp`.
pub fn resource(origin: &str) -> String {
    format!("{origin}{RESOURCE_PATH}")
}

/// `scheme://host[:port]` of an absolute URL (the issuer and the audience are built from it).
pub fn origin_of(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else { return "" };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &url[..scheme.len() + 3 + end]
}

/// Base64url (no padding) of SHA-256: how tokens, codes and secrets are stored, never as themselves.
pub fn digest(secret: &str) -> String {
    B64.encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random secret of 32 bytes, base64url.
pub fn random_secret() -> String {
    B64.encode(crate::random::bytes::<32>())
}

/// A fresh random id of 16 bytes, base64url (22 characters).
pub fn random_id() -> String {
    B64.encode(crate::random::bytes::<16>())
}

/// Whether two strings are equal, compared in constant time for equal lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A code or refresh token: `<grant id>.<secret>`, so the Worker knows which grant object to ask without a
/// lookup. `None` for anything else.
pub fn split_grant_token(token: &str) -> Option<(&str, &str)> {
    let (grant, secret) = token.split_once('.')?;
    let ok = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    };
    (ok(grant, 22) && ok(secret, 43)).then_some((grant, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_resources_are_built_from_the_request_url() {
        assert_eq!(origin_of("http://127.0.0.1:8787/authorize?x=1"), "http://127.0.0.1:8787");
        assert_eq!(origin_of("https://mcp.example.com"), "https://mcp.example.com");
        assert_eq!(resource(origin_of("https://mcp.example.com/token")), "https://mcp.example.com/mcp");
        assert_eq!(origin_of("nonsense"), "");
    }

    #[test]
    fn routes_are_the_design_paths() {
        assert_eq!(Route::of("/.well-known/oauth-protected-resource/mcp"), Some(Route::ResourceMetadata));
        assert_eq!(Route::of("/.well-known/oauth-protected-resource"), Some(Route::ResourceMetadata));
        assert_eq!(Route::of("/.well-known/oauth-authorization-server"), Some(Route::ServerMetadata));
        assert_eq!(Route::of("/.well-known/openid-configuration"), None);
        assert_eq!(Route::of("/callback"), Some(Route::Callback));
        assert!(Route::Token.is_api() && !Route::Authorize.is_api());
        assert_eq!(Route::of("/mcp"), None);
    }

    #[test]
    fn grant_tokens_name_their_grant() {
        let token = format!("{}.{}", random_id(), random_secret());
        let (grant, secret) = split_grant_token(&token).unwrap();
        assert_eq!(grant.len(), 22);
        assert_eq!(secret.len(), 43);
        assert_eq!(split_grant_token("abc.def"), None);
        assert_eq!(split_grant_token(grant), None);
        assert_eq!(split_grant_token(&format!("{grant}.{secret}x")), None);
    }

    #[test]
    fn digests_differ_from_their_input_and_compare() {
        let d = digest("secret");
        assert!(!d.contains("secret"));
        assert_eq!(d, digest("secret"));
        assert!(constant_time_eq(&d, &digest("secret")));
        assert!(!constant_time_eq(&d, &digest("secrets")));
    }
}
