//! REST APIs described by OpenAPI, served as MCP tools.
//!
//! The spec is read once, natively, by `npm run openapi:import`, which writes a compact operation index
//! ([`index::ApiIndex`]); the Worker serves that index and never parses OpenAPI itself (a full parser costs
//! hundreds of KB of wasm, and GitHub's 13 MB spec would not fit an isolate's memory comfortably).
//!
//! Calls go only to the base URL the operator configured ([`settings`]); arguments are encoded so that they
//! stay where the operation puts them ([`encode`], [`request`]); credentials go only to that origin
//! ([`credentials`]); answers are bounded ([`answer`]). The fetch itself is the platform's ([`call::Backend`]).

pub mod answer;
pub mod call;
pub mod credentials;
pub mod encode;
/// The importer: native only (`npm run openapi:import`), never in the wasm.
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod index;
pub mod loader;
pub mod request;
pub mod settings;
pub mod tools;

#[cfg(test)]
mod tests;

pub use call::{Api, Backend};

use std::collections::HashSet;

use index::{ApiIndex, INDEX_FORMAT};

/// Reads an index as the importer wrote it, refusing one this build cannot serve: another format, or tool
/// names that are not valid or not unique.
pub fn parse_index(text: &str) -> Result<ApiIndex, String> {
    #[derive(serde::Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format =
        serde_json::from_str(text).map_err(|e| format!("the index is not valid JSON: {e}"))?;
    if format.format != INDEX_FORMAT {
        return Err(format!(
            "the index has format {}, this server reads format {INDEX_FORMAT}: import the spec again",
            format.format
        ));
    }
    let index: ApiIndex = serde_json::from_str(text).map_err(|e| format!("the index is not valid: {e}"))?;
    let mut names = HashSet::new();
    for op in &index.operations {
        let valid = !op.name.is_empty()
            && op.name.len() <= 64
            && op.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(format!("the index has an invalid operation name {:?}", op.name));
        }
        if !names.insert(op.name.as_str()) {
            return Err(format!("the index names two operations {:?}", op.name));
        }
        if !op.path.starts_with('/') {
            return Err(format!("the path of {} does not start with /", op.name));
        }
    }
    Ok(index)
}
