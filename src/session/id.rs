//! Session ids, in two forms.
//!
//! - **Deferred** (`<nonce>.<opening>`, base64url): 128 random bits, then what `initialize` fixed for the
//!   session ([`Opening`]). The Worker answers `initialize` without touching a Durable Object; the first
//!   request that needs the session creates its object from the id. A session that is opened and never used
//!   costs no object and no storage.
//! - **Plain** (32 lowercase hex characters, 128 random bits): legacy HTTP+SSE sessions, and Streamable HTTP
//!   sessions whose opening does not fit in [`MAX_LEN`]; their object is created at once.
//!
//! Deferred ids are not signed, and need not be: the opening holds only what the client itself sent in
//! `initialize`, and the object is named by the whole id, so an edited id names a different, new session, as
//! if the client had sent `initialize` again. The nonce is what makes an id unguessable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::lifecycle::Implementation;
use crate::model::ProtocolVersion;

/// The longest id this server mints or accepts; longer openings get a plain id.
pub const MAX_LEN: usize = 512;
const NONCE_BYTES: usize = 16;
/// Characters of a base64url-encoded nonce (no padding).
const NONCE_CHARS: usize = 22;

/// What `initialize` fixed for the whole session: enough to build its state later, anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub protocol_version: ProtocolVersion,
    pub client_info: Implementation,
    pub client_capabilities: Value,
    pub opened_at_ms: u64,
}

impl Opening {
    /// A session idle since it was opened ends like any idle session: after `ttl_ms`.
    pub fn is_stale(&self, now_ms: u64, ttl_ms: u64) -> bool {
        now_ms >= self.opened_at_ms.saturating_add(ttl_ms)
    }
}

/// The opening as it travels in an id: a compact array.
#[derive(Serialize, Deserialize)]
struct Wire(ProtocolVersion, u64, Value, Implementation);

/// Which form an id of ours has.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Plain,
    Deferred(Opening),
}

fn random_bytes() -> [u8; NONCE_BYTES] {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes).expect("the platform has a random source");
    bytes
}

/// A fresh plain id.
pub fn generate() -> String {
    random_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh deferred id carrying `opening`, or `None` when it would be longer than [`MAX_LEN`].
pub fn mint(opening: &Opening) -> Option<String> {
    let wire = Wire(
        opening.protocol_version,
        opening.opened_at_ms,
        opening.client_capabilities.clone(),
        opening.client_info.clone(),
    );
    // Through `Value`, as everywhere else: a direct `to_vec`/`from_slice` of `Wire` would add its own copy of
    // serde_json's machinery to the upload.
    let json = serde_json::to_value(wire).ok()?.to_string();
    let id = format!("{}.{}", B64.encode(random_bytes()), B64.encode(json));
    (id.len() <= MAX_LEN).then_some(id)
}

/// The form of `id`, decoding a deferred id's opening; `None` for anything we cannot have issued.
pub fn classify(id: &str) -> Option<Kind> {
    if is_plain(id) {
        return Some(Kind::Plain);
    }
    let (_, opening) = split_deferred(id)?;
    let json = B64.decode(opening).ok()?;
    let value: Value = serde_json::from_slice(&json).ok()?;
    let Wire(protocol_version, opened_at_ms, client_capabilities, client_info) =
        serde_json::from_value(value).ok()?;
    Some(Kind::Deferred(Opening { protocol_version, client_info, client_capabilities, opened_at_ms }))
}

fn split_deferred(id: &str) -> Option<(&str, &str)> {
    if id.len() > MAX_LEN {
        return None;
    }
    let (nonce, opening) = id.split_once('.')?;
    let b64 =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (nonce.len() == NONCE_CHARS && b64(nonce) && b64(opening)).then_some((nonce, opening))
}

/// A plain id: 32 lowercase hex characters.
pub fn is_plain(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A deferred id by its shape (its opening is decoded only where needed).
pub fn is_deferred(id: &str) -> bool {
    split_deferred(id).is_some()
}

/// Whether `id` could be one of ours, by its shape. Anything else cannot name a session (404 without a
/// lookup).
pub fn is_well_formed(id: &str) -> bool {
    is_plain(id) || is_deferred(id)
}

/// The spec allows only visible ASCII (0x21 to 0x7E) in a session id; anything else is a bad request.
pub fn is_valid_header(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opening(name: &str) -> Opening {
        Opening {
            protocol_version: ProtocolVersion::V2025_06_18,
            client_info: Implementation { name: name.into(), version: "1.2.3".into(), title: None },
            client_capabilities: json!({"sampling": {}, "elicitation": {"form": {}}}),
            opened_at_ms: 1_763_700_000_123,
        }
    }

    #[test]
    fn plain_ids_are_random_hex() {
        let a = generate();
        assert_ne!(a, generate());
        assert!(is_plain(&a) && is_well_formed(&a) && !is_deferred(&a));
        assert_eq!(classify(&a), Some(Kind::Plain));
        assert!(!is_well_formed("ABC"));
        assert!(!is_well_formed(&a.to_uppercase()));
    }

    #[test]
    fn deferred_ids_carry_their_opening() {
        let o = opening("inspector");
        let a = mint(&o).unwrap();
        let b = mint(&o).unwrap();
        assert_ne!(a, b, "the nonce differs");
        assert!(is_deferred(&a) && is_well_formed(&a) && is_valid_header(&a) && !is_plain(&a));
        assert_eq!(classify(&a), Some(Kind::Deferred(o.clone())));
        assert!(a.len() < 200, "a typical id stays short: {} characters", a.len());
    }

    #[test]
    fn openings_too_big_for_an_id_are_refused() {
        assert_eq!(mint(&opening(&"n".repeat(MAX_LEN))), None);
    }

    #[test]
    fn ids_we_cannot_have_issued_are_rejected() {
        let a = mint(&opening("c")).unwrap();
        let (nonce, rest) = a.split_once('.').unwrap();
        for bad in [
            format!("{nonce}."),
            format!("{}.{rest}", &nonce[1..]),
            format!("{nonce}.{rest}!"),
            format!("{nonce}.{}", B64.encode(b"[1,2]")),
            format!("{nonce}.{}", B64.encode(b"not json")),
            "session-123".to_string(),
        ] {
            assert_eq!(classify(&bad), None, "{bad}");
        }
        // An edited but decodable opening is simply another session's id.
        let edited = format!("{nonce}.{}", B64.encode(br#"["2025-11-25",0,{},{"name":"x","version":"1"}]"#));
        assert!(matches!(classify(&edited), Some(Kind::Deferred(_))));
    }

    #[test]
    fn header_values_are_visible_ascii() {
        assert!(is_valid_header("abc-DEF_123"));
        assert!(!is_valid_header("has space"));
        assert!(!is_valid_header(""));
        assert!(!is_valid_header(&"a".repeat(MAX_LEN + 1)));
    }

    #[test]
    fn an_unused_session_goes_stale_after_the_idle_time() {
        let o = opening("c");
        assert!(!o.is_stale(o.opened_at_ms + 59_999, 60_000));
        assert!(o.is_stale(o.opened_at_ms + 60_000, 60_000));
    }
}
