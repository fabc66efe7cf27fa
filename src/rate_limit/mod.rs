//! Rate limits: per caller on the MCP endpoints, per client IP on the OAuth endpoints (which run before anyone
//! is authenticated), per caller and tool. This module holds the rules: the keys counted under, the exact fixed
//! [`Window`], and what a denial says (429, `Retry-After`, and the IETF `RateLimit` / `RateLimit-Policy`
//! headers). Callers (`MCP_RATE_LIMIT`) are counted exactly by the caller's ledger object through leases
//! ([`lease`]); tools (`MCP_TOOL_RATE_LIMITS`) by the same object, one round trip per call; client IPs on the
//! OAuth endpoints by the Workers rate limiting binding (see `docs/architecture.md` for why each).

use serde::{Deserialize, Serialize};

use crate::identity::{CallerKind, Identity};
use crate::model::{Message, Payload, Request};

pub mod lease;

/// A limit's policy as clients are told it: `limit` requests per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name in `RateLimit-Policy`.
    pub name: &'static str,
    pub limit: u32,
    pub window_seconds: u32,
}

impl Policy {
    /// The headers of a denial: retry after `retry_after_seconds` (when the window ends; the binding does not
    /// say, so there the whole window is the honest bound), nothing left in it.
    pub fn denial_headers(&self, retry_after_seconds: u64) -> Vec<(&'static str, String)> {
        denial_headers(self.name, self.limit, self.window_seconds, retry_after_seconds)
    }

    pub fn window_ms(&self) -> u64 {
        u64::from(self.window_seconds) * 1000
    }
}

/// Which windows a policy may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// 10 or 60 seconds, as the rate limiting binding's `simple = { limit, period }` allows.
    Binding,
    /// Any whole number of seconds up to a day: counted exactly, by a ledger object.
    Exact,
}

/// What a caller's requests to the MCP endpoints are counted under: its identity (a key's name, a user); a
/// caller without credentials (an open deployment) by its IP (`connecting_ip` reads it, only then), so that one
/// stranger cannot use up everyone's.
pub fn caller_key(caller: &Identity, connecting_ip: impl FnOnce() -> Option<String>) -> String {
    match caller.kind() {
        CallerKind::Anonymous => format!("caller:anonymous:{}", ip_key(connecting_ip().as_deref())),
        _ => format!("caller:{}", caller.id()),
    }
}

/// What requests to the OAuth endpoints are counted under: the client's IP (`CF-Connecting-IP`), or one
/// shared bucket when the platform did not say (local development).
pub fn ip_key(connecting_ip: Option<&str>) -> String {
    match connecting_ip.map(str::trim).filter(|ip| !ip.is_empty()) {
        Some(ip) => format!("ip:{ip}"),
        None => "ip:unknown".into(),
    }
}

impl Policy {
    /// A setting's `<limit>/<window seconds>` (e.g. `600/60`). For the binding, what wrangler.toml's
    /// `simple = { limit, period }` sets (the period 10 or 60 seconds); counted exactly, any window up to a day.
    pub fn parse(name: &'static str, text: &str, setting: &str, windows: Windows) -> Result<Self, String> {
        let bad = || {
            let allowed = match windows {
                Windows::Binding => "the window 10 or 60 seconds".to_string(),
                Windows::Exact => format!("the window 1 to {MAX_WINDOW_SECONDS} seconds"),
            };
            format!("{setting} must be <limit>/<window>, {allowed} (e.g. 600/60), not {text:?}")
        };
        let (limit, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = limit.trim().parse().ok().filter(|l| *l > 0).ok_or_else(bad)?;
        let window_seconds: u32 = window.trim().parse().map_err(|_| bad())?;
        let fits = match windows {
            Windows::Binding => matches!(window_seconds, 10 | 60),
            Windows::Exact => (1..=MAX_WINDOW_SECONDS).contains(&window_seconds),
        };
        if !fits {
            return Err(bad());
        }
        Ok(Self { name, limit, window_seconds })
    }
}

/// One tool's limit for each caller: `limit` calls per `window_seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolLimit {
    pub tool: String,
    pub limit: u32,
    pub window_seconds: u32,
}

/// `MCP_TOOL_RATE_LIMITS`: the tools limited per caller, e.g. `search=10/60,fetch=100/60`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolLimits(Vec<ToolLimit>);

/// The longest window an exactly counted limit may have: a day.
pub const MAX_WINDOW_SECONDS: u32 = 86_400;

impl ToolLimits {
    /// `<tool>=<limit>/<window seconds>`, comma-separated; the window any whole number of seconds up to a day
    /// (the counts are exact, not the binding's 10 or 60).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |item: &str| {
            format!(
                "MCP_TOOL_RATE_LIMITS must be <tool>=<limit>/<window seconds>, comma-separated (e.g. \
                 search=10/60,fetch=100/60; the window 1 to {MAX_WINDOW_SECONDS}), not {item:?}"
            )
        };
        let mut limits: Vec<ToolLimit> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (tool, policy) = item.split_once('=').ok_or_else(|| bad(item))?;
            let tool = tool.trim();
            let name_ok = !tool.is_empty()
                && tool.len() <= 128
                && tool.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            let (limit, window) = policy.split_once('/').ok_or_else(|| bad(item))?;
            let limit: u32 = limit.trim().parse().ok().filter(|l| *l > 0).ok_or_else(|| bad(item))?;
            let window_seconds: u32 = window
                .trim()
                .parse()
                .ok()
                .filter(|w| (1..=MAX_WINDOW_SECONDS).contains(w))
                .ok_or_else(|| bad(item))?;
            if !name_ok {
                return Err(bad(item));
            }
            if limits.iter().any(|l| l.tool == tool) {
                return Err(format!("MCP_TOOL_RATE_LIMITS names tool {tool:?} twice"));
            }
            limits.push(ToolLimit { tool: tool.to_string(), limit, window_seconds });
        }
        Ok(Self(limits))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `search 10/60 s, fetch 100/3600 s`, for `/health`.
    pub fn describe(&self) -> String {
        let limits = self.0.iter().map(|l| format!("{} {}/{} s", l.tool, l.limit, l.window_seconds));
        limits.collect::<Vec<_>>().join(", ")
    }

    pub fn get(&self, tool: &str) -> Option<&ToolLimit> {
        self.0.iter().find(|l| l.tool == tool)
    }

    /// The limits the requests of `payload` count against, in order: for each `tools/call`, those of every tool
    /// it reaches (`reached`: the called tool, and the one it calls through, such as the operation a large REST
    /// API's `invoke_operation` calls).
    pub fn calls_in(&self, payload: &Payload, reached: impl Fn(&Request) -> Vec<String>) -> Vec<&ToolLimit> {
        if self.0.is_empty() {
            return Vec::new();
        }
        payload
            .items()
            .iter()
            .filter_map(|item| match item {
                Ok(Message::Request(r)) => Some(self.call_of(r, &reached)),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The limits `request` counts against, if it calls limited tools (see [`Self::calls_in`]).
    pub fn call_of(&self, request: &Request, reached: impl Fn(&Request) -> Vec<String>) -> Vec<&ToolLimit> {
        if self.0.is_empty() {
            return Vec::new();
        }
        reached(request).iter().filter_map(|tool| self.get(tool)).collect()
    }
}

/// Calls counted in one fixed window (aligned to multiples of its length since the epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: u64,
    pub count: u32,
}

/// The outcome of counting one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Take {
    pub allowed: bool,
    /// Calls left in this window after this one.
    pub remaining: u32,
    /// Milliseconds until the window ends.
    pub reset_ms: u64,
}

impl Window {
    /// Counts one call at `now_ms` if the window has room for it: a lease of one.
    pub fn take(&mut self, now_ms: u64, limit: u32, window_ms: u64) -> Take {
        let grant = self.lease(now_ms, limit, window_ms, 1);
        Take {
            allowed: grant.granted == 1,
            remaining: limit.saturating_sub(self.count),
            reset_ms: grant.reset_ms,
        }
    }

    /// Whether this window is over at `now_ms` (its count can be forgotten).
    pub fn is_over(&self, now_ms: u64, window_ms: u64) -> bool {
        now_ms >= self.start_ms.saturating_add(window_ms)
    }
}

/// A tool call refused by its limit: what the 429 says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDenial {
    pub tool: String,
    pub limit: u32,
    pub window_seconds: u32,
    /// Whole seconds until the window ends (at least 1).
    pub retry_after_seconds: u64,
}

impl ToolDenial {
    pub fn new(limit: &ToolLimit, take: &Take) -> Self {
        Self {
            tool: limit.tool.clone(),
            limit: limit.limit,
            window_seconds: limit.window_seconds,
            retry_after_seconds: take.reset_ms.div_ceil(1000).max(1),
        }
    }

    /// `Retry-After` when the window ends (known exactly here), and the policy named `tool.<name>`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let policy = format!("tool.{}", self.tool);
        denial_headers(&policy, self.limit, self.window_seconds, self.retry_after_seconds)
    }
}

/// `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit` headers of a denial by policy `name` (`q` per
/// `w` seconds): nothing left, retry in `t` seconds.
fn denial_headers(name: &str, q: u32, w: u32, t: u64) -> Vec<(&'static str, String)> {
    vec![
        ("Retry-After", t.to_string()),
        ("RateLimit-Policy", format!("\"{name}\";q={q};w={w}")),
        ("RateLimit", format!("\"{name}\";r=0;t={t}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_limits_parse_and_name_the_setting() {
        let limits = ToolLimits::parse(" search=10/60, fetch = 100/3600 ").unwrap();
        assert_eq!(
            limits.get("search"),
            Some(&ToolLimit { tool: "search".into(), limit: 10, window_seconds: 60 })
        );
        assert_eq!(limits.get("fetch").map(|l| l.window_seconds), Some(3600));
        assert_eq!(limits.get("echo"), None);
        assert!(ToolLimits::parse("").unwrap().is_empty());
        assert_eq!(limits.describe(), "search 10/60 s, fetch 100/3600 s");
        for bad in ["search", "search=10", "search=0/60", "search=10/0", "search=10/86401", "a b=1/1", "=1/1"]
        {
            assert!(ToolLimits::parse(bad).unwrap_err().contains("MCP_TOOL_RATE_LIMITS must be"), "{bad}");
        }
        assert!(ToolLimits::parse("a=1/1,a=2/2").unwrap_err().contains("twice"));
    }

    #[test]
    fn tool_calls_of_a_payload_count_against_every_tool_they_reach() {
        let limits = ToolLimits::parse("search=1/10,deleteRepo=1/60").unwrap();
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}},
            {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}},
            {"jsonrpc":"2.0","id":3,"method":"tools/list"},
            {"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"invoke","arguments":{"name":"deleteRepo"}}},
            {"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search"}}]"#;
        let payload = Payload::parse(body).unwrap();
        // As the server answers: the called tool, and for `invoke` the operation it calls through.
        let reached = |r: &Request| -> Vec<String> {
            let params = r.params.clone().unwrap_or_default();
            let name = params["name"].as_str().map(str::to_string);
            let through = params["arguments"]["name"].as_str().map(str::to_string);
            name.into_iter().chain(through).collect()
        };
        let found: Vec<&str> = limits.calls_in(&payload, reached).iter().map(|l| l.tool.as_str()).collect();
        assert_eq!(found, ["search", "deleteRepo", "search"]);
        assert!(ToolLimits::default().calls_in(&payload, reached).is_empty());
    }

    #[test]
    fn a_fixed_window_counts_to_its_limit_and_starts_over() {
        let mut window = Window::default();
        let w = 10_000;
        assert_eq!(window.take(20_500, 2, w), Take { allowed: true, remaining: 1, reset_ms: 9_500 });
        assert_eq!(window.take(21_000, 2, w), Take { allowed: true, remaining: 0, reset_ms: 9_000 });
        assert_eq!(window.take(29_999, 2, w), Take { allowed: false, remaining: 0, reset_ms: 1 });
        assert!(!window.is_over(29_999, w) && window.is_over(30_000, w));
        assert_eq!(window.take(30_000, 2, w), Take { allowed: true, remaining: 1, reset_ms: 10_000 });
        let denial = ToolDenial::new(
            &ToolLimit { tool: "search".into(), limit: 2, window_seconds: 10 },
            &Take { allowed: false, remaining: 0, reset_ms: 1 },
        );
        assert_eq!(denial.retry_after_seconds, 1, "never 0: the client would retry at once");
        assert_eq!(
            denial.headers(),
            vec![
                ("Retry-After", "1".to_string()),
                ("RateLimit-Policy", "\"tool.search\";q=2;w=10".to_string()),
                ("RateLimit", "\"tool.search\";r=0;t=1".to_string()),
            ]
        );
    }

    #[test]
    fn a_denial_says_when_to_retry_and_the_policy() {
        let policy = Policy { name: "caller", limit: 100, window_seconds: 60 };
        assert_eq!(
            policy.denial_headers(17),
            vec![
                ("Retry-After", "17".to_string()),
                ("RateLimit-Policy", "\"caller\";q=100;w=60".to_string()),
                ("RateLimit", "\"caller\";r=0;t=17".to_string()),
            ]
        );
    }

    #[test]
    fn keys_count_callers_by_identity_and_strangers_by_ip() {
        let unread = || -> Option<String> { panic!("a caller with credentials is counted without its IP") };
        assert_eq!(caller_key(&Identity::api_key("ops"), unread), "caller:key:ops");
        assert_eq!(caller_key(&Identity::user(7, "octo", None), unread), "caller:github:7");
        let ip = || Some("203.0.113.9".to_string());
        assert_eq!(caller_key(&Identity::anonymous(), ip), "caller:anonymous:ip:203.0.113.9");
        assert_eq!(caller_key(&Identity::anonymous(), || None), "caller:anonymous:ip:unknown");
        assert_eq!(ip_key(Some(" 203.0.113.9 ")), "ip:203.0.113.9");
        assert_eq!(ip_key(None), "ip:unknown");
        assert_eq!(
            Policy::parse("ip", " 5/10 ", "X", Windows::Binding),
            Ok(Policy { name: "ip", limit: 5, window_seconds: 10 })
        );
        for bad in ["5/30", "0/60", "five/60", "60"] {
            let error = Policy::parse("ip", bad, "X", Windows::Binding).unwrap_err();
            assert!(error.contains("X must be") && error.contains("10 or 60"), "{bad}");
        }
        assert_eq!(
            Policy::parse("caller", "5/3600", "X", Windows::Exact).map(|p| p.window_ms()),
            Ok(3_600_000)
        );
        for bad in ["5/0", "5/86401", "0/60", "5/x"] {
            let error = Policy::parse("caller", bad, "X", Windows::Exact).unwrap_err();
            assert!(error.contains("X must be") && error.contains("1 to 86400"), "{bad}");
        }
    }
}
