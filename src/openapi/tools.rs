//! An API's operations as MCP tools: one tool per operation, or, above `OPENAPI_<NAME>_MAX_TOOLS`, three tools
//! (search the operations, describe one, invoke one) so that clients with tool-count limits still work; and
//! optionally one prompt per operation.

use std::rc::Rc;

use serde_json::{json, Value};

use super::call::Api;
use super::index::{Method, Operation};
use crate::handler::{PromptDef, PromptRegistry, ToolDef, ToolError, ToolFilter, ToolRegistry};
use crate::model::resource::{GetPromptResult, PromptMessage, Role};
use crate::model::tool::{CallToolResult, Tool, ToolAnnotations};
use crate::model::Content;
use crate::schema;

/// The most operations one search returns.
const MAX_SEARCH_RESULTS: usize = 50;
const DEFAULT_SEARCH_RESULTS: usize = 10;

impl Api {
    /// Whether the API is offered as the three tools of a large API.
    pub fn is_large(&self) -> bool {
        self.index.operations.len() > self.settings.max_tools
    }

    /// The tool name of `op`.
    pub fn tool_name(&self, op: &Operation) -> String {
        format!("{}{}", self.settings.tool_prefix, op.name)
    }

    fn meta_tool_name(&self, what: &str) -> String {
        format!("{}{}_{what}", self.settings.tool_prefix, self.settings.name)
    }
}

/// The hints of an operation: read-only for GET/HEAD, destructive for DELETE, idempotent for PUT/DELETE (and
/// the reads); always open-world.
pub fn annotations(op: &Operation) -> ToolAnnotations {
    let read_only = matches!(op.method, Method::Get | Method::Head);
    ToolAnnotations {
        title: op.summary.clone(),
        read_only_hint: Some(read_only),
        destructive_hint: (!read_only).then_some(op.method == Method::Delete),
        idempotent_hint: Some(read_only || matches!(op.method, Method::Put | Method::Delete)),
        open_world_hint: Some(true),
    }
}

/// The `Tool` of `op` as listed. Schemas come from the index as they are.
pub fn tool_of(api: &Api, op: &Operation) -> Result<Tool, String> {
    let input_schema =
        serde_json::from_str(op.input_schema.get()).map_err(|e| format!("{}: input schema: {e}", op.name))?;
    let output_schema = match &op.output_schema {
        Some(raw) => {
            Some(serde_json::from_str(raw.get()).map_err(|e| format!("{}: output schema: {e}", op.name))?)
        }
        None => None,
    };
    let mut description = op.description.clone();
    if op.deprecated {
        description.push_str("\n\nDeprecated.");
    }
    Ok(Tool {
        name: api.tool_name(op),
        title: op.summary.clone(),
        description,
        input_schema,
        output_schema,
        annotations: Some(annotations(op)),
    })
}

/// The tools of `api`; `exposure` is the deployment's filter, which the large-API tools apply to the
/// operations they reach (by operation name), as they are not tools of their own.
pub fn tools(api: &Rc<Api>, exposure: &ToolFilter) -> Result<ToolRegistry, String> {
    let mut registry = ToolRegistry::new();
    if api.is_large() {
        registry.add(search_tool(api.clone(), exposure.clone()));
        registry.add(describe_tool(api.clone(), exposure.clone()));
        registry.add(invoke_tool(api.clone(), exposure.clone()));
        return Ok(registry);
    }
    for (i, op) in api.index.operations.iter().enumerate() {
        let tool = tool_of(api, op)?;
        let output_schema = tool.output_schema.clone().map(Rc::new);
        let api_for_call = api.clone();
        registry.add(ToolDef::from_data(tool, move |args: Value, cx| {
            let (api, output_schema) = (api_for_call.clone(), output_schema.clone());
            async move {
                let op = &api.index.operations[i];
                let Value::Object(args) = args else {
                    return Err(ToolError("the arguments must be an object".into()));
                };
                Ok(api.call(op, &args, output_schema.as_deref(), &cx).await)
            }
        }));
    }
    Ok(registry)
}

/// Whether `exposure` (narrowed by the connection) lets `op` be reached through the large-API tools: by its
/// name in the deny list and read-only mode (the allow list names the three tools themselves).
fn reachable(api: &Api, op: &Operation, filter: &ToolFilter) -> bool {
    let as_tool = Tool {
        name: api.tool_name(op),
        title: None,
        description: String::new(),
        input_schema: Value::Null,
        output_schema: None,
        annotations: Some(annotations(op)),
    };
    ToolFilter { allow: None, ..filter.clone() }.admits(&as_tool)
}

fn search_tool(api: Rc<Api>, exposure: ToolFilter) -> ToolDef {
    let name = api.meta_tool_name("search_operations");
    let description = format!(
        "Searches the {} operations of the {} API ({}) by keywords in their names, paths, summaries and tags. \
         Then use {} to see an operation's arguments and {} to call it.",
        api.index.operations.len(),
        api.settings.name,
        api.index.title,
        api.meta_tool_name("describe_operation"),
        api.meta_tool_name("invoke_operation"),
    );
    let tool = Tool {
        name,
        title: Some(format!("Search the {} API", api.settings.name)),
        description,
        input_schema: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Keywords, e.g. \"list repositories\" or \"/user\""},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS, "description": "How many operations at most (10 by default)"}
            },
            "required": ["query"]
        }),
        output_schema: None,
        annotations: Some(read_only_annotations()),
    };
    ToolDef::from_data(tool, move |args: Value, cx| {
        let (api, exposure) = (api.clone(), exposure.clone());
        async move {
            let query = args["query"].as_str().unwrap_or_default();
            let limit = args["limit"]
                .as_u64()
                .map_or(DEFAULT_SEARCH_RESULTS, |n| n as usize)
                .clamp(1, MAX_SEARCH_RESULTS);
            let filter = exposure.narrowed_by(&cx.tools);
            let visible: Vec<&Operation> =
                api.index.operations.iter().filter(|op| reachable(&api, op, &filter)).collect();
            let found: Vec<Value> = search(&visible, query)
                .into_iter()
                .take(limit)
                .map(|op| {
                    json!({"name": op.name, "method": op.method.as_str(), "path": op.path, "summary": op.summary.as_deref().unwrap_or("")})
                })
                .collect();
            Ok(CallToolResult::json(json!({ "operations": found, "total": visible.len() })))
        }
    })
}

/// The operations matching `query`, best first: every word scores where it appears (name and path count
/// most), and an operation matching no word is left out. An empty query lists them in order.
pub fn search<'a>(operations: &[&'a Operation], query: &str) -> Vec<&'a Operation> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return operations.to_vec();
    }
    let mut scored: Vec<(usize, usize, &Operation)> = operations
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let (name, path) = (op.name.to_lowercase(), op.path.to_lowercase());
            let summary = op.summary.as_deref().unwrap_or("").to_lowercase();
            let description = op.description.to_lowercase();
            let score: usize = words
                .iter()
                .map(|w| {
                    let mut s = 0;
                    if name == *w
                        || path == *w
                        || format!("{} {path}", op.method.as_str().to_lowercase()) == *w
                    {
                        s += 10;
                    }
                    s += 3 * usize::from(name.contains(w.as_str()))
                        + 3 * usize::from(path.contains(w.as_str()));
                    s += 2 * usize::from(summary.contains(w.as_str()));
                    s += usize::from(description.contains(w.as_str()));
                    s += usize::from(op.tags.iter().any(|t| t.to_lowercase().contains(w.as_str())));
                    s += usize::from(op.method.as_str().eq_ignore_ascii_case(w));
                    s
                })
                .sum();
            (score > 0).then_some((score, i, *op))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, op)| op).collect()
}

fn find<'a>(api: &'a Api, name: &str, filter: &ToolFilter) -> Result<&'a Operation, ToolError> {
    api.index.operations.iter().find(|op| op.name == name && reachable(api, op, filter)).ok_or_else(|| {
        ToolError(format!("The {} API has no operation {name:?}: search for one first.", api.settings.name))
    })
}

fn describe_tool(api: Rc<Api>, exposure: ToolFilter) -> ToolDef {
    let tool = Tool {
        name: api.meta_tool_name("describe_operation"),
        title: Some(format!("Describe an operation of the {} API", api.settings.name)),
        description: format!(
            "Describes one operation of the {} API by name (from {}): its method, path, description and the JSON \
             Schema of its arguments.",
            api.settings.name,
            api.meta_tool_name("search_operations")
        ),
        input_schema: json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        output_schema: None,
        annotations: Some(read_only_annotations()),
    };
    ToolDef::from_data(tool, move |args: Value, cx| {
        let (api, exposure) = (api.clone(), exposure.clone());
        async move {
            let op = find(&api, args["name"].as_str().unwrap_or_default(), &exposure.narrowed_by(&cx.tools))?;
            let tool = tool_of(&api, op)?;
            let mut described = json!({
                "name": op.name,
                "method": op.method.as_str(),
                "path": op.path,
                "description": tool.description,
                "inputSchema": tool.input_schema,
                "annotations": tool.annotations,
            });
            if let Some(summary) = &op.summary {
                described["summary"] = json!(summary);
            }
            if let Some(output) = tool.output_schema {
                described["outputSchema"] = output;
            }
            Ok(CallToolResult::json(described))
        }
    })
}

fn invoke_tool(api: Rc<Api>, exposure: ToolFilter) -> ToolDef {
    let tool = Tool {
        name: api.meta_tool_name("invoke_operation"),
        title: Some(format!("Call an operation of the {} API", api.settings.name)),
        description: format!(
            "Calls one operation of the {} API by name, with its arguments as {} describes them.",
            api.settings.name,
            api.meta_tool_name("describe_operation")
        ),
        input_schema: json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}},
            "required": ["name"]
        }),
        output_schema: None,
        annotations: Some(ToolAnnotations { open_world_hint: Some(true), ..Default::default() }),
    };
    let reaching = api.clone();
    ToolDef::from_data(tool, move |args: Value, cx| {
        let (api, exposure) = (api.clone(), exposure.clone());
        async move {
            let op = find(&api, args["name"].as_str().unwrap_or_default(), &exposure.narrowed_by(&cx.tools))?;
            let arguments = args.get("arguments").cloned().unwrap_or_else(|| json!({}));
            let schema: Value =
                serde_json::from_str(op.input_schema.get()).map_err(|e| ToolError(e.to_string()))?;
            if let Err(problems) = schema::validate(&arguments, &schema) {
                return Err(ToolError(format!("Invalid arguments for {}: {}", op.name, problems.join("; "))));
            }
            let output: Option<Value> =
                op.output_schema.as_ref().and_then(|s| serde_json::from_str(s.get()).ok());
            let Value::Object(arguments) = arguments else {
                return Err(ToolError(format!("The arguments of {} must be an object.", op.name)));
            };
            Ok(api.call(op, &arguments, output.as_ref(), &cx).await)
        }
    })
    // A per-tool rate limit on an operation holds when it is called through this tool too.
    .reaching(move |args| {
        let name = args.get("name").and_then(Value::as_str)?;
        reaching.index.operations.iter().find(|op| op.name == name).map(|op| reaching.tool_name(op))
    })
}

fn read_only_annotations() -> ToolAnnotations {
    ToolAnnotations {
        read_only_hint: Some(true),
        destructive_hint: Some(false),
        idempotent_hint: Some(true),
        open_world_hint: Some(false),
        title: None,
    }
}

/// One prompt per operation (`OPENAPI_<NAME>_PROMPTS`), named like its tool: how to call it, its arguments
/// and what it returns.
pub fn prompts(api: &Rc<Api>) -> PromptRegistry {
    let mut registry = PromptRegistry::default();
    for (i, op) in api.index.operations.iter().enumerate() {
        let summary = op.summary.clone().unwrap_or_else(|| format!("{} {}", op.method.as_str(), op.path));
        let api_for_prompt = api.clone();
        let def = PromptDef::new(
            &api.tool_name(op),
            &format!("How to call {}: {summary}", op.name),
            move |_, _| {
                let api = api_for_prompt.clone();
                async move {
                    let text = prompt_text(&api, &api.index.operations[i]);
                    Ok(GetPromptResult {
                        description: None,
                        messages: vec![PromptMessage { role: Role::User, content: Content::text(text) }],
                    })
                }
            },
        )
        .title(&summary);
        registry = registry.with(def);
    }
    registry
}

/// The text of an operation's prompt.
pub fn prompt_text(api: &Api, op: &Operation) -> String {
    let how = if api.is_large() {
        format!(
            "Call the tool {} with name \"{}\" and these arguments",
            api.meta_tool_name("invoke_operation"),
            op.name
        )
    } else {
        format!("Call the tool {} with these arguments", api.tool_name(op))
    };
    let schema: Value = serde_json::from_str(op.input_schema.get()).unwrap_or(Value::Null);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut lines = vec![
        format!(
            "The {} API ({}) operation {}: {} {}.",
            api.settings.name,
            api.index.title,
            op.name,
            op.method.as_str(),
            op.path
        ),
        op.description.clone(),
        format!("{how}:"),
    ];
    match schema["properties"].as_object() {
        Some(properties) if !properties.is_empty() => {
            for (name, property) in properties {
                let kind = property["type"].as_str().unwrap_or("any");
                let need = if required.contains(&name.as_str()) { "required" } else { "optional" };
                let about = property["description"].as_str().map(|d| format!(": {d}")).unwrap_or_default();
                lines.push(format!("- {name} ({kind}, {need}){about}"));
            }
        }
        _ => lines.push("- (none)".into()),
    }
    lines.push(match &op.output_schema {
        Some(schema) => format!("It returns JSON matching this schema: {}", schema.get()),
        None => "It returns the API's response as text (JSON when the API answers JSON).".into(),
    });
    lines.join("\n")
}
