//! The protocol model: JSON-RPC framing and the MCP types on the wire. No I/O, no behaviour beyond parsing.

pub mod content;
pub mod jsonrpc;
pub mod lifecycle;
pub mod resource;
pub mod stateless;
pub mod tool;
pub mod version;

pub use content::{Content, ResourceContents};
pub use jsonrpc::{code, ErrorObject, Message, Notification, Payload, Request, RequestId, Response};
pub use version::ProtocolVersion;
