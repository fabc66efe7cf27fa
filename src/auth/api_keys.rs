//! Static bearer keys (`MCP_API_KEYS`), for clients that can only send a header (the Responses API,
//! `mcp-remote --header`). Entries are `name:key` pairs or bare keys; only SHA-256 digests are kept, compared
//! in constant time. A key's identity is its name, or for a bare key a prefix of its digest: stable when other
//! keys are added or removed, and never the key itself.

use sha2::{Digest, Sha256};

use crate::identity::Identity;

#[derive(Clone, PartialEq)]
struct Entry {
    label: String,
    digest: [u8; 32],
    /// The key's caller, made once (checked on every request).
    identity: Identity,
}

#[derive(Clone, Default, PartialEq)]
pub struct ApiKeys {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.entries.iter().map(|e| e.label.as_str()).collect();
        write!(f, "ApiKeys({labels:?})")
    }
}

/// Hex characters of the digest that name an unnamed key.
const DIGEST_PREFIX_CHARS: usize = 12;

impl ApiKeys {
    /// Entries separated by commas or whitespace; `name:key` names a key (names: letters, digits, `-`, `_`,
    /// `.`). An empty name or key, or a name used twice, is an error naming the setting (never the key).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut entries: Vec<Entry> = Vec::new();
        for item in list.split(|c: char| c == ',' || c.is_whitespace()).filter(|k| !k.is_empty()) {
            let (label, key) = match item.split_once(':') {
                Some((name, key)) => {
                    let valid = !name.is_empty()
                        && name.len() <= 64
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                    if !valid || key.is_empty() {
                        return Err(format!(
                            "MCP_API_KEYS: entry {} must be `name:key` with a name of letters, digits, `-`, `_` or \
                             `.`, or a bare key",
                            entries.len() + 1
                        ));
                    }
                    (name.to_string(), key)
                }
                None => (hex_prefix(&digest(item)), item),
            };
            if entries.iter().any(|e| e.label == label) {
                return Err(format!("MCP_API_KEYS: the name {label:?} is used twice"));
            }
            entries.push(Entry { identity: Identity::api_key(&label), label, digest: digest(key) });
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The identity of the key equal to `token`. Every key is compared in full, so timing reveals nothing.
    pub fn find(&self, token: &str) -> Option<Identity> {
        let candidate = digest(token);
        let mut found = None;
        for entry in &self.entries {
            if constant_time_eq(&entry.digest, &candidate) {
                found = Some(&entry.identity);
            }
        }
        found.cloned()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex_prefix(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect::<String>()[..DIGEST_PREFIX_CHARS].to_string()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_bare_keys_have_stable_identities() {
        let keys = ApiKeys::parse("alice:k1, k2\nbob:k3,,").unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.find("k1"), Some(Identity::api_key("alice")));
        assert_eq!(keys.find("k3"), Some(Identity::api_key("bob")));
        let bare = keys.find("k2").unwrap();
        assert!(bare.id().starts_with("key:") && bare.id().len() == 4 + DIGEST_PREFIX_CHARS, "{bare}");
        assert!(!bare.id().contains("k2"));
        // Rotating other keys does not change a key's identity.
        assert_eq!(ApiKeys::parse("k2").unwrap().find("k2"), Some(bare));
        assert_eq!(keys.find("k4"), None);
        assert_eq!(keys.find(""), None);
        assert!(ApiKeys::parse(" , ").unwrap().is_empty());
        assert!(!format!("{keys:?}").contains("k1"));
    }

    #[test]
    fn malformed_entries_name_the_setting_not_the_key() {
        for bad in [":secret-key", "a/b:secret-key", "alice:", "alice:k1,alice:k2"] {
            let err = ApiKeys::parse(bad).unwrap_err();
            assert!(err.contains("MCP_API_KEYS"), "{err}");
            assert!(!err.contains("secret-key") && !err.contains("k1"), "{err}");
        }
    }
}
