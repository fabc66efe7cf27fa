//! The fixtures the official conformance suite (`@modelcontextprotocol/conformance`) calls, written here as
//! one more tool set. Served only with `MCP_FIXTURES=conformance`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::McpError;
use crate::handler::{
    LocalFuture, PromptDef, PromptRegistry, RequestContext, ResourceProvider, ToolDef, ToolError,
    ToolRegistry,
};
use crate::model::lifecycle::LogLevel;
use crate::model::resource::{
    GetPromptResult, PromptMessage, ReadResourceResult, Resource, ResourceTemplate, Role,
};
use crate::model::tool::CallToolResult;
use crate::model::{Content, ResourceContents};

/// A 1x1 PNG.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A tiny WAV file.
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// The largest text `test_large_result` returns (bytes).
const MAX_LARGE_RESULT: u64 = 8_000_000;

/// `size` bytes of lines `0000000\n`, `0000001\n`, ...: any lost, repeated or reordered part shows.
fn large_text(size: usize) -> String {
    let mut text = String::with_capacity(size + 8);
    let mut line = 0u64;
    while text.len() < size {
        text.push_str(&format!("{line:07}\n"));
        line += 1;
    }
    text.truncate(size);
    text
}

pub use crate::handler::Sleep;

type Args = Map<String, Value>;

fn image() -> Content {
    Content::Image { data: PNG.into(), mime_type: "image/png".into() }
}

fn embedded(uri: &str, mime: &str, text: &str) -> Content {
    Content::Resource { resource: ResourceContents::text(uri, mime, text) }
}

fn fixed(name: &str, description: &str, result: CallToolResult) -> ToolDef {
    ToolDef::new(name, description, move |_: Args, _cx| {
        let result = result.clone();
        async move { Ok(result) }
    })
}

fn text_arg(args: &Args, name: &str) -> String {
    args.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Turns a client's answer into the tool's text, or a tool error.
fn answered(
    prefix: &str,
    outcome: Result<Value, crate::handler::PeerError>,
) -> Result<CallToolResult, ToolError> {
    let value = outcome.map_err(|e| ToolError(format!("{prefix} failed: {e}")))?;
    Ok(CallToolResult::text(format!("{prefix}: {value}")))
}

/// A tool that sends `elicitation/create` with the params `build` makes from its arguments, and reports the
/// client's answer.
fn elicitation_tool(name: &str, description: &str, build: fn(&Args) -> Value) -> ToolDef {
    ToolDef::new(name, description, move |args: Args, cx: RequestContext| async move {
        answered("Elicitation completed", cx.elicit(build(&args)).await)
    })
}

/// The conformance tools; `watched_revision` is shared with [`FixtureResources`].
pub fn tools(sleep: Sleep, watched_revision: Rc<Cell<u64>>) -> ToolRegistry {
    let mut reg = ToolRegistry::new();
    reg.add(ToolDef::new(
        "test_update_watched_resource",
        "Changes test://watched-resource; subscribed sessions get notifications/resources/updated.",
        move |_: Args, cx: RequestContext| {
            let revision = watched_revision.clone();
            async move {
                revision.set(revision.get() + 1);
                cx.resource_updated(WATCHED);
                Ok(CallToolResult::text(format!(
                    "test://watched-resource is now at revision {}",
                    revision.get()
                )))
            }
        },
    ));
    // Not one of the suite's: a bug's way out, for the test that the Worker and the session object recover
    // after a WebAssembly trap (src/worker/entry.mjs).
    reg.add(ToolDef::new(
        "test_trap",
        "Panics: the server traps and must recover (tests only).",
        |_: Args, _cx| async move {
            panic!("test_trap was called");
            #[allow(unreachable_code)]
            Ok(CallToolResult::text(""))
        },
    ));
    reg.add(fixed(
        "test_simple_text",
        "Returns a simple text response.",
        CallToolResult::text("This is a simple text response for testing."),
    ));
    reg.add(fixed(
        "test_image_content",
        "Returns an image.",
        CallToolResult { content: vec![image()], structured_content: None, is_error: false },
    ));
    reg.add(fixed(
        "test_audio_content",
        "Returns audio.",
        CallToolResult {
            content: vec![Content::Audio { data: WAV.into(), mime_type: "audio/wav".into() }],
            structured_content: None,
            is_error: false,
        },
    ));
    reg.add(fixed(
        "test_embedded_resource",
        "Returns an embedded resource.",
        CallToolResult {
            content: vec![embedded(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            )],
            structured_content: None,
            is_error: false,
        },
    ));
    reg.add(fixed(
        "test_multiple_content_types",
        "Returns text, an image and an embedded resource.",
        CallToolResult {
            content: vec![
                Content::text("Multiple content types test:"),
                image(),
                embedded(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                ),
            ],
            structured_content: None,
            is_error: false,
        },
    ));
    reg.add(fixed(
        "test_error_handling",
        "Always fails, as a tool result with isError.",
        CallToolResult::error("This tool intentionally returns an error for testing"),
    ));
    let pause = sleep.clone();
    reg.add(ToolDef::new(
        "test_tool_with_logging",
        "Sends three log messages while it runs.",
        move |_: Args, cx: RequestContext| {
            let pause = pause.clone();
            async move {
                for (i, text) in
                    ["Tool execution started", "Tool processing data", "Tool execution completed"]
                        .into_iter()
                        .enumerate()
                {
                    if i > 0 {
                        pause(Duration::from_millis(50)).await;
                    }
                    cx.log(LogLevel::Info, Some("conformance"), json!(text));
                }
                Ok(CallToolResult::text("Tool with logging executed successfully"))
            }
        },
    ));
    let pause = sleep.clone();
    reg.add(ToolDef::new(
        "test_tool_with_progress",
        "Reports progress three times.",
        move |_: Args, cx: RequestContext| {
            let pause = pause.clone();
            async move {
                for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        pause(Duration::from_millis(50)).await;
                    }
                    cx.progress(step, Some(100.0), None);
                }
                Ok(CallToolResult::text("Progress test completed"))
            }
        },
    ));
    reg.add(ToolDef::new(
        "test_sampling",
        "Asks the client's model to answer a prompt (sampling/createMessage).",
        |args: Args, cx: RequestContext| async move {
            let prompt = text_arg(&args, "prompt");
            let params = json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                "maxTokens": 100
            });
            answered("LLM response", cx.create_message(params).await)
        },
    ));
    reg.add(elicitation_tool(
        "test_elicitation",
        "Asks the user for a username and email (elicitation/create).",
        |args| {
            json!({
                "message": text_arg(args, "message"),
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"}
                    },
                    "required": ["username", "email"]
                }
            })
        },
    ));
    reg.add(elicitation_tool(
        "test_elicitation_sep1034_defaults",
        "Elicits values with defaults of every primitive type (SEP-1034).",
        |_| json!({
                "message": "Please review and update the form fields with defaults",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "User name", "default": "John Doe"},
                        "age": {"type": "integer", "description": "User age", "default": 30},
                        "score": {"type": "number", "description": "User score", "default": 95.5},
                        "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
                        "verified": {"type": "boolean", "description": "Verification status", "default": true}
                    },
                    "required": []
                }
            }),
    ));
    reg.add(elicitation_tool(
        "test_elicitation_sep1330_enums",
        "Elicits every enum form (SEP-1330).",
        |_| json!({
                "message": "Please select options from the enum fields",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "untitledSingle": {"type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"]},
                        "titledSingle": {"type": "string", "description": "Select one option with titles", "oneOf": [
                            {"const": "value1", "title": "First Option"},
                            {"const": "value2", "title": "Second Option"},
                            {"const": "value3", "title": "Third Option"}
                        ]},
                        "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
                        "untitledMulti": {"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3, "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                        "titledMulti": {"type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3, "items": {"anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"}
                        ]}}
                    },
                    "required": []
                }
            }),
    ));
    reg.add(ToolDef::new(
        "test_list_roots",
        "Lists the client's roots (roots/list).",
        |_: Args, cx: RequestContext| async move { answered("Roots", cx.list_roots().await) },
    ));
    reg.add(
        ToolDef::new(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            |args: Args, _cx| async move { Ok(CallToolResult::text(format!("Received: {}", Value::Object(args)))) },
        )
        .input_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"},
                "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                "phone": {"type": "string"},
                "email": {"type": "string"}
            },
            "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
            "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
            "then": {"required": ["phone"]},
            "else": {"required": ["email"]},
            "additionalProperties": false
        })),
    );
    reg.add(
        ToolDef::new(
            "test_large_result",
            "Returns a text of `size` bytes (numbered 8-byte lines), to test large answers and their replay.",
            |args: Args, _cx: RequestContext| async move {
                let size =
                    args.get("size").and_then(Value::as_u64).unwrap_or(0).min(MAX_LARGE_RESULT) as usize;
                Ok(CallToolResult::text(large_text(size)))
            },
        )
        .input_schema(json!({
            "type": "object",
            "properties": {"size": {"type": "integer", "minimum": 0, "maximum": MAX_LARGE_RESULT}},
            "required": ["size"]
        })),
    );
    let pause = sleep;
    reg.add(ToolDef::new(
        "test_reconnection",
        "Closes its SSE stream mid-call, then answers; the client must resume with Last-Event-ID.",
        move |_: Args, cx: RequestContext| {
            let pause = pause.clone();
            async move {
                cx.peer.close_stream();
                pause(Duration::from_millis(100)).await;
                Ok(CallToolResult::text(
                    "Reconnection test completed successfully. If you received this, the client properly \
                     reconnected after stream closure.",
                ))
            }
        },
    ));
    reg
}

/// The conformance resources. `test://watched-resource` changes when `test_update_watched_resource` runs
/// (in this isolate), so subscriptions have something to report.
pub struct FixtureResources {
    pub watched_revision: Rc<Cell<u64>>,
}

const STATIC_TEXT: &str = "test://static-text";
const STATIC_BINARY: &str = "test://static-binary";
const WATCHED: &str = "test://watched-resource";
const TEMPLATE: &str = "test://template/{id}/data";

impl ResourceProvider for FixtureResources {
    fn list(&self) -> LocalFuture<'_, Result<Vec<Resource>, McpError>> {
        let resource = |uri: &str, name: &str, description: &str, mime: &str| Resource {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: Some(description.into()),
            mime_type: Some(mime.into()),
        };
        let list = vec![
            resource(STATIC_TEXT, "static-text", "A static text resource", "text/plain"),
            resource(STATIC_BINARY, "static-binary", "A static binary resource (PNG)", "image/png"),
            resource(WATCHED, "watched-resource", "A resource to subscribe to", "text/plain"),
        ];
        Box::pin(async move { Ok(list) })
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: TEMPLATE.into(),
            name: "template".into(),
            title: None,
            description: Some("A resource template with an id".into()),
            mime_type: Some("application/json".into()),
        }]
    }

    fn read<'a>(
        &'a self,
        uri: &'a str,
        _cx: &'a RequestContext,
    ) -> Option<LocalFuture<'a, Result<ReadResourceResult, McpError>>> {
        let contents = match uri {
            STATIC_TEXT => {
                ResourceContents::text(uri, "text/plain", "This is the content of the static text resource.")
            }
            STATIC_BINARY => ResourceContents {
                uri: uri.into(),
                mime_type: Some("image/png".into()),
                text: None,
                blob: Some(PNG.into()),
                meta: None,
            },
            WATCHED => ResourceContents::text(
                uri,
                "text/plain",
                format!("This is a watched resource (revision {}).", self.watched_revision.get()),
            ),
            _ => {
                let id = uri.strip_prefix("test://template/")?.strip_suffix("/data")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                let body = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                ResourceContents::text(uri, "application/json", body.to_string())
            }
        };
        Some(Box::pin(async move { Ok(ReadResourceResult { contents: vec![contents] }) }))
    }

    fn complete<'a>(&'a self, template: &'a str, argument: &'a str) -> Option<LocalFuture<'a, Vec<String>>> {
        if template == TEMPLATE && argument == "id" {
            Some(Box::pin(async { vec!["123".into(), "456".into(), "789".into()] }))
        } else {
            None
        }
    }
}

fn message(role: Role, content: Content) -> PromptMessage {
    PromptMessage { role, content }
}

fn prompt_result(messages: Vec<PromptMessage>) -> Result<GetPromptResult, McpError> {
    Ok(GetPromptResult { description: None, messages })
}

/// The conformance prompts.
pub fn prompts() -> PromptRegistry {
    PromptRegistry::default()
        .with(PromptDef::new("test_simple_prompt", "A simple prompt without arguments.", |_, _| async {
            prompt_result(vec![message(Role::User, Content::text("This is a simple prompt for testing."))])
        }))
        .with(
            PromptDef::new(
                "test_prompt_with_arguments",
                "A prompt with two required arguments.",
                |args, _cx| async move {
                    let text =
                        format!("Prompt with arguments: arg1='{}', arg2='{}'", args["arg1"], args["arg2"]);
                    prompt_result(vec![message(Role::User, Content::text(text))])
                },
            )
            .argument("arg1", "First test argument", true)
            .argument("arg2", "Second test argument", true)
            .completion(|argument, _typed| async move {
                match argument.as_str() {
                    "arg1" => vec!["test".into(), "testValue1".into(), "testing".into()],
                    _ => vec!["testValue2".into()],
                }
            }),
        )
        .with(
            PromptDef::new(
                "test_prompt_with_embedded_resource",
                "A prompt that embeds a resource.",
                |args, _cx| async move {
                    prompt_result(vec![
                        message(
                            Role::User,
                            embedded(
                                &args["resourceUri"],
                                "text/plain",
                                "Embedded resource content for testing.",
                            ),
                        ),
                        message(Role::User, Content::text("Please process the embedded resource above.")),
                    ])
                },
            )
            .argument("resourceUri", "URI of the resource to embed", true),
        )
        .with(PromptDef::new("test_prompt_with_image", "A prompt with an image.", |_, _| async {
            prompt_result(vec![
                message(Role::User, image()),
                message(Role::User, Content::text("Please analyze the image above.")),
            ])
        }))
}
