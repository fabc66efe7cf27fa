//! Protocol revisions and version negotiation.

use serde::{Deserialize, Serialize};

/// The protocol revisions this server speaks: over a session (`initialize` first), and the stateless revisions
/// (2026-07-28 on), which have no handshake and are never the answer to `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolVersion {
    #[serde(rename = "2024-11-05")]
    V2024_11_05,
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

impl ProtocolVersion {
    /// Oldest first.
    pub const ALL: [ProtocolVersion; 5] =
        [Self::V2024_11_05, Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25, Self::V2026_07_28];
    /// What `initialize` can negotiate, oldest first.
    pub const STATEFUL: [ProtocolVersion; 4] =
        [Self::V2024_11_05, Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25];
    /// The revisions without a handshake or sessions: every request declares its context in `_meta`.
    pub const STATELESS: [ProtocolVersion; 1] = [Self::V2026_07_28];
    /// The newest revision `initialize` can negotiate: a stateless revision added later must not become the
    /// answer to a handshake it does not have.
    pub const LATEST_STATEFUL: ProtocolVersion = Self::V2025_11_25;
    /// What a Streamable HTTP request without an `MCP-Protocol-Version` header is taken to speak.
    pub const HTTP_DEFAULT: ProtocolVersion = Self::V2025_03_26;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The answer to a client's `initialize`: its own version when supported, else our latest stateful one
    /// (the client then decides whether it can go on).
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).filter(|v| !v.is_stateless()).unwrap_or(Self::LATEST_STATEFUL)
    }

    /// A revision without sessions (2026-07-28 on).
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// JSON-RPC batches exist in 2025-03-26 (and the 2024-11-05 legacy transport) only.
    pub fn allows_batches(self) -> bool {
        self <= Self::V2025_03_26
    }

    /// Structured tool output (`outputSchema`, `structuredContent`) arrived in 2025-06-18.
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }

    /// SSE polling arrived in 2025-11-25: a priming event (an id, empty data) opens each SSE response, and the
    /// server may end a response early for the client to resume. Older clients fail on empty data.
    pub fn has_sse_polling(self) -> bool {
        self >= Self::V2025_11_25
    }

    /// The revisions a session can speak, for error messages of the session lane.
    pub fn supported_list() -> String {
        Self::STATEFUL.map(Self::as_str).join(", ")
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_supported_versions_and_falls_back_to_latest() {
        for v in ProtocolVersion::STATEFUL {
            assert_eq!(ProtocolVersion::negotiate(v.as_str()), v);
        }
        assert_eq!(ProtocolVersion::negotiate("2099-01-01"), ProtocolVersion::LATEST_STATEFUL);
        assert_eq!(ProtocolVersion::negotiate(""), ProtocolVersion::LATEST_STATEFUL);
        // A stateless revision has no handshake to negotiate.
        assert_eq!(ProtocolVersion::negotiate("2026-07-28"), ProtocolVersion::LATEST_STATEFUL);
    }

    #[test]
    fn batches_only_in_old_revisions() {
        assert!(ProtocolVersion::V2025_03_26.allows_batches());
        assert!(ProtocolVersion::V2024_11_05.allows_batches());
        assert!(!ProtocolVersion::V2025_06_18.allows_batches());
        assert!(!ProtocolVersion::V2025_11_25.allows_batches());
    }

    #[test]
    fn serde_uses_the_date_strings() {
        let v: ProtocolVersion = serde_json::from_str("\"2025-06-18\"").unwrap();
        assert_eq!(v, ProtocolVersion::V2025_06_18);
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"2025-06-18\"");
    }
}
