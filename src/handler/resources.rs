//! Resources: providers that list and read URIs, combined in one registry.

use std::rc::Rc;

use serde_json::Value;

use super::completion;
use super::context::RequestContext;
use super::pagination::{page, Page};
use super::tools::LocalFuture;
use crate::error::McpError;
use crate::model::resource::{ReadResourceResult, Resource, ResourceTemplate};

/// A source of resources, such as the document collection. Reading may do I/O, hence the future.
pub trait ResourceProvider {
    /// Concrete resources, listed by `resources/list`.
    fn list(&self) -> LocalFuture<'_, Result<Vec<Resource>, McpError>>;

    /// URI templates, listed by `resources/templates/list`.
    fn templates(&self) -> Vec<ResourceTemplate>;

    /// `Some` if this provider owns `uri`, with its contents or an error (`-32002` when missing).
    fn read<'a>(
        &'a self,
        uri: &'a str,
        cx: &'a RequestContext,
    ) -> Option<LocalFuture<'a, Result<ReadResourceResult, McpError>>>;

    /// Candidate values for variable `argument` of `template`, if this provider owns the template.
    fn complete<'a>(
        &'a self,
        _template: &'a str,
        _argument: &'a str,
    ) -> Option<LocalFuture<'a, Vec<String>>> {
        None
    }
}

/// The providers of a server, asked in order.
#[derive(Clone, Default)]
pub struct ResourceRegistry {
    providers: Vec<Rc<dyn ResourceProvider>>,
}

impl ResourceRegistry {
    pub fn with(mut self, provider: Rc<dyn ResourceProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    pub async fn list(&self, cursor: Option<&str>, page_size: usize) -> Result<Page<Resource>, McpError> {
        let mut all = Vec::new();
        for provider in &self.providers {
            all.extend(provider.list().await?);
        }
        page(&all, cursor, page_size)
    }

    pub fn templates(
        &self,
        cursor: Option<&str>,
        page_size: usize,
    ) -> Result<Page<ResourceTemplate>, McpError> {
        let all: Vec<ResourceTemplate> = self.providers.iter().flat_map(|p| p.templates()).collect();
        page(&all, cursor, page_size)
    }

    /// `completion/complete` for a variable of resource template `template`.
    pub async fn complete(&self, template: &str, argument: &str, value: &str) -> Result<Value, McpError> {
        for provider in &self.providers {
            if let Some(candidates) = provider.complete(template, argument) {
                return Ok(completion::result(candidates.await, value));
            }
        }
        if self.providers.iter().any(|p| p.templates().iter().any(|t| t.uri_template == template)) {
            return Ok(completion::result(Vec::new(), value));
        }
        Err(McpError::InvalidParams(format!("Unknown resource template: {template}")))
    }

    pub async fn read(&self, uri: &str, cx: &RequestContext) -> Result<ReadResourceResult, McpError> {
        for provider in &self.providers {
            if let Some(read) = provider.read(uri, cx) {
                return read.await;
            }
        }
        Err(McpError::ResourceNotFound(uri.to_string()))
    }
}
