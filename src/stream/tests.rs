//! The stream machinery, natively: an in-memory store, a `LocalPool` for tasks and a manual clock.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_executor::LocalPool;
use serde_json::{json, Value};

use super::platform::Spawn;
use super::testing::{parse, read, Ev, ManualClock, MemoryStore, TestRuntime};
use super::{Limits, OutStream, Outbox, StreamMeta};
use crate::handler::{Peer, PeerError};
use crate::model::{ProtocolVersion, RequestId, Response};

const NEW: ProtocolVersion = ProtocolVersion::V2025_11_25;
const OLD: ProtocolVersion = ProtocolVersion::V2025_03_26;
const KEEPALIVE: Duration = Duration::from_secs(25);

struct World {
    pool: LocalPool,
    store: Rc<MemoryStore>,
    clock: Rc<ManualClock>,
}

impl World {
    fn new() -> Self {
        Self { pool: LocalPool::new(), store: Rc::default(), clock: Rc::default() }
    }

    /// A session object (again, after a restart: same store, nothing in memory).
    fn outbox(&self, limits: Limits) -> Rc<Outbox<TestRuntime>> {
        let rt = TestRuntime::new(self.store.clone(), self.clock.clone(), &self.pool);
        Rc::new(Outbox::with_limits(rt, KEEPALIVE, limits))
    }

    fn run<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        self.pool.run_until(f)
    }

    fn settle(&mut self) {
        self.pool.run_until_stalled();
    }
}

fn msg(n: u64) -> String {
    json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"n": n}}).to_string()
}

fn answer(id: &str, result: Value) -> Response {
    Response { id: Some(RequestId::String(id.into())), outcome: Ok(result) }
}

fn seqs(events: &[Ev], stream: &str) -> Vec<u64> {
    events
        .iter()
        .filter(|e| !e.data.is_empty())
        .map(|e| {
            let id = e.id.as_deref().expect("an id");
            let (s, n) = id.rsplit_once('-').expect("<stream>-<n>");
            assert_eq!(s, stream);
            n.parse().expect("a number")
        })
        .collect()
}

/// A POST's stream that went out as SSE, with `n` notifications.
fn sse_stream(w: &mut World, outbox: &Outbox<TestRuntime>, request: &str, n: u64) -> Rc<OutStream> {
    let stream = outbox.open(NEW);
    for i in 1..=n {
        outbox.push(&stream, msg(i));
    }
    let meta = StreamMeta::Requests(vec![RequestId::String(request.into())]);
    w.run(outbox.start_storing(&stream, meta)).expect("stored");
    stream
}

#[test]
fn events_are_numbered_and_primed_for_new_sessions_only() {
    let w = World::new();
    let outbox = w.outbox(Limits::default());
    let new = outbox.open(NEW);
    let mut body = outbox.stream_body(&new);
    outbox.push(&new, msg(1));
    outbox.push(&new, msg(2));
    let events = parse(&read(&mut body).0);
    assert_eq!(events[0], Ev { id: Some(format!("{}-0", new.id)), data: String::new() });
    assert_eq!(seqs(&events, &new.id), vec![1, 2]);

    let old = outbox.open(OLD);
    let mut body = outbox.stream_body(&old);
    outbox.push(&old, msg(1));
    outbox.finish(&old, &[answer("r", json!({}))]);
    let (text, ended) = read(&mut body);
    let events = parse(&text);
    assert!(ended);
    assert!(events.iter().all(|e| !e.data.is_empty()), "no empty-data event for 2025-03-26: {text:?}");
    assert_eq!(seqs(&events, &old.id), vec![1, 2], "still numbered, so it can be resumed");
}

#[test]
fn early_close_only_for_sessions_that_poll() {
    let w = World::new();
    let outbox = w.outbox(Limits::default());
    for (version, closes) in [(NEW, true), (OLD, false)] {
        let stream = outbox.open(version);
        let peer = outbox.peer(&stream, 1000);
        peer.close_stream();
        let mut body = outbox.stream_body(&stream);
        outbox.push(&stream, msg(1));
        let (text, ended) = read(&mut body);
        assert_eq!(ended, closes, "{version}");
        assert_eq!(text.contains("\"n\":1"), !closes, "{version}: {text:?}");
    }
}

#[test]
fn resume_from_memory_replays_only_after_the_id() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default());
    let stream = sse_stream(&mut w, &outbox, "r1", 3);
    let mut body = w.run(outbox.resume(&format!("{}-1", stream.id), NEW)).unwrap();
    assert_eq!(seqs(&parse(&read(&mut body).0), &stream.id), vec![2, 3]);
    // The resumed reader is live: later events reach it, then the end.
    outbox.push(&stream, msg(4));
    outbox.finish(&stream, &[answer("r1", json!({"ok": true}))]);
    let (text, ended) = read(&mut body);
    assert_eq!(seqs(&parse(&text), &stream.id), vec![4, 5]);
    assert!(ended);
}

#[test]
fn a_restarted_object_replays_from_storage_and_answers_what_it_cannot() {
    let mut w = World::new();
    let before = w.outbox(Limits::default());
    let done = sse_stream(&mut w, &before, "done", 2);
    before.finish(&done, &[answer("done", json!({"v": 1}))]);
    let cut = sse_stream(&mut w, &before, "cut", 1);
    w.settle();
    drop(before);

    let after = w.outbox(Limits::default());
    let mut body = w.run(after.resume(&format!("{}-1", done.id), NEW)).unwrap();
    let (text, ended) = read(&mut body);
    let events = parse(&text);
    assert!(ended);
    assert_eq!(seqs(&events, &done.id), vec![2, 3]);
    assert_eq!(serde_json::from_str::<Value>(&events[1].data).unwrap()["result"], json!({"v": 1}));

    let mut body = w.run(after.resume(&format!("{}-0", cut.id), NEW)).unwrap();
    let events = parse(&read(&mut body).0);
    assert_eq!(seqs(&events, &cut.id), vec![1, 2]);
    let error: Value = serde_json::from_str(&events[1].data).unwrap();
    assert_eq!(error["id"], "cut");
    assert!(error["error"]["message"].as_str().unwrap().contains("restarted"), "{error}");
}

#[test]
fn the_standalone_stream_is_stored_and_revived_after_a_restart() {
    let mut w = World::new();
    let before = w.outbox(Limits::default());
    let replaced = w.run(before.open_standalone(NEW)).unwrap();
    drop(replaced);
    let first = before.standalone().unwrap();
    let _body = w.run(before.open_standalone(NEW)).unwrap();
    let standalone = before.standalone().unwrap();
    assert!(first.is_finished());
    before.push(&standalone, msg(1));
    before.push(&standalone, msg(2));
    w.settle();
    drop(before);

    let after = w.outbox(Limits::default());
    let mut body = w.run(after.resume(&format!("{}-1", standalone.id), NEW)).unwrap();
    let (text, ended) = read(&mut body);
    assert!(!ended, "the resumed standalone stream stays open");
    assert_eq!(seqs(&parse(&text), &standalone.id), vec![2]);
    let revived = after.standalone().expect("the live standalone stream again");
    assert_eq!(revived.id, standalone.id);
    // A session notification now reaches it, numbered on.
    let post = after.open(NEW);
    after.peer(&post, 1000).notify_session("notifications/resources/updated", json!({"uri": "test://w"}));
    let events = parse(&read(&mut body).0);
    assert_eq!(seqs(&events, &standalone.id), vec![3]);
    assert!(events[0].data.contains("resources/updated"));
    assert!(!post.has_events());

    // The one it replaced ended: replayed, then closed, and not made the standalone stream.
    let mut old = w.run(after.resume(&format!("{}-0", first.id), NEW)).unwrap();
    assert!(read(&mut old).1);
    assert_eq!(after.standalone().unwrap().id, standalone.id);
}

#[test]
fn a_resume_whose_events_are_gone_gets_a_fresh_standalone_stream() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default());
    let mut body = w.run(outbox.resume("ffffffffffffffff-3", NEW)).unwrap();
    let (text, ended) = read(&mut body);
    assert!(!ended);
    let standalone = outbox.standalone().expect("a standalone stream");
    assert_ne!(standalone.id, "ffffffffffffffff");
    assert_eq!(parse(&text), vec![Ev { id: Some(format!("{}-0", standalone.id)), data: String::new() }]);
    // Old sessions get it without the priming event.
    let mut body = w.run(outbox.resume("ffffffffffffffff-3", OLD)).unwrap();
    assert_eq!(read(&mut body), (String::new(), false));
    assert_eq!(w.run(outbox.resume(&"a".repeat(10_000), NEW)).unwrap_err().status(), 400);
}

#[test]
fn memory_is_bounded_in_bytes_oldest_finished_streams_first() {
    let mut w = World::new();
    let limits = Limits { max_memory_bytes: 1000, ..Limits::default() };
    let outbox = w.outbox(limits);
    let live = sse_stream(&mut w, &outbox, "live", 0);
    let mut finished = Vec::new();
    for i in 0..10 {
        let s = sse_stream(&mut w, &outbox, &format!("f{i}"), 2);
        outbox.finish(&s, &[answer(&format!("f{i}"), json!({}))]);
        finished.push(s);
        assert!(outbox.memory_bytes() <= 1000, "{}", outbox.memory_bytes());
    }
    w.settle();
    // The oldest finished stream left memory but replays from storage.
    let mut body = w.run(outbox.resume(&format!("{}-0", finished[0].id), NEW)).unwrap();
    assert_eq!(seqs(&parse(&read(&mut body).0), &finished[0].id), vec![1, 2, 3]);
    // A running stream over the bound loses its oldest events from memory only: a resume finds them in storage.
    for i in 1..=40 {
        outbox.push(&live, msg(i));
    }
    assert!(outbox.memory_bytes() <= 1000);
    w.settle();
    let mut body = w.run(outbox.resume(&format!("{}-0", live.id), NEW)).unwrap();
    assert_eq!(seqs(&parse(&read(&mut body).0), &live.id), (1..=40).collect::<Vec<_>>());
}

#[test]
fn storage_is_bounded_in_bytes_and_count() {
    let mut w = World::new();
    let limits = Limits { max_stored_bytes: 2000, max_streams_stored: 5, ..Limits::default() };
    let outbox = w.outbox(limits.clone());
    let mut streams = Vec::new();
    for i in 0..8 {
        let s = sse_stream(&mut w, &outbox, &format!("r{i}"), 10);
        outbox.finish(&s, &[answer(&format!("r{i}"), json!({}))]);
        streams.push(s);
        w.settle();
        let stored: usize = w.store.keys("ev:").iter().map(|k| w.store.map.borrow()[k].len()).sum();
        assert!(stored <= 2000, "{stored} bytes stored");
        assert!(w.store.keys("st:").len() <= 5);
    }
    assert!(w.store.keys(&format!("ev:{}:", streams[0].id)).is_empty(), "the oldest stream went first");
    assert!(w.store.keys(&format!("st:{}", streams[0].id)).is_empty());
    assert!(!w.store.keys(&format!("ev:{}:", streams[7].id)).is_empty());
    // After a restart the budget is still known.
    let after = w.outbox(limits);
    let s = sse_stream(&mut w, &after, "x", 10);
    after.finish(&s, &[]);
    w.settle();
    let stored: usize = w.store.keys("ev:").iter().map(|k| w.store.map.borrow()[k].len()).sum();
    assert!(stored <= 2000, "{stored} bytes stored after a restart");
}

#[test]
fn a_stream_keeps_its_latest_events_within_the_count() {
    let mut w = World::new();
    let outbox = w.outbox(Limits { max_events_per_stream: 3, ..Limits::default() });
    let s = sse_stream(&mut w, &outbox, "r", 5);
    outbox.push(&s, msg(6));
    w.settle();
    assert_eq!(w.store.keys(&format!("ev:{}:", s.id)).len(), 3);
    let after = w.outbox(Limits::default());
    let mut body = w.run(after.resume(&format!("{}-0", s.id), NEW)).unwrap();
    assert_eq!(seqs(&parse(&read(&mut body).0), &s.id)[..3], [4, 5, 6]);
}

#[test]
fn large_events_are_stored_in_parts_and_replay_whole() {
    let mut w = World::new();
    // Default limits: 512 KiB parts; a 3 MB answer does not fit one storage value.
    let outbox = w.outbox(Limits::default());
    let s = sse_stream(&mut w, &outbox, "big", 0);
    let text: String = (0..300_000).map(|i| format!("{i:09}é")).collect();
    outbox.finish(&s, &[answer("big", json!({"text": text}))]);
    w.settle();
    let keys = w.store.keys(&format!("ev:{}:", s.id));
    assert!(keys.len() >= 6, "{keys:?}");
    let after = w.outbox(Limits::default());
    let mut body = w.run(after.resume(&format!("{}-0", s.id), NEW)).unwrap();
    let events = parse(&read(&mut body).0);
    assert_eq!(events.len(), 1);
    let replayed: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(replayed["result"]["text"], json!(text));
}

#[test]
fn an_answer_too_large_to_keep_replays_as_an_error_saying_so() {
    let mut w = World::new();
    let limits = Limits { max_stored_event_bytes: 100, ..Limits::default() };
    let outbox = w.outbox(limits);
    let s = sse_stream(&mut w, &outbox, "big", 0);
    outbox.push(&s, msg(1));
    outbox.finish(&s, &[answer("big", json!({"text": "x".repeat(200)}))]);
    w.settle();
    let after = w.outbox(Limits::default());
    let mut body = w.run(after.resume(&format!("{}-0", s.id), NEW)).unwrap();
    let events = parse(&read(&mut body).0);
    assert_eq!(events.len(), 2);
    let error: Value = serde_json::from_str(&events[1].data).unwrap();
    assert_eq!(error["id"], "big");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("too large to keep"), "{message}");

    // An answer whose write fails leaves an error too, never a false "restarted".
    let s = sse_stream(&mut w, &after, "lost", 0);
    w.store.fail_puts_over.set(Some(150));
    after.finish(&s, &[answer("lost", json!({"text": "y".repeat(200)}))]);
    w.settle();
    w.store.fail_puts_over.set(None);
    let again = w.outbox(Limits::default());
    let mut body = w.run(again.resume(&format!("{}-0", s.id), NEW)).unwrap();
    let events = parse(&read(&mut body).0);
    let error: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(error["id"], "lost");
    assert!(error["error"]["message"].as_str().unwrap().contains("could not be stored"), "{error}");
}

#[test]
fn client_requests_are_correlated_and_time_out() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default());
    let stream = outbox.open(NEW);
    let mut body = outbox.stream_body(&stream);
    let peer = outbox.peer(&stream, 5000);
    let result = Rc::new(std::cell::RefCell::new(None));
    let (r, p) = (result.clone(), peer.clone());
    outbox.runtime().spawn(Box::pin(async move {
        *r.borrow_mut() = Some(p.request("roots/list", json!({})).await);
    }));
    w.settle();
    let sent: Value = serde_json::from_str(&parse(&read(&mut body).0)[1].data).unwrap();
    assert_eq!(sent["method"], "roots/list");
    let id: RequestId = serde_json::from_value(sent["id"].clone()).unwrap();
    assert_eq!(outbox.pending_requests(), 1);
    outbox.deliver(Response { id: Some(id), outcome: Ok(json!({"roots": []})) });
    w.settle();
    assert_eq!(result.borrow_mut().take(), Some(Ok(json!({"roots": []}))));
    assert_eq!(outbox.pending_requests(), 0);

    let (r, p) = (result.clone(), peer.clone());
    outbox.runtime().spawn(Box::pin(async move {
        *r.borrow_mut() = Some(p.request("sampling/createMessage", json!({})).await);
    }));
    w.settle();
    w.clock.advance(Duration::from_millis(4999));
    w.settle();
    assert!(result.borrow().is_none());
    w.clock.advance(Duration::from_millis(1));
    w.settle();
    assert_eq!(result.borrow_mut().take(), Some(Err(PeerError::Timeout { seconds: 5 })));
    assert_eq!(outbox.pending_requests(), 0, "a timed-out request is forgotten");
}

#[test]
fn a_cancelled_request_forgets_its_waiting_client_request() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default());
    let stream = outbox.open(NEW);
    let peer = outbox.peer(&stream, 60_000);
    let reached_end = Rc::new(Cell::new(false));
    let end = reached_end.clone();
    let cancellation = crate::cancellation::Cancellation::new();
    let c = cancellation.clone();
    outbox.runtime().spawn(Box::pin(async move {
        let _ = c.run(peer.request("elicitation/create", json!({}))).await;
        end.set(true);
    }));
    w.settle();
    assert_eq!(outbox.pending_requests(), 1);
    cancellation.cancel();
    w.settle();
    assert!(reached_end.get(), "the work went on past the dropped request");
    assert_eq!(outbox.pending_requests(), 0, "the dropped request is forgotten");

    // Closing the session fails waiting requests.
    let stream = outbox.open(NEW);
    let peer = outbox.peer(&stream, 60_000);
    let result = Rc::new(std::cell::RefCell::new(None));
    let r = result.clone();
    outbox.runtime().spawn(Box::pin(async move {
        *r.borrow_mut() = Some(peer.request("roots/list", json!({})).await);
    }));
    w.settle();
    outbox.close_all();
    w.settle();
    assert!(matches!(result.borrow_mut().take(), Some(Err(PeerError::Closed(_)))));
    assert!(stream.is_finished());
}

#[test]
fn keepalives_follow_the_timer() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default());
    let mut body = w.run(outbox.open_standalone(OLD)).unwrap();
    w.settle();
    w.clock.advance(KEEPALIVE);
    w.settle();
    assert_eq!(read(&mut body), (": keepalive\n\n".to_string(), false));
}

#[test]
fn open_streams_are_bounded_and_a_new_get_replaces_the_standalone_one() {
    let mut w = World::new();
    let outbox = w.outbox(Limits { max_open_streams: 2, ..Limits::default() });
    let _get = w.run(outbox.open_standalone(NEW)).expect("the standalone stream");
    let running = outbox.open_for_requests(NEW).expect("a second stream");
    assert_eq!(outbox.open_streams(), 2);
    let Err(refused) = outbox.open_for_requests(NEW) else { panic!("a third stream") };
    assert_eq!(refused.status(), 429);
    assert!(refused.to_error_object().message.contains("MCP_MAX_STREAMS_PER_SESSION=2"), "{refused}");
    assert_eq!(refused.headers(), vec![("Retry-After", "1".to_string())]);
    // A GET replacing the standalone stream does not count twice; nor does a resume whose events are gone.
    let _again = w.run(outbox.open_standalone(NEW)).expect("a new GET replaces the old stream");
    let _fresh = w.run(outbox.resume("ffffffffffffffff-3", NEW)).expect("a fresh standalone stream");
    assert_eq!(outbox.open_streams(), 2);
    // A finished request frees its place.
    outbox.finish(&running, &[answer("r", json!({}))]);
    assert!(outbox.open_for_requests(NEW).is_ok());
}

#[test]
fn stored_bounds_from_settings_drop_the_oldest_finished_streams_never_a_running_answer() {
    let mut w = World::new();
    let outbox = w.outbox(Limits::default().with_stored(2, 1 << 20));
    let running = sse_stream(&mut w, &outbox, "running", 1);
    let mut done = Vec::new();
    for i in 0..3 {
        let s = sse_stream(&mut w, &outbox, &format!("d{i}"), 1);
        outbox.finish(&s, &[answer(&format!("d{i}"), json!({}))]);
        done.push(s);
    }
    outbox.finish(&running, &[answer("running", json!({"kept": true}))]);
    w.settle();
    // After a restart: the running stream's answer replays; the oldest finished ones are gone, and resuming
    // one of them opens a fresh standalone stream.
    let after = w.outbox(Limits::default().with_stored(2, 1 << 20));
    let mut body = w.run(after.resume(&format!("{}-0", running.id), NEW)).unwrap();
    let (text, _) = read(&mut body);
    assert!(text.contains(r#""kept":true"#), "{text}");
    let mut body = w.run(after.resume(&format!("{}-0", done[0].id), NEW)).unwrap();
    let events = parse(&read(&mut body).0);
    let fresh = after.standalone().expect("a fresh standalone stream");
    assert_eq!(events, vec![Ev { id: Some(format!("{}-0", fresh.id)), data: String::new() }]);
    let mut body = w.run(after.resume(&format!("{}-0", done[2].id), NEW)).unwrap();
    assert_eq!(seqs(&parse(&read(&mut body).0), &done[2].id), vec![1, 2]);
}

#[test]
fn an_answer_larger_than_the_stored_bytes_still_replays_and_older_streams_make_room() {
    let mut w = World::new();
    let limits = Limits::default().with_stored(100, 2048);
    let outbox = w.outbox(limits.clone());
    let old = sse_stream(&mut w, &outbox, "old", 1);
    outbox.finish(&old, &[answer("old", json!({}))]);
    let big = sse_stream(&mut w, &outbox, "big", 1);
    outbox.finish(&big, &[answer("big", json!({ "text": "x".repeat(5000) }))]);
    w.settle();
    assert!(w.store.keys(&format!("ev:{}:", old.id)).is_empty(), "the older stream made room");
    let after = w.outbox(limits);
    let mut body = w.run(after.resume(&format!("{}-0", big.id), NEW)).unwrap();
    let (text, _) = read(&mut body);
    assert!(text.contains(&"x".repeat(5000)), "the answer itself is kept: {}", text.len());
}
