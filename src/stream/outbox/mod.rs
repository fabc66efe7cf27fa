//! [`Outbox`]: all streams of a session. It numbers events, keeps them for replay within the [`Limits`] (in
//! memory, and in storage once a stream went out as SSE), resumes streams from memory or storage, and holds
//! the server-to-client requests and the cancellable tasks of the session.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc::{unbounded, UnboundedReceiver};
use serde_json::Value;

use super::event_id::{parse_last_event_id, StreamIds};
use super::limits::Limits;
use super::log::{self, replay_stored, Index, StoredStream, StreamMeta};
use super::out_stream::{encode, OutStream, Record, Storing};
use super::peer::StreamPeer;
use super::platform::{Runtime, StoreError};
use super::requests::PendingRequests;
use crate::error::HttpError;
use crate::handler::PeerError;
use crate::model::{Message, ProtocolVersion, Request, RequestId, Response};

mod storing;

/// The body of an SSE response: encoded events, in order; it ends when the sender closes.
pub type SseBody = UnboundedReceiver<Vec<u8>>;

/// All streams of a session, and the server-to-client requests awaiting answers.
pub struct Outbox<R: Runtime> {
    rt: Rc<R>,
    keepalive: Duration,
    limits: Limits,
    streams: RefCell<HashMap<String, Rc<OutStream>>>,
    /// Stream ids in creation order, for eviction from memory.
    order: RefCell<VecDeque<String>>,
    memory_bytes: Cell<usize>,
    standalone: RefCell<Option<Rc<OutStream>>>,
    /// The stored streams (the `streams` key), read once.
    index: RefCell<Option<Index>>,
    requests: Rc<PendingRequests>,
    /// The session ended and its storage is gone: nothing is written any more (late writes of work that was
    /// still running would bring parts of it back).
    closed: Cell<bool>,
    stream_ids: StreamIds,
}

/// Whether streams of a session at `version` get priming events and early closes (SSE polling).
fn polls(version: ProtocolVersion) -> bool {
    version.has_sse_polling()
}

fn storage_error(context: &str) -> impl Fn(StoreError) -> HttpError + '_ {
    move |e| HttpError::Internal(format!("{context}: {e}"))
}

fn closed_body(chunks: Vec<String>) -> SseBody {
    let (tx, rx) = unbounded();
    for chunk in chunks {
        let _ = tx.unbounded_send(chunk.into_bytes());
    }
    rx
}

impl<R: Runtime> Outbox<R> {
    pub fn new(rt: R, keepalive: Duration) -> Self {
        Self::with_limits(rt, keepalive, Limits::default())
    }

    pub fn with_limits(rt: R, keepalive: Duration, limits: Limits) -> Self {
        Self {
            rt: Rc::new(rt),
            keepalive,
            limits,
            streams: RefCell::new(HashMap::new()),
            order: RefCell::new(VecDeque::new()),
            memory_bytes: Cell::new(0),
            standalone: RefCell::new(None),
            index: RefCell::new(None),
            requests: Rc::new(PendingRequests::default()),
            closed: Cell::new(false),
            stream_ids: StreamIds::default(),
        }
    }

    /// The platform this outbox runs on.
    pub fn runtime(&self) -> &R {
        &self.rt
    }

    /// The peer of requests answered on `stream`.
    pub fn peer(self: &Rc<Self>, stream: &Rc<OutStream>, timeout_ms: u64) -> Rc<StreamPeer<R>> {
        Rc::new(StreamPeer { outbox: self.clone(), stream: stream.clone(), timeout_ms })
    }

    /// A new stream for one POST of a session at `version`.
    pub fn open(&self, version: ProtocolVersion) -> Rc<OutStream> {
        self.open_stream(self.stream_ids.next(), polls(version))
    }

    /// [`Outbox::open`] for a POST carrying requests, refused (429) when the session holds
    /// [`Limits::max_open_streams`] open already.
    pub fn open_for_requests(&self, version: ProtocolVersion) -> Result<Rc<OutStream>, HttpError> {
        self.check_room(false)?;
        Ok(self.open(version))
    }

    /// Whether a POST carrying requests could open its stream now (checked before anything is counted for it).
    pub fn room_for_requests(&self) -> Result<(), HttpError> {
        self.check_room(false)
    }

    /// Streams open now: running POST streams and the standalone stream.
    pub fn open_streams(&self) -> usize {
        self.streams.borrow().values().filter(|s| !s.is_finished()).count()
    }

    /// Whether one more stream may open; `replacing_standalone`: it ends the standalone stream, which then
    /// does not count.
    fn check_room(&self, replacing_standalone: bool) -> Result<(), HttpError> {
        let mut open = self.open_streams();
        if replacing_standalone && self.standalone.borrow().as_ref().is_some_and(|s| !s.is_finished()) {
            open = open.saturating_sub(1);
        }
        self.limits.check_open_streams(open)
    }

    fn open_stream(&self, id: String, polling: bool) -> Rc<OutStream> {
        let stream = Rc::new(OutStream::new(id, polling));
        self.streams.borrow_mut().insert(stream.id.clone(), stream.clone());
        self.order.borrow_mut().push_back(stream.id.clone());
        if self.order.borrow().len() > self.limits.max_streams_in_memory {
            // Evict the oldest finished stream; running ones stay.
            if let Some(pos) = self.oldest_finished() {
                self.forget_at(pos);
            }
        }
        stream
    }

    /// The position in `order` of the oldest finished stream.
    fn oldest_finished(&self) -> Option<usize> {
        let streams = self.streams.borrow();
        self.order.borrow().iter().position(|id| streams.get(id).is_none_or(|s| s.is_finished()))
    }

    /// Drops the stream at `pos` of `order` from memory.
    fn forget_at(&self, pos: usize) {
        let Some(id) = self.order.borrow_mut().remove(pos) else { return };
        if let Some(stream) = self.streams.borrow_mut().remove(&id) {
            self.memory_bytes.set(self.memory_bytes.get() - stream.recent_bytes());
        }
    }

    /// Forgets a stream that never went out as SSE (its POST was answered with JSON).
    pub fn discard(&self, stream: &OutStream) {
        let pos = self.order.borrow().iter().rposition(|id| *id == stream.id);
        if let Some(pos) = pos {
            self.forget_at(pos);
        }
    }

    /// Bytes of events kept in memory.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes.get()
    }

    /// Writes one message to `stream`: numbered, kept for replay, stored if the stream is, and sent to the
    /// reader if one is attached.
    pub fn push(&self, stream: &OutStream, json: String) {
        self.push_event(stream, json, None);
    }

    /// [`Outbox::push`]; `answers` names the request when the message is its response.
    fn push_event(&self, stream: &OutStream, json: String, answers: Option<RequestId>) {
        let seq = stream.next_seq();
        let encoded = encode(&stream.id, seq, &json);
        let json: Rc<str> = json.into();
        if stream.is_stored() {
            self.store_event(stream, seq, json.clone(), answers);
        }
        self.remember(stream, seq, json);
        stream.send(encoded);
    }

    /// Keeps an event in memory, within the limits.
    fn remember(&self, stream: &OutStream, seq: u64, json: Rc<str>) {
        let added = json.len();
        let freed = stream.remember(seq, json, self.limits.max_events_per_stream);
        // A stream dropped from memory (evicted) still gets numbered; its events are not counted.
        if self.streams.borrow().get(&stream.id).is_some_and(|s| std::ptr::eq(&**s, stream)) {
            self.memory_bytes.set(self.memory_bytes.get() + added - freed);
            self.trim_memory();
        } else {
            while stream.recent_bytes() > 0 {
                stream.drop_oldest();
            }
        }
    }

    /// Brings memory under its bound: oldest finished streams first, then the oldest events of running ones.
    fn trim_memory(&self) {
        while self.memory_bytes.get() > self.limits.max_memory_bytes {
            if let Some(pos) = self.oldest_finished() {
                self.forget_at(pos);
                continue;
            }
            let victim = {
                let streams = self.streams.borrow();
                let order = self.order.borrow();
                order.iter().filter_map(|id| streams.get(id)).find(|s| s.recent_bytes() > 0).cloned()
            };
            let Some(victim) = victim else { break };
            let freed = victim.drop_oldest();
            self.memory_bytes.set(self.memory_bytes.get() - freed);
        }
    }

    /// A body reading `stream` from now on (new POST streams), after its priming event and the events
    /// already written.
    pub fn stream_body(&self, stream: &OutStream) -> SseBody {
        let (tx, rx) = unbounded::<Vec<u8>>();
        stream.prime(&tx);
        stream.attach(&self.rt, tx, Some(0), self.keepalive);
        if stream.close_requested() {
            stream.detach();
        }
        rx
    }

    /// `GET` without `Last-Event-ID`: the standalone stream for messages not tied to a request, stored like
    /// the others. A new one replaces (and ends) the previous one rather than being refused: a client that
    /// lost its connection must be able to open another even when the disconnect has not reached us, and no
    /// message may go out on two streams.
    pub async fn open_standalone(&self, version: ProtocolVersion) -> Result<SseBody, HttpError> {
        self.check_room(true)?;
        self.end_standalone();
        let stream = self.open_stream(self.stream_ids.next(), polls(version));
        *self.standalone.borrow_mut() = Some(stream.clone());
        let body = self.stream_body(&stream);
        self.start_storing(&stream, StreamMeta::Standalone { ended: false }).await?;
        Ok(body)
    }

    /// Ends the standalone stream, if any; a stored one is marked ended, so it is not revived after a restart.
    fn end_standalone(&self) {
        let Some(previous) = self.standalone.borrow_mut().take() else { return };
        previous.finish();
        if previous.is_stored() {
            self.rewrite_meta(&previous.id, &StreamMeta::Standalone { ended: true });
        }
    }

    /// The stream of a 2024-11-05 session: `first_event` (the endpoint), then every message of the session.
    pub fn open_legacy(&self, first_event: String) -> SseBody {
        let stream = self.open_stream(self.stream_ids.next(), false);
        *self.standalone.borrow_mut() = Some(stream.clone());
        let (tx, rx) = unbounded::<Vec<u8>>();
        let _ = tx.unbounded_send(first_event.into_bytes());
        stream.attach(&self.rt, tx, None, self.keepalive);
        rx
    }

    /// The legacy session's stream, while its reader is connected.
    pub fn legacy_stream(&self) -> Option<Rc<OutStream>> {
        self.standalone.borrow().as_ref().filter(|s| s.is_attached()).cloned()
    }

    /// The standalone stream, if one is open.
    pub fn standalone(&self) -> Option<Rc<OutStream>> {
        self.standalone.borrow().clone()
    }

    /// `GET` with `Last-Event-ID`: the events after it, then (if the stream still runs) what comes next. A
    /// stream whose events are gone gets a fresh standalone stream instead (a 404 would tell the client its
    /// session is gone).
    pub async fn resume(&self, last_event_id: &str, version: ProtocolVersion) -> Result<SseBody, HttpError> {
        let (stream_id, after) = parse_last_event_id(last_event_id)?;
        let live = self.streams.borrow().get(stream_id).cloned();
        if let Some(stream) = live {
            return Ok(self.reattach(&stream, after).await);
        }
        let stored =
            log::read_stream(&*self.rt, stream_id).await.map_err(storage_error("reading stored events"))?;
        // It may have been revived while storage was read.
        let live = self.streams.borrow().get(stream_id).cloned();
        if let Some(stream) = live {
            return Ok(self.reattach(&stream, after).await);
        }
        match stored {
            None => self.open_standalone(version).await,
            Some(StoredStream { meta: StreamMeta::Standalone { ended: false }, events }) => {
                self.revive_standalone(stream_id, events, after, version).await
            }
            Some(stored) => Ok(closed_body(replay_stored(stream_id, stored, after))),
        }
    }

    /// Connects a reader to a stream this object runs (or still remembers), replaying what it missed: from
    /// storage what memory no longer holds, then from memory.
    async fn reattach(&self, stream: &Rc<OutStream>, after: u64) -> SseBody {
        let (tx, rx) = unbounded::<Vec<u8>>();
        let mut after = after;
        if stream.is_stored() && after + 1 < stream.first_in_memory() {
            if let Ok(Some(stored)) = log::read_stream(&*self.rt, &stream.id).await {
                let first = stream.first_in_memory();
                let from = after;
                for event in stored.events.iter().filter(|e| e.seq > from && e.seq < first) {
                    let _ = tx.unbounded_send(encode(&stream.id, event.seq, &event.json).into_bytes());
                    after = event.seq;
                }
            }
        }
        stream.attach(&self.rt, tx, Some(after), self.keepalive);
        rx
    }

    /// A standalone stream from before a restart: its stored events after `after`, then it is the session's
    /// standalone stream again.
    async fn revive_standalone(
        &self,
        id: &str,
        events: Vec<log::StoredEvent>,
        after: u64,
        version: ProtocolVersion,
    ) -> Result<SseBody, HttpError> {
        self.load_index().await?;
        let live = self.streams.borrow().get(id).cloned();
        if let Some(stream) = live {
            return Ok(self.reattach(&stream, after).await);
        }
        self.check_room(true)?;
        self.end_standalone();
        let stream = self.open_stream(id.to_string(), polls(version));
        stream.seq.set(events.last().map_or(0, |e| e.seq));
        stream.storing.set(Storing::Yes);
        let bytes: u64 = events.iter().map(|e| e.json.len() as u64).sum();
        {
            let mut index = self.index.borrow_mut();
            let index = index.get_or_insert_with(Index::default);
            if !index.contains(id) {
                index.add(id, bytes);
            }
        }
        let (tx, rx) = unbounded::<Vec<u8>>();
        let mut records = stream.stored.borrow_mut();
        for event in events {
            records.push_back(Record { seq: event.seq, parts: event.parts, bytes: event.json.len() as u64 });
            if event.seq > after {
                let _ = tx.unbounded_send(encode(id, event.seq, &event.json).into_bytes());
            }
        }
        drop(records);
        *self.standalone.borrow_mut() = Some(stream.clone());
        stream.attach(&self.rt, tx, None, self.keepalive);
        Ok(rx)
    }

    /// A server-to-client request on `stream`, answered by a later POST (see [`Outbox::deliver`]), or failed
    /// after `timeout_ms`.
    pub async fn request(
        &self,
        stream: &OutStream,
        method: &str,
        params: Value,
        timeout_ms: u64,
    ) -> Result<Value, PeerError> {
        let waiting = self.requests.register(&stream.id);
        let request =
            Message::Request(Request { id: waiting.id.clone(), method: method.into(), params: Some(params) });
        self.push(stream, request.to_json());
        waiting.answer(self.rt.sleep(Duration::from_millis(timeout_ms)), timeout_ms).await
    }

    /// Routes a client's response to the request waiting for it (one for no waiting request is dropped).
    pub fn deliver(&self, response: Response) {
        self.requests.deliver(response);
    }

    /// Server-to-client requests waiting for an answer.
    pub fn pending_requests(&self) -> usize {
        self.requests.len()
    }

    /// Ends every stream and fails every waiting request (the session ended).
    pub fn close_all(&self) {
        self.closed.set(true);
        for stream in self.streams.borrow_mut().drain().map(|(_, s)| s) {
            stream.finish();
        }
        self.order.borrow_mut().clear();
        self.memory_bytes.set(0);
        self.standalone.borrow_mut().take();
        self.requests.clear();
        // The session's storage is deleted with it.
        *self.index.borrow_mut() = Some(Index::default());
    }
}
