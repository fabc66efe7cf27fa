//! `subscriptions/listen` (stateless revision): which changes a listen stream hears about, its frames, and
//! [`Listeners`], the open streams a change fans out to. A change is made by a request on another connection,
//! possibly in another isolate, so the shell keeps one `Listeners` in a single Durable Object (the listen hub)
//! that both the listen requests and the announcements reach.

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sse;
use crate::handler::ListsChange;
use crate::model::stateless::{meta, ListKind, SubscriptionFilter};

/// The header of the Worker's request opening a listen stream at the hub: a [`ListenCall`] as JSON.
pub const LISTEN_HEADER: &str = "x-mcp-listen";
/// The header of the Worker's request announcing a change to the hub: a [`ListKind`] name.
pub const ANNOUNCE_HEADER: &str = "x-mcp-announce";
/// The first frame of every listen stream.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// The part of `requested` this server will deliver: only lists it declares as changing (so a client is never
/// promised a notification that cannot come). Resource notifications are not delivered yet.
pub fn honoured(requested: &SubscriptionFilter, changes: ListsChange) -> SubscriptionFilter {
    SubscriptionFilter {
        tools_list_changed: requested.tools_list_changed && changes.tools,
        prompts_list_changed: requested.prompts_list_changed && changes.prompts,
        ..SubscriptionFilter::default()
    }
}

/// Whether a stream with `filter` hears about changes of `kind`.
pub fn wants(filter: &SubscriptionFilter, kind: ListKind) -> bool {
    match kind {
        ListKind::Tools => filter.tools_list_changed,
        ListKind::Prompts => filter.prompts_list_changed,
    }
}

/// `params._meta` of every frame: the listen request's id, which clients match the acknowledgement by.
fn tagged(subscription_id: &Value) -> Value {
    json!({ meta::SUBSCRIPTION_ID: subscription_id })
}

/// The first frame: what the stream will carry (the honoured subset of what was asked).
pub fn acknowledgement(subscription_id: &Value, honoured: &SubscriptionFilter) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": ACKNOWLEDGED,
        "params": { "_meta": tagged(subscription_id), "notifications": honoured },
    })
}

/// The frame telling subscription `subscription_id` that list `kind` changed.
pub fn change_notification(kind: ListKind, subscription_id: &Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": kind.list_changed_method(),
        "params": { "_meta": tagged(subscription_id) },
    })
}

/// `message` as one SSE event, without an `id:`: a listen stream cannot be resumed, and an id would make
/// clients try (GET with `Last-Event-ID`) when it ends.
pub fn frame(message: &Value) -> Vec<u8> {
    sse::message(None, &message.to_string()).into_bytes()
}

/// What the Worker asks the hub for: a stream for the listen request `id`, carrying what `filter` (already
/// honoured) names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenCall {
    pub id: Value,
    pub filter: SubscriptionFilter,
}

impl ListenCall {
    /// The call as a header value: JSON with every non-ASCII character escaped, because a header value that
    /// is not Latin-1 cannot be set (the id is the client's).
    pub fn to_header(&self) -> String {
        ascii_json(&serde_json::to_string(self).unwrap_or_default())
    }

    /// The call in a request's header; `None` for anything the Worker did not build.
    pub fn from_header(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

/// `json` with each non-ASCII character as `\uXXXX` (surrogate pairs above the BMP). Such characters occur
/// only inside strings, where the escape means the same.
fn ascii_json(json: &str) -> String {
    if json.is_ascii() {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// One open listen stream.
struct Listener {
    id: Value,
    filter: SubscriptionFilter,
    sink: UnboundedSender<Vec<u8>>,
}

/// The open listen streams. A stream whose reader went away (the client disconnected) is dropped at the next
/// write, or at the next [`Listeners::add`] once it is seen closed.
#[derive(Default)]
pub struct Listeners {
    open: Vec<Listener>,
}

/// The most listen streams the hub holds at once: one object holds them all, so its memory bounds them.
pub const MAX_LISTENERS: usize = 1000;
/// The longest listen request id (JSON) carried to the hub, in bytes.
pub const MAX_LISTEN_ID_BYTES: usize = 256;

impl Listeners {
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a stream for listen request `id` hearing what `filter` names: its body, whose first frame (already
    /// written) is the acknowledgement.
    /// A new listener's stream, its acknowledgement queued; `None` when [`MAX_LISTENERS`] are open.
    pub fn add(&mut self, id: Value, filter: SubscriptionFilter) -> Option<UnboundedReceiver<Vec<u8>>> {
        self.open.retain(|l| !l.sink.is_closed());
        if self.open.len() >= MAX_LISTENERS {
            return None;
        }
        let (sink, body) = unbounded();
        // Cannot fail: `body` is alive.
        let _ = sink.unbounded_send(frame(&acknowledgement(&id, &filter)));
        self.open.push(Listener { id, filter, sink });
        Some(body)
    }

    /// Tells every stream that wants it that list `kind` changed; returns how many were told.
    pub fn announce(&mut self, kind: ListKind) -> usize {
        let mut told = 0;
        self.open.retain(|l| {
            if !wants(&l.filter, kind) {
                return !l.sink.is_closed();
            }
            let sent = l.sink.unbounded_send(frame(&change_notification(kind, &l.id))).is_ok();
            told += usize::from(sent);
            sent
        });
        told
    }

    /// Writes a comment to every stream, so that idle streams stay open through proxies and closed ones are
    /// found; returns how many remain.
    pub fn keepalive(&mut self) -> usize {
        let comment = sse::comment("keepalive").into_bytes();
        self.open.retain(|l| l.sink.unbounded_send(comment.clone()).is_ok());
        self.open.len()
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(tools: bool, prompts: bool) -> SubscriptionFilter {
        SubscriptionFilter { tools_list_changed: tools, prompts_list_changed: prompts, ..Default::default() }
    }

    /// The frames waiting in `body`, as text.
    fn pending(body: &mut UnboundedReceiver<Vec<u8>>) -> Vec<String> {
        let mut frames = Vec::new();
        while let Ok(bytes) = body.try_recv() {
            frames.push(String::from_utf8(bytes).unwrap());
        }
        frames
    }

    /// The JSON of an SSE message frame, checking its shape on the way.
    fn message_of(frame: &str) -> Value {
        let data = frame.strip_prefix("event: message\ndata: ").and_then(|f| f.strip_suffix("\n\n"));
        let data = data.unwrap_or_else(|| panic!("not a message frame: {frame:?}"));
        assert!(!data.contains('\n'), "one line of JSON: {frame:?}");
        serde_json::from_str(data).unwrap()
    }

    #[test]
    fn the_hub_holds_at_most_max_listeners() {
        let mut listeners = Listeners::new();
        let held: Vec<_> =
            (0..MAX_LISTENERS).map(|i| listeners.add(json!(i), filter(true, false)).unwrap()).collect();
        assert!(listeners.add(json!("one more"), filter(true, false)).is_none());
        drop(held);
        assert!(listeners.add(json!("after they left"), filter(true, false)).is_some());
    }

    #[test]
    fn only_lists_the_server_declares_as_changing_are_honoured() {
        let everything = SubscriptionFilter {
            tools_list_changed: true,
            prompts_list_changed: true,
            resources_list_changed: true,
            resource_subscriptions: vec!["docs://a".into()],
        };
        let both = ListsChange { tools: true, prompts: true };
        assert_eq!(honoured(&everything, both), filter(true, true));
        assert_eq!(honoured(&everything, ListsChange { tools: true, prompts: false }), filter(true, false));
        assert_eq!(honoured(&everything, ListsChange::default()), SubscriptionFilter::default());
        assert_eq!(honoured(&filter(false, true), both), filter(false, true));
    }

    #[test]
    fn a_filter_wants_exactly_the_kinds_it_names() {
        assert!(wants(&filter(true, false), ListKind::Tools));
        assert!(!wants(&filter(true, false), ListKind::Prompts));
        assert!(wants(&filter(false, true), ListKind::Prompts));
        assert!(!wants(&SubscriptionFilter::default(), ListKind::Tools));
    }

    #[test]
    fn the_acknowledgement_names_the_subscription_and_the_honoured_subset() {
        let ack = acknowledgement(&json!("listen:0"), &filter(true, false));
        assert_eq!(
            ack,
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {
                    "_meta": {"io.modelcontextprotocol/subscriptionId": "listen:0"},
                    "notifications": {"toolsListChanged": true}
                }
            })
        );
        // Nothing honoured: an empty filter, not a missing one.
        let none = acknowledgement(&json!(7), &SubscriptionFilter::default());
        assert_eq!(none["params"]["notifications"], json!({}));
        assert_eq!(none["params"]["_meta"][meta::SUBSCRIPTION_ID], json!(7));
    }

    #[test]
    fn change_notifications_are_tagged_with_the_subscription_id_verbatim() {
        assert_eq!(
            change_notification(ListKind::Tools, &json!("listen:3")),
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
                "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": "listen:3"}}
            })
        );
        let prompts = change_notification(ListKind::Prompts, &json!(12));
        assert_eq!(prompts["method"], "notifications/prompts/list_changed");
        assert_eq!(prompts["params"]["_meta"][meta::SUBSCRIPTION_ID], json!(12));
    }

    #[test]
    fn frames_are_one_line_message_events_without_ids() {
        let frame = String::from_utf8(frame(&json!({"a": "x\ny", "b": [1, 2]}))).unwrap();
        assert_eq!(frame, "event: message\ndata: {\"a\":\"x\\ny\",\"b\":[1,2]}\n\n");
    }

    #[test]
    fn a_new_stream_starts_with_its_acknowledgement() {
        let mut listeners = Listeners::new();
        let mut body = listeners.add(json!("listen:0"), filter(true, false)).expect("room for a listener");
        let frames = pending(&mut body);
        assert_eq!(frames.len(), 1);
        assert_eq!(message_of(&frames[0]), acknowledgement(&json!("listen:0"), &filter(true, false)));
        assert_eq!(listeners.len(), 1);
    }

    #[test]
    fn an_announcement_reaches_only_the_streams_that_want_it() {
        let mut listeners = Listeners::new();
        let mut tools = listeners.add(json!("t"), filter(true, false)).expect("room for a listener");
        let mut prompts = listeners.add(json!("p"), filter(false, true)).expect("room for a listener");
        let mut both = listeners.add(json!(5), filter(true, true)).expect("room for a listener");
        for body in [&mut tools, &mut prompts, &mut both] {
            pending(body);
        }
        assert_eq!(listeners.announce(ListKind::Tools), 2);
        let told: Vec<Value> = pending(&mut tools).iter().map(|f| message_of(f)).collect();
        assert_eq!(told, vec![change_notification(ListKind::Tools, &json!("t"))]);
        assert!(pending(&mut prompts).is_empty());
        let told: Vec<Value> = pending(&mut both).iter().map(|f| message_of(f)).collect();
        assert_eq!(told, vec![change_notification(ListKind::Tools, &json!(5))]);

        assert_eq!(listeners.announce(ListKind::Prompts), 2);
        assert!(pending(&mut tools).is_empty());
        assert_eq!(
            message_of(&pending(&mut prompts)[0]),
            change_notification(ListKind::Prompts, &json!("p"))
        );
        assert_eq!(listeners.len(), 3);
    }

    #[test]
    fn streams_whose_reader_went_away_are_dropped() {
        let mut listeners = Listeners::new();
        let gone = listeners.add(json!(1), filter(true, false)).expect("room for a listener");
        let mut kept = listeners.add(json!(2), filter(true, false)).expect("room for a listener");
        drop(gone);
        assert_eq!(listeners.announce(ListKind::Tools), 1);
        assert_eq!(listeners.len(), 1);
        assert_eq!(pending(&mut kept).len(), 2);

        // A closed stream that does not want the announcement goes too, and so does one found at the next add.
        let quiet = listeners.add(json!(3), filter(false, true)).expect("room for a listener");
        drop(quiet);
        assert_eq!(listeners.announce(ListKind::Tools), 1);
        assert_eq!(listeners.len(), 1);
        let unseen = listeners.add(json!(4), filter(false, true)).expect("room for a listener");
        drop(unseen);
        let _fresh = listeners.add(json!(5), filter(true, false)).expect("room for a listener");
        assert_eq!(listeners.len(), 2);
    }

    #[test]
    fn keepalives_reach_every_stream_and_find_the_closed_ones() {
        let mut listeners = Listeners::new();
        let mut open = listeners.add(json!(1), filter(false, false)).expect("room for a listener");
        let closed = listeners.add(json!(2), filter(true, true)).expect("room for a listener");
        drop(closed);
        assert_eq!(listeners.keepalive(), 1);
        assert_eq!(pending(&mut open).last().map(String::as_str), Some(": keepalive\n\n"));
        drop(open);
        assert_eq!(listeners.keepalive(), 0);
        assert!(listeners.is_empty());
    }

    #[test]
    fn listen_calls_round_trip_through_an_ascii_header() {
        let call = ListenCall { id: json!("listen:é😀\n"), filter: filter(true, true) };
        let header = call.to_header();
        assert!(header.is_ascii() && !header.contains('\n'), "{header}");
        assert_eq!(ListenCall::from_header(&header), Some(call));
        let numeric = ListenCall { id: json!(42), filter: SubscriptionFilter::default() };
        assert_eq!(numeric.to_header(), r#"{"id":42,"filter":{}}"#);
        assert_eq!(ListenCall::from_header(&numeric.to_header()), Some(numeric));
        assert_eq!(ListenCall::from_header("{\"filter\":{}}"), None);
        assert_eq!(ListenCall::from_header("garbage"), None);
    }
}
