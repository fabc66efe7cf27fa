//! The bounds on what a session keeps for replay, and on the streams it holds open.

use crate::error::HttpError;

/// How much of a session's streams is kept for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Streams a session holds open at once (`MCP_MAX_STREAMS_PER_SESSION`): POSTs carrying requests still being
    /// answered, and the standalone GET stream. A new one past it is refused (429); a GET replacing the
    /// standalone stream does not count twice, and a POST carrying only responses or notifications is never
    /// refused (a tool may be waiting for that very answer).
    pub max_open_streams: usize,
    /// Events of one stream kept (in memory, and in storage).
    pub max_events_per_stream: usize,
    /// Streams kept in memory; the oldest finished ones go first.
    pub max_streams_in_memory: usize,
    /// Bytes of events kept in memory, all streams together: the oldest finished streams go first, then the
    /// oldest events of running ones (still in storage).
    pub max_memory_bytes: usize,
    /// Streams whose events stay in storage (`MCP_MAX_STORED_STREAMS`): past it the oldest not running go.
    pub max_streams_stored: usize,
    /// Bytes of events in storage, all streams together (`MCP_MAX_STORED_BYTES`): the oldest finished streams
    /// go first, then the oldest events of running ones (each keeps its newest).
    pub max_stored_bytes: u64,
    /// Larger events are not stored: a response is replaced by an error saying it was too large to keep.
    pub max_stored_event_bytes: usize,
    /// Events are stored in parts of at most this many bytes of UTF-8 (a storage value holds 2 MB, key
    /// included, and a string may take two bytes a character there), written atomically.
    pub chunk_bytes: usize,
    /// The stored index of streams is rewritten when its total drifted by more than this.
    pub index_slack_bytes: u64,
}

pub const MIB: usize = 1024 * 1024;
/// The default of `MCP_MAX_STREAMS_PER_SESSION`: far above what clients run in parallel in one session.
pub const DEFAULT_MAX_OPEN_STREAMS: usize = 64;

impl Limits {
    /// Whether one more stream may open while `open` are (a standalone stream it replaces not counted): a 429
    /// naming the setting otherwise. Streams end when their requests are answered, so a second is soon enough.
    pub fn check_open_streams(&self, open: usize) -> Result<(), HttpError> {
        let limit = self.max_open_streams;
        if open < limit {
            return Ok(());
        }
        Err(HttpError::LimitReached {
            message: format!(
                "this session has {open} streams open, the most it may (MCP_MAX_STREAMS_PER_SESSION={limit}); \
                 wait for a request to finish or close a stream, then retry"
            ),
            retry_after_seconds: 1,
        })
    }

    /// These limits with the stored bounds set by the settings. Memory keeps no more finished streams than
    /// storage may (a live session replays from memory first), so the streams a session can resume are the ones
    /// the setting says; its bytes keep their own bound, since events not yet stored (a POST turning into a
    /// stream) wait there.
    pub fn with_stored(mut self, streams: usize, bytes: u64) -> Self {
        self.max_streams_stored = streams;
        self.max_stored_bytes = bytes;
        self.max_streams_in_memory = self.max_streams_in_memory.min(streams);
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_open_streams: DEFAULT_MAX_OPEN_STREAMS,
            max_events_per_stream: 1000,
            max_streams_in_memory: 32,
            max_memory_bytes: 4 * MIB,
            max_streams_stored: 100,
            max_stored_bytes: 32 * MIB as u64,
            max_stored_event_bytes: 8 * MIB,
            chunk_bytes: 512 * 1024,
            index_slack_bytes: 256 * 1024,
        }
    }
}
