//! The importer's indexes served by the runtime, natively, over a recording backend: real specs from npm packages
//! (`@readme/oas-examples`: Petstore in Swagger 2.0, OpenAPI 3.0 and 3.1, parameter styles, cookies, form data,
//! file uploads; `@octokit/openapi`: GitHub's REST API) imported, written as JSON and read back as the Worker reads
//! KV, listed as tools, and every operation called with arguments made from its own input schema: each call either
//! reaches the backend at the configured base URL with its method and a filled-in path, or is refused for a
//! credential the settings do not have. GitHub's API in large-API mode finds and invokes `GET /user` and
//! `GET /repos/{owner}/{repo}` with the signed-in user's token. Skipped (with a note) only when node_modules is
//! missing.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use futures_executor::block_on;
use mcp_worker::handler::{GitHubAccess, LocalFuture, NoPeer, RequestContext, ToolFilter, ToolRegistry};
use mcp_worker::identity::Identity;
use mcp_worker::model::tool::CallToolResult;
use mcp_worker::model::Content;
use mcp_worker::openapi::answer::Received;
use mcp_worker::openapi::import::{import, Options};
use mcp_worker::openapi::request::OutgoingRequest;
use mcp_worker::openapi::{parse_index, settings, tools, Api, Backend};
use serde_json::{json, Map, Value};

fn spec(relative: &str) -> Option<Vec<u8>> {
    let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules");
    match std::fs::read(modules.join(relative)) {
        Ok(bytes) => Some(bytes),
        Err(_) if !modules.exists() => {
            eprintln!("skipped: node_modules is missing (npm test installs it)");
            None
        }
        Err(e) => panic!("{relative}: {e}"),
    }
}

/// Records every request and answers 200 with `answer` (JSON; `{"ok": true}` unless set).
#[derive(Default)]
struct Recorder {
    sent: RefCell<Vec<OutgoingRequest>>,
    answer: RefCell<Option<Value>>,
}

impl Backend for Recorder {
    fn send(&self, request: OutgoingRequest, _: u64, _: usize) -> LocalFuture<'_, Result<Received, String>> {
        self.sent.borrow_mut().push(request);
        let body = self.answer.borrow().clone().unwrap_or_else(|| json!({"ok": true})).to_string();
        Box::pin(async move {
            Ok(Received {
                status: 200,
                content_type: Some("application/json".into()),
                body: body.into_bytes(),
                ..Default::default()
            })
        })
    }
    fn now_ms(&self) -> u64 {
        0
    }
    fn boundary(&self) -> String {
        "b".into()
    }
}

/// The API `name` as the Worker would serve it: the index imported from `text`, written and read back.
fn serve(name: &str, text: &[u8], extra: &[(&str, &str)]) -> (Rc<Api>, Rc<Recorder>) {
    let imported = import(text, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let index = parse_index(&serde_json::to_string(&imported.index).unwrap()).unwrap();
    let upper = name.to_ascii_uppercase();
    let mut vars: HashMap<String, String> = [
        ("OPENAPI_APIS".to_string(), name.to_string()),
        (format!("OPENAPI_{upper}_BASE_URL"), "https://api.example/v1".to_string()),
    ]
    .into();
    vars.extend(extra.iter().map(|(k, v)| (k.replace("{API}", &upper), v.to_string())));
    let settings = settings::parse(&|k| vars.get(k).cloned(), false).unwrap().remove(0);
    let backend = Rc::new(Recorder::default());
    let api = Rc::new(Api { settings, index, tokens: Rc::default(), backend: backend.clone() });
    (api, backend)
}

/// A value `schema` accepts, as far as a sample can tell: required properties only.
fn sample(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference.strip_prefix('#').and_then(|p| root.pointer(p)).unwrap_or(&Value::Null);
        return sample(target, root, depth + 1);
    }
    if let Some(value) = schema.get("const").or_else(|| schema.get("enum").and_then(|e| e.get(0))) {
        return value.clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema.get(key).and_then(|o| o.get(0)) {
            return sample(first, root, depth + 1);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => {
            kinds.iter().filter_map(Value::as_str).find(|k| *k != "null").unwrap_or("string")
        }
        Some(Value::String(kind)) => kind.as_str(),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(1)),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "array" => {
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let item = sample(schema.get("items").unwrap_or(&Value::Null), root, depth + 1);
            Value::Array(vec![item; min.max(1)])
        }
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for name in required {
                let property =
                    schema.pointer(&format!("/properties/{}", name.replace('~', "~0").replace('/', "~1")));
                out.insert(name.to_string(), sample(property.unwrap_or(&Value::Null), root, depth + 1));
            }
            // A nested object (a styled parameter's value) gets one member even when none is required.
            if out.is_empty() && depth > 0 {
                match schema.get("properties").and_then(Value::as_object).and_then(|p| p.iter().next()) {
                    Some((name, property)) => out.insert(name.clone(), sample(property, root, depth + 1)),
                    None => out.insert("k".into(), json!("v")),
                };
            }
            Value::Object(out)
        }
        _ => {
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(1) as usize;
            json!("x".repeat(min.max(1)))
        }
    }
}

fn cx() -> RequestContext {
    RequestContext::new(Identity::anonymous(), Rc::new(NoPeer))
}

fn call(registry: &ToolRegistry, cx: RequestContext, name: &str, args: Value) -> CallToolResult {
    block_on(registry.call(name, &args, cx, &ToolFilter::all())).unwrap()
}

fn message(result: &CallToolResult) -> &str {
    let Content::Text { text } = &result.content[0] else { panic!() };
    text
}

/// Makes the API answer what operation `name` declares (the importer's output schema, unwrapped); returns the
/// structured content the tool should then give.
fn answer_as_declared(api: &Api, name: &str, backend: &Recorder) -> Option<Value> {
    let op = api.index.operations.iter().find(|o| o.name == name).unwrap();
    let schema: Option<Value> = op.output_schema.as_ref().map(|s| serde_json::from_str(s.get()).unwrap());
    let structured = schema.as_ref().map(|schema| sample(schema, schema, 0));
    let answer = match &structured {
        Some(value) if op.wraps_output => value["result"].clone(),
        Some(value) => value.clone(),
        None => json!({"ok": true}),
    };
    *backend.answer.borrow_mut() = Some(answer);
    structured
}

/// Calls every operation of `api` through its own tool; returns how many reached the backend.
fn call_every_operation(api: &Rc<Api>, backend: &Recorder) -> usize {
    let registry = tools::tools(api, &ToolFilter::all()).unwrap();
    let listed = registry.list(None, 10_000, &ToolFilter::all()).unwrap();
    assert_eq!(listed.items.len(), api.index.operations.len());
    let mut reached = 0;
    for (op, tool) in api.index.operations.iter().zip(listed.items) {
        assert_eq!(tool.name, op.name);
        let args = sample(&tool.input_schema, &tool.input_schema, 0);
        let structured = answer_as_declared(api, &op.name, backend);
        let before = backend.sent.borrow().len();
        let result = call(&registry, cx(), &op.name, args.clone());
        let sent = backend.sent.borrow();
        if sent.len() == before {
            // Refused before sending: only for a credential these settings lack.
            assert!(
                result.is_error && message(&result).contains("CREDENTIALS"),
                "{} {args}: {result:?}",
                op.name
            );
            continue;
        }
        reached += 1;
        let request = &sent[before];
        assert!(!result.is_error, "{}: {result:?}", op.name);
        if let Some(structured) = structured {
            assert_eq!(result.structured_content.as_ref(), Some(&structured), "{}", op.name);
        }
        assert_eq!(request.method, op.method.as_str(), "{}", op.name);
        assert!(request.url.starts_with("https://api.example/v1/"), "{}: {}", op.name, request.url);
        assert!(!request.url.contains(['{', '}']), "{}: {}", op.name, request.url);
    }
    reached
}

#[test]
fn every_petstore_operation_reaches_the_backend_or_names_the_missing_credential() {
    for version in ["2.0", "3.0", "3.1"] {
        let Some(text) = spec(&format!("@readme/oas-examples/{version}/json/petstore.json")) else { return };
        let (api, backend) =
            serve("petstore", &text, &[("OPENAPI_{API}_CREDENTIALS", r#"{"api_key": "k-1"}"#)]);
        let reached = call_every_operation(&api, &backend);
        assert!(
            reached >= 10,
            "{version}: only {reached} of {} operations called",
            api.index.operations.len()
        );
        let sent = backend.sent.borrow();
        let get_pet = sent.iter().find(|r| r.url.starts_with("https://api.example/v1/pet/1")).expect(version);
        assert_eq!((get_pet.method, get_pet.header("api_key")), ("GET", Some("k-1")), "{version}");
        // An operation needing only the OAuth scheme was refused before sending anything.
        let refused = call(
            &tools::tools(&api, &ToolFilter::all()).unwrap(),
            cx(),
            "addPet",
            json!({"name": "Rex", "photoUrls": []}),
        );
        assert!(
            refused.is_error && message(&refused).contains("OPENAPI_PETSTORE_CREDENTIALS"),
            "{version}: {refused:?}"
        );
    }
}

#[test]
fn styles_cookies_forms_and_uploads_build_requests_for_every_operation() {
    for file in ["parameters-style", "parameters-cookies", "form-data", "file-uploads", "parameters-common"] {
        let Some(text) = spec(&format!("@readme/oas-examples/3.0/json/{file}.json")) else { return };
        let (api, backend) = serve("examples", &text, &[]);
        let reached = call_every_operation(&api, &backend);
        assert_eq!(reached, api.index.operations.len(), "{file}: every operation needs no credential");
    }
}

struct SignedIn;

impl GitHubAccess for SignedIn {
    fn token(&self) -> LocalFuture<'_, Result<String, String>> {
        Box::pin(async { Ok("gho_user-token".to_string()) })
    }
    fn get(&self, _: &str) -> LocalFuture<'_, Result<(u16, Value), String>> {
        Box::pin(async { Err("unused".into()) })
    }
}

#[test]
fn githubs_api_in_large_mode_finds_and_invokes_user_and_repository_with_the_users_token() {
    let Some(text) = spec("@octokit/openapi/generated/api.github.com.json") else { return };
    let (api, backend) = serve("github", &text, &[("OPENAPI_{API}_AUTH", "github_user")]);
    assert!(api.is_large() && api.index.operations.len() > 1000);
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    assert_eq!(registry.len(), 3);
    let mut signed_in = cx();
    signed_in.github = Some(Rc::new(SignedIn));

    let found = call(
        &registry,
        signed_in.clone(),
        "github_search_operations",
        json!({"query": "authenticated user", "limit": 5}),
    );
    let names: Vec<String> = found.structured_content.unwrap()["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"users_get-authenticated".to_string()), "{names:?}");
    let described =
        call(&registry, signed_in.clone(), "github_describe_operation", json!({"name": "repos_get"}));
    let described = described.structured_content.unwrap();
    assert_eq!(
        (described["method"].as_str(), described["path"].as_str()),
        (Some("GET"), Some("/repos/{owner}/{repo}"))
    );

    let expected = answer_as_declared(&api, "users_get-authenticated", &backend);
    let me = call(
        &registry,
        signed_in.clone(),
        "github_invoke_operation",
        json!({"name": "users_get-authenticated"}),
    );
    assert!(!me.is_error, "{me:?}");
    assert_eq!(me.structured_content, expected);
    answer_as_declared(&api, "repos_get", &backend);
    let repo = call(
        &registry,
        signed_in,
        "github_invoke_operation",
        json!({"name": "repos_get", "arguments": {"owner": "octo cat", "repo": "../hello"}}),
    );
    assert!(!repo.is_error, "{repo:?}");
    let sent = backend.sent.borrow();
    assert_eq!(sent[0].url, "https://api.example/v1/user");
    assert_eq!(sent[1].url, "https://api.example/v1/repos/octo%20cat/..%2Fhello");
    for request in sent.iter() {
        assert_eq!((request.method, request.header("Authorization")), ("GET", Some("Bearer gho_user-token")));
        assert!(request.header("User-Agent").is_some());
    }
    drop(sent);
    // A caller who did not sign in with GitHub is asked to, and nothing is sent.
    let anonymous =
        call(&registry, cx(), "github_invoke_operation", json!({"name": "users_get-authenticated"}));
    assert!(anonymous.is_error && message(&anonymous).contains("sign in with GitHub"));
    assert_eq!(backend.sent.borrow().len(), 2);
}

#[test]
fn every_github_operation_is_invoked_through_the_large_api_tools() {
    let Some(text) = spec("@octokit/openapi/generated/api.github.com.json") else { return };
    let (api, backend) = serve("github", &text, &[("OPENAPI_{API}_AUTH", "github_user")]);
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    let mut signed_in = cx();
    signed_in.github = Some(Rc::new(SignedIn));
    // The samples here are simple (the first of `allOf`/`oneOf`, no `additionalProperties` maps): a sample the
    // schema refuses shows as invalid arguments or an answer off the output schema, and is only counted.
    let (mut sent_ok, mut imperfect_samples, mut wrong) = (0, 0, Vec::new());
    for op in &api.index.operations {
        let schema: Value = serde_json::from_str(op.input_schema.get()).unwrap();
        let args = sample(&schema, &schema, 0);
        let structured = answer_as_declared(&api, &op.name, &backend);
        let before = backend.sent.borrow().len();
        let invoked = json!({"name": op.name, "arguments": args});
        let result = call(&registry, signed_in.clone(), "github_invoke_operation", invoked);
        let sent = backend.sent.borrow();
        let text = message(&result);
        if text.starts_with("Invalid arguments") && sent.len() == before {
            imperfect_samples += 1;
            continue;
        }
        let request_ok = sent.len() == before + 1
            && sent[before].method == op.method.as_str()
            && sent[before].url.starts_with("https://api.example/v1/")
            && !sent[before].url.contains(['{', '}'])
            && sent[before].header("Authorization") == Some("Bearer gho_user-token");
        if !request_ok {
            wrong.push(format!("{} {}: {text}", op.name, op.path));
        } else if text.contains("does not match the declared output schema") {
            imperfect_samples += 1;
        } else if result.is_error
            || structured.is_some_and(|s| result.structured_content.as_ref() != Some(&s))
        {
            wrong.push(format!("{} {}: {text}", op.name, op.path));
        } else {
            sent_ok += 1;
        }
    }
    let total = api.index.operations.len();
    assert!(
        wrong.is_empty(),
        "{} of {total} wrong:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert!(
        sent_ok * 100 >= total * 95,
        "{sent_ok} of {total} fully checked ({imperfect_samples} imperfect samples)"
    );
}
