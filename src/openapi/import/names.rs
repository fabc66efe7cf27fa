//! Tool and argument names. Clients are stricter than the MCP spec (some cap names at 64 characters, some reject
//! dots), so tool names keep to `[A-Za-z0-9_-]` and [`MAX_TOOL_NAME`] characters; a name cut short or taken
//! already gets a suffix derived from the operation's method and path, so the same spec always gives the same
//! names.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::openapi::index::Method;

/// The longest tool name written, leaving room for a client's server prefix.
pub const MAX_TOOL_NAME: usize = 56;
/// The longest argument name (clients' limit on property names).
pub const MAX_ARG_NAME: usize = 64;
/// `_` and 8 hex digits.
const SUFFIX_LEN: usize = 9;

/// Whether `name` is a tool name this importer would write (used to check `--rename` targets).
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_TOOL_NAME && name.bytes().all(tool_byte)
}

fn tool_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `raw` with every other character as `_` (GitHub's ids are `repos/get-content`), runs of `_` collapsed and
/// none at either end.
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii() && tool_byte(c as u8) { c } else { '_' };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The name an operation asks for: its `operationId`, else its method and path (`get_pets_petId`).
pub fn base_name(operation_id: Option<&str>, method: Method, path: &str) -> String {
    let from_id = operation_id.map(sanitize).unwrap_or_default();
    if !from_id.is_empty() {
        return from_id;
    }
    sanitize(&format!("{}_{}", method.as_str().to_ascii_lowercase(), path.replace(['{', '}'], "")))
}

/// 8 hex digits of SHA-256 over `METHOD path`: the same operation always gets the same suffix.
pub fn short_hash(method: Method, path: &str) -> String {
    let digest = Sha256::digest(format!("{} {}", method.as_str(), path).as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// `name` cut to leave room for `suffix` within [`MAX_TOOL_NAME`], then the suffix.
fn with_suffix(name: &str, suffix: &str) -> String {
    let keep = MAX_TOOL_NAME.saturating_sub(suffix.len());
    // ASCII only, so any byte index is a character boundary.
    format!("{}{suffix}", name[..name.len().min(keep)].trim_end_matches(['_', '-']))
}

/// Hands out unique tool names in the order operations come.
#[derive(Default)]
pub struct ToolNames {
    taken: HashSet<String>,
}

impl ToolNames {
    /// Reserves a name chosen by the operator (`--rename`); false if it is taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_string())
    }

    /// A unique name for an operation: its base name, cut to length with the hash suffix if too long, with the
    /// suffix if taken, then `_2`, `_3`... in the unlikely case that is taken too.
    pub fn allocate(&mut self, base: &str, method: Method, path: &str) -> String {
        let hash = format!("_{}", short_hash(method, path));
        debug_assert_eq!(hash.len(), SUFFIX_LEN);
        let first = if base.len() > MAX_TOOL_NAME { with_suffix(base, &hash) } else { base.to_string() };
        let mut name = first.clone();
        if self.taken.contains(&name) {
            name = with_suffix(base, &hash);
        }
        let mut n = 2;
        while self.taken.contains(&name) {
            name = with_suffix(&first, &format!("_{n}"));
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// An argument name: the parameter's or property's name with characters clients reject in property names as
/// `_`, at most [`MAX_ARG_NAME`] long.
pub fn sanitize_arg(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .take(MAX_ARG_NAME)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Argument names for one operation's arguments, given as (name, location) in order: each its sanitized name,
/// with `__<location>` only where two arguments would share a name, then `_2`... if even that collides.
pub fn argument_names(args: &[(&str, &str)]) -> Vec<String> {
    let bases: Vec<String> = args.iter().map(|(name, _)| sanitize_arg(name)).collect();
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(args.len());
    for (i, base) in bases.iter().enumerate() {
        let collides = bases.iter().filter(|b| *b == base).count() > 1;
        let first = if collides { format!("{base}__{}", args[i].1) } else { base.clone() };
        let mut name = first.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{first}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_ids_and_falls_back_to_method_and_path() {
        assert_eq!(sanitize("repos/get-content"), "repos/get-content".replace('/', "_"));
        assert_eq!(sanitize("  a..b / c!"), "a_b_c");
        assert_eq!(sanitize("é"), "");
        assert_eq!(base_name(Some("repos/get"), Method::Get, "/x"), "repos_get");
        assert_eq!(base_name(None, Method::Get, "/pets/{petId}"), "get_pets_petId");
        assert_eq!(base_name(Some("!!"), Method::Delete, "/"), "delete");
        assert!(is_valid_tool_name("get_pets-1"));
        assert!(!is_valid_tool_name("get.pets"));
        assert!(!is_valid_tool_name(&"a".repeat(57)));
    }

    #[test]
    fn long_names_are_cut_with_a_deterministic_suffix() {
        let long = "a".repeat(80);
        let one = ToolNames::default().allocate(&long, Method::Get, "/x");
        let again = ToolNames::default().allocate(&long, Method::Get, "/x");
        let other = ToolNames::default().allocate(&long, Method::Post, "/x");
        assert_eq!(one, again);
        assert_ne!(one, other);
        assert_eq!(one.len(), MAX_TOOL_NAME);
        assert!(one.ends_with(&format!("_{}", short_hash(Method::Get, "/x"))));
        assert!(is_valid_tool_name(&one));
    }

    #[test]
    fn taken_names_get_the_hash_suffix_then_a_counter() {
        let mut names = ToolNames::default();
        assert_eq!(names.allocate("list", Method::Get, "/a"), "list");
        let second = names.allocate("list", Method::Get, "/b");
        assert_eq!(second, format!("list_{}", short_hash(Method::Get, "/b")));
        // The same method and path again (a spec cannot have it, but renames can force it): a counter.
        let third = names.allocate("list", Method::Get, "/b");
        assert_eq!(third, "list_2");
        assert!(names.reserve("mine"));
        assert!(!names.reserve("list"));
        assert_eq!(
            names.allocate("mine", Method::Get, "/c"),
            format!("mine_{}", short_hash(Method::Get, "/c"))
        );
    }

    #[test]
    fn arguments_get_a_location_suffix_only_on_collision() {
        let names = argument_names(&[("id", "path"), ("id", "query"), ("limit", "query"), ("id", "body")]);
        assert_eq!(names, ["id__path", "id__query", "limit", "id__body"]);
        assert_eq!(
            argument_names(&[("filter[name]", "query"), ("filter_name_", "query")]),
            ["filter_name___query", "filter_name___query_2"]
        );
        assert_eq!(sanitize_arg(&"x".repeat(70)).len(), MAX_ARG_NAME);
        assert_eq!(argument_names(&[("a b", "query"), ("", "header")]), ["a_b", "_"]);
    }
}
