//! A remote MCP server for Cloudflare Workers.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`model`]: JSON-RPC and MCP types on the wire;
//! - [`error`], [`identity`], [`keys`]: errors and their mapping, who is calling, the server secret's keys;
//! - [`schema`], [`session`]: tool schemas, session rules and signed session ids;
//! - [`handler`]: the server role, dispatching methods to tools, resources and prompts;
//! - [`transport`], [`auth`], [`config`]: HTTP transport rules, access rules, settings;
//! - [`stream`]: a session's SSE streams, their replay and bounds, server-to-client requests, over small
//!   storage, spawn and timer traits;
//! - [`documents`], [`toolset`]: the shipped tools over the document collection;
//! - `worker` (wasm32 only): the fetch router, the session Durable Object, KV.
//!
//! Everything but `worker` is plain Rust with no I/O, unit-tested natively with `cargo test`.

pub mod audit;
pub mod auth;
pub mod cancellation;
pub mod config;
pub mod documents;
pub mod error;
pub mod handler;
pub mod health;
pub mod identity;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod openapi;
pub mod random;
pub mod rate_limit;
pub mod schema;
pub mod session;
pub mod stream;
pub mod toolset;
pub mod transport;

#[cfg(target_arch = "wasm32")]
mod worker;
