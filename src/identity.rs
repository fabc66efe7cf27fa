//! Who is calling: the identity authentication establishes for every request, carried through the request
//! context, recorded by the sessions it opens, and named in logs and limits.

use std::fmt;

/// A caller, by a stable id that never contains a credential: `key:<name>` for a named API key,
/// `key:<digest prefix>` for an unnamed one, `anonymous` when no credentials are needed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    id: String,
}

impl Identity {
    /// The caller of an open deployment (development mode, or `MCP_ALLOW_ANONYMOUS`).
    pub fn anonymous() -> Self {
        Self { id: "anonymous".into() }
    }

    /// The holder of an API key, named by the key's configured name or a digest prefix.
    pub fn api_key(label: &str) -> Self {
        Self { id: format!("key:{label}") }
    }

    /// An identity by its id, as recorded earlier (a session's owner, the Worker's word to the session object).
    pub fn from_id(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }

    /// The stable id: compare identities by it, log it, limit by it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}
