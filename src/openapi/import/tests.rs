//! The importer end to end over small specs written here: parameters, bodies, outputs, security, names.

use serde_json::{json, Value};

use super::*;
use crate::openapi::index::{BodyEncoding, BodyShape, Location, Style};

fn spec(paths: Value) -> Value {
    json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths})
}

fn import_one(doc: Value) -> Operation {
    let mut imported = import_document(doc, &[], &Options::default()).unwrap();
    assert_eq!(imported.index.operations.len(), 1, "skipped: {:?}", imported.skipped);
    imported.index.operations.remove(0)
}

fn schema(op: &Operation) -> Value {
    serde_json::from_str(op.input_schema.get()).unwrap()
}

#[test]
fn parameter_styles_default_as_openapi_says() {
    let op = import_one(spec(
        json!({"/a/{id}": {"parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
        "get": {"parameters": [
            {"name": "q", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}, "required": true},
            {"name": "sid", "in": "cookie", "schema": {"type": "string"}},
            {"name": "tags", "in": "query", "style": "pipeDelimited", "schema": {"type": "array"}},
            {"name": "obj", "in": "query", "style": "deepObject", "explode": true, "schema": {"type": "object"}},
            {"name": "filter", "in": "query", "content": {"application/json": {"schema": {"type": "object"}}}},
            {"name": "Accept", "in": "header", "schema": {"type": "string"}},
            {"name": "id", "in": "path", "description": "the id", "schema": {"type": "string"}}
        ], "responses": {}}}}),
    ));
    let p: Vec<_> = op
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.location, p.style, p.explode, p.required, p.json))
        .collect();
    assert_eq!(
        p,
        [
            ("q", Location::Query, Style::Form, true, false, false),
            ("X-Trace", Location::Header, Style::Simple, false, true, false),
            ("sid", Location::Cookie, Style::Form, true, false, false),
            ("tags", Location::Query, Style::PipeDelimited, false, false, false),
            ("obj", Location::Query, Style::DeepObject, true, false, false),
            ("filter", Location::Query, Style::Form, true, false, true),
            // The operation's `id` replaces the path item's, and a path parameter is always required.
            ("id", Location::Path, Style::Simple, false, true, false),
        ]
    );
    let s = schema(&op);
    assert_eq!(s["properties"]["id"], json!({"type": "string", "description": "the id"}));
    assert_eq!(s["required"], json!(["X-Trace", "id"]));
    assert_eq!(s["additionalProperties"], false);
    assert!(s["properties"].get("Accept").is_none());
}

#[test]
fn an_object_body_is_flattened_with_suffixes_only_on_collision() {
    let mut doc = spec(json!({"/pets": {"post": {
        "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}]}}
        }},
        "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Base"}}}}}
    }}}));
    doc["components"] = json!({"schemas": {"Base": {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}}}});
    let op = import_one(doc);
    let body = op.body.as_ref().unwrap();
    assert_eq!(
        (body.content_type.as_str(), body.encoding, body.required),
        ("application/json", BodyEncoding::Json, true)
    );
    let BodyShape::Properties(props) = &body.shape else { panic!("{:?}", body.shape) };
    let props: Vec<_> = props.iter().map(|p| (p.name.as_str(), p.arg.as_str())).collect();
    assert_eq!(props, [("id", "id"), ("name", "name__body"), ("age", "age")]);
    assert_eq!(op.params[0].arg, "name__query");
    let s = schema(&op);
    assert_eq!(s["required"], json!(["name__body", "age"]));
    // Arguments in order: parameters, then the body's properties.
    let text = op.input_schema.get();
    let at = |arg: &str| text.find(&format!("\"{arg}\":")).unwrap();
    assert!(at("name__query") < at("id") && at("name__body") < at("age"), "{text}");
    assert_eq!(s["properties"]["id"], json!({"type": "integer", "readOnly": true}));
    assert!(!op.wraps_output);
    let out: Value = serde_json::from_str(op.output_schema.as_ref().unwrap().get()).unwrap();
    assert_eq!(out["properties"]["id"], json!({"type": "integer"}));
}

#[test]
fn other_bodies_are_one_argument() {
    let body_of = |content: Value| {
        let op = import_one(spec(
            json!({"/x": {"parameters": [{"name": "body", "in": "query", "schema": {"type": "string"}}],
            "put": {"requestBody": {"content": content}, "responses": {}}}}),
        ));
        let s = schema(&op);
        (op.body.unwrap(), s)
    };
    let (b, s) =
        body_of(json!({"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}}));
    assert_eq!(b.shape, BodyShape::Whole { arg: "body__body".into() });
    assert_eq!(s["properties"]["body__body"], json!({"type": "array", "items": {"type": "integer"}}));
    assert!(s.get("required").is_none());
    let (b, s) =
        body_of(json!({"text/plain": {"schema": {"type": "string"}}, "application/octet-stream": {}}));
    assert_eq!((b.encoding, b.content_type.as_str()), (BodyEncoding::Text, "application/octet-stream"));
    assert_eq!(s["properties"]["body__body"], json!({"type": "string"}));
    let (b, _) = body_of(
        json!({"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}}),
    );
    assert!(matches!(b.shape, BodyShape::Whole { .. }));
    let (b, _) = body_of(
        json!({"application/json": {"schema": {"oneOf": [{"type": "object", "properties": {"a": {}}}]}}}),
    );
    assert!(matches!(b.shape, BodyShape::Whole { .. }));
    let (b, _) = body_of(
        json!({"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}),
    );
    assert_eq!(b.encoding, BodyEncoding::Form);
    let (b, _) = body_of(
        json!({"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}),
    );
    assert_eq!(b.encoding, BodyEncoding::Multipart);
    assert!(matches!(b.shape, BodyShape::Properties(_)));
}

#[test]
fn recursive_bodies_keep_defs_in_the_input_schema() {
    let mut doc = spec(
        json!({"/tree": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}, "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}}}}}),
    );
    doc["components"] = json!({"schemas": {"Node": {"type": "object", "properties": {"value": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}});
    let op = import_one(doc);
    let s = schema(&op);
    assert_eq!(s["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert_eq!(s["$defs"]["Node"]["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert!(op.wraps_output);
    let out: Value = serde_json::from_str(op.output_schema.as_ref().unwrap().get()).unwrap();
    assert_eq!(out["required"], json!(["result"]));
    assert_eq!(out["properties"]["result"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert!(out["$defs"]["Node"].is_object());
}

#[test]
fn a_choice_of_objects_is_an_object_output_not_wrapped() {
    let mut doc = spec(
        json!({"/user": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema":
        {"oneOf": [{"$ref": "#/components/schemas/Private"}, {"$ref": "#/components/schemas/Public"}]}}}}}}}}),
    );
    doc["components"] = json!({"schemas": {
        "Private": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}, "plan": {"type": "object"}}},
        "Public": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}}},
    }});
    let op = import_one(doc);
    assert!(!op.wraps_output);
    let out: Value = serde_json::from_str(op.output_schema.as_ref().unwrap().get()).unwrap();
    assert_eq!(out["type"], "object");
    assert_eq!(out["anyOf"].as_array().map(Vec::len), Some(2), "{out}");
    assert!(out.get("required").is_none() && out["anyOf"][0].get("required").is_none(), "lenient: {out}");
}

#[test]
fn security_is_the_operations_else_the_specs() {
    let mut doc = spec(
        json!({"/a": {"get": {"responses": {}}, "post": {"security": [], "responses": {}}, "put": {"security": [{"key": []}, {}], "responses": {}}}}),
    );
    doc["security"] = json!([{"oauth": ["read"], "key": []}]);
    doc["components"] = json!({"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}, "oauth": {"type": "oauth2", "flows": {}}}});
    let index = import_document(doc, &[], &Options::default()).unwrap().index;
    let security: Vec<_> = index.operations.iter().map(|o| (o.method, o.security.clone())).collect();
    assert_eq!(
        security,
        [
            (Method::Get, vec![vec!["key".to_string(), "oauth".to_string()]]),
            (Method::Put, vec![vec!["key".to_string()], vec![]]),
            (Method::Post, vec![]),
        ]
    );
    assert_eq!(index.security_schemes.len(), 2);
}

#[test]
fn names_are_unique_and_renames_win() {
    let doc = spec(json!({
        "/a": {"get": {"operationId": "list", "responses": {}}, "post": {"operationId": "make/one", "responses": {}}},
        "/b": {"get": {"operationId": "list", "responses": {}}, "delete": {"responses": {}}}
    }));
    let order = ["/a".to_string(), "/b".to_string()];
    let names = |renames: Vec<(&str, &str)>| {
        let options = Options {
            renames: renames.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            ..Default::default()
        };
        import_document(doc.clone(), &order, &options)
            .map(|i| i.index.operations.into_iter().map(|o| o.name).collect::<Vec<_>>())
    };
    let plain = names(vec![]).unwrap();
    assert_eq!(plain[..2], ["list".to_string(), "make_one".to_string()]);
    assert_eq!(plain[2], format!("list_{}", names::short_hash(Method::Get, "/b")));
    assert_eq!(plain[3], "delete_b");
    assert_eq!(
        names(vec![("make/one", "create"), ("DELETE /b", "list")]).unwrap(),
        [
            format!("list_{}", names::short_hash(Method::Get, "/a")),
            "create".to_string(),
            format!("list_{}", names::short_hash(Method::Get, "/b")),
            "list".to_string()
        ]
    );
    assert!(names(vec![("nope", "x")]).unwrap_err().to_string().contains("no operation `nope`"));
    assert!(names(vec![("list", "bad name")]).unwrap_err().to_string().contains("not a valid tool name"));
    assert!(names(vec![("make/one", "x"), ("DELETE /b", "x")])
        .unwrap_err()
        .to_string()
        .contains("two operations"));
}

#[test]
fn filters_skip_with_reasons_and_bad_operations_are_skipped_not_fatal() {
    let doc = spec(json!({
        "/a": {"get": {"tags": ["t"], "responses": {}}, "post": {"responses": {}}},
        "/b": {"get": {"parameters": [{"$ref": "#/components/parameters/missing"}], "responses": {}}}
    }));
    let options = Options {
        filters: Filters { include_methods: vec!["GET".into()], ..Default::default() },
        ..Default::default()
    };
    let imported = import_document(doc, &[], &options).unwrap();
    assert_eq!(imported.index.operations.len(), 1);
    let reasons: Vec<_> =
        imported.skipped.iter().map(|s| (s.method, s.filtered, s.reason.as_str())).collect();
    assert_eq!(reasons[0], (Method::Post, true, "not an included method"));
    assert_eq!(reasons[1].0, Method::Get);
    assert!(!reasons[1].1 && reasons[1].2.contains("#/components/parameters/missing"));
}

#[test]
fn external_refs_and_other_documents_are_refused() {
    let doc = spec(json!({"/a": {"get": {"responses": {"200": {"$ref": "https://evil.example/r.json"}}}}}));
    let err = import_document(doc, &[], &Options::default()).unwrap_err();
    assert!(matches!(&err, ImportError::ExternalRef(r) if r == "https://evil.example/r.json"), "{err}");
    assert!(import_document(json!({"swagger": "1.2"}), &[], &Options::default())
        .unwrap_err()
        .to_string()
        .contains("1.2"));
    assert!(import_document(json!({"hello": 1}), &[], &Options::default()).is_err());
    // Unquoted YAML versions are numbers.
    let (doc, order) = source::parse(
        b"swagger: 2.0\ninfo: {title: t, version: 1}\npaths:\n  /a:\n    get:\n      responses: {}\n",
    )
    .unwrap();
    let index = import_document(doc, &order, &Options::default()).unwrap().index;
    assert_eq!((index.operations.len(), index.version.as_str()), (1, "1"));
}

#[test]
fn swagger_2_specs_import() {
    let doc = json!({"swagger": "2.0", "info": {"title": "P", "version": "2"}, "paths": {"/pet": {"post": {"operationId": "addPet",
        "parameters": [{"in": "body", "name": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}],
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}, "security": [{"auth": ["write"]}]}}},
        "securityDefinitions": {"auth": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t/token", "scopes": {"write": ""}}},
        "definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "x-nullable": true}}}}});
    let imported = import_document(doc, &[], &Options::default()).unwrap();
    let op = &imported.index.operations[0];
    assert_eq!(op.name, "addPet");
    assert_eq!(schema(op)["properties"]["name"], json!({"type": ["string", "null"]}));
    assert_eq!(schema(op)["required"], json!(["name"]));
    assert_eq!(op.security, vec![vec!["auth".to_string()]]);
    assert!(matches!(
        imported.index.security_schemes["auth"],
        crate::openapi::index::SecurityScheme::OAuth2ClientCredentials { .. }
    ));
}

#[test]
fn path_parameters_follow_the_template() {
    let op = import_one(spec(json!({"/users/{user}/items/{item_id}": {"get": {"parameters": [
        {"name": "item_id", "in": "path", "required": true, "schema": {"type": "integer"}},
        {"name": "stale", "in": "path", "required": true, "schema": {"type": "string"}}
    ], "responses": {}}}})));
    let p: Vec<_> = op.params.iter().map(|p| (p.name.as_str(), p.location, p.required)).collect();
    assert_eq!(p, [("item_id", Location::Path, true), ("user", Location::Path, true)]);
    let s = schema(&op);
    assert_eq!(s["properties"]["user"], json!({"type": "string"}));
    assert_eq!(s["required"], json!(["item_id", "user"]));
}
