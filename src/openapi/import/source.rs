//! Reading a spec: from a file or an https URL, as JSON or YAML.

use indexmap::IndexMap;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::fetch::{fetch, FetchLimits};
use super::ImportError;

/// The largest spec read, from a file or a URL (GitHub's is 13 MB).
pub const MAX_SPEC_BYTES: u64 = 32 * 1024 * 1024;

/// The spec's bytes: fetched when `source` is an http(s) URL (see [`fetch`]), else read from the file.
pub fn read(source: &str) -> Result<Vec<u8>, ImportError> {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return fetch(source, &FetchLimits::default());
    }
    let size = std::fs::metadata(source).map_err(|e| ImportError::Io(format!("{source}: {e}")))?.len();
    if size > MAX_SPEC_BYTES {
        return Err(ImportError::Io(format!(
            "{source}: {size} bytes, more than the {MAX_SPEC_BYTES} a spec may have"
        )));
    }
    std::fs::read(source).map_err(|e| ImportError::Io(format!("{source}: {e}")))
}

/// Only the order of `paths`: the document itself is a `serde_json::Value`, whose maps are sorted.
#[derive(Deserialize)]
struct PathOrder {
    #[serde(default)]
    paths: IndexMap<String, IgnoredAny>,
}

/// The document, and its paths in the order written. JSON when it starts with `{`, else YAML.
pub fn parse(text: &[u8]) -> Result<(Value, Vec<String>), ImportError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let json = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let parse_error = |e: &dyn std::fmt::Display| ImportError::Parse(e.to_string());
    let yaml = |json_error: Option<serde_json::Error>| -> Result<(Value, Option<PathOrder>), ImportError> {
        match serde_norway::from_slice(text) {
            Ok(doc) => Ok((doc, serde_norway::from_slice(text).ok())),
            // Text that looked like JSON gets the JSON parser's message.
            Err(e) => Err(match json_error {
                Some(j) => parse_error(&j),
                None => parse_error(&e),
            }),
        }
    };
    let (doc, order) = if json {
        match serde_json::from_slice(text) {
            Ok(doc) => (doc, serde_json::from_slice(text).ok()),
            // YAML's flow style also starts with `{` (and allows what JSON does not: comments, bare keys).
            Err(e) => yaml(Some(e))?,
        }
    } else {
        yaml(None)?
    };
    if !doc.is_object() {
        return Err(ImportError::NotOpenApi("the document is not an object".into()));
    }
    Ok((doc, order.map(|o| o.paths.into_keys().collect()).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_path_order_and_reads_numeric_keys_as_text() {
        let yaml = b"openapi: 3.0.0\npaths:\n  /z:\n    get:\n      responses:\n        200:\n          description: ok\n  /a: {}\n";
        let (doc, order) = parse(yaml).unwrap();
        assert_eq!(order, ["/z", "/a"]);
        assert_eq!(doc["paths"]["/z"]["get"]["responses"]["200"]["description"], "ok");
        let (_, order) = parse(b" {\"paths\": {\"/z\": {}, \"/a\": {}}}").unwrap();
        assert_eq!(order, ["/z", "/a"]);
        assert!(matches!(parse(b"{nope"), Err(ImportError::Parse(_))));
        let (doc, order) = parse(b"{openapi: 3.1.0, paths: {/b: {}, /a: {}}}").unwrap();
        assert_eq!(
            (doc["openapi"].as_str(), order),
            (Some("3.1.0"), vec!["/b".to_string(), "/a".to_string()])
        );
        assert!(matches!(parse(b"- a\n- b\n"), Err(ImportError::NotOpenApi(_))));
    }
}
