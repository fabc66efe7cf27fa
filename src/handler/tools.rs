//! The tool registry: adding a tool is one typed [`ToolDef`].
//!
//! ```ignore
//! ToolDef::new("echo", "Returns the message.", |args: EchoArgs, _cx| async move {
//!     Ok(CallToolResult::text(args.message))
//! })
//! .title("Echo")
//! .read_only()
//! ```
//! The input schema is generated from the argument type, and arguments are validated against it before
//! the handler runs; invalid arguments and handler failures become results with `isError: true`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::context::RequestContext;
use super::exposure::ToolFilter;
use super::pagination::{page, Page};
use crate::error::McpError;
use crate::model::tool::{CallToolResult, Tool, ToolAnnotations};
use crate::schema;

/// A boxed future that need not be `Send`: Workers run one thread per isolate.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A pause, provided by the platform (the worker's timer), so the core stays free of runtime types.
pub type Sleep = Rc<dyn Fn(Duration) -> LocalFuture<'static, ()>>;

/// How long a tool call may run (`MCP_TOOL_TIMEOUT_SECONDS`), waits for the client included: past it the call
/// is dropped and answered with a tool error saying so.
#[derive(Clone)]
pub struct ToolTimeout {
    pub after: Duration,
    pub sleep: Sleep,
}

impl ToolTimeout {
    /// `call`'s outcome, or a tool error once [`Self::after`] has passed.
    pub async fn run(
        &self,
        name: &str,
        call: impl Future<Output = Result<CallToolResult, McpError>>,
    ) -> Result<CallToolResult, McpError> {
        self.run_timed(name, call).await.0
    }

    /// [`Self::run`], and whether the call was stopped for running out of time.
    pub async fn run_timed(
        &self,
        name: &str,
        call: impl Future<Output = Result<CallToolResult, McpError>>,
    ) -> (Result<CallToolResult, McpError>, bool) {
        let call = std::pin::pin!(call);
        match futures_util::future::select(call, (self.sleep)(self.after)).await {
            futures_util::future::Either::Left((outcome, _)) => (outcome, false),
            futures_util::future::Either::Right(_) => (
                Ok(CallToolResult::error(format!(
                    "The tool {name} did not finish within {} s (MCP_TOOL_TIMEOUT_SECONDS) and was stopped.",
                    self.after.as_secs()
                ))),
                true,
            ),
        }
    }
}

/// A failure inside a tool, shown to the model as a result with `isError: true`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError(pub String);

impl<T: std::fmt::Display> From<T> for ToolError {
    fn from(message: T) -> Self {
        Self(message.to_string())
    }
}

type Handler = Rc<dyn Fn(&Value, RequestContext) -> LocalFuture<'static, Result<CallToolResult, ToolError>>>;

/// One tool: its description and its handler.
#[derive(Clone)]
pub struct ToolDef {
    tool: Tool,
    handler: Handler,
    reaches: Option<Reaches>,
}

/// Given a call's arguments, the tool a call reaches through this one (see [`ToolDef::reaching`]).
type Reaches = Rc<dyn Fn(&Value) -> Option<String>>;

impl ToolDef {
    /// A tool whose arguments deserialize into `A`; `A`'s JSON Schema becomes the `inputSchema`.
    pub fn new<A, F, Fut>(name: &str, description: &str, handler: F) -> Self
    where
        A: JsonSchema + DeserializeOwned + 'static,
        F: Fn(A, RequestContext) -> Fut + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + 'static,
    {
        let handler = Rc::new(handler);
        Self {
            tool: Tool {
                name: name.into(),
                title: None,
                description: description.into(),
                input_schema: schema::schema_for::<A>(),
                output_schema: None,
                annotations: None,
            },
            handler: Rc::new(move |args: &Value, cx| {
                // Read in place: the arguments stay in the request, uncopied.
                let args = A::deserialize(args).map_err(|e| ToolError(format!("Invalid arguments: {e}")));
                let handler = handler.clone();
                Box::pin(async move { handler(args?, cx).await })
            }),
            reaches: None,
        }
    }

    /// A tool described by data rather than by a Rust type (an imported REST operation): `tool` is listed as
    /// it is, and arguments are validated against its `inputSchema` before `handler` gets them, as JSON.
    pub fn from_data<F, Fut>(tool: Tool, handler: F) -> Self
    where
        F: Fn(Value, RequestContext) -> Fut + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + 'static,
    {
        let handler = Rc::new(handler);
        Self {
            tool,
            handler: Rc::new(move |args: &Value, cx| Box::pin(handler(args.clone(), cx))),
            reaches: None,
        }
    }

    /// Marks a tool that calls another on the caller's behalf (a large REST API's `invoke_operation` calls one
    /// operation by name): `reaches` names, from the arguments, the tool whose rate limits the call also counts
    /// against, so that a limit cannot be sidestepped by calling through it.
    pub fn reaching(mut self, reaches: impl Fn(&Value) -> Option<String> + 'static) -> Self {
        self.reaches = Some(Rc::new(reaches));
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    /// Declares `O`'s schema as the `outputSchema`; the handler must then return `structuredContent`.
    pub fn output<O: JsonSchema>(mut self) -> Self {
        self.tool.output_schema = Some(schema::schema_for::<O>());
        self
    }

    /// Replaces the generated input schema (for schemas no Rust type expresses). Arguments are still
    /// validated against it, for the keywords the validator knows, before deserializing into `A`.
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.tool.input_schema = schema;
        self
    }

    /// Marks the tool as only reading (`readOnlyHint`), which lets clients skip confirmation.
    pub fn read_only(self) -> Self {
        self.annotate(|a| {
            a.read_only_hint = Some(true);
            a.destructive_hint = Some(false);
            a.idempotent_hint = Some(true);
        })
    }

    /// Whether the tool reaches outside this server (`openWorldHint`).
    pub fn open_world(self, open: bool) -> Self {
        self.annotate(|a| a.open_world_hint = Some(open))
    }

    pub fn annotate(mut self, change: impl FnOnce(&mut ToolAnnotations)) -> Self {
        change(self.tool.annotations.get_or_insert_with(Default::default));
        self
    }

    pub fn name(&self) -> &str {
        &self.tool.name
    }

    pub fn tool(&self) -> &Tool {
        &self.tool
    }
}

/// The tools a server offers, in the order they were added.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<ToolDef>,
    by_name: HashMap<String, usize>,
}

impl ToolRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool; a later tool with the same name replaces the earlier one.
    pub fn add(&mut self, def: ToolDef) -> &mut Self {
        match self.by_name.get(def.name()) {
            Some(&i) => self.tools[i] = def,
            None => {
                self.by_name.insert(def.name().to_string(), self.tools.len());
                self.tools.push(def);
            }
        }
        self
    }

    pub fn with(mut self, def: ToolDef) -> Self {
        self.add(def);
        self
    }

    /// Adds every tool of `other`.
    pub fn extend(&mut self, other: ToolRegistry) {
        for def in other.tools {
            self.add(def);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The tools a call of `name` with `arguments` reaches: `name` itself, and the tool it calls through (see
    /// [`ToolDef::reaching`]).
    pub fn reached(&self, name: &str, arguments: Option<&Value>) -> Vec<String> {
        let through = self.by_name.get(name).and_then(|&i| self.tools[i].reaches.as_ref());
        let through = through.and_then(|reaches| reaches(arguments.unwrap_or(&Value::Null)));
        std::iter::once(name.to_string()).chain(through).collect()
    }

    /// The names of the registered tools (exposed or not).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(ToolDef::name)
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// One page of `tools/list`, of the tools `filter` admits.
    pub fn list(
        &self,
        cursor: Option<&str>,
        page_size: usize,
        filter: &ToolFilter,
    ) -> Result<Page<&Tool>, McpError> {
        let all: Vec<&Tool> = self.tools.iter().map(ToolDef::tool).filter(|t| filter.admits(t)).collect();
        page(&all, cursor, page_size)
    }

    /// `tools/call` of `name` with `args` (an object; `{}` for none): an unknown tool, or one `filter` hides, is
    /// a protocol error (-32602); everything after that is a tool result.
    pub fn call(
        &self,
        name: &str,
        args: &Value,
        cx: RequestContext,
        filter: &ToolFilter,
    ) -> impl Future<Output = Result<CallToolResult, McpError>> + 'static {
        // Everything that reads `args` happens now, so the call borrows nothing (the arguments stay in the
        // request, uncopied).
        let started =
            match self.by_name.get(name).map(|&i| &self.tools[i]).filter(|def| filter.admits(&def.tool)) {
                None => Err(Err(McpError::InvalidParams(format!("Unknown tool: {name}")))),
                Some(def) => match schema::validate(args, &def.tool.input_schema) {
                    Err(problems) => Err(Ok(CallToolResult::error(format!(
                        "Invalid arguments for tool {}: {}",
                        def.tool.name,
                        problems.join("; ")
                    )))),
                    Ok(()) => Ok((def.handler)(args, cx)),
                },
            };
        async move {
            match started {
                Ok(call) => Ok(call.await.unwrap_or_else(|e| CallToolResult::error(e.0))),
                Err(answered) => answered,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Content;
    use futures_executor::block_on;
    use serde::Deserialize;
    use serde_json::Map;

    #[derive(Deserialize, JsonSchema)]
    struct AddArgs {
        a: i64,
        b: i64,
    }

    fn registry() -> ToolRegistry {
        ToolRegistry::new()
            .with(
                ToolDef::new("add", "Adds two numbers.", |args: AddArgs, _| async move {
                    Ok(CallToolResult::text((args.a + args.b).to_string()))
                })
                .read_only(),
            )
            .with(ToolDef::new("fail", "Always fails.", |_: Map<String, Value>, _| async move {
                Err(ToolError::from("it broke"))
            }))
    }

    fn call(name: &str, args: Value) -> Result<CallToolResult, McpError> {
        let cx = RequestContext::new(
            crate::identity::Identity::anonymous(),
            std::rc::Rc::new(crate::handler::NoPeer),
        );
        block_on(registry().call(name, &args, cx, &ToolFilter::all()))
    }

    #[test]
    fn calls_a_tool_with_valid_arguments() {
        let result = call("add", serde_json::json!({"a": 2, "b": 3})).unwrap();
        assert_eq!(result.content, vec![Content::text("5")]);
        assert!(!result.is_error);
    }

    #[test]
    fn a_call_past_its_time_is_stopped_with_a_tool_error() {
        use std::cell::Cell;
        // A sleep that ends at once, and a tool that never finishes.
        let timeout = ToolTimeout { after: Duration::from_secs(7), sleep: Rc::new(|_| Box::pin(async {})) };
        let never = std::future::pending::<Result<CallToolResult, McpError>>();
        let result = block_on(timeout.run("slow", never)).unwrap();
        assert!(result.is_error);
        assert!(serde_json::to_string(&result).unwrap().contains("within 7 s"));
        // A call that is ready first wins.
        let ran = Rc::new(Cell::new(false));
        let done = ran.clone();
        let pending_sleep = ToolTimeout {
            after: Duration::from_secs(7),
            sleep: Rc::new(|_| Box::pin(std::future::pending())),
        };
        let quick = async move {
            done.set(true);
            Ok(CallToolResult::text("ok"))
        };
        assert_eq!(block_on(pending_sleep.run("quick", quick)).unwrap(), CallToolResult::text("ok"));
        assert!(ran.get());
    }

    #[test]
    fn invalid_arguments_and_failures_are_error_results() {
        let result = call("add", serde_json::json!({"a": "two"})).unwrap();
        assert!(result.is_error);
        let Content::Text { text } = &result.content[0] else { panic!() };
        assert!(text.contains("/a: expected integer, got string"), "{text}");
        assert!(text.contains("missing required property \"b\""), "{text}");
        let result = call("fail", serde_json::json!({})).unwrap();
        assert!(result.is_error);
        assert_eq!(result.content, vec![Content::text("it broke")]);
    }

    #[test]
    fn a_tool_described_by_data_is_listed_as_given_and_validated() {
        let tool = Tool {
            name: "getPet".into(),
            title: Some("Get a pet".into()),
            description: "Returns one pet.".into(),
            input_schema: serde_json::json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}),
            output_schema: None,
            annotations: None,
        };
        let def = ToolDef::from_data(tool.clone(), |args: Value, _| async move {
            Ok(CallToolResult::text(format!("pet {}", args["id"])))
        });
        let reg = ToolRegistry::new().with(def);
        assert_eq!(reg.list(None, 10, &ToolFilter::all()).unwrap().items, vec![&tool]);
        let cx =
            || RequestContext::new(crate::identity::Identity::anonymous(), Rc::new(crate::handler::NoPeer));
        let ok =
            block_on(reg.call("getPet", &serde_json::json!({"id": 7}), cx(), &ToolFilter::all())).unwrap();
        assert_eq!(ok, CallToolResult::text("pet 7"));
        let bad =
            block_on(reg.call("getPet", &serde_json::json!({"id": "x"}), cx(), &ToolFilter::all())).unwrap();
        assert!(bad.is_error);
    }

    #[test]
    fn unknown_tool_is_invalid_params() {
        let err = call("nope", serde_json::json!({})).unwrap_err();
        assert_eq!(err, McpError::InvalidParams("Unknown tool: nope".into()));
    }

    #[test]
    fn lists_with_annotations_and_schema() {
        let reg = registry();
        let page = reg.list(None, 10, &ToolFilter::all()).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].annotations.as_ref().unwrap().read_only_hint, Some(true));
        assert_eq!(page.items[0].input_schema["type"], "object");
        assert!(page.next_cursor.is_none());
    }
}
