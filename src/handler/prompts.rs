//! Prompts: named templates with declared arguments.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::completion::{self, Completer};
use super::context::RequestContext;
use super::pagination::{page, Page};
use super::tools::LocalFuture;
use crate::error::McpError;
use crate::model::resource::{GetPromptResult, Prompt, PromptArgument};

type Arguments = HashMap<String, String>;
type Handler =
    Rc<dyn Fn(Arguments, RequestContext) -> LocalFuture<'static, Result<GetPromptResult, McpError>>>;

/// One prompt: its description, arguments and the function that fills it in.
#[derive(Clone)]
pub struct PromptDef {
    prompt: Prompt,
    handler: Handler,
    completer: Option<Completer>,
}

impl PromptDef {
    pub fn new<F, Fut>(name: &str, description: &str, handler: F) -> Self
    where
        F: Fn(Arguments, RequestContext) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<GetPromptResult, McpError>> + 'static,
    {
        Self {
            prompt: Prompt {
                name: name.into(),
                title: None,
                description: Some(description.into()),
                arguments: Vec::new(),
            },
            handler: Rc::new(move |args, cx| Box::pin(handler(args, cx))),
            completer: None,
        }
    }

    /// Suggests values for this prompt's arguments (`completion/complete`).
    pub fn completion<F, Fut>(mut self, complete: F) -> Self
    where
        F: Fn(String, String) -> Fut + 'static,
        Fut: std::future::Future<Output = Vec<String>> + 'static,
    {
        self.completer = Some(Rc::new(move |arg, value| Box::pin(complete(arg, value))));
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.prompt.title = Some(title.into());
        self
    }

    pub fn argument(mut self, name: &str, description: &str, required: bool) -> Self {
        self.prompt.arguments.push(PromptArgument {
            name: name.into(),
            description: Some(description.into()),
            required,
        });
        self
    }
}

#[derive(Clone, Default)]
pub struct PromptRegistry {
    prompts: Vec<PromptDef>,
}

impl PromptRegistry {
    pub fn with(mut self, def: PromptDef) -> Self {
        self.prompts.retain(|p| p.prompt.name != def.prompt.name);
        self.prompts.push(def);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.prompts.iter().any(|p| p.prompt.name == name)
    }

    /// The names of the prompts, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.prompts.iter().map(|p| p.prompt.name.as_str())
    }

    /// Adds every prompt of `other`.
    pub fn merge(mut self, other: PromptRegistry) -> Self {
        for def in other.prompts {
            self = self.with(def);
        }
        self
    }

    pub fn list(&self, cursor: Option<&str>, page_size: usize) -> Result<Page<Prompt>, McpError> {
        let all: Vec<Prompt> = self.prompts.iter().map(|p| p.prompt.clone()).collect();
        page(&all, cursor, page_size)
    }

    /// `completion/complete` for an argument of prompt `name`.
    pub async fn complete(&self, name: &str, argument: &str, value: &str) -> Result<Value, McpError> {
        let def = self
            .prompts
            .iter()
            .find(|p| p.prompt.name == name)
            .ok_or_else(|| McpError::InvalidParams(format!("Unknown prompt: {name}")))?;
        if !def.prompt.arguments.iter().any(|a| a.name == argument) {
            return Err(McpError::InvalidParams(format!("Prompt {name} has no argument {argument:?}")));
        }
        let candidates = match &def.completer {
            Some(complete) => complete(argument.to_string(), value.to_string()).await,
            None => Vec::new(),
        };
        Ok(completion::result(candidates, value))
    }

    /// `prompts/get`: unknown prompt, missing required or non-string arguments are `-32602`.
    pub async fn get(
        &self,
        name: &str,
        arguments: Option<Map<String, Value>>,
        cx: &RequestContext,
    ) -> Result<GetPromptResult, McpError> {
        let def = self
            .prompts
            .iter()
            .find(|p| p.prompt.name == name)
            .ok_or_else(|| McpError::InvalidParams(format!("Unknown prompt: {name}")))?;
        let mut args = Arguments::new();
        for (key, value) in arguments.unwrap_or_default() {
            match value {
                Value::String(s) => {
                    args.insert(key, s);
                }
                _ => {
                    return Err(McpError::InvalidParams(format!("Prompt argument {key:?} must be a string")))
                }
            }
        }
        for declared in &def.prompt.arguments {
            if declared.required && args.get(&declared.name).is_none_or(|v| v.trim().is_empty()) {
                return Err(McpError::InvalidParams(format!(
                    "Missing required argument {:?} for prompt {name}",
                    declared.name
                )));
            }
        }
        (def.handler)(args, cx.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resource::{PromptMessage, Role};
    use crate::model::Content;
    use futures_executor::block_on;

    fn cx() -> RequestContext {
        RequestContext::new(crate::identity::Identity::anonymous(), Rc::new(crate::handler::NoPeer))
    }

    fn registry() -> PromptRegistry {
        PromptRegistry::default().with(
            PromptDef::new("greet", "Greets.", |args, _cx| async move {
                Ok(GetPromptResult {
                    description: None,
                    messages: vec![PromptMessage {
                        role: Role::User,
                        content: Content::text(format!("Hello {}", args["name"])),
                    }],
                })
            })
            .argument("name", "Who", true),
        )
    }

    #[test]
    fn fills_in_arguments_and_checks_required_ones() {
        let reg = registry();
        let args = serde_json::json!({"name": "Ada"}).as_object().cloned();
        let result = block_on(reg.get("greet", args, &cx())).unwrap();
        assert_eq!(result.messages[0].content, Content::text("Hello Ada"));
        assert!(matches!(block_on(reg.get("greet", None, &cx())), Err(McpError::InvalidParams(_))));
        let bad = serde_json::json!({"name": 3}).as_object().cloned();
        assert!(matches!(block_on(reg.get("greet", bad, &cx())), Err(McpError::InvalidParams(_))));
        assert!(matches!(block_on(reg.get("nope", None, &cx())), Err(McpError::InvalidParams(_))));
    }
}
