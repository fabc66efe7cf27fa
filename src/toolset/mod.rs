//! The tools, resources and prompts this server ships, assembled into a [`Server`].

mod documents;
mod echo;

use std::rc::Rc;

use crate::documents::DocumentSource;
use crate::handler::{PromptRegistry, ResourceRegistry, Server, ToolRegistry};
use crate::model::lifecycle::Implementation;

pub use documents::DocumentResources;

const INSTRUCTIONS: &str =
    "Use `search` to find documents by keywords, then `fetch` with a result's id to read \
the whole document. Documents are also resources at docs://<id>.";

/// The server as deployed: `search`, `fetch` and `echo`, the documents as resources, and two prompts.
pub fn server(source: Rc<dyn DocumentSource>, page_size: usize) -> Server {
    let tools = ToolRegistry::new()
        .with(documents::search_tool(source.clone()))
        .with(documents::fetch_tool(source.clone()))
        .with(echo::tool());
    let prompts = PromptRegistry::default()
        .with(documents::answer_prompt())
        .with(documents::summarize_prompt(source.clone()));
    Server::new(Implementation {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        title: Some("MCP server on Cloudflare Workers (Rust)".into()),
    })
    .instructions(INSTRUCTIONS)
    .tools(tools)
    .resources(ResourceRegistry::default().with(Rc::new(DocumentResources::new(source))))
    .prompts(prompts)
    .page_size(page_size)
}
