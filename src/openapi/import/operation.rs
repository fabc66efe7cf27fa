//! One OpenAPI operation → one index entry: its parameters and body as one flat input schema, where each
//! argument goes, its output schema, its security requirement.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};

use super::names::argument_names;
use super::refs::{deref, ref_of, resolve};
use super::schema::{bounded, Dialect, Direction, SchemaBuilder, SCHEMA_DESCRIPTION_LIMIT};
use super::security::requirement;
use super::{strings, ImportError};
use crate::openapi::index::{
    Body, BodyEncoding, BodyProperty, BodyShape, Location, Method, Operation, Param, Style,
};

/// A tool's description (summary and description) is cut to this many bytes.
pub const DESCRIPTION_LIMIT: usize = 1024;

/// What every operation of one spec shares.
pub struct Context<'a> {
    pub doc: &'a Value,
    pub dialect: Dialect,
}

/// A flat input schema, its properties in argument order.
#[derive(Serialize)]
struct InputSchema {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    required: Vec<String>,
    #[serde(rename = "additionalProperties")]
    additional_properties: bool,
    #[serde(rename = "$defs", skip_serializing_if = "BTreeMap::is_empty")]
    defs: BTreeMap<String, Value>,
}

/// A parameter as read from the spec, before argument names are given out.
struct SpecParam<'a> {
    param: Param,
    schema: &'a Value,
    description: Option<&'a str>,
    deprecated: bool,
}

/// The index entry of one operation, with an empty name (names are given out once all operations are known).
pub fn build(
    cx: &Context,
    method: Method,
    path: &str,
    item: &Value,
    op: &Value,
) -> Result<Operation, ImportError> {
    let doc = cx.doc;
    let params = parameters(doc, path, item, op)?;
    let body = match op.get("requestBody") {
        Some(rb) => request_body(doc, deref(doc, rb)?)?,
        None => None,
    };

    // Argument names: parameters, then body properties or the whole body.
    let mut wanted: Vec<(&str, &str)> =
        params.iter().map(|p| (p.param.name.as_str(), location_name(p.param.location))).collect();
    match &body {
        Some(SpecBody { properties: Some((props, _)), .. }) => {
            wanted.extend(props.iter().map(|(n, _)| (n.as_str(), "body")))
        }
        Some(_) => wanted.push(("body", "body")),
        None => {}
    }
    let args = argument_names(&wanted);

    let mut builder = SchemaBuilder::new(doc, cx.dialect, Direction::Input);
    for p in &params {
        builder.count(p.schema)?;
    }
    if let Some(b) = &body {
        match &b.properties {
            Some((props, _)) => props.iter().try_for_each(|(_, s)| builder.count(s))?,
            None => builder.count(b.schema)?,
        }
    }
    let mut properties = IndexMap::new();
    let mut required = Vec::new();
    let mut out_params = Vec::with_capacity(params.len());
    for (mut p, arg) in params.into_iter().zip(args.iter()) {
        let mut schema = builder.convert(p.schema)?;
        annotate(&mut schema, p.description, p.deprecated);
        properties.insert(arg.clone(), schema);
        if p.param.required {
            required.push(arg.clone());
        }
        p.param.arg = arg.clone();
        out_params.push(p.param);
    }
    let body_args = &args[out_params.len()..];
    let out_body = match body {
        None => None,
        Some(b) => {
            let shape = match &b.properties {
                Some((props, body_required)) => {
                    let mut flattened = Vec::with_capacity(props.len());
                    for ((name, schema), arg) in props.iter().zip(body_args) {
                        properties.insert(arg.clone(), builder.convert(schema)?);
                        if b.required && body_required.iter().any(|r| r == name) {
                            required.push(arg.clone());
                        }
                        flattened.push(BodyProperty { name: name.clone(), arg: arg.clone() });
                    }
                    BodyShape::Properties(flattened)
                }
                None => {
                    let arg = body_args[0].clone();
                    let mut schema = match b.encoding {
                        BodyEncoding::Text => json!({"type": "string"}),
                        _ => builder.convert(b.schema)?,
                    };
                    annotate(&mut schema, b.description, false);
                    properties.insert(arg.clone(), schema);
                    if b.required {
                        required.push(arg.clone());
                    }
                    BodyShape::Whole { arg }
                }
            };
            Some(Body { content_type: b.content_type, encoding: b.encoding, required: b.required, shape })
        }
    };
    let input = InputSchema {
        kind: "object",
        properties,
        required,
        additional_properties: false,
        defs: builder.into_defs(),
    };
    let (output_schema, wraps_output) = match output(cx, op)? {
        Some((schema, wraps)) => (Some(schema), wraps),
        None => (None, false),
    };

    let text = |key: &str| op.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let summary = text("summary");
    let description = match (summary, text("description")) {
        (Some(s), Some(d)) if d != s => format!("{s}\n\n{d}"),
        (Some(s), _) => s.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => format!("{} {path}", method.as_str()),
    };
    Ok(Operation {
        name: String::new(),
        operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_string),
        method,
        path: path.to_string(),
        summary: summary.map(|s| bounded(s, DESCRIPTION_LIMIT)),
        description: bounded(&description, DESCRIPTION_LIMIT),
        tags: strings(op.get("tags")),
        deprecated: op.get("deprecated") == Some(&Value::Bool(true)),
        params: out_params,
        body: out_body,
        security: requirement(op.get("security").or_else(|| doc.get("security"))),
        input_schema: raw(&input)?,
        output_schema,
        wraps_output,
    })
}

fn raw<T: Serialize>(value: &T) -> Result<Box<RawValue>, ImportError> {
    to_raw_value(value).map_err(|e| ImportError::Parse(e.to_string()))
}

/// Adds a parameter's or body's description (bounded) and deprecation to its argument's schema.
fn annotate(schema: &mut Value, description: Option<&str>, deprecated: bool) {
    if let Value::Object(map) = schema {
        if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
            map.entry("description").or_insert_with(|| Value::String(bounded(d, SCHEMA_DESCRIPTION_LIMIT)));
        }
        if deprecated {
            map.insert("deprecated".into(), Value::Bool(true));
        }
    }
}

fn location_name(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header => "header",
        Location::Cookie => "cookie",
    }
}

/// The path item's and the operation's parameters (the operation's win on the same name and location), with
/// style and explode resolved; `Accept`, `Content-Type` and `Authorization` headers are left out, as the
/// OpenAPI spec says.
fn parameters<'a>(
    doc: &'a Value,
    path: &str,
    item: &'a Value,
    op: &'a Value,
) -> Result<Vec<SpecParam<'a>>, ImportError> {
    let mut raw: Vec<&Value> = Vec::new();
    let lists = [item.get("parameters"), op.get("parameters")];
    for p in lists.into_iter().flatten().filter_map(Value::as_array).flatten() {
        let p = deref(doc, p)?;
        let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
        raw.retain(|q| key(q) != key(p));
        raw.push(p);
    }
    let mut out = Vec::with_capacity(raw.len());
    for p in raw {
        let name =
            p.get("name").and_then(Value::as_str).ok_or_else(|| invalid("a parameter without a name"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
            other => return Err(invalid(&format!("parameter `{name}` in {other:?}"))),
        };
        if location == Location::Header
            && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str())
        {
            continue;
        }
        let (schema, json) = match (p.get("schema"), p.get("content").and_then(Value::as_object)) {
            (Some(schema), _) => (schema, false),
            (None, Some(content)) => {
                match content.iter().find(|(ct, _)| is_json(ct)).or_else(|| content.iter().next()) {
                    Some((ct, media)) => (media.get("schema").unwrap_or(&*EMPTY), is_json(ct)),
                    None => (&*EMPTY, false),
                }
            }
            (None, None) => (&*EMPTY, false),
        };
        let style = match p.get("style").and_then(Value::as_str) {
            Some("simple") => Style::Simple,
            Some("label") => Style::Label,
            Some("matrix") => Style::Matrix,
            Some("form") => Style::Form,
            Some("spaceDelimited") => Style::SpaceDelimited,
            Some("pipeDelimited") => Style::PipeDelimited,
            Some("deepObject") => Style::DeepObject,
            Some(other) => return Err(invalid(&format!("parameter `{name}` has style `{other}`"))),
            None if matches!(location, Location::Path | Location::Header) => Style::Simple,
            None => Style::Form,
        };
        let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == Style::Form);
        out.push(SpecParam {
            param: Param {
                name: name.to_string(),
                arg: String::new(),
                location,
                required: location == Location::Path || p.get("required") == Some(&Value::Bool(true)),
                style,
                explode,
                json,
            },
            schema,
            description: p.get("description").and_then(Value::as_str),
            deprecated: p.get("deprecated") == Some(&Value::Bool(true)),
        });
    }
    // The path template is what the call fills: a declared path parameter it lacks would be an argument going
    // nowhere, and a `{name}` nobody declared (specs forget) becomes a required string argument.
    let in_template = template_names(path);
    out.retain(|p| p.param.location != Location::Path || in_template.contains(&p.param.name.as_str()));
    for name in in_template {
        if !out.iter().any(|p| p.param.location == Location::Path && p.param.name == name) {
            out.push(SpecParam {
                param: Param {
                    name: name.to_string(),
                    arg: String::new(),
                    location: Location::Path,
                    required: true,
                    style: Style::Simple,
                    explode: false,
                    json: false,
                },
                schema: &STRING,
                description: None,
                deprecated: false,
            });
        }
    }
    Ok(out)
}

/// The `{name}`s of a path template, in order.
fn template_names(path: &str) -> Vec<&str> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// The schema of a path parameter the spec forgot to declare.
static STRING: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| json!({"type": "string"}));

/// The schema of a parameter or body that declares none: anything.
static EMPTY: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| Value::Object(Map::new()));

fn invalid(why: &str) -> ImportError {
    ImportError::Invalid(why.to_string())
}

/// Whether a media type is JSON (`application/json`, `application/problem+json`, `...; charset=utf-8`).
pub fn is_json(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    base == "application/json" || base.ends_with("+json")
}

/// An object body's properties (name and schema), and which are required.
type ObjectProperties<'a> = (Vec<(String, &'a Value)>, Vec<String>);

/// A request body as read from the spec.
struct SpecBody<'a> {
    content_type: String,
    encoding: BodyEncoding,
    required: bool,
    schema: &'a Value,
    description: Option<&'a str>,
    /// The body object's properties (and which are required) when it is flattened into arguments.
    properties: Option<ObjectProperties<'a>>,
}

/// The body's media type: the most convenient one the spec lists (JSON, then form-urlencoded, then multipart,
/// then any other, sent as text); `*/*` is sent as `application/octet-stream`.
fn request_body<'a>(doc: &'a Value, rb: &'a Value) -> Result<Option<SpecBody<'a>>, ImportError> {
    let Some(content) = rb.get("content").and_then(Value::as_object) else { return Ok(None) };
    let rank = |ct: &str| {
        let base = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if is_json(ct) {
            (0, BodyEncoding::Json)
        } else if base == "application/x-www-form-urlencoded" {
            (1, BodyEncoding::Form)
        } else if base == "multipart/form-data" {
            (2, BodyEncoding::Multipart)
        } else if base.contains('*') {
            (4, BodyEncoding::Text)
        } else {
            (3, BodyEncoding::Text)
        }
    };
    let Some((ct, media)) = content.iter().min_by_key(|(ct, _)| rank(ct).0) else { return Ok(None) };
    let (level, encoding) = rank(ct);
    let schema = media.get("schema").unwrap_or(&*EMPTY);
    let properties = match encoding {
        BodyEncoding::Text => None,
        _ => object_properties(doc, schema, 0)?.filter(|(props, _)| !props.is_empty()),
    };
    Ok(Some(SpecBody {
        content_type: if level == 4 { "application/octet-stream".into() } else { ct.clone() },
        encoding,
        required: rb.get("required") == Some(&Value::Bool(true)),
        schema,
        description: rb.get("description").and_then(Value::as_str),
        properties,
    }))
}

/// The properties of an object schema (through refs and `allOf`), read-only ones not required; None when the
/// schema is not plainly an object (a choice, an array, a scalar).
fn object_properties<'a>(
    doc: &'a Value,
    schema: &'a Value,
    depth: usize,
) -> Result<Option<ObjectProperties<'a>>, ImportError> {
    let schema = deref(doc, schema)?;
    if depth > 16
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
        || schema.get("not").is_some()
    {
        return Ok(None);
    }
    match schema.get("type") {
        None => {}
        Some(t) if t == "object" => {}
        Some(_) => return Ok(None),
    }
    let mut props = Vec::new();
    let mut required = strings(schema.get("required"));
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        let Some((p, r)) = object_properties(doc, part, depth + 1)? else { return Ok(None) };
        for (name, s) in p {
            props.retain(|(n, _): &(String, &Value)| *n != name);
            props.push((name, s));
        }
        required.extend(r);
    }
    for (name, s) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let target = match ref_of(s) {
            Some(r) if s.get("readOnly").is_none() => resolve(doc, r)?,
            _ => s,
        };
        if target.get("readOnly") == Some(&Value::Bool(true)) {
            required.retain(|r| r != name);
        }
        props.retain(|(n, _)| n != name);
        props.push((name.clone(), s));
    }
    Ok(Some((props, required)))
}

/// The schema of the first 2xx response with a JSON body: an object as it is, anything else wrapped as
/// `{"result": ...}` (the bool says so). None when no 2xx response declares a JSON schema.
/// Whether every value `schema` accepts is an object: `"type": "object"`, a choice (`anyOf`, `oneOf`) of
/// objects, or all of (`allOf`) something including an object; `$defs` refs followed a few levels deep.
fn always_object(schema: &Value, defs: &BTreeMap<String, Value>, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        return defs.get(name).is_some_and(|target| always_object(target, defs, depth + 1));
    }
    if schema.get("type") == Some(&json!("object")) {
        return true;
    }
    let branches = |key: &str| schema.get(key).and_then(Value::as_array).filter(|b| !b.is_empty());
    if let Some(choice) = branches("anyOf").or_else(|| branches("oneOf")) {
        return choice.iter().all(|b| always_object(b, defs, depth + 1));
    }
    branches("allOf").is_some_and(|all| all.iter().any(|b| always_object(b, defs, depth + 1)))
}

fn output(cx: &Context, op: &Value) -> Result<Option<(Box<RawValue>, bool)>, ImportError> {
    let doc = cx.doc;
    for (code, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        if !(code.len() == 3 && code.starts_with('2')) {
            continue;
        }
        let response = deref(doc, response)?;
        let Some(content) = response.get("content").and_then(Value::as_object) else { continue };
        let Some(schema) = content.iter().filter(|(ct, _)| is_json(ct)).find_map(|(_, m)| m.get("schema"))
        else {
            continue;
        };
        if schema.as_object().is_some_and(Map::is_empty) {
            return Ok(None);
        }
        let mut builder = SchemaBuilder::new(doc, cx.dialect, Direction::Output);
        builder.count(schema)?;
        let converted = builder.convert_inline(schema)?;
        let defs = builder.into_defs();
        let is_object = always_object(&converted, &defs, 0);
        let mut out = if is_object {
            let mut converted = converted;
            // MCP wants `"type": "object"` at the top of an output schema, also over a choice of objects.
            converted["type"] = json!("object");
            converted
        } else {
            json!({"type": "object", "properties": {"result": converted}, "required": ["result"]})
        };
        if !defs.is_empty() {
            out["$defs"] = serde_json::to_value(defs).map_err(|e| ImportError::Parse(e.to_string()))?;
        }
        return Ok(Some((raw(&out)?, !is_object)));
    }
    Ok(None)
}
