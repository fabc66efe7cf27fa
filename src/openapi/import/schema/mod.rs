//! Turns the spec's schemas into the JSON Schema 2020-12 a tool's input or output schema holds: internal refs
//! resolved (inlined where a component appears once, kept as `$defs` + `#/$defs/<name>` where it appears more
//! than once or refers to itself, so recursion ends), OpenAPI 3.0 dialect turned into 2020-12 (`nullable`,
//! boolean `exclusiveMinimum`, Swagger's `type: file`), and the noise dropped (examples, XML, external docs,
//! extensions; long descriptions cut).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::refs::{pointer_tokens, ref_of, resolve};
use super::ImportError;

/// Schema descriptions longer than this are cut (the tool's own description has its own bound).
pub const SCHEMA_DESCRIPTION_LIMIT: usize = 300;

/// Output schemas keep this many levels of nesting (properties, items) below their root or a `$defs` entry;
/// deeper parts keep only their type. A response is validated leniently against its schema, and this keeps
/// GitHub's index a few MB rather than several times that (its responses nest repositories in events in
/// issues...).
pub const OUTPUT_DEPTH: usize = 2;

/// How deeply schemas may nest (through refs included) before the operation is refused: a hostile spec's chain of
/// thousands of components would otherwise exhaust the stack.
const MAX_NESTING: usize = 200;

/// Which dialect the spec's schemas are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0 (and Swagger 2.0 once converted): `nullable`, boolean exclusive bounds, `$ref` siblings
    /// ignored.
    V30,
    /// OpenAPI 3.1: JSON Schema 2020-12 already.
    V31,
}

/// Whether the schema describes what is sent (read-only properties optional, kept marked `readOnly`: specs
/// such as Petstore mark the id an update needs read-only) or received (write-only properties dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

/// Builds one tool schema document: every root converted through [`SchemaBuilder::convert`] shares its
/// `$defs`. Call [`SchemaBuilder::count`] on every root first, so that the builder knows which components
/// appear more than once.
pub struct SchemaBuilder<'a> {
    doc: &'a Value,
    dialect: Dialect,
    direction: Direction,
    counts: HashMap<String, usize>,
    recursive: HashSet<String>,
    stack: Vec<String>,
    def_names: HashMap<String, String>,
    defs: BTreeMap<String, Value>,
    /// Nesting below the root (or the `$defs` entry) being converted.
    depth: usize,
    /// Schema objects being counted or converted, one inside the other (see [`MAX_NESTING`]).
    nesting: usize,
}

impl<'a> SchemaBuilder<'a> {
    pub fn new(doc: &'a Value, dialect: Dialect, direction: Direction) -> Self {
        SchemaBuilder {
            doc,
            dialect,
            direction,
            counts: HashMap::new(),
            recursive: HashSet::new(),
            stack: Vec::new(),
            def_names: HashMap::new(),
            defs: BTreeMap::new(),
            depth: 0,
            nesting: 0,
        }
    }

    /// First pass over one root: counts each ref's occurrences (each component looked into once, so the counts
    /// are the occurrences in the converted document) and marks the refs that lead back to themselves.
    pub fn count(&mut self, schema: &'a Value) -> Result<(), ImportError> {
        self.enter()?;
        let counted = self.count_here(schema);
        self.nesting -= 1;
        counted
    }

    fn enter(&mut self) -> Result<(), ImportError> {
        if self.nesting >= MAX_NESTING {
            return Err(ImportError::Invalid(format!("schemas nest more than {MAX_NESTING} deep")));
        }
        self.nesting += 1;
        Ok(())
    }

    fn count_here(&mut self, schema: &'a Value) -> Result<(), ImportError> {
        if let Some(reference) = ref_of(schema) {
            let seen = self.counts.entry(reference.to_string()).or_insert(0);
            *seen += 1;
            if self.stack.iter().any(|r| r == reference) {
                self.recursive.insert(reference.to_string());
            } else if *seen == 1 {
                let target = resolve(self.doc, reference)?;
                self.stack.push(reference.to_string());
                let counted = self.count(target);
                self.stack.pop();
                counted?;
            }
        }
        for sub in subschemas(schema) {
            self.count(sub)?;
        }
        Ok(())
    }

    /// The converted schema; refs become `$defs` entries or are inlined (see the module doc).
    pub fn convert(&mut self, schema: &Value) -> Result<Value, ImportError> {
        if self.direction == Direction::Output && self.depth > OUTPUT_DEPTH {
            return self.shallow(schema);
        }
        let Some(reference) = ref_of(schema) else { return self.convert_here(schema) };
        if self.recursive.contains(reference) || self.counts.get(reference).copied().unwrap_or(0) > 1 {
            let name = self.define(reference)?;
            let mut out = Map::new();
            out.insert("$ref".into(), Value::String(format!("#/$defs/{name}")));
            self.merge_siblings(schema, &mut out)?;
            return Ok(Value::Object(out));
        }
        self.convert_inline(schema)
    }

    /// The converted schema with a top-level ref always inlined (a tool's root, a flattened body's object).
    pub fn convert_inline(&mut self, schema: &Value) -> Result<Value, ImportError> {
        let Some(reference) = ref_of(schema) else { return self.convert_here(schema) };
        let target = resolve(self.doc, reference)?;
        let mut converted = self.convert(target)?;
        if let Value::Object(out) = &mut converted {
            if out.contains_key("$ref") {
                // The target is itself a shared ref: inline one level.
                let inner = resolve(self.doc, ref_of(target).unwrap_or_default())?;
                converted = self.convert_here(inner)?;
            }
        }
        if let Value::Object(out) = &mut converted {
            self.merge_siblings(schema, out)?;
        }
        Ok(converted)
    }

    /// The `$defs` the converted roots refer to.
    pub fn into_defs(self) -> BTreeMap<String, Value> {
        self.defs
    }

    /// The `$defs` name of a ref, converting its target on first use.
    fn define(&mut self, reference: &str) -> Result<String, ImportError> {
        if let Some(name) = self.def_names.get(reference) {
            return Ok(name.clone());
        }
        let tokens = pointer_tokens(reference)?;
        let wanted = match tokens.as_slice() {
            [c, s, name] if c == "components" && s == "schemas" => name.clone(),
            [d, name] if d == "definitions" => name.clone(),
            _ => tokens.join("_"),
        };
        let base: String = wanted
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
            .collect();
        let base = if base.is_empty() { "def".to_string() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while self.defs.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.def_names.insert(reference.to_string(), name.clone());
        // Placeholder first: the target may refer to itself.
        self.defs.insert(name.clone(), Value::Bool(true));
        let target = resolve(self.doc, reference)?;
        let depth = std::mem::take(&mut self.depth);
        let converted = self.convert_here(target);
        self.depth = depth;
        let converted = converted?;
        self.defs.insert(name.clone(), converted);
        Ok(name)
    }

    /// A `$ref`'s siblings: 3.1 keeps them all (2020-12 allows them); 3.0 ignores them but for the description.
    fn merge_siblings(&mut self, schema: &Value, out: &mut Map<String, Value>) -> Result<(), ImportError> {
        let Some(map) = schema.as_object() else { return Ok(()) };
        if map.len() == 1 {
            return Ok(());
        }
        let mut rest = map.clone();
        rest.remove("$ref");
        if self.dialect == Dialect::V30 {
            rest.retain(|k, _| k == "description" || k == "nullable" || k == "x-nullable");
        }
        if let Value::Object(siblings) = self.convert_here(&Value::Object(rest))? {
            for (k, v) in siblings {
                out.insert(k, v);
            }
        }
        Ok(())
    }

    /// Converts the keywords of one schema object (a `$ref` in it is the caller's business).
    fn convert_here(&mut self, schema: &Value) -> Result<Value, ImportError> {
        self.enter()?;
        let converted = self.convert_keywords(schema);
        self.nesting -= 1;
        converted
    }

    fn convert_keywords(&mut self, schema: &Value) -> Result<Value, ImportError> {
        let Some(map) = schema.as_object() else { return Ok(schema.clone()) };
        let mut out = Map::new();
        let mut dropped = Vec::new();
        for (key, value) in map {
            match key.as_str() {
                "$ref" | "example" | "examples" | "xml" | "externalDocs" | "discriminator" | "$schema"
                | "$id" | "$comment" | "$anchor" | "$dynamicAnchor" | "$defs" | "definitions"
                | "nullable" | "writeOnly" | "collectionFormat" => {}
                k if k.starts_with("x-") => {}
                // An output schema is for checking and reading results, not for choosing arguments: its prose
                // is left out (a third of GitHub's output schemas).
                "description" | "title" | "readOnly" if self.direction == Direction::Output => {}
                // An output schema states the shape of answers (types, properties, items), not their values or
                // completeness: real APIs leave out "required" fields, add enum values and bend formats, and
                // clients reject a result whose structured content fails the declared schema. So it is lenient.
                "required"
                | "enum"
                | "const"
                | "format"
                | "pattern"
                | "minLength"
                | "maxLength"
                | "minimum"
                | "maximum"
                | "exclusiveMinimum"
                | "exclusiveMaximum"
                | "multipleOf"
                | "minItems"
                | "maxItems"
                | "uniqueItems"
                | "minProperties"
                | "maxProperties"
                | "dependentRequired"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "additionalProperties"
                | "unevaluatedProperties"
                | "additionalItems"
                | "unevaluatedItems"
                    if self.direction == Direction::Output => {}
                // Lenient branches can overlap, and `oneOf` fails when two match: `anyOf` then.
                "oneOf" if self.direction == Direction::Output => {
                    let items: Result<Vec<_>, _> =
                        value.as_array().into_iter().flatten().map(|s| self.convert(s)).collect();
                    let choice = Value::Array(items?);
                    if out.contains_key("anyOf") || map.contains_key("anyOf") {
                        let all = out.entry("allOf").or_insert_with(|| json!([]));
                        if let Value::Array(all) = all {
                            all.push(json!({ "anyOf": choice }));
                        }
                    } else {
                        out.insert("anyOf".into(), choice);
                    }
                }
                "description" => {
                    if let Some(text) = value.as_str() {
                        out.insert(key.clone(), Value::String(bounded(text, SCHEMA_DESCRIPTION_LIMIT)));
                    }
                }
                "properties" | "patternProperties" | "dependentSchemas" => {
                    self.depth += 1;
                    let mut converted = Map::new();
                    for (name, sub) in value.as_object().into_iter().flatten() {
                        if key == "properties" && self.flagged(sub)? {
                            dropped.push(name.clone());
                            if self.direction == Direction::Output {
                                continue;
                            }
                        }
                        match self.convert(sub) {
                            Ok(sub) => converted.insert(name.clone(), sub),
                            Err(e) => {
                                self.depth -= 1;
                                return Err(e);
                            }
                        };
                    }
                    self.depth -= 1;
                    out.insert(key.clone(), Value::Object(converted));
                }
                "items" if value.is_array() => {
                    self.depth += 1;
                    let items: Result<Vec<_>, _> =
                        value.as_array().into_iter().flatten().map(|s| self.convert(s)).collect();
                    self.depth -= 1;
                    out.insert("prefixItems".into(), Value::Array(items?));
                }
                "items"
                | "additionalProperties"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems" => {
                    self.depth += 1;
                    let converted = self.convert(value);
                    self.depth -= 1;
                    out.insert(key.clone(), converted?);
                }
                "not" | "if" | "then" | "else" | "contains" | "propertyNames" | "contentSchema" => {
                    out.insert(key.clone(), self.convert(value)?);
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    let items: Result<Vec<_>, _> =
                        value.as_array().into_iter().flatten().map(|s| self.convert(s)).collect();
                    out.insert(key.clone(), Value::Array(items?));
                }
                "type" if value == "file" => {
                    out.insert("type".into(), json!("string"));
                    out.insert("format".into(), json!("binary"));
                }
                "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {}
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        if !dropped.is_empty() {
            if let Some(Value::Array(required)) = out.get_mut("required") {
                required.retain(|r| !r.as_str().is_some_and(|r| dropped.iter().any(|d| d == r)));
                if required.is_empty() {
                    out.remove("required");
                }
            }
        }
        for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            if map.get(flag) == Some(&Value::Bool(true)) {
                if let Some(limit) = out.remove(bound) {
                    out.insert(flag.into(), limit);
                }
            }
        }
        let nullable = map.get("nullable") == Some(&Value::Bool(true))
            || map.get("x-nullable") == Some(&Value::Bool(true));
        if nullable && self.dialect == Dialect::V30 {
            return Ok(make_nullable(out));
        }
        Ok(Value::Object(out))
    }

    /// A schema past [`OUTPUT_DEPTH`]: its type only (through refs), or anything.
    fn shallow(&self, schema: &Value) -> Result<Value, ImportError> {
        let mut target = schema;
        for _ in 0..32 {
            match ref_of(target) {
                Some(reference) => target = resolve(self.doc, reference)?,
                None => break,
            }
        }
        let mut out = Map::new();
        match target.get("type") {
            Some(Value::String(t)) if t == "file" => {
                out.insert("type".into(), json!("string"));
            }
            Some(t) => {
                out.insert("type".into(), t.clone());
            }
            None => return Ok(json!({})),
        }
        let nullable = target.get("nullable") == Some(&Value::Bool(true))
            || target.get("x-nullable") == Some(&Value::Bool(true));
        Ok(if nullable && self.dialect == Dialect::V30 { make_nullable(out) } else { Value::Object(out) })
    }

    /// Whether a property is read-only in a request (then not required) or write-only in a response (then
    /// left out).
    fn flagged(&self, property: &Value) -> Result<bool, ImportError> {
        let flag = match self.direction {
            Direction::Input => "readOnly",
            Direction::Output => "writeOnly",
        };
        let property = match ref_of(property) {
            Some(reference) if property.get(flag).is_none() => resolve(self.doc, reference)?,
            _ => property,
        };
        Ok(property.get(flag) == Some(&Value::Bool(true)))
    }
}

/// 3.0's `nullable: true` in 2020-12: `null` added to the type (and enum), or the schema as one of two choices.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    match out.get("type").cloned() {
        Some(Value::String(t)) => {
            out.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(values)) = out.get_mut("enum") {
                if !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Some(_) => Value::Object(out),
        None => {
            // `nullable` beside `allOf: [one schema]` (GitHub's pattern): that schema, or null.
            let mut choice = match out.remove("allOf") {
                Some(Value::Array(mut parts)) if parts.len() == 1 => parts.pop().unwrap_or_default(),
                Some(parts) => {
                    out.insert("allOf".into(), parts);
                    Value::Object(std::mem::take(&mut out))
                }
                None if out.is_empty() => return Value::Object(out),
                None => Value::Object(std::mem::take(&mut out)),
            };
            if let Value::Object(c) = &mut choice {
                // Keywords beside a single allOf (a description) go with its schema.
                for (k, v) in std::mem::take(&mut out) {
                    c.entry(k).or_insert(v);
                }
            }
            json!({"anyOf": [choice, {"type": "null"}]})
        }
    }
}

/// The subschemas of a schema object, as [`SchemaBuilder::convert_here`] visits them.
fn subschemas(schema: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let Some(map) = schema.as_object() else { return out };
    for (key, value) in map {
        match key.as_str() {
            "properties" | "patternProperties" | "dependentSchemas" => {
                out.extend(value.as_object().into_iter().flat_map(|m| m.values()));
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" | "items" if value.is_array() => {
                out.extend(value.as_array().into_iter().flatten());
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "additionalItems"
            | "contentSchema" => out.push(value),
            _ => {}
        }
    }
    out
}

/// `text` cut at a character boundary to at most `limit` bytes, with `…` when cut.
pub fn bounded(text: &str, limit: usize) -> String {
    let text = text.trim();
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text[..end].trim_end())
}

#[cfg(test)]
mod tests;
