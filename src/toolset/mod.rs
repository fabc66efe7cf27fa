//! The tools, resources and prompts this server ships, assembled into a [`Server`].

pub mod conformance;
pub mod conformance_stateless;
mod documents;
mod echo;
pub mod github_user;
pub mod rest_apis;
mod whoami;

use std::cell::Cell;
use std::rc::Rc;

use crate::documents::DocumentSource;
use crate::handler::{ListsChange, PromptRegistry, ResourceRegistry, Server, ToolRegistry};
use crate::model::lifecycle::Implementation;

pub use documents::DocumentResources;

const INSTRUCTIONS: &str =
    "Use `search` to find documents by keywords, then `fetch` with a result's id to read \
the whole document. Documents are also resources at docs://<id>.";

/// Extra tool sets a deployment can switch on (`MCP_FIXTURES`).
#[derive(Clone)]
pub enum Fixtures {
    None,
    /// The conformance suite's fixtures; `sleep` pauses between the steps of the timed ones, `announce` tells
    /// listening clients that a list changed.
    Conformance {
        sleep: conformance::Sleep,
        announce: conformance_stateless::Announce,
    },
}

/// The server as deployed: `search`, `fetch`, `echo` and `whoami`, the documents as resources, two prompts, and the
/// fixtures when asked for.
pub fn server(source: Rc<dyn DocumentSource>, page_size: usize, fixtures: Fixtures) -> Server {
    server_with(source, page_size, fixtures, false)
}

/// [`server`], with `github_user` when GitHub sign-in is configured (`github`).
pub fn server_with(
    source: Rc<dyn DocumentSource>,
    page_size: usize,
    fixtures: Fixtures,
    github: bool,
) -> Server {
    let mut tools = ToolRegistry::new()
        .with(documents::search_tool(source.clone()))
        .with(documents::fetch_tool(source.clone()))
        .with(echo::tool())
        .with(whoami::tool());
    let mut prompts = PromptRegistry::default()
        .with(documents::answer_prompt())
        .with(documents::summarize_prompt(source.clone()));
    let mut resources = ResourceRegistry::default().with(Rc::new(DocumentResources::new(source)));
    if github {
        tools = tools.with(github_user::tool());
    }
    let mut lists_change = ListsChange::default();
    if let Fixtures::Conformance { sleep, announce } = fixtures {
        let watched_revision = Rc::new(Cell::new(0));
        tools.extend(conformance::tools(sleep, watched_revision.clone()));
        tools.extend(conformance_stateless::tools(announce));
        prompts = prompts.merge(conformance::prompts()).merge(conformance_stateless::prompts());
        resources = resources.with(Rc::new(conformance::FixtureResources { watched_revision }));
        // The triggers change them, as far as listening clients can tell.
        lists_change = ListsChange { tools: true, prompts: true };
    }
    Server::new(Implementation {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        title: Some("MCP server on Cloudflare Workers (Rust)".into()),
    })
    .instructions(INSTRUCTIONS)
    .tools(tools)
    .resources(resources)
    .prompts(prompts)
    .page_size(page_size)
    .lists_change(lists_change)
}
