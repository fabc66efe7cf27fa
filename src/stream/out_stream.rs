//! One outgoing stream: its numbering, the reader attached to it, the events kept in memory for replay and
//! the record of what it stored.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc::UnboundedSender;
use futures_channel::oneshot;

use super::log::event_key;
use super::platform::Runtime;
use crate::transport::sse;

/// The reconnection delay suggested to clients in the priming event.
pub const RETRY_MS: u64 = 2000;

/// Whether a stream's events go to storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Storing {
    No,
    /// Its meta and earlier events are being written; new events wait in memory.
    Starting,
    Yes,
}

/// An event written to storage: enough to delete it again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Record {
    pub seq: u64,
    pub parts: usize,
    pub bytes: u64,
}

impl Record {
    pub fn keys(&self, stream: &str) -> impl Iterator<Item = String> + '_ {
        let stream = stream.to_string();
        (0..self.parts).map(move |part| event_key(&stream, self.seq, part))
    }
}

/// One outgoing stream.
pub struct OutStream {
    pub id: String,
    /// The requests a POST's stream answers, once it is stored: those it finishes without answering were
    /// cancelled, and its stored record must say so.
    pub(super) answers: RefCell<Vec<crate::model::RequestId>>,
    /// The session speaks 2025-11-25 or later: a priming event opens each response, and the server may end a
    /// response early (SSE polling). Older clients fail on an event with empty data.
    pub(super) polling: bool,
    pub(super) seq: Cell<u64>,
    /// The HTTP body a client is reading now, if any.
    sink: RefCell<Option<UnboundedSender<Vec<u8>>>>,
    /// Recent events `(n, message JSON)` kept in memory for replay, and their size.
    recent: RefCell<VecDeque<(u64, Rc<str>)>>,
    recent_bytes: Cell<usize>,
    finished: Cell<bool>,
    pub(super) storing: Cell<Storing>,
    /// The events this stream has in storage, oldest first.
    pub(super) stored: RefCell<VecDeque<Record>>,
    /// Fired by the first message, so a POST can switch from a JSON answer to a stream.
    first_message: RefCell<Option<oneshot::Sender<()>>>,
    /// The handler asked to end the HTTP response early (SSE polling).
    close_requested: Cell<bool>,
}

impl OutStream {
    pub(super) fn new(id: String, polling: bool) -> Self {
        Self {
            id,
            answers: RefCell::new(Vec::new()),
            polling,
            seq: Cell::new(0),
            sink: RefCell::new(None),
            recent: RefCell::new(VecDeque::new()),
            recent_bytes: Cell::new(0),
            finished: Cell::new(false),
            storing: Cell::new(Storing::No),
            stored: RefCell::new(VecDeque::new()),
            first_message: RefCell::new(None),
            close_requested: Cell::new(false),
        }
    }

    pub fn has_events(&self) -> bool {
        self.seq.get() > 0
    }

    pub fn is_finished(&self) -> bool {
        self.finished.get()
    }

    pub fn is_attached(&self) -> bool {
        self.sink.borrow().as_ref().is_some_and(|s| !s.is_closed())
    }

    pub(super) fn is_stored(&self) -> bool {
        self.storing.get() == Storing::Yes
    }

    /// Waits for the first message written to the stream.
    pub fn on_first_message(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.first_message.borrow_mut() = Some(tx);
        rx
    }

    pub(super) fn next_seq(&self) -> u64 {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        seq
    }

    /// Keeps event `seq` in memory, at most `max_events` of them; returns the bytes freed.
    pub(super) fn remember(&self, seq: u64, json: Rc<str>, max_events: usize) -> usize {
        self.recent_bytes.set(self.recent_bytes.get() + json.len());
        self.recent.borrow_mut().push_back((seq, json));
        let mut freed = 0;
        while self.recent.borrow().len() > max_events {
            freed += self.drop_oldest();
        }
        freed
    }

    /// Forgets the oldest event kept in memory; returns its size.
    pub(super) fn drop_oldest(&self) -> usize {
        let bytes = self.recent.borrow_mut().pop_front().map_or(0, |(_, json)| json.len());
        self.recent_bytes.set(self.recent_bytes.get() - bytes);
        bytes
    }

    pub(super) fn recent_bytes(&self) -> usize {
        self.recent_bytes.get()
    }

    pub(super) fn recent_snapshot(&self) -> Vec<(u64, Rc<str>)> {
        self.recent.borrow().iter().cloned().collect()
    }

    /// The number of the oldest event still in memory (the next one when none is).
    pub(super) fn first_in_memory(&self) -> u64 {
        self.recent.borrow().front().map_or(self.seq.get() + 1, |(seq, _)| *seq)
    }

    /// Sends an encoded event to the reader, if any, and reports the first message.
    pub(super) fn send(&self, encoded: String) {
        let failed = match self.sink.borrow().as_ref() {
            Some(sink) => sink.unbounded_send(encoded.into_bytes()).is_err(),
            None => false,
        };
        if failed {
            self.sink.borrow_mut().take();
        }
        if let Some(first) = self.first_message.borrow_mut().take() {
            let _ = first.send(());
        }
    }

    /// Sends a fresh reader the priming event (an id to resume from, the reconnection delay), to sessions
    /// that understand it.
    pub(super) fn prime(&self, sink: &UnboundedSender<Vec<u8>>) {
        if self.polling {
            let _ = sink.unbounded_send(sse::priming(&self.id, RETRY_MS).into_bytes());
        }
    }

    /// Connects a reader, first replaying the events in memory after `after` (none for `None`); the reader
    /// gets a keepalive comment every `keepalive`.
    pub(super) fn attach<R: Runtime>(
        &self,
        rt: &Rc<R>,
        sink: UnboundedSender<Vec<u8>>,
        after: Option<u64>,
        keepalive: Duration,
    ) {
        if let Some(after) = after {
            for (seq, json) in self.recent.borrow().iter() {
                if *seq > after {
                    let _ = sink.unbounded_send(encode(&self.id, *seq, json).into_bytes());
                }
            }
        }
        if self.finished.get() {
            sink.close_channel();
            return;
        }
        if let Some(old) = self.sink.borrow_mut().replace(sink.clone()) {
            old.close_channel();
        }
        rt.spawn(Box::pin(send_keepalives(rt.clone(), sink, keepalive)));
    }

    /// Whether the handler ended the HTTP response before it began (its reader then gets only the priming
    /// event and what came before).
    pub(super) fn close_requested(&self) -> bool {
        self.close_requested.get()
    }

    /// Ends the HTTP response now or, before there is one, right after its priming event; the stream goes
    /// on, and the client resumes it with GET + `Last-Event-ID`. Only for sessions that know SSE polling;
    /// for older ones the response simply goes on.
    pub(super) fn request_close(&self) {
        if !self.polling {
            return;
        }
        self.close_requested.set(true);
        self.detach();
        if let Some(first) = self.first_message.borrow_mut().take() {
            let _ = first.send(());
        }
    }

    /// Ends the HTTP response, not the stream: later events wait for a resuming reader.
    pub fn detach(&self) {
        if let Some(sink) = self.sink.borrow_mut().take() {
            sink.close_channel();
        }
    }

    pub(super) fn finish(&self) {
        self.finished.set(true);
        self.detach();
    }
}

/// Event `seq` of `stream` as SSE.
pub(super) fn encode(stream: &str, seq: u64, json: &str) -> String {
    sse::message(Some(&sse::event_id(stream, seq)), json)
}

/// Sends `: keepalive` every `every` until the reader goes away or the stream ends.
async fn send_keepalives<R: Runtime>(rt: Rc<R>, sink: UnboundedSender<Vec<u8>>, every: Duration) {
    loop {
        rt.sleep(every).await;
        if sink.is_closed() || sink.unbounded_send(sse::comment("keepalive").into_bytes()).is_err() {
            break;
        }
    }
}
