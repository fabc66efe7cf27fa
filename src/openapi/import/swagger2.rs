//! Swagger 2.0, converted to the OpenAPI 3.0 shape the rest of the importer reads: `in: body` and `in:
//! formData` parameters become a request body (JSON, form-urlencoded or multipart by `consumes` and file
//! parameters), response schemas get `produces` media types, `collectionFormat` becomes `style`/`explode`,
//! `securityDefinitions` become security schemes (the `application` flow is OAuth 2.0 client credentials).
//! `definitions` stay where they are: schema refs (`#/definitions/Pet`) resolve there as they are.

use serde_json::{json, Map, Value};

use super::refs::deref;
use super::{ImportError, METHODS};

/// Parameter keywords that describe the value (Swagger 2.0 puts them on the parameter itself).
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
];

/// The document in OpenAPI 3.0 shape.
pub fn convert(doc: &Value) -> Result<Value, ImportError> {
    let mut out = doc.as_object().cloned().unwrap_or_default();
    out.remove("swagger");
    out.insert("openapi".into(), json!("3.0.3"));
    let mut paths = Map::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let item = deref(doc, item)?;
        let common = item.get("parameters");
        let mut converted = Map::new();
        for method in METHODS {
            let key = method.as_str().to_ascii_lowercase();
            if let Some(op) = item.get(&key) {
                converted.insert(key, operation(doc, op, common)?);
            }
        }
        paths.insert(path.clone(), Value::Object(converted));
    }
    out.insert("paths".into(), Value::Object(paths));
    let mut schemes = Map::new();
    for (name, def) in doc.get("securityDefinitions").and_then(Value::as_object).into_iter().flatten() {
        schemes.insert(name.clone(), security_scheme(def));
    }
    out.insert("components".into(), json!({"securitySchemes": schemes}));
    Ok(Value::Object(out))
}

fn list<'a>(op: &'a Value, doc: &'a Value, key: &str) -> Vec<&'a str> {
    let from = |v: &'a Value| {
        v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
    };
    from(op).or_else(|| from(doc)).filter(|l| !l.is_empty()).unwrap_or_else(|| vec!["application/json"])
}

fn operation(doc: &Value, op: &Value, common: Option<&Value>) -> Result<Value, ImportError> {
    let mut params: Vec<&Value> = Vec::new();
    for p in common
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
    {
        let p = deref(doc, p)?;
        let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
        params.retain(|q| key(q) != key(p));
        params.push(p);
    }
    let consumes = list(op, doc, "consumes");
    let produces = list(op, doc, "produces");
    let mut out = op.as_object().cloned().unwrap_or_default();
    for key in ["parameters", "consumes", "produces", "responses", "schemes"] {
        out.remove(key);
    }
    let mut converted = Vec::new();
    let mut form = Map::new();
    let mut form_required = Vec::new();
    let mut has_file = false;
    for p in params {
        match p.get("in").and_then(Value::as_str) {
            Some("body") => {
                let schema = p.get("schema").cloned().unwrap_or(json!({}));
                let content: Map<String, Value> =
                    consumes.iter().map(|ct| (ct.to_string(), json!({"schema": schema}))).collect();
                let mut body = json!({"content": content, "required": p.get("required").cloned().unwrap_or(json!(false))});
                if let Some(d) = p.get("description") {
                    body["description"] = d.clone();
                }
                out.insert("requestBody".into(), body);
            }
            Some("formData") => {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                has_file |= p.get("type").and_then(Value::as_str) == Some("file");
                if p.get("required") == Some(&Value::Bool(true)) {
                    form_required.push(json!(name));
                }
                form.insert(name, value_schema(p));
            }
            _ => converted.push(parameter(p)),
        }
    }
    if !form.is_empty() {
        let ct = if has_file || consumes.contains(&"multipart/form-data") {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        };
        let schema = json!({"type": "object", "properties": form, "required": form_required});
        out.insert(
            "requestBody".into(),
            json!({"content": {ct: {"schema": schema}}, "required": !form_required.is_empty()}),
        );
    }
    if !converted.is_empty() {
        out.insert("parameters".into(), Value::Array(converted));
    }
    let mut responses = Map::new();
    for (code, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let response = deref(doc, response)?;
        let mut r = json!({"description": response.get("description").cloned().unwrap_or(json!(""))});
        if let Some(schema) = response.get("schema") {
            let content: Map<String, Value> =
                produces.iter().map(|ct| (ct.to_string(), json!({"schema": schema}))).collect();
            r["content"] = Value::Object(content);
        }
        responses.insert(code.clone(), r);
    }
    out.insert("responses".into(), Value::Object(responses));
    Ok(Value::Object(out))
}

/// The schema of a non-body parameter, from its own keywords (with its description).
fn value_schema(p: &Value) -> Value {
    let mut schema = Map::new();
    for key in SCHEMA_KEYS {
        if let Some(v) = p.get(*key) {
            schema.insert(key.to_string(), v.clone());
        }
    }
    if let Some(d) = p.get("description") {
        schema.insert("description".into(), d.clone());
    }
    Value::Object(schema)
}

/// A path, query, header or cookie parameter in 3.0 form: its schema, and `collectionFormat` as style/explode.
fn parameter(p: &Value) -> Value {
    let mut out = Map::new();
    for key in ["name", "in", "required", "description", "deprecated"] {
        if let Some(v) = p.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut schema = value_schema(p);
    if let Value::Object(s) = &mut schema {
        s.remove("description");
    }
    out.insert("schema".into(), schema);
    if p.get("type").and_then(Value::as_str) == Some("array") {
        let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
        let (style, explode) = match p.get("collectionFormat").and_then(Value::as_str).unwrap_or("csv") {
            "multi" => ("form", true),
            "ssv" => ("spaceDelimited", false),
            "pipes" => ("pipeDelimited", false),
            _ if matches!(location, "path" | "header") => ("simple", false),
            _ => ("form", false),
        };
        out.insert("style".into(), json!(style));
        out.insert("explode".into(), json!(explode));
    }
    Value::Object(out)
}

fn security_scheme(def: &Value) -> Value {
    match def.get("type").and_then(Value::as_str) {
        Some("basic") => json!({"type": "http", "scheme": "basic"}),
        Some("oauth2") => {
            let flow = match def.get("flow").and_then(Value::as_str) {
                Some("application") => "clientCredentials",
                Some("accessCode") => "authorizationCode",
                Some("password") => "password",
                _ => "implicit",
            };
            let mut f = Map::new();
            for key in ["authorizationUrl", "tokenUrl", "scopes"] {
                if let Some(v) = def.get(key) {
                    f.insert(key.into(), v.clone());
                }
            }
            json!({"type": "oauth2", "flows": {flow: f}})
        }
        _ => def.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_form_and_array_parameters_are_converted() {
        let doc = json!({"swagger": "2.0", "consumes": ["application/json"], "produces": ["application/xml", "application/json"],
        "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
        "paths": {"/pets/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
            "post": {"parameters": [
                {"$ref": "#/parameters/limit"},
                {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                {"name": "ids", "in": "header", "type": "array", "items": {"type": "string"}},
                {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}
            ], "responses": {"200": {"description": "ok", "schema": {"type": "array"}}}},
            "put": {"consumes": ["application/x-www-form-urlencoded"], "parameters": [
                {"name": "name", "in": "formData", "type": "string", "required": true},
                {"name": "file", "in": "formData", "type": "file"}
            ], "responses": {}}
        }}});
        let out = convert(&doc).unwrap();
        let post = &out["paths"]["/pets/{id}"]["post"];
        let params = post["parameters"].as_array().unwrap();
        assert_eq!(
            params[0],
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})
        );
        assert_eq!(params[1], json!({"name": "limit", "in": "query", "schema": {"type": "integer"}}));
        assert_eq!(params[2]["style"], "form");
        assert_eq!(params[2]["explode"], true);
        assert_eq!((&params[3]["style"], &params[3]["explode"]), (&json!("simple"), &json!(false)));
        assert_eq!(
            post["requestBody"],
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/definitions/Pet"}}}})
        );
        assert_eq!(
            post["responses"]["200"]["content"]["application/json"]["schema"],
            json!({"type": "array"})
        );
        let put = &out["paths"]["/pets/{id}"]["put"];
        let body = &put["requestBody"]["content"]["multipart/form-data"]["schema"];
        assert_eq!(body["properties"]["file"], json!({"type": "file"}));
        assert_eq!(body["required"], json!(["name"]));
    }

    #[test]
    fn security_definitions_become_schemes() {
        let doc = json!({"swagger": "2.0", "paths": {}, "securityDefinitions": {
            "b": {"type": "basic"},
            "k": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t", "scopes": {"a": "A"}},
            "imp": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://a", "scopes": {}}
        }});
        let s = &convert(&doc).unwrap()["components"]["securitySchemes"];
        assert_eq!(s["b"], json!({"type": "http", "scheme": "basic"}));
        assert_eq!(s["k"], json!({"type": "apiKey", "in": "header", "name": "X-Key"}));
        assert_eq!(
            s["app"],
            json!({"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://t", "scopes": {"a": "A"}}}})
        );
        assert!(s["imp"]["flows"].get("implicit").is_some());
    }
}
