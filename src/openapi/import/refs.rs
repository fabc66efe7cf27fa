//! Internal `$ref`s: JSON pointers into the spec itself (`#/components/schemas/Pet`), with the pointer escapes
//! (`~0`, `~1`) and the percent-encoding a URI fragment may carry. Anything else (another file, a URL) is
//! refused: following it would read local files or reach the network on the spec's say-so (the SSRF and
//! local-file bugs other OpenAPI tools shipped).

use serde_json::Value;

use super::ImportError;

/// Follows at most this many `$ref`s in a row (a chain of refs to refs); more is a loop.
const MAX_HOPS: usize = 32;

/// The reference tokens of an internal ref, decoded; an external ref is an error naming it.
pub fn pointer_tokens(reference: &str) -> Result<Vec<String>, ImportError> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(ImportError::ExternalRef(reference.to_string()));
    };
    let fragment = percent_decode(fragment).ok_or_else(|| invalid(reference, "bad percent-encoding"))?;
    if fragment.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = fragment.strip_prefix('/') else {
        return Err(invalid(reference, "only JSON pointers (#/...) are supported"));
    };
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

/// The value an internal ref points at.
pub fn resolve<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, ImportError> {
    let mut at = doc;
    for token in pointer_tokens(reference)? {
        at = match at {
            Value::Object(map) => map.get(&token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| invalid(reference, "points at nothing in the spec"))?;
    }
    Ok(at)
}

/// The `$ref` of an object, when it has one.
pub fn ref_of(value: &Value) -> Option<&str> {
    value.as_object()?.get("$ref")?.as_str()
}

/// `value`, or what its `$ref` (chain) points at: for parameters, request bodies, responses and the like,
/// whose siblings of `$ref` the spec says to ignore.
pub fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> Result<&'a Value, ImportError> {
    for _ in 0..MAX_HOPS {
        match ref_of(value) {
            Some(reference) => value = resolve(doc, reference)?,
            None => return Ok(value),
        }
    }
    Err(invalid(ref_of(value).unwrap_or_default(), "a loop of references"))
}

/// Refuses a spec with any external `$ref`, before anything else is read. Examples, defaults, enums and
/// extensions hold data, not refs, so they are not looked into.
pub fn refuse_external(value: &Value) -> Result<(), ImportError> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    if let Some(reference) = inner.as_str() {
                        if !reference.starts_with('#') {
                            return Err(ImportError::ExternalRef(reference.to_string()));
                        }
                    }
                } else if !matches!(key.as_str(), "example" | "examples" | "default" | "enum" | "const")
                    && !key.starts_with("x-")
                {
                    refuse_external(inner)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(refuse_external),
        _ => Ok(()),
    }
}

fn invalid(reference: &str, why: &str) -> ImportError {
    ImportError::BadRef { reference: reference.to_string(), why: why.to_string() }
}

/// Decodes `%XX` escapes; None if one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_unescape_tilde_slash_and_percent_in_that_order() {
        assert_eq!(pointer_tokens("#/a~1b/c~0d/~01").unwrap(), ["a/b", "c~d", "~1"]);
        assert_eq!(
            pointer_tokens("#/components/schemas/Foo%20Bar").unwrap(),
            ["components", "schemas", "Foo Bar"]
        );
        assert_eq!(pointer_tokens("#").unwrap(), Vec::<String>::new());
        assert!(matches!(pointer_tokens("#/x%zz"), Err(ImportError::BadRef { .. })));
        assert!(matches!(pointer_tokens("#anchor"), Err(ImportError::BadRef { .. })));
    }

    #[test]
    fn resolves_objects_and_array_indexes() {
        let doc = json!({"paths": {"/pets/{id}": {"get": {"parameters": [{"name": "id"}]}}}});
        let p = resolve(&doc, "#/paths/~1pets~1%7Bid%7D/get/parameters/0").unwrap();
        assert_eq!(p["name"], "id");
        assert!(matches!(resolve(&doc, "#/paths/nothing"), Err(ImportError::BadRef { .. })));
    }

    #[test]
    fn external_refs_are_refused_naming_the_ref() {
        for reference in
            ["other.yaml#/Pet", "https://example.com/schema.json", "file:///etc/passwd", "/etc/passwd"]
        {
            let err = pointer_tokens(reference).unwrap_err();
            assert!(err.to_string().contains(reference), "{err}");
            let doc = json!({"components": {"schemas": {"A": {"properties": {"b": {"$ref": reference}}}}}});
            assert!(matches!(refuse_external(&doc), Err(ImportError::ExternalRef(r)) if r == reference));
        }
        // Data that looks like a ref is not one.
        let doc = json!({"components": {"schemas": {"A": {"example": {"$ref": "https://x"}, "x-a": {"$ref": "y"}}}}});
        assert!(refuse_external(&doc).is_ok());
    }

    #[test]
    fn deref_follows_chains_and_stops_on_loops() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "c": {"x": 1}, "l": {"$ref": "#/m"}, "m": {"$ref": "#/l"}});
        assert_eq!(deref(&doc, &doc["a"]).unwrap(), &json!({"x": 1}));
        assert!(matches!(deref(&doc, &doc["l"]), Err(ImportError::BadRef { .. })));
    }
}
