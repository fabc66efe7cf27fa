//! The fixtures the conformance suite calls for the stateless revision (2026-07-28): tools that ask the client
//! things (answered through input-required results there, through real requests in a session), a tool that
//! needs a capability, diagnostics, and triggers that change the tool and prompt lists. Written once for both
//! lanes, as every tool is (see [`RequestContext::ask`]).

use std::rc::Rc;

use serde_json::{json, Map, Value};

use crate::error::McpError;
use crate::handler::{
    LocalFuture, PeerError, PromptDef, PromptRegistry, RequestContext, ToolDef, ToolError, ToolRegistry,
};
use crate::model::lifecycle::LogLevel;
use crate::model::resource::{GetPromptResult, PromptMessage, Role};
use crate::model::tool::CallToolResult;
use crate::model::Content;

/// Lives with the wire model, so the shell's listen hub names it without importing the toolset.
pub use crate::model::stateless::ListKind;

type Args = Map<String, Value>;

/// Tells every listening client that a list changed, provided by the platform (a fan-out point shared by all
/// isolates), so fixtures stay free of runtime types.
pub type Announce = Rc<dyn Fn(ListKind) -> LocalFuture<'static, Result<(), String>>>;

fn elicitation(message: &str, property: &str, kind: &str) -> Value {
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": { property: { "type": kind } },
            "required": [property]
        }
    })
}

fn sampling(question: &str) -> Value {
    json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": question}}],
        "maxTokens": 100
    })
}

/// `content.<field>` of an accepted elicitation, as text.
fn accepted(answer: &Value, field: &str) -> Option<String> {
    if answer.get("action").and_then(Value::as_str) != Some("accept") {
        return None;
    }
    answer.get("content")?.get(field).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
}

/// The text a model answered with.
fn sampled(answer: &Value) -> String {
    answer.pointer("/content/text").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn roots_count(answer: &Value) -> usize {
    answer.get("roots").and_then(Value::as_array).map_or(0, Vec::len)
}

fn tool<F, Fut>(name: &str, description: &str, handler: F) -> ToolDef
where
    F: Fn(RequestContext) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<CallToolResult, ToolError>> + 'static,
{
    ToolDef::new(name, description, move |_: Args, cx: RequestContext| handler(cx))
}

/// The tools.
pub fn tools(announce: Announce) -> ToolRegistry {
    let mut reg = ToolRegistry::new();
    reg.add(tool(
        "test_missing_capability",
        "Needs the client's model (sampling): fails without the capability.",
        |cx| async move {
            let answer =
                cx.ask_as("capital", "sampling", "sampling/createMessage", sampling("Capital of France?"));
            Ok(CallToolResult::text(format!("Model said: {}", sampled(&answer.await?))))
        },
    ));
    reg.add(tool(
        "test_streaming_elicitation",
        "Reports progress, then asks the user for their name.",
        |cx| async move {
            cx.progress(0.0, Some(1.0), Some("asking"));
            let answer = cx.ask_as(
                "user_name",
                "elicitation",
                "elicitation/create",
                elicitation("Your name?", "name", "string"),
            );
            let name = accepted(&answer.await?, "name").unwrap_or_else(|| "stranger".into());
            Ok(CallToolResult::text(format!("Hello, {name}!")))
        },
    ));
    reg.add(tool(
        "test_logging_tool",
        "Logs at info level: a client that set no log level hears nothing.",
        |cx| async move {
            cx.log(LogLevel::Info, Some("conformance"), json!("test_logging_tool ran"));
            Ok(CallToolResult::text("Logged one message at info level"))
        },
    ));
    for (name, list) in
        [("test_trigger_tool_change", ListKind::Tools), ("test_trigger_prompt_change", ListKind::Prompts)]
    {
        let announce = announce.clone();
        reg.add(tool(name, "Announces a change of a list to every listening client.", move |_cx| {
            let announce = announce.clone();
            async move {
                announce(list).await.map_err(|e| ToolError(format!("announcing the change failed: {e}")))?;
                Ok(CallToolResult::text("Mutation triggered"))
            }
        }));
    }
    reg.add(tool(
        "test_input_required_result_elicitation",
        "Asks the user's name (key user_name) and greets them.",
        |cx| async move {
            let answer = cx.ask_as(
                "user_name",
                "elicitation",
                "elicitation/create",
                elicitation("What is your name?", "name", "string"),
            );
            let name = accepted(&answer.await?, "name").unwrap_or_else(|| "stranger".into());
            Ok(CallToolResult::text(format!("Hello, {name}!")))
        },
    ));
    reg.add(tool(
        "test_input_required_result_sampling",
        "Asks the client's model a question.",
        |cx| async move {
            let answer = cx.ask_as(
                "sample_request",
                "sampling",
                "sampling/createMessage",
                sampling("What is the capital of France?"),
            );
            Ok(CallToolResult::text(format!("Model said: {}", sampled(&answer.await?))))
        },
    ));
    reg.add(tool("test_input_required_result_list_roots", "Asks for the client's roots.", |cx| async move {
        let answer = cx.ask_as("roots_request", "roots", "roots/list", json!({}));
        Ok(CallToolResult::text(format!("Roots: {}", roots_count(&answer.await?))))
    }));
    for name in ["test_input_required_result_request_state", "test_input_required_result_tampered_state"] {
        reg.add(tool(
            name,
            "Asks for a confirmation; the answer comes back sealed in requestState.",
            |cx| async move {
                let answer = cx.ask_as(
                    "confirm",
                    "elicitation",
                    "elicitation/create",
                    elicitation("Confirm?", "ok", "boolean"),
                );
                let ok = accepted(&answer.await?, "ok").is_some_and(|v| v == "true");
                Ok(CallToolResult::text(format!("state-ok: confirmed={ok}")))
            },
        ));
    }
    reg.add(tool(
        "test_input_required_result_multiple_inputs",
        "Asks for a name, a greeting and the roots at once.",
        |cx| async move {
            // Asked before any is awaited to an early return, so all three go out together.
            let name = cx
                .ask_as(
                    "user_name",
                    "elicitation",
                    "elicitation/create",
                    elicitation("Your name?", "name", "string"),
                )
                .await;
            let greeting =
                cx.ask_as("greeting", "sampling", "sampling/createMessage", sampling("Say hello.")).await;
            let roots = cx.ask_as("client_roots", "roots", "roots/list", json!({})).await;
            let (name, greeting, roots) = (name?, greeting?, roots?);
            let name = accepted(&name, "name").unwrap_or_default();
            Ok(CallToolResult::text(format!(
                "Name: {name}; Greeting: {}; Roots: {}",
                sampled(&greeting),
                roots_count(&roots)
            )))
        },
    ));
    reg.add(tool(
        "test_input_required_result_multi_round",
        "Asks for a name, then (a second round) for a favourite colour.",
        |cx| async move {
            let first = cx.ask_as(
                "step1",
                "elicitation",
                "elicitation/create",
                elicitation("Your name?", "name", "string"),
            );
            let name = accepted(&first.await?, "name").unwrap_or_default();
            let second = cx.ask_as(
                "step2",
                "elicitation",
                "elicitation/create",
                elicitation(&format!("{name}, your favourite colour?"), "color", "string"),
            );
            let color = accepted(&second.await?, "color").unwrap_or_default();
            Ok(CallToolResult::text(format!("Multi-round complete for {name} who likes {color}")))
        },
    ));
    reg.add(tool(
        "test_input_required_result_capabilities",
        "Asks only through the capabilities the client declared.",
        |cx| async move {
            let mut received = Vec::new();
            if cx.client_supports("elicitation") {
                let answer = cx
                    .ask_as(
                        "elicit_input",
                        "elicitation",
                        "elicitation/create",
                        elicitation("Your name?", "name", "string"),
                    )
                    .await;
                received.push(("elicitation", answer));
            }
            if cx.client_supports("sampling") {
                let answer = cx
                    .ask_as("sample_input", "sampling", "sampling/createMessage", sampling("Say hello."))
                    .await;
                received.push(("sampling", answer));
            }
            if received.is_empty() {
                return Err(ToolError("the client declared neither elicitation nor sampling".into()));
            }
            let mut names = Vec::new();
            for (name, answer) in received {
                answer?;
                names.push(name);
            }
            Ok(CallToolResult::text(format!("capabilities-ok: received {}", names.join(", "))))
        },
    ));
    reg
}

/// The prompt that asks the user before it can be built.
pub fn prompts() -> PromptRegistry {
    PromptRegistry::default().with(PromptDef::new(
        "test_input_required_result_prompt",
        "Asks the user for context (key user_context), then builds the prompt with it.",
        |_, cx: RequestContext| async move {
            let answer = cx
                .ask_as(
                    "user_context",
                    "elicitation",
                    "elicitation/create",
                    elicitation("Context?", "context", "string"),
                )
                .await
                .map_err(|e: PeerError| McpError::InvalidParams(e.to_string()))?;
            let context = accepted(&answer, "context").unwrap_or_default();
            Ok(GetPromptResult {
                description: None,
                messages: vec![PromptMessage {
                    role: Role::User,
                    content: Content::text(format!("Prompt with context: {context}")),
                }],
            })
        },
    ))
}
