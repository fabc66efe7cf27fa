//! Exact per-caller request limits at the cost of a round trip now and then, not per request.
//!
//! A caller's requests are counted in one fixed window per `MCP_RATE_LIMIT`, kept by the caller's ledger object
//! (one per caller, so the count holds across isolates and locations). Asking it on every request would add a
//! Durable Object round trip to each: instead an isolate leases a share of the window ([`lease_size`]: a 32nd
//! of the limit, at least one request) and spends it locally, asking again when it is spent.
//!
//! The ledger never grants more than the limit in a window, so no more than the limit is ever admitted (a
//! failed round trip aside, which lets the request through). A lease an isolate does not spend before the
//! window ends is lost for that window, so a caller whose requests are spread over several isolates may be
//! refused a little early, and only as it nears its limit: the ledger grants at most an eighth of what the
//! window has left, so leases shrink as it fills. Once the ledger says a window is full, the isolate refuses
//! that caller until the window ends without asking again.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Window;

/// An isolate leases this share of a window's limit at a time.
const LEASE_SHARE: u32 = 32;
/// The ledger grants at most this share of what a window has left, so that leases shrink as it fills.
const LEFT_SHARE: u32 = 8;
/// Callers held before ended windows are dropped from the isolate's map.
const HELD_CAPACITY: usize = 4096;

/// How many requests an isolate asks the ledger for when it has none left: a 32nd of `limit`, at least 1.
pub fn lease_size(limit: u32) -> u32 {
    (limit / LEASE_SHARE).max(1)
}

/// Where the fixed window holding `now_ms` starts: windows are aligned to multiples of their length.
fn window_start(now_ms: u64, window_ms: u64) -> u64 {
    now_ms - now_ms % window_ms
}

/// What the ledger granted an isolate: `granted` requests (0: the window is full) of the window starting at
/// `start_ms`, which ends in `reset_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub granted: u32,
    pub start_ms: u64,
    pub reset_ms: u64,
}

impl Window {
    /// Grants up to `want` requests at `now_ms` of what the window has left, and at most an eighth of it (at
    /// least one): the ledger's side of a lease. Leases shrink as the window fills, so what isolates can hold
    /// unspent when it is nearly full is small.
    pub fn lease(&mut self, now_ms: u64, limit: u32, window_ms: u64, want: u32) -> Grant {
        let window_ms = window_ms.max(1);
        let start_ms = window_start(now_ms, window_ms);
        if self.start_ms != start_ms {
            *self = Self { start_ms, count: 0 };
        }
        let left = limit.saturating_sub(self.count);
        let granted = want.min((left / LEFT_SHARE).max(1)).min(left);
        self.count += granted;
        Grant { granted, start_ms, reset_ms: start_ms + window_ms - now_ms }
    }
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It spent one request of this isolate's lease.
    Admitted,
    /// The caller's window is full; it ends in `reset_ms`.
    Refused { reset_ms: u64 },
    /// Nothing is leased: ask the ledger, then report its answer with [`Leases::granted`].
    Ask(Asking),
}

/// A request asking the ledger for a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asking {
    /// How many requests to ask for.
    pub want: u32,
    /// Whether this is the isolate's one lease-sized ask for the caller; requests that find one in flight ask
    /// for themselves only, so a burst does not lease the window many times over.
    lead: bool,
}

/// One caller's lease in this isolate.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    start_ms: u64,
    left: u32,
    /// The ledger said this window is full.
    full: bool,
    /// A lease-sized ask is in flight.
    asking: bool,
}

/// What this isolate holds of its callers' windows, by caller key.
#[derive(Debug, Default)]
pub struct Leases {
    held: HashMap<String, Held>,
}

impl Leases {
    /// Admits one request of `key` at `now_ms` under `limit` per `window_ms` from what is leased, or says to ask.
    pub fn admit(&mut self, key: &str, now_ms: u64, limit: u32, window_ms: u64) -> Admission {
        let window_ms = window_ms.max(1);
        let start_ms = window_start(now_ms, window_ms);
        if self.held.len() >= HELD_CAPACITY && !self.held.contains_key(key) {
            self.held.retain(|_, h| h.start_ms == start_ms && (h.left > 0 || h.full || h.asking));
        }
        let held = self.held.entry(key.to_string()).or_default();
        if held.start_ms != start_ms {
            *held = Held { start_ms, ..Held::default() };
        }
        if held.left > 0 {
            held.left -= 1;
            return Admission::Admitted;
        }
        if held.full {
            return Admission::Refused { reset_ms: start_ms + window_ms - now_ms };
        }
        let lead = !held.asking;
        held.asking = true;
        Admission::Ask(Asking { want: if lead { lease_size(limit) } else { 1 }, lead })
    }

    /// The ledger's answer to `asking`: the asking request takes one of the granted requests, this isolate
    /// keeps the rest for the window granted (dropped if a later window has begun here meanwhile).
    pub fn granted(&mut self, key: &str, asking: Asking, grant: Grant) -> Admission {
        let held = self.held.entry(key.to_string()).or_default();
        if grant.start_ms > held.start_ms {
            *held = Held { start_ms: grant.start_ms, ..Held::default() };
        }
        let current = grant.start_ms == held.start_ms;
        if asking.lead && current {
            held.asking = false;
        }
        if grant.granted == 0 {
            if current {
                held.full = true;
            }
            return Admission::Refused { reset_ms: grant.reset_ms };
        }
        if current {
            held.left += grant.granted - 1;
        }
        Admission::Admitted
    }

    /// The ledger could not be asked: the request goes on (a limit must not take the service down), and the
    /// next one asks again.
    pub fn failed(&mut self, key: &str, asking: Asking) {
        if let Some(held) = self.held.get_mut(key).filter(|_| asking.lead) {
            held.asking = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 60_000;

    fn asking(admission: Admission) -> Asking {
        match admission {
            Admission::Ask(asking) => asking,
            other => panic!("expected an ask, got {other:?}"),
        }
    }

    #[test]
    fn a_lease_is_a_32nd_of_the_limit_and_at_least_one() {
        assert_eq!(lease_size(3), 1);
        assert_eq!(lease_size(600), 18);
        assert_eq!(lease_size(1_000_000), 31_250);
    }

    #[test]
    fn the_ledger_never_grants_more_than_the_limit_in_a_window() {
        let mut window = Window::default();
        assert_eq!(
            window.lease(61_000, 100, W, 10),
            Grant { granted: 10, start_ms: 60_000, reset_ms: 59_000 }
        );
        let mut grants = vec![10];
        loop {
            let granted = window.lease(62_000, 100, W, 10).granted;
            if granted == 0 {
                break;
            }
            grants.push(granted);
        }
        assert_eq!(grants.iter().sum::<u32>(), 100, "the limit, and no more");
        assert!(grants.windows(2).all(|g| g[1] <= g[0]), "leases shrink as the window fills: {grants:?}");
        assert_eq!(grants[grants.len() - 8..], [1; 8], "an eighth of what is left, at least one");
        assert_eq!(window.lease(120_000, 100, W, 10), Grant { granted: 10, start_ms: 120_000, reset_ms: W });
        assert_eq!(Window::default().lease(0, 3, W, 1).granted, 1, "small limits: one at a time");
    }

    #[test]
    fn an_isolate_spends_its_lease_before_asking_again() {
        let (mut leases, mut ledger) = (Leases::default(), Window::default());
        let ask = asking(leases.admit("caller:key:a", 1_000, 64, W));
        assert_eq!(ask.want, 2);
        let grant = ledger.lease(1_000, 64, W, ask.want);
        assert_eq!(leases.granted("caller:key:a", ask, grant), Admission::Admitted);
        assert_eq!(
            leases.admit("caller:key:a", 1_001, 64, W),
            Admission::Admitted,
            "the second of the lease"
        );
        assert!(matches!(leases.admit("caller:key:a", 1_002, 64, W), Admission::Ask(_)));
        assert!(matches!(leases.admit("caller:key:b", 1_002, 64, W), Admission::Ask(_)), "callers apart");
    }

    #[test]
    fn two_isolates_admit_exactly_the_limit_between_them() {
        let mut ledger = Window::default();
        let mut isolates = [Leases::default(), Leases::default()];
        let mut admitted = 0;
        for i in 0..200u64 {
            let leases = &mut isolates[(i % 2) as usize];
            let now = 60_000 + i;
            let admission = match leases.admit("k", now, 100, W) {
                Admission::Ask(ask) => leases.granted("k", ask, ledger.lease(now, 100, W, ask.want)),
                other => other,
            };
            if admission == Admission::Admitted {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 100, "interleaved requests spend every lease, so none is stranded");
    }

    #[test]
    fn a_full_window_is_refused_locally_until_it_ends() {
        let (mut leases, mut ledger) = (Leases::default(), Window::default());
        ledger.lease(0, 1, W, 1);
        let ask = asking(leases.admit("k", 10_000, 1, W));
        assert_eq!(
            leases.granted("k", ask, ledger.lease(10_000, 1, W, 1)),
            Admission::Refused { reset_ms: 50_000 }
        );
        assert_eq!(leases.admit("k", 20_000, 1, W), Admission::Refused { reset_ms: 40_000 }, "no ask");
        assert!(matches!(leases.admit("k", 60_000, 1, W), Admission::Ask(_)), "a new window asks again");
    }

    #[test]
    fn requests_during_an_ask_ask_for_themselves_only() {
        let mut leases = Leases::default();
        let lead = asking(leases.admit("k", 0, 640, W));
        let other = asking(leases.admit("k", 1, 640, W));
        assert_eq!((lead.want, other.want), (20, 1));
        let grant = Grant { granted: 1, start_ms: 0, reset_ms: W };
        assert_eq!(leases.granted("k", other, grant), Admission::Admitted);
        assert_eq!(asking(leases.admit("k", 2, 640, W)).want, 1, "the lead is still out");
        leases.failed("k", lead);
        assert_eq!(asking(leases.admit("k", 3, 640, W)).want, 20, "after a failed ask, the next one leads");
    }

    #[test]
    fn a_grant_for_an_ended_window_admits_its_request_and_keeps_nothing() {
        let mut leases = Leases::default();
        let ask = asking(leases.admit("k", 59_999, 640, W));
        assert!(matches!(leases.admit("k", 60_001, 640, W), Admission::Ask(_)));
        let stale = Grant { granted: 20, start_ms: 0, reset_ms: 1 };
        assert_eq!(leases.granted("k", ask, stale), Admission::Admitted);
        assert!(matches!(leases.admit("k", 60_002, 640, W), Admission::Ask(_)), "nothing kept");
    }
}
