//! `search` and `fetch` over the document collection, in the shapes ChatGPT connectors and deep research
//! require; the documents as `docs://<id>` resources; prompts built on them.

use std::rc::Rc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::documents::{Document, DocumentSource, SearchHit};
use crate::error::McpError;
use crate::handler::{LocalFuture, PromptDef, RequestContext, ResourceProvider, ToolDef, ToolError};
use crate::model::resource::{
    GetPromptResult, PromptMessage, ReadResourceResult, Resource, ResourceTemplate, Role,
};
use crate::model::tool::CallToolResult;
use crate::model::{Content, ResourceContents};

/// At most this many `search` results.
const SEARCH_LIMIT: usize = 10;
const URI_PREFIX: &str = "docs://";
const MIME: &str = "text/plain";
const TEMPLATE: &str = "docs://{id}";

#[derive(Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// Keywords to look for in the documents' titles and text.
    #[schemars(length(min = 1))]
    pub query: String,
}

#[derive(Serialize, JsonSchema)]
pub struct SearchOutput {
    /// Matching documents, best first.
    pub results: Vec<SearchHit>,
}

#[derive(Deserialize, JsonSchema)]
pub struct FetchArgs {
    /// The `id` of a search result.
    #[schemars(length(min = 1))]
    pub id: String,
}

pub fn search_tool(source: Rc<dyn DocumentSource>) -> ToolDef {
    ToolDef::new(
        "search",
        "Searches the document collection by keywords. Returns up to 10 results, each with an id (pass it to \
         `fetch` to read the document), a title and a URL for citation.",
        move |args: SearchArgs, _cx| {
            let source = source.clone();
            async move {
                let corpus = source.corpus().await.map_err(ToolError)?;
                let results = corpus
                    .search(&args.query, SEARCH_LIMIT)
                    .into_iter()
                    .map(|d| SearchHit { id: d.id.clone(), title: d.title.clone(), url: d.url.clone() })
                    .collect();
                Ok(CallToolResult::json(serde_json::to_value(SearchOutput { results })?))
            }
        },
    )
    .title("Search documents")
    .output::<SearchOutput>()
    .read_only()
    .open_world(false)
}

pub fn fetch_tool(source: Rc<dyn DocumentSource>) -> ToolDef {
    ToolDef::new(
        "fetch",
        "Fetches one document by the id a `search` result gave: its title, full text, URL and metadata.",
        move |args: FetchArgs, _cx| {
            let source = source.clone();
            async move {
                let corpus = source.corpus().await.map_err(ToolError)?;
                let doc = corpus.get(&args.id).ok_or_else(|| {
                    ToolError(format!(
                        "No document has the id {:?}; use an id from a search result.",
                        args.id
                    ))
                })?;
                Ok(CallToolResult::json(serde_json::to_value(doc)?))
            }
        },
    )
    .title("Fetch a document")
    .output::<Document>()
    .read_only()
    .open_world(false)
}

/// The documents as resources: `docs://<id>`, plain text.
pub struct DocumentResources {
    source: Rc<dyn DocumentSource>,
}

impl DocumentResources {
    pub fn new(source: Rc<dyn DocumentSource>) -> Self {
        Self { source }
    }
}

impl ResourceProvider for DocumentResources {
    fn list(&self) -> LocalFuture<'_, Result<Vec<Resource>, McpError>> {
        Box::pin(async move {
            let corpus = self.source.corpus().await.map_err(McpError::Internal)?;
            Ok(corpus
                .documents()
                .iter()
                .map(|d| Resource {
                    uri: format!("{URI_PREFIX}{}", d.id),
                    name: d.id.clone(),
                    title: Some(d.title.clone()),
                    description: Some(format!("{} ({})", d.title, d.url)),
                    mime_type: Some(MIME.into()),
                })
                .collect())
        })
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: TEMPLATE.into(),
            name: "document".into(),
            title: Some("A document by id".into()),
            description: Some("Any document of the collection, by the id `search` returns.".into()),
            mime_type: Some(MIME.into()),
        }]
    }

    fn read<'a>(
        &'a self,
        uri: &'a str,
        _cx: &'a RequestContext,
    ) -> Option<LocalFuture<'a, Result<ReadResourceResult, McpError>>> {
        let id = uri.strip_prefix(URI_PREFIX)?;
        Some(Box::pin(async move {
            let corpus = self.source.corpus().await.map_err(McpError::Internal)?;
            let doc = corpus.get(id).ok_or_else(|| McpError::ResourceNotFound(uri.to_string()))?;
            Ok(ReadResourceResult { contents: vec![ResourceContents::text(uri, MIME, doc.text.clone())] })
        }))
    }

    fn complete<'a>(&'a self, template: &'a str, argument: &'a str) -> Option<LocalFuture<'a, Vec<String>>> {
        if template == TEMPLATE && argument == "id" {
            Some(Box::pin(document_ids(self.source.as_ref())))
        } else {
            None
        }
    }
}

pub fn answer_prompt() -> PromptDef {
    PromptDef::new(
        "answer_from_docs",
        "Answer a question from the document collection, citing the documents used.",
        |args, _cx| async move {
            let question = &args["question"];
            Ok(user_prompt(format!(
                "Answer this question using the `search` and `fetch` tools of this server: {question}\n\
                 Search first, fetch the most relevant documents, and cite each document you use by its title \
                 and URL. If the documents do not answer the question, say so."
            )))
        },
    )
    .title("Answer from the documents")
    .argument("question", "The question to answer", true)
}

pub fn summarize_prompt(source: Rc<dyn DocumentSource>) -> PromptDef {
    let ids_source = source.clone();
    PromptDef::new("summarize_document", "Summarize one document of the collection.", move |args, _cx| {
        let source = source.clone();
        async move {
            let corpus = source.corpus().await.map_err(McpError::Internal)?;
            let id = &args["id"];
            let doc = corpus
                .get(id)
                .ok_or_else(|| McpError::InvalidParams(format!("No document has the id {id:?}")))?;
            let mut result = user_prompt(format!(
                "Summarize the document \"{}\" ({}) in three sentences:\n\n{}",
                doc.title, doc.id, doc.text
            ));
            result.description = Some(format!("Summary of {}", doc.title));
            Ok(result)
        }
    })
    .title("Summarize a document")
    .argument("id", "The id of the document", true)
    .completion(move |_argument, _typed| {
        let source = ids_source.clone();
        async move { document_ids(source.as_ref()).await }
    })
}

/// Every document id, for completions; empty when the collection cannot be loaded.
async fn document_ids(source: &dyn DocumentSource) -> Vec<String> {
    match source.corpus().await {
        Ok(corpus) => corpus.documents().iter().map(|d| d.id.clone()).collect(),
        Err(_) => Vec::new(),
    }
}

fn user_prompt(text: String) -> GetPromptResult {
    GetPromptResult {
        description: None,
        messages: vec![PromptMessage { role: Role::User, content: Content::text(text) }],
    }
}
