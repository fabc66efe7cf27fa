//! Which browser origins may call the server (DNS-rebinding protection and CORS).
//!
//! Requests without `Origin` (servers, CLIs, native apps) pass. Browser requests pass from the origins the
//! deployer lists, and from localhost in development mode only; everything else gets 403. The server's "own" origin is deliberately
//! not trusted: it is derived from the `Host` header, which a DNS-rebinding attacker controls.
//!
//! `Host` is checked too when the deployer lists hosts (`MCP_ALLOWED_HOSTS`): loopback names pass in
//! development mode.

/// The configured policy (`MCP_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    any: bool,
    loopback: bool,
}

impl OriginPolicy {
    /// From a comma-separated list; `*` allows every origin. `loopback` (development mode) allows
    /// localhost origins too.
    pub fn parse(list: &str, loopback: bool) -> Self {
        let mut policy = Self { loopback, ..Self::default() };
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                policy.any = true;
            } else {
                policy.allowed.push(item.trim_end_matches('/').to_ascii_lowercase());
            }
        }
        policy
    }

    /// Whether a request carrying `origin` may proceed.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.any || (self.loopback && is_loopback_origin(&origin)) || self.allowed.contains(&origin)
    }
}

/// The configured hosts (`MCP_ALLOWED_HOSTS`); empty means any `Host`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostPolicy {
    allowed: Vec<String>,
    loopback: bool,
}

impl HostPolicy {
    /// From a comma-separated list of host names (with or without port); `loopback` (development mode)
    /// admits loopback names too.
    pub fn parse(list: &str, loopback: bool) -> Self {
        Self {
            loopback,
            allowed: list
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether any `Host` is allowed (no list configured): the router then need not read the header.
    pub fn allows_any(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether a request for `host` (the `Host` header) may proceed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = host
            .rsplit_once(':')
            .filter(|(n, _)| !n.ends_with(']') || n.starts_with('['))
            .map_or(host.as_str(), |(n, _)| n);
        self.allowed.is_empty()
            || (self.loopback && is_loopback_host(&host))
            || self.allowed.iter().any(|a| *a == host || *a == name)
    }
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, on any port.
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
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
    fn loopback_origins_pass_only_in_development() {
        assert!(!OriginPolicy::parse("", false).allows("http://localhost:6274"));
        let p = OriginPolicy::parse("", true);
        for o in ["http://localhost:6274", "http://127.0.0.1:8787", "https://localhost", "http://[::1]:3000"]
        {
            assert!(p.allows(o), "{o}");
        }
        for o in ["https://evil.example", "http://localhost.evil.example", "null", "http://127.0.0.1.nip.io"]
        {
            assert!(!p.allows(o), "{o}");
        }
    }

    #[test]
    fn listed_origins_pass_and_the_hosts_own_origin_does_not() {
        let p = OriginPolicy::parse(" https://chatgpt.com, https://App.Example.com/ ", false);
        assert!(p.allows("https://chatgpt.com"));
        assert!(p.allows("https://app.example.com"));
        // A rebinding attacker sets Host and Origin alike; matching them proves nothing.
        assert!(!p.allows("http://evil.example.com"));
        assert!(OriginPolicy::parse("*", false).allows("https://anything.example"));
    }

    #[test]
    fn hosts_are_checked_when_listed() {
        assert!(HostPolicy::parse("", false).allows("anything.example"));
        assert!(!HostPolicy::parse("mcp.example.com", false).allows("localhost:8787"));
        let p = HostPolicy::parse("mcp.example.com, api.example.com:8443", true);
        assert!(p.allows("mcp.example.com"));
        assert!(p.allows("MCP.example.com:443"));
        assert!(p.allows("api.example.com:8443"));
        assert!(p.allows("localhost:8787"));
        assert!(p.allows("[::1]:8787"));
        assert!(!p.allows("evil.example.com"));
        assert!(!p.allows("api.example.com:9999"));
    }
}
