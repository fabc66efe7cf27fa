//! `requestState` of input-required results (2026-07-28), sealed: the client carries the answers of earlier
//! rounds back to us, and must not be able to edit them, move them to another caller or method, replay them
//! against other arguments, or keep them forever.
//!
//! A state is `<payload>.<tag>`, both base64url: the payload is JSON (method, a digest of the params, expiry,
//! the answers so far, a nonce); the tag is HMAC-SHA256 under the `request-state` key of the server secret over
//! the payload and the caller's identity, so the identity itself never travels.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::identity::Identity;
use crate::keys::{Key, Purpose, ServerSecret};

/// How long a state stays good: long enough for a person to answer a form.
pub const LIFETIME_MS: u64 = 15 * 60 * 1000;
const TAG_BYTES: usize = 16;
/// The largest state accepted back (answers included).
pub const MAX_STATE_BYTES: usize = 256 * 1024;

/// Seals and opens request states with the server secret.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestStates {
    key: Key,
}

/// Why a returned state is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum StateError {
    /// Not ours, edited, or for another caller: the tag does not match.
    Tampered,
    Expired,
    /// Sealed for another method or other arguments.
    OtherRequest,
    TooLarge,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tampered => "requestState failed its integrity check",
            Self::Expired => "requestState has expired: start the request again without it",
            Self::OtherRequest => "requestState belongs to another request (method or arguments differ)",
            Self::TooLarge => "requestState is too large",
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Method.
    m: String,
    /// Digest of the params the state was issued for.
    d: String,
    /// Expiry, ms since the epoch.
    x: u64,
    /// Answers so far, by key.
    a: Map<String, Value>,
    /// Makes every state unique, even with the same answers.
    n: String,
}

impl RequestStates {
    pub fn new(secret: &ServerSecret) -> Self {
        Self { key: secret.key(Purpose::RequestState) }
    }

    /// A state for `caller`'s `method` with `params`, carrying `answers`, good until `now_ms` + [`LIFETIME_MS`].
    pub fn seal(
        &self,
        caller: &Identity,
        method: &str,
        params: &Value,
        answers: &Map<String, Value>,
        now_ms: u64,
        nonce: &str,
    ) -> String {
        let payload = Payload {
            m: method.into(),
            d: params_digest(params),
            x: now_ms + LIFETIME_MS,
            a: answers.clone(),
            n: nonce.into(),
        };
        let json = serde_json::to_vec(&payload).expect("a payload serializes");
        let tag = self.key.sign(&[&json, caller.id().as_bytes()]);
        format!("{}.{}", B64.encode(&json), B64.encode(&tag[..TAG_BYTES]))
    }

    /// The answers a state carries, if it is ours, unedited, for this caller, method and params, and not expired.
    pub fn open(
        &self,
        state: &str,
        caller: &Identity,
        method: &str,
        params: &Value,
        now_ms: u64,
    ) -> Result<Map<String, Value>, StateError> {
        if state.len() > MAX_STATE_BYTES {
            return Err(StateError::TooLarge);
        }
        let (payload, tag) = state.split_once('.').ok_or(StateError::Tampered)?;
        let json = B64.decode(payload).map_err(|_| StateError::Tampered)?;
        let tag = B64.decode(tag).map_err(|_| StateError::Tampered)?;
        if tag.len() != TAG_BYTES || !self.key.verify(&[&json, caller.id().as_bytes()], &tag) {
            return Err(StateError::Tampered);
        }
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| StateError::Tampered)?;
        if payload.m != method || payload.d != params_digest(params) {
            return Err(StateError::OtherRequest);
        }
        if now_ms >= payload.x {
            return Err(StateError::Expired);
        }
        Ok(payload.a)
    }
}

/// What a state is bound to: the params without `_meta`, `inputResponses` and `requestState` (which change
/// between rounds). `serde_json` maps are ordered by key, so equal params give equal text.
fn params_digest(params: &Value) -> String {
    let mut bound = params.clone();
    if let Some(map) = bound.as_object_mut() {
        for key in ["_meta", "inputResponses", "requestState"] {
            map.remove(key);
        }
        // Absent arguments are no arguments: a retry that sends `{}` is the same request.
        if map.get("arguments").is_some_and(|a| a.as_object().is_some_and(|a| a.is_empty())) {
            map.remove("arguments");
        }
    }
    let digest = Sha256::digest(bound.to_string().as_bytes());
    B64.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn states() -> RequestStates {
        RequestStates::new(&ServerSecret::parse(&"k".repeat(40)).unwrap())
    }

    fn answers() -> Map<String, Value> {
        json!({"step1": {"action": "accept", "content": {"name": "Alice"}}}).as_object().unwrap().clone()
    }

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn a_state_opens_for_the_same_caller_method_and_params() {
        let alice = Identity::api_key("alice");
        let params = json!({"name": "t", "arguments": {"a": 1}, "_meta": {"x": 1}});
        let state = states().seal(&alice, "tools/call", &params, &answers(), NOW, "n1");
        // Round-trip params differ only in what changes between rounds.
        let retry = json!({"name": "t", "arguments": {"a": 1}, "inputResponses": {}, "requestState": state});
        assert_eq!(states().open(&state, &alice, "tools/call", &retry, NOW + 1), Ok(answers()));
    }

    #[test]
    fn tampered_foreign_cross_method_other_params_and_expired_states_are_refused() {
        let alice = Identity::api_key("alice");
        let params = json!({"name": "t", "arguments": {}});
        let s = states();
        let state = s.seal(&alice, "tools/call", &params, &answers(), NOW, "n1");
        let open = |state: &str, who: &Identity, method: &str, params: &Value, now: u64| {
            s.open(state, who, method, params, now)
        };
        assert_eq!(
            open(&format!("{state}-TAMPERED"), &alice, "tools/call", &params, NOW),
            Err(StateError::Tampered)
        );
        assert_eq!(
            open(&state, &Identity::api_key("bob"), "tools/call", &params, NOW),
            Err(StateError::Tampered)
        );
        assert_eq!(open(&state, &alice, "prompts/get", &params, NOW), Err(StateError::OtherRequest));
        let other = json!({"name": "t", "arguments": {"x": 1}});
        assert_eq!(open(&state, &alice, "tools/call", &other, NOW), Err(StateError::OtherRequest));
        assert_eq!(open(&state, &alice, "tools/call", &params, NOW + LIFETIME_MS), Err(StateError::Expired));
        let foreign = RequestStates::new(&ServerSecret::parse(&"z".repeat(40)).unwrap());
        assert_eq!(foreign.open(&state, &alice, "tools/call", &params, NOW), Err(StateError::Tampered));
        assert_eq!(open("", &alice, "tools/call", &params, NOW), Err(StateError::Tampered));
        assert_eq!(
            open(&"a".repeat(MAX_STATE_BYTES + 1), &alice, "tools/call", &params, NOW),
            Err(StateError::TooLarge)
        );
    }

    #[test]
    fn absent_and_empty_arguments_are_the_same_request() {
        let alice = Identity::api_key("alice");
        let state = states().seal(&alice, "tools/call", &json!({"name": "t"}), &answers(), NOW, "n");
        let retry = json!({"name": "t", "arguments": {}});
        assert_eq!(states().open(&state, &alice, "tools/call", &retry, NOW), Ok(answers()));
    }

    #[test]
    fn every_state_differs_and_names_no_caller() {
        let alice = Identity::api_key("alice");
        let params = json!({});
        let a = states().seal(&alice, "tools/call", &params, &Map::new(), NOW, "n1");
        let b = states().seal(&alice, "tools/call", &params, &Map::new(), NOW, "n2");
        assert_ne!(a, b);
        let payload = String::from_utf8(B64.decode(a.split('.').next().unwrap()).unwrap()).unwrap();
        assert!(!payload.contains("alice"), "{payload}");
    }
}
