//! Static bearer keys (`MCP_API_KEYS`), for clients that can only send a header (the Responses API,
//! `mcp-remote --header`). Only SHA-256 digests are kept, and they are compared in constant time.

use sha2::{Digest, Sha256};

#[derive(Clone, Default, PartialEq)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.digests.len())
    }
}

impl ApiKeys {
    /// Keys separated by commas or whitespace.
    pub fn parse(list: &str) -> Self {
        Self {
            digests: list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|k| !k.is_empty())
                .map(digest)
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// The index of the key equal to `token`. Every key is compared in full, so timing reveals nothing.
    pub fn find(&self, token: &str) -> Option<usize> {
        let candidate = digest(token);
        let mut found = None;
        for (i, key) in self.digests.iter().enumerate() {
            if constant_time_eq(key, &candidate) {
                found = Some(i);
            }
        }
        found
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_keys() {
        let keys = ApiKeys::parse("k1, k2\nk3,,");
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.find("k3"), Some(2));
        assert_eq!(keys.find("k4"), None);
        assert_eq!(keys.find(""), None);
        assert!(ApiKeys::parse(" , ").is_empty());
        assert!(!format!("{keys:?}").contains("k1"));
    }
}
