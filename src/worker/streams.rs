//! A session's outgoing SSE streams and the server-to-client requests waiting for answers.
//!
//! Every stream (a POST's response stream, or the standalone GET stream) numbers its events
//! `<stream id>-<n>`. Events of streams that went out as SSE are also written to Durable Object storage
//! (bounded), so a client that lost the connection resumes with GET + `Last-Event-ID` and gets exactly the
//! events it missed, from memory while this object lives and from storage after a restart.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_channel::oneshot;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use serde_json::Value;
use worker::{Delay, ListOptions, Response, Storage};

use super::http;
use crate::error::HttpError;
use crate::handler::{LocalFuture, Peer, PeerError};
use crate::model::{code, ErrorObject, Message, Notification, Request, RequestId, Response as RpcResponse};
use crate::transport::sse;

/// Events of one stream kept for replay (in memory and in storage).
const MAX_EVENTS_PER_STREAM: u64 = 1000;
/// Finished streams kept in memory for quick replay.
const MAX_STREAMS_IN_MEMORY: usize = 32;
/// Streams whose events stay in storage; older ones are deleted.
const MAX_STREAMS_STORED: usize = 100;
/// The reconnection delay suggested to clients in the priming event.
pub const RETRY_MS: u64 = 2000;
const STREAM_LIST_KEY: &str = "streams";

fn event_key(stream: &str, seq: u64) -> String {
    format!("ev:{stream}:{seq:06}")
}

fn meta_key(stream: &str) -> String {
    format!("st:{stream}")
}

/// One outgoing stream.
pub struct OutStream {
    pub id: String,
    seq: Cell<u64>,
    /// The HTTP body a client is reading now, if any.
    sink: RefCell<Option<UnboundedSender<Vec<u8>>>>,
    /// Recent events `(n, message JSON)` for replay.
    recent: RefCell<VecDeque<(u64, Rc<str>)>>,
    finished: Cell<bool>,
    /// Whether events go to storage (once the stream went out as SSE).
    persisted: Cell<bool>,
    /// Fired by the first message, so a POST can switch from a JSON answer to a stream.
    first_message: RefCell<Option<oneshot::Sender<()>>>,
    /// The handler asked to end the HTTP response early (SSE polling).
    close_requested: Cell<bool>,
}

impl OutStream {
    fn new(id: String) -> Self {
        Self {
            id,
            seq: Cell::new(0),
            sink: RefCell::new(None),
            recent: RefCell::new(VecDeque::new()),
            finished: Cell::new(false),
            persisted: Cell::new(false),
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

    fn is_attached(&self) -> bool {
        self.sink.borrow().as_ref().is_some_and(|s| !s.is_closed())
    }

    /// Waits for the first message written to the stream.
    pub fn on_first_message(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.first_message.borrow_mut() = Some(tx);
        rx
    }

    /// Sends a fresh reader the priming event: an id to resume from and the reconnection delay.
    fn prime(&self, sink: &UnboundedSender<Vec<u8>>) {
        let _ = sink.unbounded_send(sse::priming(&self.id, RETRY_MS).into_bytes());
    }

    /// Connects a reader, first replaying the events after `after` (all of them for `None`); the reader gets
    /// a keepalive comment every `keepalive`.
    fn attach(&self, sink: UnboundedSender<Vec<u8>>, after: Option<u64>, keepalive: Duration) {
        if let Some(after) = after {
            for (seq, json) in self.recent.borrow().iter() {
                if *seq > after {
                    let encoded = sse::message(Some(&sse::event_id(&self.id, *seq)), json);
                    let _ = sink.unbounded_send(encoded.into_bytes());
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
        wasm_bindgen_futures::spawn_local(send_keepalives(sink, keepalive));
    }

    /// Ends the HTTP response now or, before there is one, right after its priming event; the stream goes
    /// on, and the client resumes it with GET + `Last-Event-ID`.
    fn request_close(&self) {
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

    fn finish(&self) {
        self.finished.set(true);
        self.detach();
    }
}

/// Sends `: keepalive` every `every` until the reader goes away or the stream ends.
async fn send_keepalives(sink: UnboundedSender<Vec<u8>>, every: Duration) {
    loop {
        Delay::from(every).await;
        if sink.is_closed() || sink.unbounded_send(sse::comment("keepalive").into_bytes()).is_err() {
            break;
        }
    }
}

/// All streams of a session, and the server-to-client requests awaiting answers.
pub struct Outbox {
    storage: Storage,
    keepalive: Duration,
    streams: RefCell<HashMap<String, Rc<OutStream>>>,
    /// Stream ids in creation order, for eviction.
    order: RefCell<VecDeque<String>>,
    standalone: RefCell<Option<Rc<OutStream>>>,
    pending: RefCell<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>,
    next_request: Cell<u64>,
    /// Ids of the streams whose events are stored, oldest first: the `streams` key, read once.
    stored: RefCell<Option<VecDeque<String>>>,
}

impl Outbox {
    pub fn new(storage: Storage, keepalive: Duration) -> Self {
        Self {
            storage,
            keepalive,
            streams: RefCell::new(HashMap::new()),
            order: RefCell::new(VecDeque::new()),
            standalone: RefCell::new(None),
            pending: RefCell::new(HashMap::new()),
            next_request: Cell::new(0),
            stored: RefCell::new(None),
        }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The peer of requests answered on `stream`.
    pub fn peer(self: &Rc<Self>, stream: &Rc<OutStream>, timeout_ms: u64) -> Rc<StreamPeer> {
        Rc::new(StreamPeer { outbox: self.clone(), stream: stream.clone(), timeout_ms })
    }

    /// A new stream for one POST.
    pub fn open(&self) -> Rc<OutStream> {
        let stream = Rc::new(OutStream::new(new_stream_id()));
        self.streams.borrow_mut().insert(stream.id.clone(), stream.clone());
        let mut order = self.order.borrow_mut();
        order.push_back(stream.id.clone());
        if order.len() > MAX_STREAMS_IN_MEMORY {
            let mut streams = self.streams.borrow_mut();
            // Evict the oldest finished stream; live ones stay.
            if let Some(pos) = order.iter().position(|id| streams.get(id).is_none_or(|s| s.is_finished())) {
                let id = order.remove(pos).unwrap_or_default();
                streams.remove(&id);
            }
        }
        stream
    }

    /// Forgets a stream that never went out as SSE (its POST was answered with JSON).
    pub fn discard(&self, stream: &OutStream) {
        self.streams.borrow_mut().remove(&stream.id);
        let mut order = self.order.borrow_mut();
        if let Some(pos) = order.iter().rposition(|id| *id == stream.id) {
            order.remove(pos);
        }
    }

    /// Writes one message to `stream`: numbered, kept for replay, stored if the stream is persisted, and
    /// sent to the reader if one is attached.
    pub fn push(self: &Rc<Self>, stream: &OutStream, json: String) {
        let seq = stream.seq.get() + 1;
        stream.seq.set(seq);
        let id = sse::event_id(&stream.id, seq);
        let encoded = sse::message(Some(&id), &json);
        let json: Rc<str> = json.into();
        {
            let mut recent = stream.recent.borrow_mut();
            recent.push_back((seq, json.clone()));
            if recent.len() as u64 > MAX_EVENTS_PER_STREAM {
                recent.pop_front();
            }
        }
        if stream.persisted.get() {
            self.store_event(&stream.id, seq, json);
        }
        let failed = match stream.sink.borrow().as_ref() {
            Some(sink) => sink.unbounded_send(encoded.into_bytes()).is_err(),
            None => false,
        };
        if failed {
            stream.sink.borrow_mut().take();
        }
        if let Some(first) = stream.first_message.borrow_mut().take() {
            let _ = first.send(());
        }
    }

    fn store_event(self: &Rc<Self>, stream: &str, seq: u64, json: Rc<str>) {
        let me = self.clone();
        let key = event_key(stream, seq);
        let stale = (seq > MAX_EVENTS_PER_STREAM).then(|| event_key(stream, seq - MAX_EVENTS_PER_STREAM));
        wasm_bindgen_futures::spawn_local(async move {
            let storage = &me.storage;
            if let Err(e) = storage.put(&key, &*json).await {
                worker::console_error!("storing event {key}: {e}");
            }
            if let Some(stale) = stale {
                let _ = storage.delete(&stale).await;
            }
        });
    }

    /// Starts storing `stream`'s events (it is going out as SSE), with the ids of the requests it answers.
    pub async fn persist(
        self: &Rc<Self>,
        stream: &OutStream,
        request_ids: &[RequestId],
    ) -> Result<(), HttpError> {
        if stream.persisted.replace(true) {
            return Ok(());
        }
        let storage = &self.storage;
        storage
            .put(&meta_key(&stream.id), request_ids)
            .await
            .map_err(|e| http::internal("storing the stream", e))?;
        if self.stored.borrow().is_none() {
            let list: Vec<String> = storage.get(STREAM_LIST_KEY).await.ok().flatten().unwrap_or_default();
            // Another request may have loaded it while this one waited; keep that copy.
            self.stored.borrow_mut().get_or_insert_with(|| list.into());
        }
        let (list, dropped) = {
            let mut stored = self.stored.borrow_mut();
            let stored = stored.get_or_insert_with(VecDeque::new);
            stored.push_back(stream.id.clone());
            let excess = stored.len().saturating_sub(MAX_STREAMS_STORED);
            let dropped: Vec<String> = stored.drain(..excess).collect();
            (stored.iter().cloned().collect::<Vec<String>>(), dropped)
        };
        for old in dropped {
            self.delete_stored_stream(&old).await;
        }
        storage
            .put(STREAM_LIST_KEY, &list)
            .await
            .map_err(|e| http::internal("storing the stream list", e))?;
        // Events written before the stream went out as SSE.
        let earlier: Vec<(u64, Rc<str>)> = stream.recent.borrow().iter().cloned().collect();
        for (seq, json) in earlier {
            self.store_event(&stream.id, seq, json);
        }
        Ok(())
    }

    async fn delete_stored_stream(&self, id: &str) {
        let prefix = format!("ev:{id}:");
        if let Ok(map) = self.storage.list_with_options(ListOptions::new().prefix(&prefix)).await {
            let keys: Vec<String> = map.keys().into_iter().filter_map(|k| k.ok()?.as_string()).collect();
            if !keys.is_empty() {
                let _ = self.storage.delete_multiple(keys).await;
            }
        }
        let _ = self.storage.delete(&meta_key(id)).await;
    }

    /// Writes the final answers of a POST and ends its stream.
    pub fn finish(self: &Rc<Self>, stream: &OutStream, responses: &[RpcResponse]) {
        for response in responses {
            self.push(stream, response.to_value().to_string());
        }
        stream.finish();
    }

    /// A streaming `text/event-stream` response reading `stream` from now on (new POST streams), with the
    /// events already written replayed first.
    pub fn stream_response(&self, stream: &OutStream) -> Result<Response, HttpError> {
        let (tx, rx) = unbounded::<Vec<u8>>();
        stream.prime(&tx);
        stream.attach(tx, Some(0), self.keepalive);
        if stream.close_requested.get() {
            stream.detach();
        }
        sse_body(rx)
    }

    /// `GET` without `Last-Event-ID`: the standalone stream for messages not tied to a request. A new one
    /// replaces (and ends) the previous one rather than being refused: a client that lost its connection
    /// must be able to open another even when the disconnect has not reached us, and no message may go out
    /// on two streams.
    pub fn open_standalone(&self) -> Result<Response, HttpError> {
        if let Some(previous) = self.standalone.borrow_mut().take() {
            previous.finish();
        }
        let stream = self.open();
        *self.standalone.borrow_mut() = Some(stream.clone());
        self.stream_response(&stream)
    }

    /// The stream of a 2024-11-05 session: `first_event` (the endpoint), then every message of the session.
    pub fn open_legacy(&self, first_event: String) -> Result<Response, HttpError> {
        let stream = self.open();
        *self.standalone.borrow_mut() = Some(stream.clone());
        let (tx, rx) = unbounded::<Vec<u8>>();
        let _ = tx.unbounded_send(first_event.into_bytes());
        stream.attach(tx, None, self.keepalive);
        sse_body(rx)
    }

    /// The legacy session's stream, while its reader is connected.
    pub fn legacy_stream(&self) -> Option<Rc<OutStream>> {
        self.standalone.borrow().as_ref().filter(|s| s.is_attached()).cloned()
    }

    /// `GET` with `Last-Event-ID`: the events after it, then (if the stream still runs) what comes next.
    pub async fn resume(&self, last_event_id: &str) -> Result<Response, HttpError> {
        let (stream_id, after) = sse::parse_event_id(last_event_id)
            .ok_or_else(|| HttpError::BadRequest(format!("malformed Last-Event-ID {last_event_id:?}")))?;
        let live = self.streams.borrow().get(stream_id).cloned();
        if let Some(stream) = live {
            let (tx, rx) = unbounded::<Vec<u8>>();
            stream.attach(tx, Some(after), self.keepalive);
            return sse_body(rx);
        }
        self.replay_stored(stream_id, after).await
    }

    /// Replays a stream this object no longer runs (it restarted since): its stored events after `after`,
    /// then an error for each request the stream never answered, since nothing will answer it now.
    async fn replay_stored(&self, stream_id: &str, after: u64) -> Result<Response, HttpError> {
        let requests: Option<Vec<RequestId>> = self
            .storage
            .get(&meta_key(stream_id))
            .await
            .map_err(|e| http::internal("reading the stream", e))?;
        let Some(requests) = requests else {
            return Err(HttpError::UnknownEvent(stream_id.to_string()));
        };
        let prefix = format!("ev:{stream_id}:");
        let map = self
            .storage
            .list_with_options(ListOptions::new().prefix(&prefix))
            .await
            .map_err(|e| http::internal("reading stored events", e))?;
        let mut body = String::new();
        let mut answered = Vec::new();
        let mut last = after;
        for entry in map.entries() {
            let Ok(entry) = entry else { continue };
            let pair = js_sys::Array::from(&entry);
            let (Some(key), Some(json)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
                continue;
            };
            let Some(seq) = key.rsplit(':').next().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            if let Ok(Message::Response(r)) =
                crate::model::jsonrpc::classify(serde_json::from_str(&json).unwrap_or_default())
            {
                answered.extend(r.id);
            }
            last = last.max(seq);
            if seq > after {
                body.push_str(&sse::message(Some(&sse::event_id(stream_id, seq)), &json));
            }
        }
        for id in requests.into_iter().filter(|id| !answered.contains(id)) {
            last += 1;
            let error = ErrorObject::new(
                code::INTERNAL_ERROR,
                "The server restarted before answering this request; send it again",
            );
            let json = RpcResponse::error(Some(id), error).to_value().to_string();
            body.push_str(&sse::message(Some(&sse::event_id(stream_id, last)), &json));
        }
        let response = http::respond(200, &[], body);
        http::sse_headers(response.headers());
        Ok(response)
    }

    /// A server-to-client request on `stream`, answered by a later POST (see [`Outbox::deliver`]).
    pub async fn request(
        self: &Rc<Self>,
        stream: &OutStream,
        method: &str,
        params: Value,
        timeout_ms: u64,
    ) -> Result<Value, PeerError> {
        let n = self.next_request.get() + 1;
        self.next_request.set(n);
        let id = RequestId::String(format!("srv-{}-{n}", stream.id));
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id.clone(), tx);
        // Forgets the entry however this future ends, answered, timed out or dropped (a cancelled call).
        let _forget = Forget { outbox: self.clone(), id: id.clone() };
        let request =
            Message::Request(Request { id: id.clone(), method: method.into(), params: Some(params) });
        self.push(stream, request.to_json());
        let timer = Delay::from(Duration::from_millis(timeout_ms));
        match select(rx, timer).await {
            Either::Left((Ok(outcome), _)) => outcome.map_err(PeerError::Rejected),
            Either::Left((Err(_), _)) => Err(PeerError::Closed("the session ended".into())),
            Either::Right(_) => Err(PeerError::Timeout { seconds: timeout_ms / 1000 }),
        }
    }

    /// Routes a client's response to the request waiting for it.
    pub fn deliver(&self, response: RpcResponse) {
        let waiting = response.id.as_ref().and_then(|id| self.pending.borrow_mut().remove(id));
        match waiting {
            Some(tx) => {
                let _ = tx.send(response.outcome);
            }
            None => worker::console_warn!("a response for no pending request: {:?}", response.id),
        }
    }

    /// Ends every stream and fails every waiting request (the session ended).
    pub fn close_all(&self) {
        for stream in self.streams.borrow_mut().drain().map(|(_, s)| s) {
            stream.finish();
        }
        self.order.borrow_mut().clear();
        self.standalone.borrow_mut().take();
        self.pending.borrow_mut().clear();
        // The session's storage is deleted with it.
        *self.stored.borrow_mut() = Some(VecDeque::new());
    }
}

/// Removes a server-to-client request from the waiting list when its future ends.
struct Forget {
    outbox: Rc<Outbox>,
    id: RequestId,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.outbox.pending.borrow_mut().remove(&self.id);
    }
}

fn sse_body(rx: UnboundedReceiver<Vec<u8>>) -> Result<Response, HttpError> {
    let response = Response::from_stream(rx.map(Ok::<Vec<u8>, worker::Error>))
        .map_err(|e| http::internal("opening the stream", e))?;
    http::sse_headers(response.headers());
    Ok(response)
}

fn new_stream_id() -> String {
    crate::session::id::random_hex()[..16].to_string()
}

/// The [`Peer`] of the requests of one POST: everything goes out on that POST's stream.
pub struct StreamPeer {
    pub outbox: Rc<Outbox>,
    pub stream: Rc<OutStream>,
    pub timeout_ms: u64,
}

impl Peer for StreamPeer {
    fn notify(&self, method: &str, params: Value) {
        let message = Message::Notification(Notification { method: method.into(), params: Some(params) });
        self.outbox.push(&self.stream, message.to_json());
    }

    fn request(&self, method: &str, params: Value) -> LocalFuture<'_, Result<Value, PeerError>> {
        let method = method.to_string();
        Box::pin(async move { self.outbox.request(&self.stream, &method, params, self.timeout_ms).await })
    }

    fn notify_session(&self, method: &str, params: Value) {
        let message = Message::Notification(Notification { method: method.into(), params: Some(params) });
        let standalone = self.outbox.standalone.borrow().clone();
        self.outbox.push(standalone.as_deref().unwrap_or(&self.stream), message.to_json());
    }

    fn close_stream(&self) {
        self.stream.request_close();
    }
}
