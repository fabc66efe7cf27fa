//! The importer over real specs from npm packages the test setup installs: `@readme/oas-examples` (Petstore in
//! Swagger 2.0, OpenAPI 3.0 and 3.1, JSON and YAML; parameter styles, form data, file uploads, circular refs)
//! and `@octokit/openapi` (GitHub's REST API, 13 MB, 1,223 operations). Every operation is listed once with a
//! valid, unique name and an input schema whose arguments are all properties of it. Skipped (with a note) only
//! when node_modules is missing.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use mcp_worker::openapi::import::{import, is_valid_tool_name, Imported, Options, MAX_TOOL_NAME};
use mcp_worker::openapi::index::{ApiIndex, BodyEncoding, BodyShape, Location, Method, Style};
use serde_json::Value;

fn spec(relative: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules").join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) if !PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules").exists() => {
            eprintln!("skipped: node_modules is missing (npm test installs it)");
            None
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn oas(relative: &str) -> Option<Vec<u8>> {
    spec(&format!("@readme/oas-examples/{relative}"))
}

/// The (method, path) of every operation in the spec, counted from the document itself.
fn spec_operations(text: &[u8]) -> Vec<(String, String)> {
    let (doc, _) = mcp_worker::openapi::import::source::parse(text).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
            if item.get(method).is_some() {
                out.push((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn refs_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_string());
                } else {
                    refs_in(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// Every `$ref` of a tool schema points into its own `$defs`.
fn check_refs(schema: &Value, what: &str) {
    let mut refs = Vec::new();
    refs_in(schema, &mut refs);
    for r in refs {
        let name = r.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("{what}: ref {r} outside $defs"));
        assert!(schema["$defs"].get(name).is_some(), "{what}: ref {r} has no definition");
    }
}

/// What every imported index must satisfy.
fn check_index(index: &ApiIndex, text: &[u8]) {
    let mut names = HashSet::new();
    let mut listed = HashSet::new();
    for op in &index.operations {
        assert!(is_valid_tool_name(&op.name) && op.name.len() <= MAX_TOOL_NAME, "bad name {}", op.name);
        assert!(names.insert(op.name.clone()), "duplicate name {}", op.name);
        assert!(
            listed.insert((op.method.as_str().to_ascii_lowercase(), op.path.clone())),
            "listed twice: {}",
            op.name
        );
        let schema: Value = serde_json::from_str(op.input_schema.get()).unwrap();
        assert_eq!(schema["type"], "object", "{}", op.name);
        let properties =
            schema["properties"].as_object().unwrap_or_else(|| panic!("{}: no properties", op.name));
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            assert!(
                properties.contains_key(required.as_str().unwrap()),
                "{}: required {required} is not a property",
                op.name
            );
        }
        let mut args: Vec<&str> = op.params.iter().map(|p| p.arg.as_str()).collect();
        match op.body.as_ref().map(|b| &b.shape) {
            Some(BodyShape::Properties(props)) => args.extend(props.iter().map(|p| p.arg.as_str())),
            Some(BodyShape::Whole { arg }) => args.push(arg),
            None => {}
        }
        let unique: HashSet<_> = args.iter().collect();
        assert_eq!(unique.len(), args.len(), "{}: an argument used twice", op.name);
        assert_eq!(args.len(), properties.len(), "{}: arguments {args:?} vs properties", op.name);
        for arg in args {
            assert!(properties.contains_key(arg), "{}: argument {arg} is not a property", op.name);
        }
        // The path template's `{name}`s (one may appear twice) are exactly the path parameters.
        let mut template: Vec<&str> =
            op.path.split('{').skip(1).filter_map(|r| r.split_once('}').map(|(n, _)| n)).collect();
        let mut path_params: Vec<&str> =
            op.params.iter().filter(|p| p.location == Location::Path).map(|p| p.name.as_str()).collect();
        template.sort();
        template.dedup();
        path_params.sort();
        assert_eq!(template, path_params, "{}", op.name);
        check_refs(&schema, &op.name);
        if let Some(output) = &op.output_schema {
            let output: Value = serde_json::from_str(output.get()).unwrap();
            assert_eq!(output["type"], "object", "{}", op.name);
            if op.wraps_output {
                assert_eq!(output["required"], serde_json::json!(["result"]), "{}", op.name);
            }
            check_refs(&output, &op.name);
        } else {
            assert!(!op.wraps_output);
        }
        for scheme in op.security.iter().flatten() {
            assert!(index.security_schemes.contains_key(scheme), "{}: unknown scheme {scheme}", op.name);
        }
    }
    let expected: HashSet<_> = spec_operations(text).into_iter().collect();
    assert_eq!(listed, expected, "every operation listed once");
}

fn import_checked(text: &[u8]) -> Imported {
    let imported = import(text, &Options::default()).unwrap();
    assert!(imported.skipped.is_empty(), "skipped: {:?}", imported.skipped);
    check_index(&imported.index, text);
    imported
}

#[test]
fn every_example_spec_imports_whole_and_valid() {
    for file in [
        "2.0/json/petstore.json",
        "2.0/yaml/petstore.yaml",
        "2.0/json/petstore-expanded.json",
        "2.0/json/schema-circular.json",
        "3.0/json/petstore.json",
        "3.0/yaml/petstore.yaml",
        "3.0/json/parameters-style.json",
        "3.0/json/parameters-common.json",
        "3.0/json/parameters-cookies.json",
        "3.0/json/form-data.json",
        "3.0/json/file-uploads.json",
        "3.0/json/circular.json",
        "3.0/json/circular-paths.json",
        "3.0/json/circular-request-bodies.json",
        "3.0/json/schema-circular.json",
        "3.0/json/security.json",
        "3.0/json/security-multiple.json",
        "3.0/json/discriminators.json",
        "3.0/json/polymorphism.json",
        "3.0/json/complex-nesting.json",
        "3.0/json/schema-types.json",
        "3.0/json/response-schemas.json",
        "3.1/json/petstore.json",
        "3.1/yaml/petstore.yaml",
        "3.1/json/parameters-style.json",
        "3.1/json/schema-types.json",
        "3.1/json/security.json",
        "3.1/json/train-travel.json",
    ] {
        let Some(text) = oas(file) else { return };
        let imported = import(&text, &Options::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(imported.skipped.is_empty(), "{file}: skipped {:?}", imported.skipped);
        assert!(!imported.index.operations.is_empty(), "{file}");
        check_index(&imported.index, &text);
    }
}

fn op<'a>(index: &'a ApiIndex, name: &str) -> &'a mcp_worker::openapi::index::Operation {
    index.operations.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn petstore_operations_come_out_exactly_in_every_version() {
    for file in [
        "2.0/json/petstore.json",
        "3.0/json/petstore.json",
        "3.1/json/petstore.json",
        "3.0/yaml/petstore.yaml",
    ] {
        let Some(text) = oas(file) else { return };
        let index = import_checked(&text).index;
        assert_eq!(index.operations.len(), 20, "{file}");
        // Paths in the spec's order.
        assert_eq!(index.operations[0].path, "/pet", "{file}");

        let get = op(&index, "getPetById");
        assert_eq!((get.method, get.path.as_str()), (Method::Get, "/pet/{petId}"));
        let p: Vec<_> = get
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.arg.as_str(), p.location, p.required, p.style))
            .collect();
        assert_eq!(p, [("petId", "petId", Location::Path, true, Style::Simple)], "{file}");
        assert!(get.body.is_none());
        assert_eq!(get.security, vec![vec!["api_key".to_string()]], "{file}");

        let delete = op(&index, "deletePet");
        let p: Vec<_> = delete.params.iter().map(|p| (p.name.as_str(), p.location, p.required)).collect();
        assert_eq!(p, [("api_key", Location::Header, false), ("petId", Location::Path, true)], "{file}");

        let find = op(&index, "findPetsByStatus");
        let status = &find.params[0];
        assert_eq!(
            (status.location, status.style, status.required),
            (Location::Query, Style::Form, true),
            "{file}"
        );
        // Swagger 2.0's collectionFormat multi and OpenAPI 3's form default both explode.
        assert!(status.explode, "{file}");
        assert!(find.wraps_output, "{file}: an array response is wrapped");

        let add = op(&index, "addPet");
        let body = add.body.as_ref().unwrap();
        assert_eq!(
            (add.method, body.encoding, body.content_type.as_str(), body.required),
            (Method::Post, BodyEncoding::Json, "application/json", true),
            "{file}"
        );
        let BodyShape::Properties(props) = &body.shape else { panic!("{file}: {:?}", body.shape) };
        let mut names: Vec<_> = props.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        assert!(
            names.contains(&"name") && names.contains(&"photoUrls") && names.contains(&"tags"),
            "{file}: {names:?}"
        );
        let schema: Value = serde_json::from_str(add.input_schema.get()).unwrap();
        let mut required: Vec<_> =
            schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        required.sort();
        assert_eq!(required, ["name", "photoUrls"], "{file}");

        let form = op(&index, "updatePetWithForm");
        let body = form.body.as_ref().unwrap();
        assert_eq!(
            (body.encoding, body.content_type.as_str()),
            (BodyEncoding::Form, "application/x-www-form-urlencoded"),
            "{file}"
        );

        let users = op(&index, "createUsersWithArrayInput");
        assert_eq!(users.body.as_ref().unwrap().shape, BodyShape::Whole { arg: "body".into() }, "{file}");

        // The body's `username` collides with the path parameter of the same name: both get their location.
        let update = op(&index, "updateUser");
        assert_eq!(update.params[0].arg, "username__path", "{file}");
        let BodyShape::Properties(props) = &update.body.as_ref().unwrap().shape else { panic!() };
        assert_eq!(props.iter().find(|p| p.name == "username").unwrap().arg, "username__body", "{file}");
    }
}

#[test]
fn uploads_parameter_styles_and_circular_refs() {
    let Some(text) = oas("3.0/json/file-uploads.json") else { return };
    let index = import_checked(&text).index;
    let multipart = index
        .operations
        .iter()
        .filter_map(|o| o.body.as_ref())
        .filter(|b| b.encoding == BodyEncoding::Multipart)
        .count();
    assert!(multipart > 0);

    let Some(text) = oas("3.0/json/parameters-style.json") else { return };
    let index = import_checked(&text).index;
    let styles: Vec<_> =
        index.operations.iter().flat_map(|o| o.params.iter().map(|p| (p.style, p.explode))).collect();
    for s in [
        (Style::Matrix, true),
        (Style::Label, false),
        (Style::Form, false),
        (Style::DeepObject, true),
        (Style::SpaceDelimited, false),
        (Style::PipeDelimited, false),
    ] {
        assert!(styles.contains(&s), "{s:?} missing from {styles:?}");
    }

    let Some(text) = oas("3.0/json/circular-request-bodies.json") else { return };
    let index = import_checked(&text).index;
    let mut defs = 0;
    for op in &index.operations {
        for schema in std::iter::once(op.input_schema.get()).chain(op.output_schema.as_ref().map(|s| s.get()))
        {
            let v: Value = serde_json::from_str(schema).unwrap();
            defs += v.get("$defs").map_or(0, |d| d.as_object().unwrap().len());
        }
    }
    assert!(defs > 0, "circular refs end in $defs");
}

/// GitHub's spec, imported once per test binary.
fn github() -> Option<&'static (Imported, Vec<u8>)> {
    static GITHUB: OnceLock<Option<(Imported, Vec<u8>)>> = OnceLock::new();
    GITHUB
        .get_or_init(|| {
            let text = spec("@octokit/openapi/generated/api.github.com.json")?;
            let imported = import(&text, &Options::default()).unwrap();
            Some((imported, text))
        })
        .as_ref()
}

#[test]
fn github_imports_with_valid_unique_names() {
    let Some((imported, text)) = github() else { return };
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped.first());
    let index = &imported.index;
    assert!(index.operations.len() >= 1200, "{}", index.operations.len());
    check_index(index, text);
    let user = index.operations.iter().find(|o| o.method == Method::Get && o.path == "/user").unwrap();
    assert_eq!(user.name, "users_get-authenticated");
    let repo = index
        .operations
        .iter()
        .find(|o| o.method == Method::Get && o.path == "/repos/{owner}/{repo}")
        .unwrap();
    assert_eq!(repo.name, "repos_get");
    // Long ids are cut with a suffix; none is longer than the limit.
    assert!(index
        .operations
        .iter()
        .any(|o| o.operation_id.as_ref().is_some_and(|id| id.len() > MAX_TOOL_NAME)));
    let size = serde_json::to_vec(index).unwrap().len();
    assert!(size < 8_000_000, "GitHub's index is {size} bytes");
}

/// The command itself: filters, renames, the file it writes, its summary, and its refusals.
#[test]
fn the_command_writes_a_filtered_renamed_index_and_refuses_external_refs() {
    let Some(_) = oas("3.0/yaml/petstore.yaml") else { return };
    let spec_file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/@readme/oas-examples/3.0/yaml/petstore.yaml");
    let dir = std::env::temp_dir().join(format!("openapi-import-test-{}", std::process::id()));
    let out = dir.join("pets.json");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_openapi-import")).args(args).output().unwrap()
    };
    let result = run(&[
        spec_file.to_str().unwrap(),
        "--name",
        "pets",
        "--out",
        out.to_str().unwrap(),
        "--include-tag",
        "pet",
        "--exclude-method",
        "delete",
        "--rename",
        "getPetById=pet_get",
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout} {}", String::from_utf8_lossy(&result.stderr));
    let index: ApiIndex = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let names: Vec<_> = index.operations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "updatePet",
            "addPet",
            "findPetsByStatus",
            "findPetsByTags",
            "pet_get",
            "updatePetWithForm",
            "uploadFile"
        ]
    );
    assert!(stdout.contains("7 operations kept, 13 skipped"), "{stdout}");
    assert!(
        stdout.contains("skipped 12: not in an included tag")
            && stdout.contains("skipped 1: excluded method"),
        "{stdout}"
    );

    let evil = dir.join("evil.json");
    std::fs::write(&evil, r##"{"openapi":"3.0.0","info":{"title":"e","version":"1"},"paths":{"/a":{"get":{"parameters":[{"$ref":"file:///etc/passwd#/x"}],"responses":{}}}}}"##).unwrap();
    let result = run(&[
        evil.to_str().unwrap(),
        "--name",
        "evil",
        "--out",
        dir.join("evil-index.json").to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("external $ref `file:///etc/passwd#/x` refused"));
    assert!(!dir.join("evil-index.json").exists());

    let result = run(&[evil.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("--name is required"));
    let _ = std::fs::remove_dir_all(&dir);
}
