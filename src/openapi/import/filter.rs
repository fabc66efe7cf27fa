//! Which operations an import keeps: include and exclude lists by tag, method, path pattern and operation id.
//!
//! An operation is kept when, for every kind of include list given, it matches one entry of it, and it matches
//! no entry of any exclude list. Path patterns are globs over the path template as the spec writes it
//! (`/repos/{owner}/{repo}`): `*` matches within one segment (no `/`), `**` matches anything, `/` included;
//! everything else matches itself. So `/repos/*` is `/repos/{owner}` only, and `/repos/**` everything below it.

use crate::openapi::index::Method;

/// The filters of one import.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub include_tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub include_methods: Vec<String>,
    pub exclude_methods: Vec<String>,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    pub include_operations: Vec<String>,
    pub exclude_operations: Vec<String>,
    pub exclude_deprecated: bool,
}

/// What the filters look at.
pub struct Candidate<'a> {
    pub method: Method,
    pub path: &'a str,
    pub operation_id: Option<&'a str>,
    pub tags: &'a [String],
    pub deprecated: bool,
}

impl Filters {
    /// None if the operation is kept, else why not.
    pub fn rejects(&self, op: &Candidate) -> Option<String> {
        let tag = |t: &String| op.tags.iter().any(|x| x == t);
        let method = |m: &String| m.eq_ignore_ascii_case(op.method.as_str());
        let path = |p: &String| glob_matches(p, op.path);
        let id = |i: &String| op.operation_id == Some(i.as_str());
        if !self.include_tags.is_empty() && !self.include_tags.iter().any(tag) {
            return Some("not in an included tag".into());
        }
        if !self.include_methods.is_empty() && !self.include_methods.iter().any(method) {
            return Some("not an included method".into());
        }
        if !self.include_paths.is_empty() && !self.include_paths.iter().any(path) {
            return Some("not under an included path".into());
        }
        if !self.include_operations.is_empty() && !self.include_operations.iter().any(id) {
            return Some("not an included operation".into());
        }
        if self.exclude_tags.iter().any(tag) {
            return Some("excluded tag".into());
        }
        if self.exclude_methods.iter().any(method) {
            return Some("excluded method".into());
        }
        if self.exclude_paths.iter().any(path) {
            return Some("excluded path".into());
        }
        if self.exclude_operations.iter().any(id) {
            return Some("excluded operation".into());
        }
        if self.exclude_deprecated && op.deprecated {
            return Some("deprecated".into());
        }
        None
    }
}

/// Whether `path` matches the glob `pattern` (see the module doc).
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'*', rest @ ..] => {
                let segment = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
                (0..=segment).any(|i| go(rest, &s[i..]))
            }
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_stay_within_a_segment_unless_doubled() {
        assert!(glob_matches("/repos/*", "/repos/{owner}"));
        assert!(!glob_matches("/repos/*", "/repos/{owner}/{repo}"));
        assert!(glob_matches("/repos/**", "/repos/{owner}/{repo}/issues"));
        assert!(glob_matches("/repos/*/*/issues*", "/repos/{owner}/{repo}/issues"));
        assert!(glob_matches("**/comments", "/repos/{owner}/{repo}/issues/comments"));
        assert!(!glob_matches("/user", "/users"));
        assert!(glob_matches("/user", "/user"));
    }

    #[test]
    fn includes_of_each_kind_must_all_match_and_any_exclude_rejects() {
        let tags = vec!["pet".to_string()];
        let op = Candidate {
            method: Method::Get,
            path: "/pet/{petId}",
            operation_id: Some("getPetById"),
            tags: &tags,
            deprecated: true,
        };
        let f = |f: Filters| f.rejects(&op);
        assert_eq!(f(Filters::default()), None);
        assert_eq!(
            f(Filters {
                include_tags: vec!["pet".into()],
                include_methods: vec!["get".into()],
                ..Default::default()
            }),
            None
        );
        assert!(f(Filters {
            include_tags: vec!["pet".into()],
            include_methods: vec!["POST".into()],
            ..Default::default()
        })
        .is_some());
        assert!(f(Filters { exclude_paths: vec!["/pet/*".into()], ..Default::default() }).is_some());
        assert!(f(Filters { include_operations: vec!["addPet".into()], ..Default::default() }).is_some());
        assert!(f(Filters { exclude_operations: vec!["getPetById".into()], ..Default::default() }).is_some());
        assert!(f(Filters { exclude_tags: vec!["pet".into()], ..Default::default() }).is_some());
        assert_eq!(f(Filters { exclude_deprecated: true, ..Default::default() }), Some("deprecated".into()));
    }
}
