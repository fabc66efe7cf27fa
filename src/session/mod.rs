//! Session state and its rules: what a session remembers, how its id looks, when it expires.
//!
//! The Durable Object persists [`SessionState`] as JSON; everything here is plain Rust so the rules are
//! unit-tested natively.

use std::cell::{Cell, Ref, RefCell};
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cancellation::InFlight;
use crate::identity::Identity;
use crate::model::lifecycle::{Implementation, LogLevel};
use crate::model::ProtocolVersion;

pub mod id;

pub use id::Opening;

/// Which transport opened the session; the legacy HTTP+SSE one answers on its stream instead of the POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    #[default]
    StreamableHttp,
    LegacySse,
}

/// Everything a session keeps between requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub id: String,
    pub protocol_version: ProtocolVersion,
    pub client_info: Implementation,
    #[serde(default)]
    pub client_capabilities: Value,
    /// Set by `notifications/initialized`.
    #[serde(default)]
    pub initialized: bool,
    #[serde(default)]
    pub log_level: LogLevel,
    /// Resource URIs the client subscribed to.
    #[serde(default)]
    pub subscriptions: BTreeSet<String>,
    #[serde(default)]
    pub transport: TransportKind,
    /// The id of the identity that opened the session: every other caller is told it does not exist.
    #[serde(default)]
    pub owner: String,
    pub created_at_ms: u64,
    /// Last time a request reached the session; persisted at [`TOUCH_GRANULARITY_MS`] granularity.
    pub last_seen_ms: u64,
}

/// `last_seen_ms` is written back at most this often, so that busy sessions do not write storage on every
/// request; expiry is correspondingly coarse.
pub const TOUCH_GRANULARITY_MS: u64 = 60_000;

impl SessionState {
    /// The state of session `id` of `owner`, opened by `opening` and first used at `now_ms` (for a deferred
    /// session, possibly long after it was opened).
    pub fn new(id: String, opening: Opening, owner: &Identity, now_ms: u64) -> Self {
        Self {
            id,
            protocol_version: opening.protocol_version,
            client_info: opening.client_info,
            client_capabilities: opening.client_capabilities,
            initialized: false,
            log_level: LogLevel::default(),
            subscriptions: BTreeSet::new(),
            transport: TransportKind::StreamableHttp,
            owner: owner.id().to_string(),
            created_at_ms: opening.opened_at_ms,
            last_seen_ms: now_ms,
        }
    }

    /// A session of the 2024-11-05 HTTP+SSE transport: it exists from `GET /sse` on, before `initialize`.
    pub fn legacy(id: String, owner: &Identity, now_ms: u64) -> Self {
        let opening = Opening {
            protocol_version: ProtocolVersion::V2024_11_05,
            client_info: Implementation::default(),
            client_capabilities: Value::Null,
            opened_at_ms: now_ms,
        };
        Self { transport: TransportKind::LegacySse, ..Self::new(id, opening, owner, now_ms) }
    }

    /// When the session ends if nothing else reaches it.
    pub fn expires_at_ms(&self, ttl_ms: u64) -> u64 {
        self.last_seen_ms.saturating_add(ttl_ms)
    }

    pub fn is_expired(&self, now_ms: u64, ttl_ms: u64) -> bool {
        now_ms >= self.expires_at_ms(ttl_ms)
    }

    /// Whether a request at `now_ms` should persist a new `last_seen_ms`: once a minute, or more often for
    /// short time-outs, so that activity always keeps a session alive.
    pub fn needs_touch(&self, now_ms: u64, ttl_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_seen_ms) >= TOUCH_GRANULARITY_MS.min(ttl_ms / 4)
    }

    /// Whether `caller` may use this session: only the identity that opened it may.
    pub fn is_owned_by(&self, caller: &Identity) -> bool {
        self.owner == caller.id()
    }
}

/// Whether a client's `capabilities` object declares `capability` (present and not null).
pub fn declares(capabilities: &Value, capability: &str) -> bool {
    capabilities.get(capability).is_some_and(|v| !v.is_null())
}

/// The live state of one session: its persisted state (changes mark it dirty so the shell writes them) and
/// the requests being worked on.
#[derive(Debug)]
pub struct Session {
    state: RefCell<SessionState>,
    dirty: Cell<bool>,
    in_flight: InFlight,
}

/// Resource subscriptions one session may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

impl Session {
    pub fn new(state: SessionState) -> Self {
        Self { state: RefCell::new(state), dirty: Cell::new(false), in_flight: InFlight::default() }
    }

    /// The client requests of this session being worked on.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// The session ended (DELETE, expiry): its requests are cancelled, no new one starts, and its state must
    /// not be written back (that would bring it back).
    pub fn end(&self) {
        self.in_flight.close();
    }

    pub fn is_ended(&self) -> bool {
        self.in_flight.is_closed()
    }

    /// Marks the state as changed again (a write of it failed, so the next request retries it).
    pub fn mark_dirty(&self) {
        self.dirty.set(true);
    }

    pub fn state(&self) -> Ref<'_, SessionState> {
        self.state.borrow()
    }

    /// Changes the state; never hold the borrow across an `.await`.
    pub fn update<R>(&self, change: impl FnOnce(&mut SessionState) -> R) -> R {
        self.dirty.set(true);
        change(&mut self.state.borrow_mut())
    }

    /// Changes the state in memory only; the change is written with the next real one. For facts that are
    /// cheap to lose, so that they cost no storage write of their own.
    pub fn update_in_memory<R>(&self, change: impl FnOnce(&mut SessionState) -> R) -> R {
        change(&mut self.state.borrow_mut())
    }

    /// Returns whether the state changed since the last call, and clears the mark.
    pub fn take_dirty(&self) -> bool {
        self.dirty.replace(false)
    }

    pub fn protocol_version(&self) -> ProtocolVersion {
        self.state.borrow().protocol_version
    }

    pub fn snapshot(&self) -> SessionState {
        self.state.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(now: u64) -> SessionState {
        let opening = Opening {
            protocol_version: ProtocolVersion::LATEST_STATEFUL,
            client_info: Implementation { name: "c".into(), version: "1".into(), title: None },
            client_capabilities: serde_json::json!({"sampling": {}}),
            opened_at_ms: now,
        };
        SessionState::new(crate::random::hex::<16>(), opening, &Identity::api_key("alice"), now)
    }

    #[test]
    fn expiry_and_touch_rules() {
        let s = state(1_000);
        assert!(!s.is_expired(1_000 + 59_999, 60_000));
        assert!(s.is_expired(1_000 + 60_000, 60_000));
        let day = 86_400_000;
        assert!(!s.needs_touch(1_000 + TOUCH_GRANULARITY_MS - 1, day));
        assert!(s.needs_touch(1_000 + TOUCH_GRANULARITY_MS, day));
        // A 4-second time-out is refreshed every second of activity.
        assert!(!s.needs_touch(1_999, 4_000));
        assert!(s.needs_touch(2_000, 4_000));
    }

    #[test]
    fn state_round_trips_through_json_and_tracks_changes() {
        let session = Session::new(state(5));
        assert!(!session.take_dirty());
        session.update(|s| s.log_level = LogLevel::Debug);
        assert!(session.take_dirty());
        assert!(!session.take_dirty());
        let json = serde_json::to_string(&*session.state()).unwrap();
        let back: SessionState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, session.snapshot());
        assert!(declares(&back.client_capabilities, "sampling"));
        assert!(!declares(&back.client_capabilities, "roots"));
        assert!(back.is_owned_by(&Identity::api_key("alice")));
        assert!(!back.is_owned_by(&Identity::api_key("bob")));
    }
}
