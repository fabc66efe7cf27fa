//! What is counted per caller across isolates, in one Durable Object per caller (`caller:<identity id>`, see
//! `worker/caller_object.rs`): the caller's live sessions (`MCP_MAX_SESSIONS_PER_CALLER`), its request window
//! (`MCP_RATE_LIMIT`, leased to isolates: [`crate::rate_limit::lease`]) and its per-tool windows
//! (`MCP_TOOL_RATE_LIMITS`). The rules are here; the object only stores them.
//!
//! Sessions are counted when they are opened (`initialize`, `GET /sse`: the Worker asks [`CallerCall::Open`])
//! and released when they end (DELETE, the expiry alarm: the session's object sends [`CallerCall::Close`]).
//! Each one is held with its expiry, renewed when the session's object renews its own (once a minute at most),
//! so a session opened and never used (a deferred id creates no object that could say it ended), or whose
//! release was lost, drops out by itself: nothing leaks, and a lost message errs towards letting a caller in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rate_limit::lease::Grant;
use crate::rate_limit::{Take, Window};

/// The name of `caller`'s object (by its identity id).
pub fn object_name(caller_id: &str) -> String {
    format!("caller:{caller_id}")
}

/// What the Worker, or a session's object, asks a caller's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CallerCall {
    /// A session is being opened; refused when `limit` sessions of the caller are live.
    Open { session: String, expires_at_ms: u64, limit: u32 },
    /// A live session was used: it expires later. Never refused; a session no longer counted stays out.
    Keep { session: String, expires_at_ms: u64 },
    /// The session ended.
    Close { session: String },
    /// The calls of limited tools one POST makes (a batch may hold several), counted all or none, so that a
    /// POST refused for one of its calls uses up none of the others.
    Take { calls: Vec<LimitedCall> },
    /// An isolate leases up to `want` requests of the caller's window (`limit` per `window_ms`).
    Lease { limit: u32, window_ms: u64, want: u32 },
}

/// One call of `tool`, at most `limit` per window of `window_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitedCall {
    pub tool: String,
    pub limit: u32,
    pub window_ms: u64,
}

/// A caller's object's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum CallerReply {
    Opened,
    /// `live` sessions are open, the limit; the first of them expires in `retry_after_ms` at the latest.
    Full {
        live: usize,
        retry_after_ms: u64,
    },
    Done,
    /// Every call was counted.
    Took,
    /// The call at `index` did not fit its window (`take` says when it ends), and none was counted.
    Refused {
        index: usize,
        take: Take,
    },
    /// What the isolate may spend of the caller's request window.
    Leased(Grant),
}

/// A caller's live sessions, by id, with when each expires unless used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sessions(BTreeMap<String, u64>);

impl Sessions {
    /// Counts session `id` (until `expires_at_ms`) unless `limit` are live at `now_ms`; `Err` holds when the
    /// first live one expires, in milliseconds from now. Opening an id counted already only renews it.
    pub fn open(&mut self, id: &str, expires_at_ms: u64, now_ms: u64, limit: u32) -> Result<(), u64> {
        self.prune(now_ms);
        if !self.0.contains_key(id) && self.0.len() >= limit as usize {
            let first = self.0.values().min().copied().unwrap_or(now_ms);
            return Err(first.saturating_sub(now_ms));
        }
        self.keep(id, expires_at_ms);
        Ok(())
    }

    /// Session `id` lives until `expires_at_ms` at least (counted again if it had dropped out).
    pub fn keep(&mut self, id: &str, expires_at_ms: u64) {
        let expiry = self.0.entry(id.to_string()).or_insert(expires_at_ms);
        *expiry = (*expiry).max(expires_at_ms);
    }

    /// Session `id`, if counted, lives until `expires_at_ms` at least. An id not counted (ended, or expired)
    /// stays out: a renewal can arrive after the session's end, and must not count it again.
    pub fn renew(&mut self, id: &str, expires_at_ms: u64) -> bool {
        match self.0.get_mut(id) {
            Some(expiry) => {
                *expiry = (*expiry).max(expires_at_ms);
                true
            }
            None => false,
        }
    }

    /// Session `id` ended; whether it was counted.
    pub fn close(&mut self, id: &str) -> bool {
        self.0.remove(id).is_some()
    }

    /// Forgets the sessions expired at `now_ms`; returns their ids.
    pub fn prune(&mut self, now_ms: u64) -> Vec<String> {
        let expired: Vec<String> =
            self.0.iter().filter(|(_, expires)| **expires <= now_ms).map(|(id, _)| id.clone()).collect();
        for id in &expired {
            self.0.remove(id);
        }
        expired
    }

    /// When session `id` expires, if it is counted.
    pub fn expiry(&self, id: &str) -> Option<u64> {
        self.0.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// When the first live session expires.
    pub fn next_expiry(&self) -> Option<u64> {
        self.0.values().min().copied()
    }
}

/// A tool's window as the object keeps it, with its length (to know when it can be forgotten).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerWindow {
    pub window: Window,
    pub window_ms: u64,
}

impl LedgerWindow {
    pub fn take(&mut self, now_ms: u64, limit: u32, window_ms: u64) -> Take {
        self.window_ms = window_ms;
        self.window.take(now_ms, limit, window_ms)
    }

    pub fn lease(&mut self, now_ms: u64, limit: u32, window_ms: u64, want: u32) -> Grant {
        self.window_ms = window_ms;
        self.window.lease(now_ms, limit, window_ms, want)
    }

    pub fn ends_at(&self) -> u64 {
        self.window.start_ms.saturating_add(self.window_ms)
    }
}

/// Counts `calls` in the caller's tool windows at `now_ms`, all or none (calls of one tool count together):
/// `Err` names the first that does not fit, and then `windows` is left as it was.
pub fn take_all(
    windows: &mut BTreeMap<String, LedgerWindow>,
    calls: &[LimitedCall],
    now_ms: u64,
) -> Result<(), (usize, Take)> {
    let mut counted = windows.clone();
    for (index, call) in calls.iter().enumerate() {
        let take = counted.entry(call.tool.clone()).or_default().take(now_ms, call.limit, call.window_ms);
        if !take.allowed {
            return Err((index, take));
        }
    }
    *windows = counted;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_counted_up_to_the_limit_and_released() {
        let mut s = Sessions::default();
        assert_eq!(s.open("a", 1_000, 0, 2), Ok(()));
        assert_eq!(s.open("b", 2_000, 10, 2), Ok(()));
        assert_eq!(s.open("c", 3_000, 100, 2), Err(900), "full: the first live one expires at 1000");
        assert_eq!(s.open("a", 5_000, 100, 2), Ok(()), "an id counted already is renewed, not refused");
        assert!(s.close("b"));
        assert!(!s.close("b"));
        assert_eq!(s.open("c", 3_000, 100, 2), Ok(()));
        assert_eq!(s.len(), 2);
        assert_eq!(s.next_expiry(), Some(3_000));
    }

    #[test]
    fn expired_sessions_drop_out_by_themselves() {
        let mut s = Sessions::default();
        s.open("never-used", 1_000, 0, 1).unwrap();
        assert!(s.open("next", 5_000, 999, 1).is_err());
        assert_eq!(s.open("next", 5_000, 1_000, 1), Ok(()), "expired at its own time");
        assert!(s.prune(4_999).is_empty());
        assert_eq!(s.prune(5_000), ["next"]);
        assert!(s.is_empty());
    }

    #[test]
    fn keep_only_extends_and_recounts_a_session_that_dropped_out() {
        let mut s = Sessions::default();
        s.keep("a", 2_000);
        s.keep("a", 1_000);
        assert_eq!(s.next_expiry(), Some(2_000));
        assert_eq!(s.expiry("a"), Some(2_000));
        s.prune(3_000);
        s.keep("a", 9_000);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_renewal_after_the_end_does_not_count_the_session_again() {
        let mut s = Sessions::default();
        s.open("a", 2_000, 0, 3).unwrap();
        assert!(s.renew("a", 5_000));
        assert_eq!(s.expiry("a"), Some(5_000));
        assert!(s.close("a"));
        assert!(!s.renew("a", 9_000));
        assert!(s.is_empty());
    }

    #[test]
    fn calls_and_replies_travel_as_json() {
        let call = CallerCall::Open { session: "s".into(), expires_at_ms: 5, limit: 3 };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(text, r#"{"op":"open","session":"s","expires_at_ms":5,"limit":3}"#);
        assert_eq!(serde_json::from_str::<CallerCall>(&text).unwrap(), call);
        let reply =
            CallerReply::Refused { index: 1, take: Take { allowed: false, remaining: 0, reset_ms: 7 } };
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<CallerReply>(&text).unwrap(), reply);
        let call =
            CallerCall::Take { calls: vec![LimitedCall { tool: "echo".into(), limit: 2, window_ms: 10 }] };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(serde_json::from_str::<CallerCall>(&text).unwrap(), call);
        let call = CallerCall::Lease { limit: 600, window_ms: 60_000, want: 18 };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(text, r#"{"op":"lease","limit":600,"window_ms":60000,"want":18}"#);
        assert_eq!(serde_json::from_str::<CallerCall>(&text).unwrap(), call);
        let reply = CallerReply::Leased(Grant { granted: 18, start_ms: 60_000, reset_ms: 59_000 });
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(text, r#"{"reply":"leased","granted":18,"start_ms":60000,"reset_ms":59000}"#);
        assert_eq!(serde_json::from_str::<CallerReply>(&text).unwrap(), reply);
        assert_eq!(object_name("key:ops"), "caller:key:ops");
    }

    #[test]
    fn the_calls_of_a_post_are_counted_all_or_none() {
        let call = |tool: &str, limit| LimitedCall { tool: tool.into(), limit, window_ms: 10_000 };
        let mut windows = BTreeMap::new();
        // Two calls of echo (limit 2) and one of search: all fit.
        assert_eq!(
            take_all(&mut windows, &[call("echo", 2), call("search", 5), call("echo", 2)], 1_000),
            Ok(())
        );
        assert_eq!(windows["echo"].window.count, 2);
        // search would fit, echo does not: nothing counted, the refusal names echo's place.
        let refused = take_all(&mut windows, &[call("search", 5), call("echo", 2)], 2_000).unwrap_err();
        assert_eq!(refused, (1, Take { allowed: false, remaining: 0, reset_ms: 8_000 }));
        assert_eq!(windows["search"].window.count, 1, "search's call of the refused POST was not counted");
        // Calls of one tool count together: three of a tool allowing two are refused as a whole.
        let mut fresh = BTreeMap::new();
        assert_eq!(take_all(&mut fresh, &[call("a", 2), call("a", 2), call("a", 2)], 0).unwrap_err().0, 2);
        assert!(fresh.is_empty());
        assert_eq!(take_all(&mut windows, &[], 3_000), Ok(()));
    }

    #[test]
    fn a_tool_window_knows_when_it_ends() {
        let mut w = LedgerWindow::default();
        assert!(w.take(12_345, 1, 10_000).allowed);
        assert!(!w.take(12_346, 1, 10_000).allowed);
        assert_eq!(w.ends_at(), 20_000);
    }
}
