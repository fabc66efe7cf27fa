//! Transports: how MCP messages travel over HTTP. Rules only; the worker shell applies them.

pub mod cors;
pub mod legacy_sse;
pub mod listen;
pub mod origin;
pub mod request_state;
pub mod request_url;
pub mod session_call;
pub mod sse;
pub mod stateless;
pub mod streamable_http;
