//! A call end to end over a fake backend: credentials by kind, the client-credentials token cached and renewed
//! on 401, the caller's GitHub token, and the tools of a small and a large API.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_executor::block_on;
use serde_json::{json, Value};

use super::answer::Received;
use super::call::{Api, Backend};
use super::credentials::TokenCache;
use super::request::OutgoingRequest;
use super::{parse_index, settings, tools};
use crate::handler::{GitHubAccess, LocalFuture, NoPeer, RequestContext, ToolFilter};
use crate::identity::Identity;
use crate::model::tool::CallToolResult;
use crate::model::Content;

const ZOO: &str = include_str!("../../tests/e2e/fixtures/openapi/zoo.json");

/// Answers every request with the next queued answer (200 `{"id":"1"}` when none), and records it; with
/// `slow`, an answer comes only after the caller's task yielded once (so concurrent calls overlap).
#[derive(Default)]
struct FakeBackend {
    sent: RefCell<Vec<OutgoingRequest>>,
    answers: RefCell<Vec<Received>>,
    now: Cell<u64>,
    slow: Cell<bool>,
}

/// Pending once (waking itself at once), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl FakeBackend {
    fn queue(&self, status: u16, body: &str) {
        self.answers.borrow_mut().push(Received {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        });
    }
}

impl Backend for FakeBackend {
    fn send(
        &self,
        request: OutgoingRequest,
        _timeout_ms: u64,
        _max: usize,
    ) -> LocalFuture<'_, Result<Received, String>> {
        self.sent.borrow_mut().push(request);
        let next =
            if self.answers.borrow().is_empty() { None } else { Some(self.answers.borrow_mut().remove(0)) };
        let slow = self.slow.get();
        Box::pin(async move {
            if slow {
                YieldOnce(false).await;
            }
            Ok(next.unwrap_or(Received {
                status: 200,
                content_type: Some("application/json".into()),
                body: br#"{"id":"1"}"#.to_vec(),
                ..Default::default()
            }))
        })
    }

    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn boundary(&self) -> String {
        "b0undary".into()
    }
}

fn api(extra: &[(&str, &str)], backend: Rc<FakeBackend>) -> Rc<Api> {
    let mut map: HashMap<String, String> = [
        ("OPENAPI_APIS", "zoo"),
        ("OPENAPI_ZOO_BASE_URL", "https://zoo.example/v1"),
        (
            "OPENAPI_ZOO_CREDENTIALS",
            r#"{"apiKeyHeader":"hk","oauth":{"client_id":"cid","client_secret":"cs","token_url":"https://login.example/token"}}"#,
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    map.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = settings::parse(&|k| map.get(k).cloned(), false).unwrap().remove(0);
    Rc::new(Api {
        settings,
        index: parse_index(ZOO).unwrap(),
        tokens: Rc::new(TokenCache::default()),
        backend,
    })
}

fn cx() -> RequestContext {
    RequestContext::new(Identity::anonymous(), Rc::new(NoPeer))
}

fn call(api: &Rc<Api>, cx: RequestContext, name: &str, args: Value) -> CallToolResult {
    let registry = tools::tools(api, &ToolFilter::all()).unwrap();
    block_on(registry.call(name, &args, cx, &ToolFilter::all())).unwrap()
}

fn text(result: &CallToolResult) -> &str {
    let Content::Text { text } = &result.content[0] else { panic!() };
    text
}

#[test]
fn a_call_sends_the_built_request_with_its_credential_and_answers() {
    let backend = Rc::new(FakeBackend::default());
    let api = api(&[], backend.clone());
    let result = call(&api, cx(), "getAnimal", json!({"kind": "cat", "id": "../admin"}));
    assert_eq!(result.structured_content, Some(json!({"id": "1"})), "{result:?}");
    let sent = backend.sent.borrow();
    assert_eq!(sent[0].url, "https://zoo.example/v1/animals/cat/..%2Fadmin");
    assert_eq!(sent[0].header("X-Api-Key"), Some("hk"));
    assert_eq!(sent[0].header("Authorization"), None);
}

#[test]
fn client_credentials_tokens_are_fetched_once_reused_and_renewed_on_401() {
    let backend = Rc::new(FakeBackend::default());
    let api = api(&[], backend.clone());
    backend.queue(200, r#"{"access_token":"tok1","expires_in":3600}"#);
    backend.queue(204, "");
    assert!(!call(&api, cx(), "deleteAnimal", json!({"id": "7"})).is_error);
    backend.queue(204, "");
    assert!(!call(&api, cx(), "deleteAnimal", json!({"id": "8"})).is_error);
    {
        let sent = backend.sent.borrow();
        let urls: Vec<&str> = sent.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://login.example/token",
                "https://zoo.example/v1/animals/7",
                "https://zoo.example/v1/animals/8"
            ]
        );
        assert_eq!(sent[1].header("Authorization"), Some("Bearer tok1"));
        assert_eq!(sent[2].header("Authorization"), Some("Bearer tok1"));
        assert_eq!(sent[1].method, "DELETE");
    }
    // The API refuses the token: a new one is fetched and the call retried, once.
    backend.queue(401, "{}");
    backend.queue(200, r#"{"access_token":"tok2","expires_in":3600}"#);
    backend.queue(204, "");
    assert!(!call(&api, cx(), "deleteAnimal", json!({"id": "9"})).is_error);
    backend.queue(401, "{}");
    backend.queue(200, r#"{"access_token":"tok3"}"#);
    backend.queue(401, "{}");
    let refused = call(&api, cx(), "deleteAnimal", json!({"id": "9"}));
    assert!(refused.is_error && text(&refused).starts_with("HTTP 401"));
    let sent = backend.sent.borrow();
    let auth: Vec<Option<&str>> = sent[3..].iter().map(|r| r.header("Authorization")).collect();
    assert_eq!(auth[0], Some("Bearer tok1"));
    assert!(auth[1].unwrap().starts_with("Basic "), "the token request");
    assert_eq!(auth[2], Some("Bearer tok2"));
    assert_eq!(auth[3], Some("Bearer tok2"));
    assert_eq!(auth[5], Some("Bearer tok3"));
    assert_eq!(sent.len(), 3 + 6, "one retry per call, no more");
    // Close to expiry, the token is renewed before the call.
    drop(sent);
    backend.now.set(3_600_000 - 30_000);
    backend.queue(200, r#"{"access_token":"tok4"}"#);
    call(&api, cx(), "deleteAnimal", json!({"id": "1"}));
    assert_eq!(backend.sent.borrow().last().unwrap().header("Authorization"), Some("Bearer tok4"));
}

#[test]
fn concurrent_calls_share_one_token_request_and_one_renewal() {
    let backend = Rc::new(FakeBackend { slow: Cell::new(true), ..Default::default() });
    let api = api(&[], backend.clone());
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    let all = ToolFilter::all();
    let delete = |id: &str| registry.call("deleteAnimal", &json!({"id": id}), cx(), &all);
    let paths = |sent: &[OutgoingRequest]| -> Vec<String> {
        sent.iter().map(|r| r.url.trim_start_matches("https://").to_string()).collect()
    };
    backend.queue(200, r#"{"access_token":"tok1"}"#);
    let (a, b) = block_on(futures_util::future::join(delete("1"), delete("2")));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(!a.is_error && !b.is_error, "{a:?} {b:?}");
    let mut sent = paths(&backend.sent.borrow());
    sent[1..].sort();
    assert_eq!(sent, ["login.example/token", "zoo.example/v1/animals/1", "zoo.example/v1/animals/2"]);
    assert!(backend.sent.borrow()[1..].iter().all(|r| r.header("Authorization") == Some("Bearer tok1")));
    // Both calls are refused with tok1: one renewal serves both retries.
    backend.sent.borrow_mut().clear();
    backend.queue(401, "{}");
    backend.queue(401, "{}");
    backend.queue(200, r#"{"access_token":"tok2"}"#);
    let (a, b) = block_on(futures_util::future::join(delete("3"), delete("4")));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(!a.is_error && !b.is_error, "{a:?} {b:?}");
    let sent = backend.sent.borrow();
    assert_eq!(sent.iter().filter(|r| r.url.contains("/token")).count(), 1, "{:?}", paths(&sent));
    assert_eq!(sent.len(), 5);
    assert!(sent[3..].iter().all(|r| r.header("Authorization") == Some("Bearer tok2")));
}

#[test]
fn an_unsatisfiable_requirement_is_a_tool_error_and_nothing_is_sent() {
    let backend = Rc::new(FakeBackend::default());
    let api = api(&[], backend.clone());
    let result = call(&api, cx(), "addAnimal", json!({"kind": "dog", "name": "Rex"}));
    assert!(result.is_error && text(&result).contains("OPENAPI_ZOO_CREDENTIALS"), "{result:?}");
    assert!(backend.sent.borrow().is_empty());
}

struct FakeGitHub;

impl GitHubAccess for FakeGitHub {
    fn token(&self) -> LocalFuture<'_, Result<String, String>> {
        Box::pin(async { Ok("gho_user".to_string()) })
    }
    fn get(&self, _path: &str) -> LocalFuture<'_, Result<(u16, Value), String>> {
        Box::pin(async { Err("unused".to_string()) })
    }
}

#[test]
fn github_user_mode_sends_the_callers_github_token_and_nothing_else() {
    let backend = Rc::new(FakeBackend::default());
    let api = api(&[("OPENAPI_ZOO_AUTH", "github_user")], backend.clone());
    let anonymous = call(&api, cx(), "getAnimal", json!({"kind": "cat", "id": "1"}));
    assert!(anonymous.is_error && text(&anonymous).contains("sign in with GitHub"));
    assert!(backend.sent.borrow().is_empty());
    let mut signed_in = cx();
    signed_in.github = Some(Rc::new(FakeGitHub));
    call(&api, signed_in, "getAnimal", json!({"kind": "cat", "id": "1", "Authorization": "Bearer client"}));
    let sent = backend.sent.borrow();
    assert_eq!(sent[0].header("Authorization"), Some("Bearer gho_user"));
    assert_eq!(sent[0].header("X-Api-Key"), None, "the configured scheme credentials are not used");
}

#[test]
fn small_apis_list_one_tool_per_operation_with_hints() {
    let api = api(&[("OPENAPI_ZOO_TOOL_PREFIX", "zoo_")], Rc::new(FakeBackend::default()));
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    let page = registry.list(None, 100, &ToolFilter::all()).unwrap();
    let names: Vec<&str> = page.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 9);
    assert_eq!(names[0], "zoo_getAnimal");
    let get = page.items[0];
    assert_eq!(get.title.as_deref(), Some("Get an animal"));
    assert_eq!(get.input_schema["required"], json!(["kind", "id"]));
    assert_eq!(get.output_schema.as_ref().unwrap()["required"], json!(["id"]));
    let hints = |name: &str| {
        let t = page.items.iter().find(|t| t.name == name).unwrap();
        let a = t.annotations.as_ref().unwrap();
        (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
    };
    assert_eq!(hints("zoo_getAnimal"), (Some(true), None, Some(true), Some(true)));
    assert_eq!(hints("zoo_headAnimal"), (Some(true), None, Some(true), Some(true)));
    assert_eq!(hints("zoo_deleteAnimal"), (Some(false), Some(true), Some(true), Some(true)));
    assert_eq!(hints("zoo_setMotto"), (Some(false), Some(false), Some(true), Some(true)));
    assert_eq!(hints("zoo_addAnimal"), (Some(false), Some(false), Some(false), Some(true)));
}

#[test]
fn large_apis_search_describe_and_invoke() {
    let backend = Rc::new(FakeBackend::default());
    let api = api(&[("OPENAPI_ZOO_MAX_TOOLS", "3")], backend.clone());
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    let page = registry.list(None, 100, &ToolFilter::all()).unwrap();
    let names: Vec<&str> = page.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["zoo_search_operations", "zoo_describe_operation", "zoo_invoke_operation"]);
    let found = call(&api, cx(), "zoo_search_operations", json!({"query": "list animals"}));
    let ops = &found.structured_content.as_ref().unwrap()["operations"];
    assert_eq!(
        ops[0],
        json!({"name": "listAnimals", "method": "GET", "path": "/animals", "summary": "List animals"})
    );
    assert_eq!(found.structured_content.as_ref().unwrap()["total"], 9);
    let limited = call(&api, cx(), "zoo_search_operations", json!({"query": "animal", "limit": 2}));
    assert_eq!(limited.structured_content.unwrap()["operations"].as_array().unwrap().len(), 2);
    let described = call(&api, cx(), "zoo_describe_operation", json!({"name": "getAnimal"}));
    let d = described.structured_content.unwrap();
    assert_eq!((d["method"].as_str(), d["path"].as_str()), (Some("GET"), Some("/animals/{kind}/{id}")));
    assert_eq!(d["inputSchema"]["required"], json!(["kind", "id"]));
    let invalid =
        call(&api, cx(), "zoo_invoke_operation", json!({"name": "getAnimal", "arguments": {"kind": 3}}));
    assert!(invalid.is_error && text(&invalid).contains("/kind"), "{invalid:?}");
    assert!(backend.sent.borrow().is_empty());
    let invoked = call(
        &api,
        cx(),
        "zoo_invoke_operation",
        json!({"name": "getAnimal", "arguments": {"kind": "cat", "id": "2"}}),
    );
    assert_eq!(invoked.structured_content, Some(json!({"id": "1"})));
    assert_eq!(backend.sent.borrow()[0].url, "https://zoo.example/v1/animals/cat/2");
    let unknown = call(&api, cx(), "zoo_invoke_operation", json!({"name": "nope"}));
    assert!(unknown.is_error && text(&unknown).contains("search"));
}

#[test]
fn the_deployments_filter_reaches_operations_behind_the_large_api_tools() {
    let api = api(&[("OPENAPI_ZOO_MAX_TOOLS", "0")], Rc::new(FakeBackend::default()));
    let deny = ToolFilter { deny: ["deleteAnimal".to_string()].into(), ..ToolFilter::all() };
    let registry = tools::tools(&api, &deny).unwrap();
    let run =
        |name: &str, args: Value| block_on(registry.call(name, &args, cx(), &ToolFilter::all())).unwrap();
    let found = run("zoo_search_operations", json!({"query": "delete"}));
    assert!(!found.structured_content.unwrap()["operations"].to_string().contains("deleteAnimal"));
    assert!(run("zoo_invoke_operation", json!({"name": "deleteAnimal", "arguments": {"id": "1"}})).is_error);
    assert!(run("zoo_describe_operation", json!({"name": "deleteAnimal"})).is_error);
}

#[test]
fn a_call_through_invoke_reaches_the_operations_tool_for_rate_limits() {
    let api = api(
        &[("OPENAPI_ZOO_MAX_TOOLS", "0"), ("OPENAPI_ZOO_TOOL_PREFIX", "zoo_")],
        Rc::new(FakeBackend::default()),
    );
    let registry = tools::tools(&api, &ToolFilter::all()).unwrap();
    let through = json!({"name": "deleteAnimal", "arguments": {"id": "1"}});
    assert_eq!(
        registry.reached("zoo_zoo_invoke_operation", Some(&through)),
        ["zoo_zoo_invoke_operation", "zoo_deleteAnimal"]
    );
    assert_eq!(
        registry.reached("zoo_zoo_invoke_operation", Some(&json!({"name": "nope"}))),
        ["zoo_zoo_invoke_operation"]
    );
    assert_eq!(registry.reached("zoo_zoo_invoke_operation", None), ["zoo_zoo_invoke_operation"]);
    assert_eq!(registry.reached("zoo_zoo_search_operations", Some(&through)), ["zoo_zoo_search_operations"]);
}

#[test]
fn prompts_explain_each_operation() {
    let api = api(&[("OPENAPI_ZOO_PROMPTS", "true")], Rc::new(FakeBackend::default()));
    let prompts = tools::prompts(&api);
    let page = prompts.list(None, 100).unwrap();
    assert_eq!(page.items.len(), 9);
    let got = block_on(prompts.get("getAnimal", None, &cx())).unwrap();
    let Content::Text { text } = &got.messages[0].content else { panic!() };
    assert!(text.contains("GET /animals/{kind}/{id}") && text.contains("Call the tool getAnimal"), "{text}");
    assert!(text.contains("- kind (string, required): The kind of animal"), "{text}");
    assert!(text.contains("- fields (array, optional)"), "{text}");
    assert!(text.contains("It returns JSON matching this schema"), "{text}");
}

#[test]
fn indexes_are_checked_before_they_are_served() {
    assert!(parse_index(ZOO).is_ok());
    assert!(parse_index(r#"{"format":2,"title":"x","version":"1","operations":[]}"#)
        .unwrap_err()
        .contains("import the spec again"));
    assert!(parse_index("{").is_err());
    let op = |name: &str| {
        format!(r#"{{"name":"{name}","method":"get","path":"/x","description":"","input_schema":{{}}}}"#)
    };
    let with = |ops: Vec<String>| {
        format!(r#"{{"format":1,"title":"x","version":"1","operations":[{}]}}"#, ops.join(","))
    };
    assert!(parse_index(&with(vec![op("a.b")])).unwrap_err().contains("invalid operation name"));
    assert!(parse_index(&with(vec![op("a"), op("a")])).unwrap_err().contains("two operations"));
}
