//! Which browser origins may call the server (DNS-rebinding protection and CORS).
//!
//! Requests without `Origin` (servers, CLIs, native apps) pass. Browser requests pass from localhost, from
//! the server's own origin, and from the origins the deployer lists; everything else gets 403.

/// The configured policy (`MCP_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    any: bool,
}

impl OriginPolicy {
    /// From a comma-separated list; `*` allows every origin.
    pub fn parse(list: &str) -> Self {
        let mut policy = Self::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                policy.any = true;
            } else {
                policy
                    .allowed
                    .push(item.trim_end_matches('/').to_ascii_lowercase());
            }
        }
        policy
    }

    /// Whether a request carrying `origin` may proceed; `own_origin` is the server's own
    /// `scheme://host[:port]`.
    pub fn allows(&self, origin: &str, own_origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.any
            || origin == own_origin.to_ascii_lowercase()
            || is_loopback_origin(&origin)
            || self.allowed.contains(&origin)
    }
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, on any port.
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    is_loopback_host(rest)
}

/// A `Host` header value (or the authority of an origin) naming this machine.
pub fn is_loopback_host(authority: &str) -> bool {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next() == Some("::1");
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_pass_by_default() {
        let p = OriginPolicy::parse("");
        for o in [
            "http://localhost:6274",
            "http://127.0.0.1:8787",
            "https://localhost",
            "http://[::1]:3000",
        ] {
            assert!(p.allows(o, "https://mcp.example.workers.dev"), "{o}");
        }
        for o in [
            "https://evil.example",
            "http://localhost.evil.example",
            "null",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(!p.allows(o, "https://mcp.example.workers.dev"), "{o}");
        }
    }

    #[test]
    fn own_origin_and_listed_origins_pass() {
        let p = OriginPolicy::parse(" https://chatgpt.com, https://App.Example.com/ ");
        assert!(p.allows("https://chatgpt.com", "https://me.dev"));
        assert!(p.allows("https://app.example.com", "https://me.dev"));
        assert!(p.allows("https://me.dev", "https://me.dev"));
        assert!(!p.allows("https://other.example.com", "https://me.dev"));
        assert!(OriginPolicy::parse("*").allows("https://anything.example", "https://me.dev"));
    }
}
