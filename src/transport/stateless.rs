//! The stateless lane of `/mcp` (2026-07-28): no `initialize`, no session. Every POST declares its revision,
//! capabilities and client in `params._meta`, and headers repeat what routing needs. This module checks a
//! request in the order the revision implies, answers it with the same [`Server`] the session lane uses,
//! and shapes the result (`resultType`, `serverInfo`, caching hints, input-required results).
//!
//! Server-to-client requests do not exist here: a handler's question (see [`RequestContext::ask`]) becomes an
//! input-required result, the client answers and sends the request again with `inputResponses` and the
//! sealed `requestState` ([`RequestStates`]), and the handler runs again with the answers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::request_state::{RequestStates, MAX_STATE_BYTES};
use crate::handler::{LocalFuture, Peer, PeerError, RequestContext, Server, ToolFilter};
use crate::identity::Identity;
use crate::model::stateless::{self as wire, meta, CacheHint, CacheScope, Completed, Declared, InputRequest};
use crate::model::{code, ErrorObject, Message, Payload, ProtocolVersion, Request, RequestId, Response};

/// The headers of a stateless POST that repeat its body, as received (before trimming and decoding).
#[derive(Debug, Clone, Default)]
pub struct WireHeaders {
    pub protocol_version: Option<String>,
    pub method: Option<String>,
    pub name: Option<String>,
}

/// A JSON-RPC answer and the HTTP status it travels with.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    said: Said,
}

/// What an answer says: a response as it is, or a complete result with the revision's members.
#[derive(Debug, Clone, PartialEq)]
enum Said {
    Response(Response),
    Complete(RequestId, Completed),
}

impl Answer {
    pub fn new(status: u16, response: Response) -> Self {
        Self { status, said: Said::Response(response) }
    }

    fn ok(response: Response) -> Self {
        Self::new(200, response)
    }

    fn ok_complete(id: RequestId, result: Completed) -> Self {
        Self { status: 200, said: Said::Complete(id, result) }
    }

    fn refused(status: u16, request: &Request, error: ErrorObject) -> Self {
        Self::new(status, Response::error(Some(request.id.clone()), error))
    }

    /// The answer as JSON text.
    pub fn to_json(&self) -> String {
        match &self.said {
            Said::Response(response) => response.to_json(),
            Said::Complete(id, result) => {
                #[derive(serde::Serialize)]
                struct Sent<'a> {
                    jsonrpc: &'static str,
                    id: &'a RequestId,
                    result: &'a Completed,
                }
                serde_json::to_string(&Sent { jsonrpc: "2.0", id, result }).unwrap_or_default()
            }
        }
    }

    /// The answer as a JSON value (for tests and logs).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.to_json()).unwrap_or(Value::Null)
    }
}

/// The revisions this lane speaks, as `server/discover` lists them.
pub fn supported_versions() -> Vec<&'static str> {
    ProtocolVersion::STATELESS.map(ProtocolVersion::as_str).to_vec()
}

/// Which lane a POST without `Mcp-Session-Id` belongs to. The revision's rule (the TypeScript SDK's
/// `isLegacyRequest`): a message whose `params._meta` claims a protocol version is stateless, whatever version
/// it names; an `MCP-Protocol-Version` header of a stateless revision without the claim is a request missing
/// its context; everything else is the session era's `initialize`.
#[derive(Debug, PartialEq)]
pub enum Era {
    /// For the stateless lane ([`check`], then [`Lane::answer`]).
    Stateless(Request),
    /// A stateless notification: without a session there is nothing to do (202).
    Acknowledge,
    /// Refused with this answer (HTTP 400).
    Refused(Response),
    /// The session era, with the payload back.
    Session(Payload),
}

/// Sorts a parsed POST body without a session into its [`Era`]; `header_version` is `MCP-Protocol-Version`.
pub fn classify(payload: Payload, header_version: Option<&str>) -> Era {
    let stateless_header = header_version
        .and_then(wire::header_value)
        .and_then(|v| ProtocolVersion::parse(&v))
        .is_some_and(ProtocolVersion::is_stateless);
    let claims = |params: Option<&Value>| wire::claims_stateless(params);
    let refused = |id: Option<RequestId>, code: i32, message: String| {
        Era::Refused(Response::error(id, ErrorObject::new(code, message)))
    };
    match payload {
        Payload::Batch(items) => {
            let claimed = items.iter().flatten().any(|m| match m {
                Message::Request(r) => claims(r.params.as_ref()),
                Message::Notification(n) => claims(n.params.as_ref()),
                Message::Response(_) => false,
            });
            if stateless_header || claimed {
                let why = "Invalid Request: the stateless revision (2026-07-28) has no batches: one message per POST";
                return refused(None, code::INVALID_REQUEST, why.into());
            }
            Era::Session(Payload::Batch(items))
        }
        Payload::Single(Ok(Message::Request(request))) if claims(request.params.as_ref()) => {
            Era::Stateless(request)
        }
        Payload::Single(Ok(Message::Request(request))) if stateless_header => {
            let why = Declared::read(request.params.as_ref()).err().unwrap_or_default();
            refused(Some(request.id), code::INVALID_PARAMS, format!("Invalid params: {why}"))
        }
        Payload::Single(Ok(Message::Notification(n))) if claims(n.params.as_ref()) => {
            // The same rules as a request's, as far as a notification has them.
            let declared = match Declared::read(n.params.as_ref()) {
                Ok(declared) => declared,
                Err(why) => return refused(None, code::INVALID_PARAMS, format!("Invalid params: {why}")),
            };
            match header_version.and_then(wire::header_value) {
                Some(v) if v != declared.protocol_version => refused(
                    None,
                    code::HEADER_MISMATCH,
                    "Header mismatch: MCP-Protocol-Version must equal the _meta protocol version".into(),
                ),
                _ => Era::Acknowledge,
            }
        }
        Payload::Single(Ok(Message::Notification(_))) if stateless_header => Era::Acknowledge,
        other => Era::Session(other),
    }
}

/// A request checked for the lane: what it declared and the revision it speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub declared: Declared,
    pub version: ProtocolVersion,
}

/// Checks a stateless request before anything runs, in the order the revision implies: the `_meta` it must
/// carry (-32602), then the headers against the body (-32020, so that a mismatched version is reported as a
/// mismatch rather than as unsupported), then the revision (-32022), then the method (404, -32601). All
/// with HTTP 400 except the last.
pub fn check(request: &Request, headers: &WireHeaders, server: &Server) -> Result<Checked, Answer> {
    let declared = Declared::read(request.params.as_ref())
        .map_err(|why| Answer::refused(400, request, ErrorObject::new(code::INVALID_PARAMS, why)))?;
    let mismatch = |what: String| {
        Answer::refused(
            400,
            request,
            ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {what}")),
        )
    };
    let header = |raw: &Option<String>| raw.as_deref().map(wire::header_value);
    match header(&headers.protocol_version) {
        Some(Some(v)) if v == declared.protocol_version => {}
        Some(_) => {
            return Err(mismatch(format!(
                "MCP-Protocol-Version must equal params._meta[\"{}\"] ({:?})",
                meta::PROTOCOL_VERSION,
                declared.protocol_version
            )))
        }
        None => return Err(mismatch("the MCP-Protocol-Version header is required".into())),
    }
    match header(&headers.method) {
        Some(Some(m)) if m == request.method => {}
        Some(_) => {
            return Err(mismatch(format!(
                "{} must equal the method {:?}",
                wire::header::METHOD,
                request.method
            )))
        }
        None => return Err(mismatch(format!("the {} header is required", wire::header::METHOD))),
    }
    if let Some(field) = named_by(&request.method) {
        let Some(value) = request.params.as_ref().and_then(|p| p.get(field)).and_then(Value::as_str) else {
            // A body error, not a header mismatch.
            let why = format!("Invalid params: params.{field} must be a string");
            return Err(Answer::refused(400, request, ErrorObject::new(code::INVALID_PARAMS, why)));
        };
        match header(&headers.name) {
            Some(Some(name)) if name == value => {}
            None => return Err(mismatch(format!("the {} header is required", wire::header::NAME))),
            Some(_) => return Err(mismatch(format!("{} must equal params.{field}", wire::header::NAME))),
        }
    }
    let version =
        ProtocolVersion::parse(&declared.protocol_version).filter(|v| v.is_stateless()).ok_or_else(|| {
            let error = ErrorObject::new(
                code::UNSUPPORTED_PROTOCOL_VERSION,
                format!("Unsupported protocol version {:?}", declared.protocol_version),
            )
            .with_data(json!({ "supported": supported_versions(), "requested": declared.protocol_version }));
            Answer::refused(400, request, error)
        })?;
    if !server.serves_stateless(&request.method) {
        let error = ErrorObject::new(code::METHOD_NOT_FOUND, format!("Method not found: {}", request.method));
        return Err(Answer::refused(404, request, error));
    }
    Ok(Checked { declared, version })
}

/// The param `Mcp-Name` repeats, for the methods that name something.
fn named_by(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// Methods whose handlers may ask the client (and so answer with an input-required result).
fn may_ask(method: &str) -> bool {
    named_by(method).is_some()
}

/// How long clients may keep a result, and whether it may be shared between callers. Lists and discovery
/// are the same for every caller; a read is kept private, since a resource may be the caller's own.
fn cache_hint(method: &str) -> Option<CacheHint> {
    let public = |ttl_ms| Some(CacheHint { ttl_ms, scope: CacheScope::Public });
    match method {
        "server/discover" | "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            public(5 * 60 * 1000)
        }
        "resources/read" => Some(CacheHint { ttl_ms: 60 * 1000, scope: CacheScope::Private }),
        _ => None,
    }
}

/// Everything a stateless request needs besides the request itself.
pub struct Lane<'a> {
    pub server: &'a Server,
    pub states: &'a RequestStates,
    pub caller: Identity,
    /// The tools the connection narrowed itself to.
    pub tools: ToolFilter,
    pub now_ms: u64,
    /// Where notifications of the request (progress, logs) go: the POST's stream, if it has one.
    pub notify: Rc<dyn Fn(Value)>,
    /// GitHub as the caller, for a user signed in with GitHub.
    pub github: Option<Rc<dyn crate::handler::GitHubAccess>>,
}

impl Lane<'_> {
    /// Answers a checked request (see [`check`]).
    pub async fn answer(self, mut request: Request, checked: Checked) -> Answer {
        // `_meta` goes to the context, moved rather than copied; nothing below reads it from the params (their
        // state's binding leaves it out anyway).
        let declared_meta =
            request.params.as_mut().and_then(Value::as_object_mut).and_then(|p| p.remove("_meta"));
        let no_params = Value::Object(Map::new());
        let answers = match self.answers(&request, request.params.as_ref().unwrap_or(&no_params)) {
            Ok(answers) => answers,
            Err(error) => return Answer::ok(Response::error(Some(request.id.clone()), error)),
        };
        if request.method == "server/discover" {
            let result = self.server.discover(&supported_versions()).clone();
            return self.complete(request.id, "server/discover", result);
        }
        let asks = may_ask(&request.method).then(|| request.method.clone());
        let peer = Rc::new(Questions::new(answers, self.notify.clone(), asks));
        let mut cx = RequestContext::new(self.caller.clone(), peer.clone()).with_meta(declared_meta);
        cx.protocol_version = checked.version;
        cx.client_capabilities = checked.declared.client_capabilities;
        cx.client_info = checked.declared.client_info.unwrap_or_default();
        cx.log_level = checked.declared.log_level;
        cx.github = self.github.clone();
        cx.tools = self.tools.clone();
        let Request { id, method, params, .. } = &request;
        // Without a session nothing can cancel a request, so there is always an answer.
        let response = self.server.handle_request(&request, &cx).await.unwrap_or_else(|| {
            Response::error(Some(id.clone()), ErrorObject::new(code::INTERNAL_ERROR, "cancelled"))
        });
        let (id, method, params) = (id.clone(), method.as_str(), params.as_ref().unwrap_or(&no_params));
        let asked = peer.asked.take();
        if may_ask(method) && !asked.is_empty() {
            let mut requests = Map::new();
            for (key, question) in asked {
                requests.insert(key, serde_json::to_value(question).expect("questions serialize"));
            }
            let nonce = crate::random::hex::<8>();
            let used = peer.used.take();
            let state = self.states.seal(&self.caller, method, params, &used, self.now_ms, &nonce);
            if state.len() > MAX_STATE_BYTES {
                let error = ErrorObject::new(
                    code::INTERNAL_ERROR,
                    format!(
                        "the answers so far take more than {MAX_STATE_BYTES} bytes, too many to carry on"
                    ),
                );
                return Answer::ok(Response::error(Some(id), error));
            }
            let mut result = json!({
                "resultType": wire::INPUT_REQUIRED,
                "inputRequests": requests,
                "requestState": state,
            });
            if let Some(result) = result.as_object_mut() {
                wire::insert_meta(result, meta::SERVER_INFO, Value::clone(self.server.info_json()));
            }
            return Answer::ok(Response::result(id, result));
        }
        let missing = peer.missing.take();
        if !missing.is_empty() && failed(&response) {
            let required: Map<String, Value> = missing.iter().map(|c| (c.to_string(), json!({}))).collect();
            let error = ErrorObject::new(
                code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!(
                    "This request needs client capabilities the request did not declare: {}",
                    missing.join(", ")
                ),
            )
            .with_data(json!({ "requiredCapabilities": required }));
            return Answer::new(400, Response::error(Some(id), error));
        }
        match response.outcome {
            Ok(Value::Object(result)) => self.complete(id, method, Rc::new(Value::Object(result))),
            Ok(other) => Answer::ok(Response::result(id, other)),
            // A missing resource is -32602 with its URI in this revision (-32002 is retired).
            Err(mut error) if error.code == code::RESOURCE_NOT_FOUND => {
                error.code = code::INVALID_PARAMS;
                Answer::ok(Response::error(Some(id), error))
            }
            Err(error) => Answer::ok(Response::error(Some(id), error)),
        }
    }

    /// The answers a retry carries: those sealed in `requestState` by earlier rounds, and `inputResponses`.
    fn answers(&self, request: &Request, params: &Value) -> Result<Map<String, Value>, ErrorObject> {
        if !may_ask(&request.method) {
            return Ok(Map::new());
        }
        let mut answers = match params.get("requestState") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::String(state)) => self
                .states
                .open(state, &self.caller, &request.method, params, self.now_ms)
                .map_err(|e| ErrorObject::new(code::INVALID_PARAMS, format!("Invalid params: {e}")))?,
            Some(_) => {
                return Err(ErrorObject::new(
                    code::INVALID_PARAMS,
                    "Invalid params: requestState must be a string",
                ))
            }
        };
        // Anything but an object (null included) answers nothing: the questions are asked again. Answers sealed
        // by earlier rounds win: a fresh response only answers what is still open, so a client cannot change
        // an answer a later question was built on.
        if let Some(Value::Object(responses)) = params.get("inputResponses") {
            for (key, value) in responses {
                answers.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        Ok(answers)
    }

    /// A complete answer in the revision's shape: `resultType`, `serverInfo`, the method's caching hint.
    fn complete(&self, id: RequestId, method: &str, result: Rc<Value>) -> Answer {
        let server_info = self.server.info_json().clone();
        Answer::ok_complete(id, Completed { result, hint: cache_hint(method), server_info })
    }
}

/// Whether a handler failed: an error, or a tool result with `isError`.
fn failed(response: &Response) -> bool {
    match &response.outcome {
        Err(_) => true,
        Ok(result) => result.get("isError").and_then(Value::as_bool) == Some(true),
    }
}

/// The stateless lane's [`Peer`]: questions are answered from the request's answers, or collected for an
/// input-required result; notifications go to the POST's stream.
struct Questions {
    answers: Map<String, Value>,
    /// Answers the handler used, kept in the next `requestState`.
    used: RefCell<Map<String, Value>>,
    /// Questions without a (well-formed) answer, in the order asked.
    asked: RefCell<Vec<(String, InputRequest)>>,
    /// Capabilities the handler needed that the request did not declare.
    missing: RefCell<Vec<&'static str>>,
    /// Questions asked so far per unnamed kind, for their keys.
    counts: RefCell<HashMap<&'static str, u32>>,
    notify: Rc<dyn Fn(Value)>,
    /// The method, when it may answer with an input-required result; other methods cannot ask at all.
    method: Option<String>,
}

impl Questions {
    fn new(answers: Map<String, Value>, notify: Rc<dyn Fn(Value)>, method: Option<String>) -> Self {
        Self {
            method,
            answers,
            used: RefCell::default(),
            asked: RefCell::default(),
            missing: RefCell::default(),
            counts: RefCell::default(),
            notify,
        }
    }

    fn lookup(&self, key: &str, method: &str, params: Value) -> Result<Value, PeerError> {
        if self.method.is_none() {
            return Err(PeerError::Closed(
                "only tools/call, prompts/get and resources/read can ask the client in 2026-07-28".into(),
            ));
        }
        match self.answers.get(key).filter(|answer| answers_method(answer, method)) {
            Some(answer) => {
                self.used.borrow_mut().insert(key.to_string(), answer.clone());
                Ok(answer.clone())
            }
            None => {
                let mut asked = self.asked.borrow_mut();
                if !asked.iter().any(|(k, _)| k == key) {
                    asked.push((key.to_string(), InputRequest { method: method.into(), params }));
                }
                Err(PeerError::InputRequired)
            }
        }
    }
}

/// Whether `answer` has the shape of a result of `method` (anything else is asked again).
fn answers_method(answer: &Value, method: &str) -> bool {
    let Some(answer) = answer.as_object() else { return false };
    match method {
        "elicitation/create" => {
            matches!(answer.get("action").and_then(Value::as_str), Some("accept" | "decline" | "cancel"))
        }
        "sampling/createMessage" => answer.contains_key("role") && answer.contains_key("content"),
        "roots/list" => answer.get("roots").is_some_and(Value::is_array),
        _ => true,
    }
}

/// The key of an unnamed question: its kind, numbered from the second one on.
fn kind_of(method: &str) -> &'static str {
    match method {
        "elicitation/create" => "elicitation",
        "sampling/createMessage" => "sampling",
        "roots/list" => "roots",
        _ => "input",
    }
}

impl Peer for Questions {
    fn notify(&self, method: &str, params: Value) {
        (self.notify)(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        let kind = kind_of(method);
        let n = {
            let mut counts = self.counts.borrow_mut();
            let n = counts.entry(kind).or_insert(0);
            *n += 1;
            *n
        };
        let key = if n == 1 { kind.to_string() } else { format!("{kind}-{n}") };
        let outcome = self.lookup(&key, method, params);
        Box::pin(async move { outcome })
    }

    fn request_as(
        &self,
        key: &str,
        method: &str,
        params: Value,
    ) -> LocalFuture<'_, Result<Value, PeerError>> {
        let outcome = self.lookup(key, method, params);
        Box::pin(async move { outcome })
    }

    fn awaits_input(&self) -> bool {
        !self.asked.borrow().is_empty()
    }

    fn missing_capability(&self, capability: &'static str) {
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&capability) {
            missing.push(capability);
        }
    }
}
