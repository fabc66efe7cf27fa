//! Schema conversion: refs, `$defs`, the 3.0 dialect, output schemas, bounds.

use super::*;

fn build(
    doc: &Value,
    root: &Value,
    dialect: Dialect,
    direction: Direction,
) -> (Value, BTreeMap<String, Value>) {
    let mut b = SchemaBuilder::new(doc, dialect, direction);
    b.count(root).unwrap();
    let out = b.convert_inline(root).unwrap();
    (out, b.into_defs())
}

#[test]
fn a_component_used_once_is_inlined_and_one_used_twice_shared() {
    let doc = json!({"components": {"schemas": {
        "Tag": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Cat": {"type": "object", "properties": {"tag": {"$ref": "#/components/schemas/Tag"}, "other": {"$ref": "#/components/schemas/Tag"}, "owner": {"$ref": "#/components/schemas/Owner"}}},
        "Owner": {"type": "string", "example": "x", "xml": {"name": "o"}, "x-foo": 1}
    }}});
    let root = json!({"$ref": "#/components/schemas/Cat"});
    let (out, defs) = build(&doc, &root, Dialect::V31, Direction::Input);
    assert_eq!(out["properties"]["tag"], json!({"$ref": "#/$defs/Tag"}));
    assert_eq!(out["properties"]["owner"], json!({"type": "string"}));
    assert_eq!(defs.keys().collect::<Vec<_>>(), ["Tag"]);
    assert_eq!(defs["Tag"]["properties"]["name"], json!({"type": "string"}));
}

#[test]
fn recursive_schemas_end_in_defs() {
    let doc = json!({"components": {"schemas": {
        "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}, "a": {"$ref": "#/components/schemas/A"}}},
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
    }}});
    let root = json!({"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}}});
    let (out, defs) = build(&doc, &root, Dialect::V31, Direction::Input);
    assert_eq!(out["properties"]["node"], json!({"$ref": "#/$defs/Node"}));
    assert_eq!(defs["Node"]["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    // A -> B -> A: A is in $defs, B inlined inside it.
    assert_eq!(defs["Node"]["properties"]["a"], json!({"$ref": "#/$defs/A"}));
    assert_eq!(defs["A"]["properties"]["b"]["properties"]["a"], json!({"$ref": "#/$defs/A"}));
    // The root itself recursive: inlined one level, the rest in $defs.
    let (out, defs) =
        build(&doc, &json!({"$ref": "#/components/schemas/Node"}), Dialect::V31, Direction::Output);
    assert_eq!(out["type"], "object");
    assert_eq!(out["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert!(defs.contains_key("Node"));
}

#[test]
fn a_chain_of_thousands_of_components_is_refused_not_a_stack_overflow() {
    let mut schemas = Map::new();
    for i in 0..5000 {
        schemas.insert(format!("S{i}"), json!({"type": "object", "properties": {"next": {"$ref": format!("#/components/schemas/S{}", i + 1)}}}));
    }
    schemas.insert("S5000".into(), json!({"type": "string"}));
    let doc = json!({"components": {"schemas": schemas}});
    let mut b = SchemaBuilder::new(&doc, Dialect::V31, Direction::Input);
    let err = b.count(&json!({"$ref": "#/components/schemas/S0"})).unwrap_err();
    assert!(err.to_string().contains("nest more than"), "{err}");
}

#[test]
fn escaped_and_odd_pointers_get_usable_def_names() {
    let doc = json!({"components": {"schemas": {"a/b": {"type": "object", "properties": {"self": {"$ref": "#/components/schemas/a~1b"}}}}}});
    let root = json!({"$ref": "#/components/schemas/a~1b"});
    let (out, defs) = build(&doc, &root, Dialect::V31, Direction::Input);
    assert_eq!(out["properties"]["self"], json!({"$ref": "#/$defs/a_b"}));
    assert!(defs.contains_key("a_b"));
}

#[test]
fn openapi_30_dialect_becomes_2020_12() {
    let doc = json!({});
    let root = json!({"type": "object", "properties": {
        "n": {"type": "integer", "nullable": true, "minimum": 1, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false},
        "e": {"type": "string", "enum": ["a"], "nullable": true},
        "f": {"type": "file"},
        "o": {"nullable": true, "allOf": [{"type": "object"}], "description": "d"},
        "r": {"type": "string", "readOnly": true},
        "w": {"type": "string", "writeOnly": true}
    }, "required": ["r", "n"]});
    let (out, _) = build(&doc, &root, Dialect::V30, Direction::Input);
    let p = &out["properties"];
    assert_eq!(p["n"], json!({"type": ["integer", "null"], "exclusiveMinimum": 1, "maximum": 9}));
    assert_eq!(p["e"], json!({"type": ["string", "null"], "enum": ["a", null]}));
    assert_eq!(p["f"], json!({"type": "string", "format": "binary"}));
    assert_eq!(p["o"], json!({"anyOf": [{"type": "object", "description": "d"}, {"type": "null"}]}));
    assert_eq!(p["r"], json!({"type": "string", "readOnly": true}));
    assert!(p.get("w").is_some());
    assert_eq!(out["required"], json!(["n"]));
    let (out, _) = build(&doc, &root, Dialect::V30, Direction::Output);
    assert!(out["properties"].get("w").is_none() && out["properties"].get("r").is_some());
}

#[test]
fn output_schemas_keep_shapes_and_drop_what_real_answers_break() {
    let doc = json!({});
    let root = json!({"type": "object", "required": ["id"], "additionalProperties": false, "properties": {
        "id": {"type": "integer", "minimum": 1},
        "state": {"type": "string", "enum": ["open"], "format": "x", "nullable": true},
        "who": {"oneOf": [{"type": "object", "required": ["a"]}, {"type": "object", "required": ["b"]}]},
    }});
    let (out, _) = build(&doc, &root, Dialect::V30, Direction::Output);
    assert_eq!(
        out,
        json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "state": {"type": ["string", "null"]},
            "who": {"anyOf": [{"type": "object"}, {"type": "object"}]},
        }})
    );
    // Inputs keep every rule: they check what the model sends.
    let (input, _) = build(&doc, &root, Dialect::V30, Direction::Input);
    assert_eq!(input["required"], json!(["id"]));
    assert_eq!(input["properties"]["who"]["oneOf"].as_array().map(Vec::len), Some(2));
}

#[test]
fn ref_siblings_follow_the_dialect_and_descriptions_are_bounded() {
    let doc = json!({"components": {"schemas": {"S": {"type": "string"}}}});
    let root = json!({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/S", "description": "d".repeat(500), "maxLength": 3}}});
    let (out, _) = build(&doc, &root, Dialect::V30, Direction::Input);
    let a = &out["properties"]["a"];
    assert!(a.get("maxLength").is_none());
    assert!(a["description"].as_str().unwrap().len() <= SCHEMA_DESCRIPTION_LIMIT);
    let (out, _) = build(&doc, &root, Dialect::V31, Direction::Input);
    assert_eq!(out["properties"]["a"]["maxLength"], 3);
    assert_eq!(bounded("héllo", 3), "…");
    assert_eq!(bounded("héllo wörld", 9), "héllo…");
}
