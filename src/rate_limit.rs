//! Rate limits: per caller on the MCP endpoints, per client IP on the OAuth endpoints (which run before anyone
//! is authenticated). Counting is the platform's (the Workers rate limiting binding, see `docs/architecture.md`);
//! this module holds the rules: the keys counted under, and what a denial says (429, `Retry-After`, and the IETF
//! `RateLimit` / `RateLimit-Policy` headers).

use crate::identity::Identity;

/// A limit's policy as clients are told it: `limit` requests per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name in `RateLimit-Policy`.
    pub name: &'static str,
    pub limit: u32,
    pub window_seconds: u32,
}

impl Policy {
    /// The headers of a denial: retry after the window (the binding does not say when its window ends, so the
    /// whole window is the honest bound), nothing left in it.
    pub fn denial_headers(&self) -> Vec<(&'static str, String)> {
        let (name, q, w) = (self.name, self.limit, self.window_seconds);
        vec![
            ("Retry-After", w.to_string()),
            ("RateLimit-Policy", format!("\"{name}\";q={q};w={w}")),
            ("RateLimit", format!("\"{name}\";r=0;t={w}")),
        ]
    }
}

/// What a caller's requests to the MCP endpoints are counted under: its identity (a key's name, a user).
pub fn caller_key(caller: &Identity) -> String {
    format!("caller:{}", caller.id())
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
    /// A setting's `<limit>/<window seconds>` (e.g. `600/60`): what the binding counts, as wrangler.toml's
    /// `simple = { limit, period }` sets it (the binding's period is 10 or 60 seconds).
    pub fn parse(name: &'static str, text: &str, setting: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{setting} must be <limit>/<window>, the window 10 or 60 seconds (e.g. 600/60), not {text:?}"
            )
        };
        let (limit, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = limit.trim().parse().ok().filter(|l| *l > 0).ok_or_else(bad)?;
        let window_seconds = match window.trim() {
            "10" => 10,
            "60" => 60,
            _ => return Err(bad()),
        };
        Ok(Self { name, limit, window_seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_says_when_to_retry_and_the_policy() {
        let policy = Policy { name: "caller", limit: 100, window_seconds: 60 };
        assert_eq!(
            policy.denial_headers(),
            vec![
                ("Retry-After", "60".to_string()),
                ("RateLimit-Policy", "\"caller\";q=100;w=60".to_string()),
                ("RateLimit", "\"caller\";r=0;t=60".to_string()),
            ]
        );
    }

    #[test]
    fn keys_count_callers_by_identity_and_strangers_by_ip() {
        assert_eq!(caller_key(&Identity::api_key("ops")), "caller:key:ops");
        assert_eq!(ip_key(Some(" 203.0.113.9 ")), "ip:203.0.113.9");
        assert_eq!(ip_key(None), "ip:unknown");
        assert_eq!(
            Policy::parse("caller", " 5/10 ", "X"),
            Ok(Policy { name: "caller", limit: 5, window_seconds: 10 })
        );
        for bad in ["5/30", "0/60", "five/60", "60"] {
            assert!(Policy::parse("caller", bad, "X").unwrap_err().contains("X must be"), "{bad}");
        }
    }
}
