//! The server role: dispatches JSON-RPC requests and notifications to the lifecycle, tools, resources and
//! prompts, each request with its [`RequestContext`]. Transport-agnostic and session-optional: the Streamable
//! HTTP and legacy SSE transports (inside a session) and a stateless lane all go through [`Server`].

pub mod completion;
pub mod context;
pub mod exposure;
pub mod pagination;
pub mod prompts;
pub mod resources;
pub mod tools;

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use std::rc::Rc;

use crate::audit::Outcome;
use crate::cancellation::{Cancellation, Refusal};
use crate::error::McpError;
use crate::identity::Identity;
use crate::model::lifecycle::{
    Implementation, InitializeParams, InitializeResult, ListChanged, ResourcesCapability, ServerCapabilities,
    SetLevelParams,
};
use crate::model::resource::{GetPromptParams, PaginatedParams, ReadResourceParams};
use crate::model::tool::CallToolParams;
use crate::model::{Message, Notification, ProtocolVersion, Request, RequestId, Response};
use crate::session::{Opening, MAX_SUBSCRIPTIONS};
use completion::{CompleteParams, Reference};

pub use context::{GitHubAccess, NoPeer, Peer, PeerError, RequestContext};
pub use exposure::ToolFilter;
pub use prompts::{PromptDef, PromptRegistry};
pub use resources::{ResourceProvider, ResourceRegistry};
pub use tools::{LocalFuture, Sleep, ToolDef, ToolError, ToolRegistry, ToolTimeout};

/// An MCP server: what it offers, and how it answers.
#[derive(Clone)]
pub struct Server {
    info: Implementation,
    info_json: Rc<Value>,
    /// [`Self::discover`], once made (the builders that change it reset it).
    discover_json: std::cell::OnceCell<Rc<Value>>,
    instructions: Option<String>,
    tools: ToolRegistry,
    resources: ResourceRegistry,
    prompts: PromptRegistry,
    page_size: usize,
    lists_change: ListsChange,
    exposure: ToolFilter,
    tool_timeout: Option<ToolTimeout>,
    observer: Option<Rc<dyn Observer>>,
}

/// What the server reports about its work (audit lines, metrics, analytics), provided by the platform: the
/// core has no clock and no log of its own.
pub trait Observer {
    fn now_ms(&self) -> f64;
    fn tool_call(&self, tool: &str, outcome: Outcome, duration_ms: f64, cx: &RequestContext);
    /// One JSON-RPC request handled, on any lane (`initialize` included; notifications are not requests).
    fn request(&self, _answered: &Answered<'_>) {}
}

/// A JSON-RPC request the server handled, as [`Observer::request`] gets it.
#[derive(Debug, Clone, Copy)]
pub struct Answered<'a> {
    pub method: &'a str,
    /// The revision of the request's lane: the session's, the stateless one, or what `initialize` negotiated.
    pub revision: ProtocolVersion,
    pub caller: &'a Identity,
    /// The JSON-RPC error code of the answer; `None` for a result (or a cancelled request, which has none).
    pub error: Option<i32>,
    pub duration_ms: f64,
}

/// Several observers as one: each gets every report (the audit log, metrics, analytics).
pub struct Observers(pub Vec<Rc<dyn Observer>>);

impl Observer for Observers {
    fn now_ms(&self) -> f64 {
        self.0.first().map_or(0.0, |o| o.now_ms())
    }

    fn tool_call(&self, tool: &str, outcome: Outcome, duration_ms: f64, cx: &RequestContext) {
        for observer in &self.0 {
            observer.tool_call(tool, outcome, duration_ms, cx);
        }
    }

    fn request(&self, answered: &Answered<'_>) {
        for observer in &self.0 {
            observer.request(answered);
        }
    }
}

/// Which lists can change while clients hold them, so that `listChanged` is declared only where it is true.
/// Changes reach the stateless lane's listen streams; sessions are not told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListsChange {
    pub tools: bool,
    pub prompts: bool,
}

impl Server {
    pub fn new(info: Implementation) -> Self {
        Self {
            discover_json: Default::default(),
            info_json: Rc::new(to_value(&info)),
            info,
            instructions: None,
            tools: ToolRegistry::default(),
            resources: ResourceRegistry::default(),
            prompts: PromptRegistry::default(),
            page_size: 50,
            lists_change: ListsChange::default(),
            exposure: ToolFilter::all(),
            tool_timeout: None,
            observer: None,
        }
    }

    /// Reports every tool call to `observer`.
    pub fn observer(mut self, observer: Rc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Bounds every tool call's time (see [`ToolTimeout`]).
    pub fn tool_timeout(mut self, timeout: ToolTimeout) -> Self {
        self.tool_timeout = Some(timeout);
        self
    }

    /// The tools this deployment exposes (see [`ToolFilter`]); requests may narrow it further.
    pub fn exposure(mut self, exposure: ToolFilter) -> Self {
        self.exposure = exposure;
        self
    }

    /// Declares which lists can change (see [`ListsChange`]).
    pub fn lists_change(mut self, lists_change: ListsChange) -> Self {
        self.discover_json = Default::default();
        self.lists_change = lists_change;
        self
    }

    pub fn changing_lists(&self) -> ListsChange {
        self.lists_change
    }

    pub fn instructions(mut self, text: &str) -> Self {
        self.discover_json = Default::default();
        self.instructions = Some(text.into());
        self
    }

    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        self.discover_json = Default::default();
        self.tools = tools;
        self
    }

    /// Adds `tools` and `prompts` to those the server has (a later one replaces an earlier one of its name).
    pub fn add(mut self, tools: ToolRegistry, prompts: PromptRegistry) -> Self {
        self.discover_json = Default::default();
        self.tools.extend(tools);
        self.prompts = std::mem::take(&mut self.prompts).merge(prompts);
        self
    }

    /// The tools and prompts the server has.
    pub fn registries(&self) -> (&ToolRegistry, &PromptRegistry) {
        (&self.tools, &self.prompts)
    }

    /// The tools a `tools/call` request reaches (its own, and the one it calls through); none for other methods.
    pub fn tools_reached(&self, request: &Request) -> Vec<String> {
        if request.method != "tools/call" {
            return Vec::new();
        }
        let params = request.params.as_ref();
        let Some(name) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
            return Vec::new();
        };
        self.tools.reached(name, params.and_then(|p| p.get("arguments")))
    }

    pub fn resources(mut self, resources: ResourceRegistry) -> Self {
        self.discover_json = Default::default();
        self.resources = resources;
        self
    }

    pub fn prompts(mut self, prompts: PromptRegistry) -> Self {
        self.discover_json = Default::default();
        self.prompts = prompts;
        self
    }

    /// Items per page of every `*/list` result.
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    pub fn info(&self) -> &Implementation {
        &self.info
    }

    /// [`Self::info`] as JSON, made once: every stateless result carries it.
    pub fn info_json(&self) -> &Rc<Value> {
        &self.info_json
    }

    /// Declared only for what is implemented.
    pub fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            tools: (!self.tools.is_empty()).then_some(ListChanged { list_changed: false }),
            resources: (!self.resources.is_empty())
                .then_some(ResourcesCapability { subscribe: true, list_changed: false }),
            prompts: (!self.prompts.is_empty()).then_some(ListChanged { list_changed: false }),
            logging: Some(json!({})),
            completions: (!self.prompts.is_empty() || !self.resources.is_empty()).then(|| json!({})),
        }
    }

    /// What the stateless lane declares in `server/discover`: the session lane's capabilities without
    /// `logging/setLevel` and `resources/subscribe` (gone in 2026-07-28), with `listChanged` where lists change.
    pub fn stateless_capabilities(&self) -> ServerCapabilities {
        let mut caps = self.capabilities();
        if let Some(tools) = &mut caps.tools {
            tools.list_changed = self.lists_change.tools;
        }
        if let Some(prompts) = &mut caps.prompts {
            prompts.list_changed = self.lists_change.prompts;
        }
        if let Some(resources) = &mut caps.resources {
            resources.subscribe = false;
        }
        caps
    }

    /// The result of `server/discover` (without the stateless lane's common fields), made once: it is the same
    /// for every request.
    pub fn discover(&self, supported_versions: &[&str]) -> &Rc<Value> {
        self.discover_json.get_or_init(|| {
            let mut result = json!({
                "supportedVersions": supported_versions,
                "capabilities": self.stateless_capabilities(),
            });
            if let Some(instructions) = &self.instructions {
                result["instructions"] = json!(instructions);
            }
            Rc::new(result)
        })
    }

    /// Whether `method` is served on the stateless lane (2026-07-28) with these capabilities.
    /// Checked on every stateless request, so it reads the registries rather than building the capabilities.
    pub fn serves_stateless(&self, method: &str) -> bool {
        match method {
            "server/discover" => true,
            "tools/list" | "tools/call" => !self.tools.is_empty(),
            "resources/list" | "resources/templates/list" | "resources/read" => !self.resources.is_empty(),
            "prompts/list" | "prompts/get" => !self.prompts.is_empty(),
            "completion/complete" => !self.prompts.is_empty() || !self.resources.is_empty(),
            "subscriptions/listen" => self.lists_change.tools || self.lists_change.prompts,
            _ => false,
        }
    }

    /// The names of the registered tools (exposed or not).
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tools.names()
    }

    /// [`Self::initialize`] for `caller`, reported to the observer.
    pub fn initialize_by(
        &self,
        request: &Request,
        caller: &Identity,
        now_ms: u64,
    ) -> Result<(Response, Opening), Response> {
        let started = self.observer.as_ref().map(|o| o.now_ms());
        let answer = self.initialize(request, now_ms);
        if let (Some(observer), Some(started)) = (&self.observer, started) {
            observer.request(&Answered {
                method: "initialize",
                revision: answer
                    .as_ref()
                    .map_or(ProtocolVersion::LATEST_STATEFUL, |(_, o)| o.protocol_version),
                caller,
                error: answer.as_ref().err().and_then(|r| r.outcome.as_ref().err()).map(|e| e.code),
                duration_ms: observer.now_ms() - started,
            });
        }
        answer
    }

    /// Answers `initialize` at `now_ms`, with what the new session keeps ([`Opening`]).
    pub fn initialize(&self, request: &Request, now_ms: u64) -> Result<(Response, Opening), Response> {
        let params: InitializeParams =
            parse_params(request.params.as_ref()).map_err(|e| error_response(request, e))?;
        let kept = params.capabilities.to_string().len() + to_value(&params.client_info).to_string().len();
        if kept > MAX_OPENING_BYTES {
            let why =
                format!("capabilities and clientInfo may take at most {MAX_OPENING_BYTES} bytes, not {kept}");
            return Err(error_response(request, McpError::InvalidParams(why)));
        }
        let version = ProtocolVersion::negotiate(&params.protocol_version);
        let opening = Opening {
            protocol_version: version,
            client_info: params.client_info,
            client_capabilities: params.capabilities,
            opened_at_ms: now_ms,
        };
        let result = InitializeResult {
            protocol_version: version.as_str().into(),
            capabilities: self.capabilities(),
            server_info: self.info.clone(),
            instructions: self.instructions.clone(),
        };
        Ok((Response::result(request.id.clone(), to_value(result)), opening))
    }

    /// Answers one request with `cx`, the context of the lane it came through; `None` when the client
    /// cancelled it (no response is sent then).
    pub async fn handle_request(&self, request: &Request, cx: &RequestContext) -> Option<Response> {
        match self.admit(request, cx) {
            Ok(cancellation) => self.answer(request, cx, cancellation).await,
            Err(refused) => Some(refused),
        }
    }

    /// Registers `request` as in flight in the context's session, so that `notifications/cancelled` can stop
    /// exactly this request: admit every request of a POST before answering the first, so that a cancellation
    /// of a later one is not lost. An id already in flight, or a session that ended, is refused.
    pub fn admit(&self, request: &Request, cx: &RequestContext) -> Result<Cancellation, Response> {
        let Some(session) = &cx.session else { return Ok(Cancellation::new()) };
        session.in_flight().start(&request.id).map_err(|refusal| {
            let why = match refusal {
                Refusal::DuplicateId => format!(
                    "request id {} is already in use by a request in progress",
                    serde_json::to_string(&request.id).unwrap_or_default()
                ),
                Refusal::Closed => "the session ended".to_string(),
            };
            Response::error(Some(request.id.clone()), McpError::InvalidRequest(why).to_error_object())
        })
    }

    /// Answers an admitted request (see [`Server::admit`]); `None` when it was cancelled.
    pub async fn answer(
        &self,
        request: &Request,
        cx: &RequestContext,
        cancellation: Cancellation,
    ) -> Option<Response> {
        let id = request.id.clone();
        let cx = cx.for_request(request.params.as_ref(), cancellation.clone());
        let observed = self.observer.as_ref().map(|o| (o, o.now_ms(), request.method.clone()));
        let outcome = cancellation.run(self.dispatch(request, &cx)).await;
        if let Some(session) = &cx.session {
            session.in_flight().finish(&id, &cancellation);
        }
        let response = outcome.map(|outcome| match outcome {
            Ok(result) => Response::result(id, result),
            Err(error) => Response::error(Some(id), error.to_error_object()),
        });
        if let Some((observer, started, method)) = observed {
            observer.request(&Answered {
                method: &method,
                revision: cx.protocol_version,
                caller: &cx.caller,
                error: response.as_ref().and_then(|r| r.outcome.as_ref().err()).map(|e| e.code),
                duration_ms: observer.now_ms() - started,
            });
        }
        response
    }

    async fn dispatch(&self, request: &Request, cx: &RequestContext) -> Result<Value, McpError> {
        let page_size = self.page_size;
        match request.method.as_str() {
            "initialize" => Err(McpError::InvalidRequest("the session is already initialized".into())),
            // Methods that change the session need one.
            "logging/setLevel" | "resources/subscribe" | "resources/unsubscribe" if cx.session.is_none() => {
                Err(McpError::MethodNotFound(request.method.clone()))
            }
            "ping" => Ok(json!({})),
            "logging/setLevel" => {
                let params: SetLevelParams = parse_params(request.params.as_ref())?;
                if let Some(session) = &cx.session {
                    session.update(|s| s.log_level = params.level);
                }
                Ok(json!({}))
            }
            "tools/list" => {
                let params: PaginatedParams = parse_params(request.params.as_ref())?;
                let filter = self.exposure.narrowed_by(&cx.tools);
                let page = self.tools.list(params.cursor.as_deref(), page_size, &filter)?;
                let structured = cx.protocol_version.has_structured_output();
                let tools: Vec<Value> = page
                    .items
                    .into_iter()
                    .map(|tool| {
                        let mut value = to_value(tool);
                        if !structured {
                            // Older clients do not know outputSchema; some validate strictly.
                            value.as_object_mut().map(|m| m.remove("outputSchema"));
                        }
                        value
                    })
                    .collect();
                Ok(with_cursor(json!({ "tools": tools }), page.next_cursor))
            }
            "tools/call" => {
                let CallToolParams { name } = parse_params(request.params.as_ref())?;
                let arguments = CallToolParams::arguments(request.params.as_ref())
                    .map_err(|why| McpError::InvalidParams(why.into()))?;
                let filter = self.exposure.narrowed_by(&cx.tools);
                let call = self.tools.call(&name, arguments, cx.clone(), &filter);
                let started = self.observer.as_ref().map(|o| o.now_ms());
                let (result, timed_out) = match &self.tool_timeout {
                    Some(timeout) => timeout.run_timed(&name, call).await,
                    None => (call.await, false),
                };
                if let (Some(observer), Some(started)) = (&self.observer, started) {
                    let outcome = match &result {
                        _ if cx.peer.awaits_input() => Outcome::InputRequired,
                        _ if timed_out => Outcome::Timeout,
                        Ok(r) if r.is_error => Outcome::ToolError,
                        Ok(_) => Outcome::Ok,
                        Err(_) => Outcome::Refused,
                    };
                    observer.tool_call(&name, outcome, observer.now_ms() - started, cx);
                }
                Ok(to_value(result?))
            }
            "resources/list" => {
                let params: PaginatedParams = parse_params(request.params.as_ref())?;
                let page = self.resources.list(params.cursor.as_deref(), page_size).await?;
                Ok(with_cursor(json!({ "resources": page.items }), page.next_cursor))
            }
            "resources/templates/list" => {
                let params: PaginatedParams = parse_params(request.params.as_ref())?;
                let page = self.resources.templates(params.cursor.as_deref(), page_size)?;
                Ok(with_cursor(json!({ "resourceTemplates": page.items }), page.next_cursor))
            }
            "resources/read" => {
                let params: ReadResourceParams = parse_params(request.params.as_ref())?;
                Ok(to_value(self.resources.read(&params.uri, cx).await?))
            }
            "prompts/list" => {
                let params: PaginatedParams = parse_params(request.params.as_ref())?;
                let page = self.prompts.list(params.cursor.as_deref(), page_size)?;
                Ok(with_cursor(json!({ "prompts": page.items }), page.next_cursor))
            }
            "completion/complete" => {
                let params: CompleteParams = parse_params(request.params.as_ref())?;
                let arg = &params.argument;
                match &params.reference {
                    Reference::Prompt { name } => self.prompts.complete(name, &arg.name, &arg.value).await,
                    Reference::Resource { uri } => self.resources.complete(uri, &arg.name, &arg.value).await,
                }
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                let params: ReadResourceParams = parse_params(request.params.as_ref())?;
                let subscribe = request.method == "resources/subscribe";
                let Some(session) = &cx.session else { return Ok(json!({})) };
                if subscribe && params.uri.len() > MAX_SUBSCRIBED_URI_LEN {
                    return Err(McpError::InvalidParams(format!(
                        "a subscribed URI may be at most {MAX_SUBSCRIBED_URI_LEN} characters"
                    )));
                }
                let held = session.state().subscriptions.len();
                if subscribe
                    && held >= MAX_SUBSCRIPTIONS
                    && !session.state().subscriptions.contains(&params.uri)
                {
                    return Err(McpError::InvalidParams(format!(
                        "a session may hold at most {MAX_SUBSCRIPTIONS} subscriptions; unsubscribe from one first"
                    )));
                }
                session.update(|s| {
                    if subscribe {
                        s.subscriptions.insert(params.uri);
                    } else {
                        s.subscriptions.remove(&params.uri);
                    }
                });
                Ok(json!({}))
            }
            "prompts/get" => {
                let params: GetPromptParams = parse_params(request.params.as_ref())?;
                Ok(to_value(self.prompts.get(&params.name, params.arguments, cx).await?))
            }
            other => Err(McpError::MethodNotFound(other.to_string())),
        }
    }

    /// Takes in one well-formed message: a request is answered (unless cancelled), a notification taken in,
    /// a response (to a server-to-client request) handed to `on_client_response`.
    pub async fn handle_message(
        &self,
        message: Message,
        cx: &RequestContext,
        on_client_response: &dyn Fn(Response),
    ) -> Option<Response> {
        match message {
            Message::Request(request) => self.handle_request(&request, cx).await,
            Message::Notification(notification) => {
                self.handle_notification(&notification, cx);
                None
            }
            Message::Response(response) => {
                on_client_response(response);
                None
            }
        }
    }

    /// Takes in a client notification. Unknown notifications are ignored, as JSON-RPC requires.
    pub fn handle_notification(&self, notification: &Notification, cx: &RequestContext) {
        let Some(session) = &cx.session else { return };
        match notification.method.as_str() {
            // Informational only (requests are not refused before it), so it costs no storage write of its own.
            "notifications/initialized" if !session.state().initialized => {
                session.update_in_memory(|s| s.initialized = true);
            }
            // Stops exactly the named request of this session, if it still runs.
            "notifications/cancelled" => {
                let id = notification.params.as_ref().and_then(|p| p.get("requestId")).cloned();
                if let Some(id) = id.and_then(|id| serde_json::from_value::<RequestId>(id).ok()) {
                    session.in_flight().cancel(&id);
                }
            }
            _ => {}
        }
    }
}

/// What a session keeps of its `initialize` (capabilities and client info), at most: it is stored with the
/// session and rewritten with every change of its state.
pub const MAX_OPENING_BYTES: usize = 16 * 1024;

/// The longest resource URI a session may subscribe to.
const MAX_SUBSCRIBED_URI_LEN: usize = 2048;

/// `params` as `T`, read in place: the request stays whole for whoever needs it after (a stateless request's
/// state is bound to its params).
fn parse_params<T: DeserializeOwned>(params: Option<&Value>) -> Result<T, McpError> {
    match params {
        Some(params) => T::deserialize(params),
        None => T::deserialize(&Value::Object(Map::new())),
    }
    .map_err(McpError::bad_params)
}

fn to_value<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("protocol types serialize")
}

fn with_cursor(mut result: Value, next_cursor: Option<String>) -> Value {
    if let (Some(cursor), Some(map)) = (next_cursor, result.as_object_mut()) {
        map.insert("nextCursor".into(), Value::String(cursor));
    }
    result
}

fn error_response(request: &Request, error: McpError) -> Response {
    Response::error(Some(request.id.clone()), error.to_error_object())
}
