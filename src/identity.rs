//! Who is calling: the identity authentication establishes for every request, carried through the request
//! context, recorded by the sessions it opens, and named in logs and limits.

use std::fmt;

/// A caller, by a stable id that never contains a credential: `github:<user id>` for a user signed in with
/// GitHub (stable across login renames), `key:<name>` for a named API key, `key:<digest prefix>` for an
/// unnamed one, `anonymous` when no credentials are needed. A signed-in user also carries a login and a name
/// for tools to show; identities compare by id alone.
#[derive(Debug, Clone)]
pub struct Identity {
    id: String,
    login: Option<String>,
    name: Option<String>,
}

/// What kind of caller an identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    User,
    ApiKey,
    Anonymous,
}

impl CallerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Anonymous => "anonymous",
        }
    }
}

impl Identity {
    /// The caller of an open deployment (development mode, or `MCP_ALLOW_ANONYMOUS`).
    pub fn anonymous() -> Self {
        Self::from_id("anonymous")
    }

    /// The holder of an API key, named by the key's configured name or a digest prefix.
    pub fn api_key(label: &str) -> Self {
        Self::from_id(format!("key:{label}"))
    }

    /// A user signed in with GitHub, by GitHub's numeric id.
    pub fn user(github_id: u64, login: &str, name: Option<&str>) -> Self {
        Self {
            id: format!("github:{github_id}"),
            login: Some(login.to_string()),
            name: name.map(str::to_string),
        }
    }

    /// An identity by its id, as recorded earlier (a session's owner, the Worker's word to the session object).
    pub fn from_id(id: impl Into<String>) -> Self {
        Self { id: id.into(), login: None, name: None }
    }

    /// The same identity with the profile the Worker passed along (a user's login and name).
    pub fn with_profile(mut self, login: Option<String>, name: Option<String>) -> Self {
        self.login = login;
        self.name = name;
        self
    }

    /// The stable id: compare identities by it, log it, limit by it.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> CallerKind {
        if self.id.starts_with("github:") {
            CallerKind::User
        } else if self.id.starts_with("key:") {
            CallerKind::ApiKey
        } else {
            CallerKind::Anonymous
        }
    }

    /// A signed-in user's GitHub login.
    pub fn login(&self) -> Option<&str> {
        self.login.as_deref()
    }

    /// A signed-in user's display name; an API key's name.
    pub fn name(&self) -> Option<&str> {
        match self.kind() {
            CallerKind::ApiKey => self.id.strip_prefix("key:"),
            _ => self.name.as_deref(),
        }
    }

    /// A signed-in user's GitHub id.
    pub fn github_id(&self) -> Option<u64> {
        self.id.strip_prefix("github:")?.parse().ok()
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Identity {}

impl std::hash::Hash for Identity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_named_by_github_id_and_compare_by_it() {
        let u = Identity::user(583231, "octocat", Some("The Octocat"));
        assert_eq!(u.id(), "github:583231");
        assert_eq!(
            (u.kind(), u.login(), u.name(), u.github_id()),
            (CallerKind::User, Some("octocat"), Some("The Octocat"), Some(583231))
        );
        assert_eq!(u, Identity::user(583231, "renamed", None), "a login rename is the same user");
        assert_eq!(
            Identity::from_id("github:583231").with_profile(Some("octocat".into()), None).login(),
            Some("octocat")
        );
    }

    #[test]
    fn keys_and_anonymous_have_their_kinds() {
        let k = Identity::api_key("ci");
        assert_eq!((k.kind(), k.name(), k.login()), (CallerKind::ApiKey, Some("ci"), None));
        assert_eq!(Identity::anonymous().kind(), CallerKind::Anonymous);
        assert_eq!(Identity::anonymous().name(), None);
    }
}
