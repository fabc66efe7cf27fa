//! A JSON Schema 2020-12 validator for the keywords tool schemas use.
//!
//! Tool arguments are checked against the very schema `tools/list` advertises, so what clients are told
//! and what the server enforces cannot drift apart. Covered: `type`, `enum`, `const`, `properties`,
//! `required`, `additionalProperties`, `items`, `minItems`/`maxItems`, `minLength`/`maxLength`,
//! `minimum`/`maximum` and their exclusive forms, `allOf`/`anyOf`/`oneOf`/`not`, and local `$ref`s into
//! `$defs`. `format` and `pattern` are annotations here (2020-12 does not require asserting `format`).

use serde_json::{Map, Value};

/// Checks `value` against `schema`. Each error names the JSON pointer of the offending value.
pub fn validate(value: &Value, schema: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check(value, schema, schema, &Pointer::Root, &mut errors, 0);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Deep enough for any real tool schema, and a stop for cyclic `$ref`s.
const MAX_DEPTH: usize = 64;

fn check(
    value: &Value,
    schema: &Value,
    root: &Value,
    path: &Pointer,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        errors.push(format!("{}: schema nests too deeply", display(path)));
        return;
    }
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{}: no value is allowed here", display(path)));
            return;
        }
        Value::Object(map) => map,
        _ => return,
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match resolve(root, reference) {
            Some(target) => check(value, target, root, path, errors, depth + 1),
            None => errors.push(format!("{}: unresolvable $ref {reference}", display(path))),
        }
    }
    if let Some(expected) = schema.get("type") {
        if !type_matches(value, expected) {
            errors.push(format!(
                "{}: expected {}, got {}",
                display(path),
                describe_type(expected),
                type_name(value)
            ));
            return;
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            errors.push(format!("{}: must be one of {}", display(path), Value::Array(options.clone())));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            errors.push(format!("{}: must equal {constant}", display(path)));
        }
    }
    match value {
        Value::Object(object) => check_object(object, schema, root, path, errors, depth),
        Value::Array(items) => check_array(items, schema, root, path, errors, depth),
        Value::String(s) => check_string(s, schema, path, errors),
        Value::Number(n) => check_number(n.as_f64().unwrap_or(f64::NAN), schema, path, errors),
        _ => {}
    }
    check_combinators(value, schema, root, path, errors, depth);
}

fn check_object(
    object: &Map<String, Value>,
    schema: &Map<String, Value>,
    root: &Value,
    path: &Pointer,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{}: missing required property {name:?}", display(path)));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (name, item) in object {
        let child = Pointer::Key(path, name);
        match properties.and_then(|p| p.get(name)) {
            Some(sub) => check(item, sub, root, &child, errors, depth + 1),
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    errors.push(format!("{}: unknown property {name:?}", display(path)))
                }
                Some(sub @ Value::Object(_)) => check(item, sub, root, &child, errors, depth + 1),
                _ => {}
            },
        }
    }
}

fn check_array(
    items: &[Value],
    schema: &Map<String, Value>,
    root: &Value,
    path: &Pointer,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
        if (items.len() as u64) < min {
            errors.push(format!("{}: needs at least {min} items", display(path)));
        }
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
        if items.len() as u64 > max {
            errors.push(format!("{}: allows at most {max} items", display(path)));
        }
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, root, &Pointer::Index(path, i), errors, depth + 1);
        }
    }
}

fn check_string(s: &str, schema: &Map<String, Value>, path: &Pointer, errors: &mut Vec<String>) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if len < min {
            errors.push(format!("{}: must be at least {min} characters", display(path)));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if len > max {
            errors.push(format!("{}: must be at most {max} characters", display(path)));
        }
    }
}

fn check_number(n: f64, schema: &Map<String, Value>, path: &Pointer, errors: &mut Vec<String>) {
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(min) = bound("minimum") {
        if n < min {
            errors.push(format!("{}: must be >= {min}", display(path)));
        }
    }
    if let Some(max) = bound("maximum") {
        if n > max {
            errors.push(format!("{}: must be <= {max}", display(path)));
        }
    }
    if let Some(min) = bound("exclusiveMinimum") {
        if n <= min {
            errors.push(format!("{}: must be > {min}", display(path)));
        }
    }
    if let Some(max) = bound("exclusiveMaximum") {
        if n >= max {
            errors.push(format!("{}: must be < {max}", display(path)));
        }
    }
}

fn check_combinators(
    value: &Value,
    schema: &Map<String, Value>,
    root: &Value,
    path: &Pointer,
    errors: &mut Vec<String>,
    depth: usize,
) {
    let passes = |sub: &Value| {
        let mut scratch = Vec::new();
        check(value, sub, root, path, &mut scratch, depth + 1);
        scratch.is_empty()
    };
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for sub in all {
            check(value, sub, root, path, errors, depth + 1);
        }
    }
    if let Some(Value::Array(any)) = schema.get("anyOf") {
        if !any.iter().any(passes) {
            errors.push(format!("{}: matches none of the allowed forms", display(path)));
        }
    }
    if let Some(Value::Array(one)) = schema.get("oneOf") {
        let matched = one.iter().filter(|s| passes(s)).count();
        if matched != 1 {
            errors
                .push(format!("{}: must match exactly one allowed form (matched {matched})", display(path)));
        }
    }
    if let Some(not) = schema.get("not") {
        if passes(not) {
            errors.push(format!("{}: matches a forbidden form", display(path)));
        }
    }
}

/// Resolves `#`, `#/$defs/Name` and other local JSON pointers.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        Some(root)
    } else {
        root.pointer(pointer)
    }
}

fn type_matches(value: &Value, expected: &Value) -> bool {
    match expected {
        Value::String(name) => is_type(value, name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(|n| is_type(value, n)),
        _ => true,
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
            _ => false,
        },
        _ => false,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn describe_type(expected: &Value) -> String {
    match expected {
        Value::String(s) => s.clone(),
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        other => other.to_string(),
    }
}

/// Where a value sits in the arguments: a JSON pointer, written out only when an error names it (building it
/// for every property checked cost three allocations each).
enum Pointer<'a> {
    Root,
    Key(&'a Pointer<'a>, &'a str),
    Index(&'a Pointer<'a>, usize),
}

impl std::fmt::Display for Pointer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pointer::Root => Ok(()),
            Pointer::Key(parent, name) => {
                write!(f, "{parent}/{}", name.replace('~', "~0").replace('/', "~1"))
            }
            Pointer::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

/// How an error names the value: its pointer, or `arguments` for the whole.
fn display(path: &Pointer) -> String {
    match path {
        Pointer::Root => "arguments".to_string(),
        path => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_valid_and_reports_each_problem_with_its_path() {
        let schema = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
            },
            "required": ["query"],
            "additionalProperties": false
        });
        assert!(validate(&json!({"query": "x", "limit": 3, "tags": ["a"]}), &schema).is_ok());
        assert!(validate(&json!({"query": "x", "limit": null}), &schema).is_ok());
        let errors =
            validate(&json!({"limit": 0.5, "tags": ["a", 2, "c"], "extra": 1}), &schema).unwrap_err();
        let text = errors.join("\n");
        assert!(text.contains("missing required property \"query\""), "{text}");
        assert!(text.contains("/limit: expected integer or null, got number"), "{text}");
        assert!(text.contains("/tags: allows at most 2 items"), "{text}");
        assert!(text.contains("/tags/1: expected string, got number"), "{text}");
        assert!(text.contains("unknown property \"extra\""), "{text}");
        assert!(validate(&json!({"query": ""}), &schema).is_err());
        assert!(validate(&json!({"query": "x", "limit": 51}), &schema).is_err());
    }

    #[test]
    fn follows_local_refs_and_combinators() {
        let schema = json!({
            "type": "object",
            "properties": {"mode": {"$ref": "#/$defs/Mode"}, "n": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
            "$defs": {"Mode": {"enum": ["fast", "slow"]}}
        });
        assert!(validate(&json!({"mode": "fast", "n": 1}), &schema).is_ok());
        assert!(validate(&json!({"mode": "medium"}), &schema).is_err());
        assert!(validate(&json!({"n": true}), &schema).is_err());
    }

    #[test]
    fn cyclic_refs_stop() {
        let schema = json!({"$ref": "#"});
        assert!(validate(&json!(1), &schema).is_err());
    }

    #[test]
    fn boolean_schemas() {
        assert!(validate(&json!({"a": 1}), &json!(true)).is_ok());
        assert!(validate(&json!(1), &json!(false)).is_err());
    }
}
