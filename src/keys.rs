//! The server secret (`MCP_SERVER_SECRET`) and the keys derived from it, one per purpose, so that one
//! secret setting serves session ids today and request state and OAuth later without a key ever doing two
//! jobs.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted: 32 characters (`openssl rand -hex 32` gives 64).
pub const MIN_SECRET_LEN: usize = 32;
/// What development mode signs with when no secret is configured. It is public, which is why a deployment
/// (development mode off) refuses to run without a secret of its own.
const DEVELOPMENT_SECRET: &[u8] = b"mcp-worker-rs development secret: public, never for a deployment";

/// What a derived key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Authenticates session ids (and the opening they carry).
    SessionId,
    /// Seals the request state of input-required results (the stateless revision).
    RequestState,
    /// OAuth: state, codes, encrypted grants.
    OAuth,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::SessionId => "session-id",
            Self::RequestState => "request-state",
            Self::OAuth => "oauth",
        }
    }
}

/// The configured secret. Its bytes never leave this type (not even through `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

impl ServerSecret {
    /// A configured secret: at least [`MIN_SECRET_LEN`] characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() < MIN_SECRET_LEN {
            return Err(format!(
                "MCP_SERVER_SECRET must be at least {MIN_SECRET_LEN} characters (e.g. the output of `openssl rand \
                 -hex 32`), not {} characters",
                text.len()
            ));
        }
        Ok(Self { bytes: text.as_bytes().to_vec() })
    }

    /// The public secret of development mode.
    pub fn development() -> Self {
        Self { bytes: DEVELOPMENT_SECRET.to_vec() }
    }

    /// The key for `purpose`: HMAC-SHA256 of the purpose's label under the secret.
    pub fn key(&self, purpose: Purpose) -> Key {
        let mut mac = new_mac(&self.bytes);
        mac.update(b"mcp-worker/v1/");
        mac.update(purpose.label().as_bytes());
        Key { bytes: mac.finalize().into_bytes().into() }
    }
}

/// A key for one purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The HMAC-SHA256 tag of `parts`, each prefixed with its length so that no two lists of parts sign alike.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the first `tag.len()` bytes of the tag of `parts` (at least 16), in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        tag.len() >= 16 && self.mac(parts).verify_truncated_left(tag).is_ok()
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = new_mac(&self.bytes);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_with_the_setting_named() {
        let err = ServerSecret::parse("too short").unwrap_err();
        assert!(err.contains("MCP_SERVER_SECRET"), "{err}");
        assert!(!err.contains("too short"), "the value is never echoed: {err}");
        assert!(ServerSecret::parse(&"x".repeat(MIN_SECRET_LEN)).is_ok());
    }

    #[test]
    fn purposes_get_different_keys_and_secrets_different_tags() {
        let a = ServerSecret::parse(&"a".repeat(40)).unwrap();
        let b = ServerSecret::parse(&"b".repeat(40)).unwrap();
        assert_ne!(a.key(Purpose::SessionId), a.key(Purpose::RequestState));
        let tag = a.key(Purpose::SessionId).sign(&[b"hello"]);
        assert!(a.key(Purpose::SessionId).verify(&[b"hello"], &tag[..16]));
        assert!(!b.key(Purpose::SessionId).verify(&[b"hello"], &tag[..16]));
        assert!(!a.key(Purpose::RequestState).verify(&[b"hello"], &tag[..16]));
        assert!(!a.key(Purpose::SessionId).verify(&[b"hellp"], &tag[..16]));
        assert!(
            !a.key(Purpose::SessionId).verify(&[b"hello"], &tag[..8]),
            "tags shorter than 16 bytes never pass"
        );
        // Part boundaries are signed too.
        assert_ne!(
            a.key(Purpose::SessionId).sign(&[b"ab", b"c"]),
            a.key(Purpose::SessionId).sign(&[b"a", b"bc"])
        );
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let s = ServerSecret::parse(&"s3cr3t".repeat(8)).unwrap();
        assert!(!format!("{s:?}{:?}", s.key(Purpose::OAuth)).contains("s3cr3t"));
    }
}
