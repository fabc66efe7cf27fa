//! REST APIs described by OpenAPI, served as MCP tools.
//!
//! The spec is read once, natively, by `npm run openapi:import`, which writes a compact operation index
//! ([`index::ApiIndex`]); the Worker serves that index and never parses OpenAPI itself (a full parser costs
//! hundreds of KB of wasm, and GitHub's 13 MB spec would not fit an isolate's memory comfortably).

/// The importer: native only (`npm run openapi:import`), never in the wasm.
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod index;
