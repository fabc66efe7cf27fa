//! The stored side of the event log: how a stream's events are laid out in storage (one value per event,
//! split into parts written atomically when larger than a storage value may be), the index of stored streams
//! with their sizes, and reading a stream back.
//!
//! Keys: `ev:<stream>:<n>` (event `n`, or its first part), `ev:<stream>:<n>.<k>` (its part `k`),
//! `st:<stream>` ([`StreamMeta`]), `streams` (the [`Index`]).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::out_stream::encode;
use super::platform::{Store, StoreError};
use crate::model::{code, ErrorObject, Message, RequestId, Response};

pub const INDEX_KEY: &str = "streams";

pub fn events_prefix(stream: &str) -> String {
    format!("ev:{stream}:")
}

/// The key of part `part` of event `seq` (part 0 is the event's own key).
pub fn event_key(stream: &str, seq: u64, part: usize) -> String {
    match part {
        0 => format!("ev:{stream}:{seq:06}"),
        _ => format!("ev:{stream}:{seq:06}.{part}"),
    }
}

pub fn meta_key(stream: &str) -> String {
    format!("st:{stream}")
}

/// `(seq, part)` of an event key under `prefix`.
fn parse_event_key(key: &str, prefix: &str) -> Option<(u64, usize)> {
    let rest = key.strip_prefix(prefix)?;
    match rest.split_once('.') {
        Some((seq, part)) => Some((seq.parse().ok()?, part.parse().ok()?)),
        None => Some((rest.parse().ok()?, 0)),
    }
}

/// Splits `text` into pieces of at most `max` bytes (at least one character each), at character boundaries.
pub fn split_chunks(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::with_capacity(text.len() / max.max(1) + 1);
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i);
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

/// What a stored stream is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StreamMeta {
    /// A POST's stream, with the ids of the requests it answers.
    Requests(Vec<RequestId>),
    /// The standalone GET stream; `ended` once another replaced it or the session closed it.
    Standalone { ended: bool },
}

/// A stored event: its number, its JSON and how many parts it was written in.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub json: String,
    pub parts: usize,
}

/// A stream read back from storage.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStream {
    pub meta: StreamMeta,
    /// In order.
    pub events: Vec<StoredEvent>,
}

/// Reads stream `id` back; `None` when its events are not (or no longer) kept.
pub async fn read_stream(store: &dyn Store, id: &str) -> Result<Option<StoredStream>, StoreError> {
    let Some(meta) = store.get(&meta_key(id)).await? else { return Ok(None) };
    let Ok(meta) = serde_json::from_str::<StreamMeta>(&meta) else { return Ok(None) };
    let prefix = events_prefix(id);
    let mut parts: BTreeMap<u64, BTreeMap<usize, String>> = BTreeMap::new();
    for (key, value) in store.list(&prefix).await? {
        if let Some((seq, part)) = parse_event_key(&key, &prefix) {
            parts.entry(seq).or_default().insert(part, value);
        }
    }
    let events = parts
        .into_iter()
        // Parts are written together; an event missing its first part is not ours to show.
        .filter(|(_, p)| p.contains_key(&0))
        .map(|(seq, p)| StoredEvent { seq, parts: p.len(), json: p.into_values().collect() })
        .collect();
    Ok(Some(StoredStream { meta, events }))
}

/// Deletes stream `id`'s events and meta.
pub async fn delete_stream(store: &dyn Store, id: &str) -> Result<(), StoreError> {
    let mut keys: Vec<String> = store.list(&events_prefix(id)).await?.into_iter().map(|(k, _)| k).collect();
    keys.push(meta_key(id));
    store.delete(keys).await
}

/// The answer kept for a request whose response is too large to keep for replay.
pub fn too_large_answer(id: RequestId, bytes: usize) -> String {
    let error = ErrorObject::new(
        code::INTERNAL_ERROR,
        format!("The response ({bytes} bytes) was too large to keep for replay; send the request again"),
    );
    Response::error(Some(id), error).to_json()
}

/// The answer kept for a request whose response could not be written to storage.
pub fn unstored_answer(id: RequestId) -> String {
    let error = ErrorObject::new(
        code::INTERNAL_ERROR,
        "The response could not be stored for replay; send the request again",
    );
    Response::error(Some(id), error).to_json()
}

/// The stored streams, oldest first, with the bytes of their stored events: the `streams` key. Written when
/// streams come and go, with a stream's answer (so finished streams are counted exactly), and when the total
/// drifted from the stored one by more than a slack, so that after a restart the budget is still known within
/// that slack for the streams that were running.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Index {
    entries: VecDeque<(String, u64)>,
    total: u64,
    written_total: u64,
    changed: bool,
}

/// One entry as stored: `[id, bytes]`, or a bare id (written before sizes were kept).
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Sized(String, u64),
    Bare(String),
}

impl Index {
    pub fn parse(text: Option<&str>) -> Self {
        let entries: Vec<Entry> = text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
        let entries: VecDeque<(String, u64)> = entries
            .into_iter()
            .map(|e| match e {
                Entry::Sized(id, bytes) => (id, bytes),
                Entry::Bare(id) => (id, 0),
            })
            .collect();
        let total = entries.iter().map(|(_, b)| b).sum();
        Self { entries, total, written_total: total, changed: false }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.entries).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|(i, _)| i == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(i, _)| i.as_str())
    }

    pub fn add(&mut self, id: &str, bytes: u64) {
        if !self.contains(id) {
            self.entries.push_back((id.to_string(), bytes));
            self.total += bytes;
            self.changed = true;
        }
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(pos) = self.entries.iter().position(|(i, _)| i == id) {
            let (_, bytes) = self.entries.remove(pos).unwrap_or_default();
            self.total -= bytes;
            self.changed = true;
        }
    }

    /// Stream `id` gained (or lost) bytes.
    pub fn grow(&mut self, id: &str, added: u64, removed: u64) {
        if let Some((_, bytes)) = self.entries.iter_mut().find(|(i, _)| i == id) {
            let removed = removed.min(*bytes + added);
            *bytes = *bytes + added - removed;
            self.total = self.total + added - removed;
        }
    }

    /// Whether the stored copy should be rewritten: streams came or went, or sizes drifted by over `slack`.
    pub fn needs_write(&self, slack: u64) -> bool {
        self.changed || self.total.abs_diff(self.written_total) > slack
    }

    pub fn written(&mut self) {
        self.changed = false;
        self.written_total = self.total;
    }
}

/// The replay of a stream this object no longer runs: its stored events after `after`, then, for a POST's
/// stream, an error for each request it never answered, since nothing will answer it now.
pub fn replay_stored(id: &str, stored: StoredStream, after: u64) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut answered = Vec::new();
    let mut last = after;
    for event in &stored.events {
        if let Ok(Message::Response(r)) =
            crate::model::jsonrpc::classify(serde_json::from_str(&event.json).unwrap_or_default())
        {
            answered.extend(r.id);
        }
        last = last.max(event.seq);
        if event.seq > after {
            chunks.push(encode(id, event.seq, &event.json));
        }
    }
    if let StreamMeta::Requests(requests) = stored.meta {
        for id_ in requests.into_iter().filter(|r| !answered.contains(r)) {
            last += 1;
            let error = ErrorObject::new(
                code::INTERNAL_ERROR,
                "The server restarted before answering this request; send it again",
            );
            let json = Response::error(Some(id_), error).to_json();
            chunks.push(encode(id, last, &json));
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_character_boundaries() {
        assert_eq!(split_chunks("", 4), vec![""]);
        assert_eq!(split_chunks("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        let text = "aé€😀b".repeat(50);
        for max in 1..9 {
            let parts = split_chunks(&text, max);
            assert_eq!(parts.concat(), text);
            assert!(parts.iter().all(|p| !p.is_empty() && (p.len() <= max || p.chars().count() == 1)));
        }
    }

    #[test]
    fn keys_sort_and_parse() {
        let prefix = events_prefix("s");
        assert_eq!(event_key("s", 7, 0), "ev:s:000007");
        assert_eq!(event_key("s", 7, 2), "ev:s:000007.2");
        assert_eq!(parse_event_key("ev:s:000007", &prefix), Some((7, 0)));
        assert_eq!(parse_event_key("ev:s:000007.12", &prefix), Some((7, 12)));
        assert_eq!(parse_event_key("ev:s:1234567", &prefix), Some((1_234_567, 0)));
        assert_eq!(parse_event_key("ev:t:000007", &prefix), None);
    }

    #[test]
    fn meta_reads_the_old_format_too() {
        let old: StreamMeta = serde_json::from_str(r#"["r1",2]"#).unwrap();
        assert_eq!(old, StreamMeta::Requests(vec![RequestId::String("r1".into()), RequestId::Number(2)]));
        let standalone = serde_json::to_string(&StreamMeta::Standalone { ended: false }).unwrap();
        assert_eq!(
            serde_json::from_str::<StreamMeta>(&standalone).unwrap(),
            StreamMeta::Standalone { ended: false }
        );
    }

    #[test]
    fn index_tracks_bytes_and_when_to_write() {
        let mut index = Index::parse(Some(r#"["old",["a",10]]"#));
        assert_eq!((index.len(), index.total()), (2, 10));
        assert!(!index.needs_write(5));
        index.grow("a", 4, 0);
        assert!(!index.needs_write(5));
        index.grow("a", 4, 0);
        assert!(index.needs_write(5));
        index.written();
        index.add("b", 1);
        assert!(index.needs_write(5));
        index.remove("a");
        assert_eq!(index.total(), 1);
        assert_eq!(index.to_json(), r#"[["old",0],["b",1]]"#);
        assert_eq!(Index::parse(Some("not json")), Index::default());
    }
}
