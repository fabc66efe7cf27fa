//! Session ids: random, signed, and (for Streamable HTTP) carrying what `initialize` fixed.
//!
//! - **Deferred** (`<nonce>.<opening>.<tag>`): 128 random bits, what `initialize` fixed for the session
//!   ([`Opening`]) with an [`OwnerTag`] of the identity that opened it (a MAC, so the id does not show who
//!   that is), and an HMAC tag. The Worker answers `initialize`
//!   without touching a Durable Object; the first request that needs the session creates its object from the
//!   id. A session that is opened and never used costs no object and no storage.
//! - **Plain** (`<nonce>.<tag>`): legacy HTTP+SSE sessions, and Streamable HTTP sessions whose opening does not
//!   fit in [`MAX_LEN`]; their object is created at once.
//!
//! The tag (HMAC-SHA256 under the [`Purpose::SessionId`] key, 128 bits) makes ids unforgeable: an edited or
//! invented id, or one claiming to be opened in the future, is refused by [`SessionIds::verify`] before any
//! object is looked up, so it can create nothing. All parts are base64url without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::Identity;
use crate::keys::{Key, Purpose, ServerSecret};
use crate::model::lifecycle::Implementation;
use crate::model::ProtocolVersion;

/// The longest id this server mints or accepts; longer openings get a plain id.
pub const MAX_LEN: usize = 512;
const NONCE_BYTES: usize = 16;
/// Characters of a base64url-encoded 16-byte value (no padding): the nonce and the tag.
const PART_CHARS: usize = 22;
const TAG_BYTES: usize = 16;
/// Bytes of an [`OwnerTag`].
const OWNER_TAG_BYTES: usize = 16;
/// How far in the future an opening's time may lie (clock differences between isolates).
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

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

/// Who opened a deferred session, as its id carries it: a MAC of the identity's id under the session-id key,
/// which matches only that identity and reveals nothing of it (not a key's name, not a digest of a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerTag(String);

/// The opening as it travels in an id: a compact array.
#[derive(Serialize, Deserialize)]
struct Wire(ProtocolVersion, u64, Value, Implementation, String);

/// Which form an id of ours has.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Plain,
    Deferred { opening: Opening, owner: OwnerTag },
}

/// Mints and verifies session ids with the server secret's session-id key.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionIds {
    key: Key,
}

impl SessionIds {
    pub fn new(secret: &ServerSecret) -> Self {
        Self { key: secret.key(Purpose::SessionId) }
    }

    /// A fresh plain id.
    pub fn mint_plain(&self) -> String {
        let nonce = B64.encode(crate::random::bytes::<NONCE_BYTES>());
        let tag = self.tag(&nonce, "");
        format!("{nonce}.{tag}")
    }

    /// A fresh deferred id carrying `opening` and its `owner`, or `None` when it would be longer than
    /// [`MAX_LEN`].
    pub fn mint(&self, opening: &Opening, owner: &Identity) -> Option<String> {
        let wire = Wire(
            opening.protocol_version,
            opening.opened_at_ms,
            opening.client_capabilities.clone(),
            opening.client_info.clone(),
            self.owner_tag(owner).0,
        );
        // Through `Value`, as everywhere else: a direct `to_vec`/`from_slice` of `Wire` would add its own copy of
        // serde_json's machinery to the upload.
        let json = serde_json::to_value(wire).ok()?.to_string();
        let encoded = B64.encode(json);
        if PART_CHARS * 2 + encoded.len() + 2 > MAX_LEN {
            return None;
        }
        let nonce = B64.encode(crate::random::bytes::<NONCE_BYTES>());
        let tag = self.tag(&nonce, &encoded);
        Some(format!("{nonce}.{encoded}.{tag}"))
    }

    /// The form of `id` if this server issued it (its tag verifies) and, for a deferred id, its opening is not
    /// in the future; `None` for anything else, which names no session.
    pub fn verify(&self, id: &str, now_ms: u64) -> Option<Kind> {
        let (nonce, opening, tag) = split(id)?;
        let tag = B64.decode(tag).ok().filter(|t| t.len() == TAG_BYTES)?;
        if !self.key.verify(&[nonce.as_bytes(), opening.unwrap_or("").as_bytes()], &tag) {
            return None;
        }
        match opening {
            None => Some(Kind::Plain),
            Some(encoded) => {
                let (opening, owner) = decode_opening(encoded)?;
                (opening.opened_at_ms <= now_ms.saturating_add(MAX_CLOCK_SKEW_MS))
                    .then_some(Kind::Deferred { opening, owner })
            }
        }
    }

    /// The tag a deferred id carries for `owner`.
    pub fn owner_tag(&self, owner: &Identity) -> OwnerTag {
        OwnerTag(B64.encode(&self.key.sign(&[b"owner", owner.id().as_bytes()])[..OWNER_TAG_BYTES]))
    }

    /// Whether `caller` is the identity behind `tag`.
    pub fn is_owner(&self, tag: &OwnerTag, caller: &Identity) -> bool {
        let tag = B64.decode(&tag.0).unwrap_or_default();
        tag.len() == OWNER_TAG_BYTES && self.key.verify(&[b"owner", caller.id().as_bytes()], &tag)
    }

    fn tag(&self, nonce: &str, opening: &str) -> String {
        B64.encode(&self.key.sign(&[nonce.as_bytes(), opening.as_bytes()])[..TAG_BYTES])
    }
}

/// The form of an id the Worker has already verified (the session object's view: it is only ever handed
/// verified ids, and has no reason to check the tag again).
pub fn kind_of_verified(id: &str) -> Option<Kind> {
    match split(id)? {
        (_, None, _) => Some(Kind::Plain),
        (_, Some(encoded), _) => {
            decode_opening(encoded).map(|(opening, owner)| Kind::Deferred { opening, owner })
        }
    }
}

fn decode_opening(encoded: &str) -> Option<(Opening, OwnerTag)> {
    let json = B64.decode(encoded).ok()?;
    let value: Value = serde_json::from_slice(&json).ok()?;
    let Wire(protocol_version, opened_at_ms, client_capabilities, client_info, owner) =
        serde_json::from_value(value).ok()?;
    Some((Opening { protocol_version, client_info, client_capabilities, opened_at_ms }, OwnerTag(owner)))
}

/// Nonce, opening (deferred ids only) and tag, by shape.
fn split(id: &str) -> Option<(&str, Option<&str>, &str)> {
    if id.len() > MAX_LEN {
        return None;
    }
    let b64 =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mut parts = id.split('.');
    let (nonce, second, third, rest) = (parts.next()?, parts.next()?, parts.next(), parts.next());
    if rest.is_some() || nonce.len() != PART_CHARS || !b64(nonce) || !b64(second) {
        return None;
    }
    match third {
        None => (second.len() == PART_CHARS).then_some((nonce, None, second)),
        Some(tag) => (tag.len() == PART_CHARS && b64(tag)).then_some((nonce, Some(second), tag)),
    }
}

/// A deferred id, by its shape (its opening is decoded only where needed).
pub fn is_deferred(id: &str) -> bool {
    matches!(split(id), Some((_, Some(_), _)))
}

/// Whether `id` has the shape of one of ours. Anything else cannot name a session (404 without a lookup).
pub fn is_well_formed(id: &str) -> bool {
    split(id).is_some()
}

/// The spec allows only visible ASCII (0x21 to 0x7E) in a session id; anything else is a bad request.
pub fn is_valid_header(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_763_700_000_123;

    fn ids() -> SessionIds {
        SessionIds::new(&ServerSecret::parse(&"k".repeat(40)).unwrap())
    }

    fn opening(name: &str) -> Opening {
        Opening {
            protocol_version: ProtocolVersion::V2025_06_18,
            client_info: Implementation { name: name.into(), version: "1.2.3".into(), title: None },
            client_capabilities: json!({"sampling": {}, "elicitation": {"form": {}}}),
            opened_at_ms: NOW,
        }
    }

    fn alice() -> Identity {
        Identity::api_key("alice")
    }

    #[test]
    fn plain_ids_are_random_and_verify() {
        let a = ids().mint_plain();
        assert_ne!(a, ids().mint_plain());
        assert!(is_well_formed(&a) && !is_deferred(&a) && is_valid_header(&a));
        assert_eq!(ids().verify(&a, NOW), Some(Kind::Plain));
        assert_eq!(kind_of_verified(&a), Some(Kind::Plain));
    }

    #[test]
    fn deferred_ids_carry_their_opening_and_a_tag_of_their_owner() {
        let o = opening("inspector");
        let a = ids().mint(&o, &alice()).unwrap();
        let b = ids().mint(&o, &alice()).unwrap();
        assert_ne!(a, b, "the nonce differs");
        assert!(is_deferred(&a) && is_well_formed(&a) && is_valid_header(&a));
        let Some(Kind::Deferred { opening, owner }) = ids().verify(&a, NOW) else { panic!("deferred") };
        assert_eq!(opening, o);
        assert!(ids().is_owner(&owner, &alice()));
        assert!(!ids().is_owner(&owner, &Identity::api_key("bob")));
        assert!(!ids().is_owner(&owner, &Identity::anonymous()));
        assert_eq!(kind_of_verified(&a), Some(Kind::Deferred { opening: o, owner }));
        let decoded = String::from_utf8(B64.decode(a.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert!(!decoded.contains("alice"), "the id does not show who opened it: {decoded}");
        assert!(a.len() < 240, "a typical id stays short: {} characters", a.len());
    }

    #[test]
    fn openings_too_big_for_an_id_are_refused() {
        assert_eq!(ids().mint(&opening(&"n".repeat(MAX_LEN)), &alice()), None);
    }

    #[test]
    fn edited_invented_and_foreign_ids_do_not_verify() {
        let a = ids().mint(&opening("c"), &alice()).unwrap();
        let parts: Vec<&str> = a.split('.').collect();
        let (nonce, body, tag) = (parts[0], parts[1], parts[2]);
        let other_body =
            B64.encode(br#"["2025-11-25",0,{},{"name":"x","version":"1"},"AAAAAAAAAAAAAAAAAAAAAA"]"#);
        let foreign = SessionIds::new(&ServerSecret::parse(&"z".repeat(40)).unwrap());
        for bad in [
            format!("{nonce}.{other_body}.{tag}"),
            format!("{}.{body}.{tag}", B64.encode([7u8; 16])),
            format!("{nonce}.{body}"),
            format!("{nonce}.{tag}"),
            format!("{nonce}.{body}.{}", B64.encode([0u8; 16])),
            foreign.mint(&opening("c"), &alice()).unwrap(),
            foreign.mint_plain(),
            "session-123".to_string(),
            "0123456789abcdef0123456789abcdef".to_string(),
        ] {
            assert_eq!(ids().verify(&bad, NOW), None, "{bad}");
        }
    }

    #[test]
    fn openings_in_the_future_do_not_verify() {
        let mut o = opening("c");
        o.opened_at_ms = NOW + MAX_CLOCK_SKEW_MS + 1;
        let id = ids().mint(&o, &alice()).unwrap();
        assert_eq!(ids().verify(&id, NOW), None);
        assert!(ids().verify(&id, NOW + 2).is_some(), "within the allowed clock skew");
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
