//! A session's outgoing SSE streams, as plain Rust: the event log (numbering, replay from memory and from
//! storage, bounds) and server-to-client requests waiting for answers. (Cancelling a client request is the
//! session's business: [`crate::cancellation`].)
//! What needs I/O goes through the small traits of [`platform`]; the Durable Object implements them.
//!
//! Every stream (a POST's response stream, the standalone GET stream) numbers its events `<stream id>-<n>`.
//! Events of streams that went out as SSE are also stored (bounded by [`Limits`]), so a client that lost its
//! connection resumes with GET + `Last-Event-ID` and gets exactly the events it missed, from memory while the
//! object lives and from storage after a restart.

pub mod event_id;
mod limits;
pub mod log;
mod out_stream;
mod outbox;
mod peer;
pub mod platform;
mod requests;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use event_id::parse_last_event_id;
pub use limits::{Limits, DEFAULT_MAX_OPEN_STREAMS, MIB};
pub use log::StreamMeta;
pub use out_stream::OutStream;
pub use outbox::{Outbox, SseBody};
pub use peer::StreamPeer;
pub use platform::{Runtime, Spawn, Store, StoreError, Timer};
