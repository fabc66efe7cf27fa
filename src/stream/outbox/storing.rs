//! Storing a session's streams: the index of stored streams (read once), a stream's meta and events written
//! as they happen, in the background, room made within the byte and stream bounds (oldest finished streams
//! first), and finished streams marked so a resume knows what they answered.

use std::rc::Rc;

use super::{storage_error, Outbox};
use crate::error::HttpError;
use crate::model::{RequestId, Response};
use crate::stream::log::{self, event_key, meta_key, split_chunks, Index, StreamMeta, INDEX_KEY};
use crate::stream::out_stream::{OutStream, Record, Storing};
use crate::stream::platform::Runtime;

impl<R: Runtime> Outbox<R> {
    /// Reads the stored index once.
    pub(super) async fn load_index(&self) -> Result<(), HttpError> {
        if self.index.borrow().is_none() {
            let text = self.rt.get(INDEX_KEY).await.map_err(storage_error("reading the stream list"))?;
            // Another request may have loaded it while this one waited; keep that copy.
            self.index.borrow_mut().get_or_insert_with(|| Index::parse(text.as_deref()));
        }
        Ok(())
    }

    /// Starts storing `stream`'s events (it is going out as SSE): its meta, then the events it already has.
    pub async fn start_storing(&self, stream: &OutStream, meta: StreamMeta) -> Result<(), HttpError> {
        if stream.storing.get() != Storing::No || self.closed.get() {
            return Ok(());
        }
        if let StreamMeta::Requests(ids) = &meta {
            *stream.answers.borrow_mut() = ids.clone();
        }
        stream.storing.set(Storing::Starting);
        let result = self.write_meta(stream, meta).await;
        if result.is_err() {
            stream.storing.set(Storing::No);
            return result;
        }
        stream.storing.set(Storing::Yes);
        // Events written before (and while) the meta was stored.
        for (seq, json) in stream.recent_snapshot() {
            self.store_event(stream, seq, json, None);
        }
        Ok(())
    }

    pub(super) async fn write_meta(&self, stream: &OutStream, meta: StreamMeta) -> Result<(), HttpError> {
        self.load_index().await?;
        let (entries, evicted) = {
            let mut index = self.index.borrow_mut();
            let index = index.get_or_insert_with(Index::default);
            index.add(&stream.id, 0);
            let (evicted, trimmed) = self.make_room(index, &stream.id);
            let meta = serde_json::to_string(&meta).unwrap_or_default();
            index.written();
            (vec![(meta_key(&stream.id), meta), (INDEX_KEY.to_string(), index.to_json())], (evicted, trimmed))
        };
        self.delete_stored(evicted.0, evicted.1).await;
        self.rt.put_all(entries).await.map_err(storage_error("storing the stream"))
    }

    /// Stores event `seq` of `stream`, in parts when large; a response too large to keep is stored as an error
    /// saying so.
    pub(super) fn store_event(
        &self,
        stream: &OutStream,
        seq: u64,
        json: Rc<str>,
        answers: Option<RequestId>,
    ) {
        if self.closed.get() {
            return;
        }
        let size = json.len();
        let json: Rc<str> = if size > self.limits.max_stored_event_bytes {
            match &answers {
                Some(id) => log::too_large_answer(id.clone(), size).into(),
                None => return,
            }
        } else {
            json
        };
        let parts = split_chunks(&json, self.limits.chunk_bytes);
        let mut entries: Vec<(String, String)> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| (event_key(&stream.id, seq, i), part.to_string()))
            .collect();
        let record = Record { seq, parts: parts.len(), bytes: json.len() as u64 };
        let (evicted, mut trimmed) = {
            let mut index = self.index.borrow_mut();
            let index = index.get_or_insert_with(Index::default);
            if !index.contains(&stream.id) {
                index.add(&stream.id, 0);
            }
            index.grow(&stream.id, record.bytes, 0);
            let mut own = stream.stored.borrow_mut();
            own.push_back(record);
            let mut trimmed = Vec::new();
            while own.len() > self.limits.max_events_per_stream {
                let old = own.pop_front().expect("more records than the bound");
                trimmed.extend(old.keys(&stream.id));
                index.grow(&stream.id, 0, old.bytes);
            }
            drop(own);
            let (evicted, more) = self.make_room(index, &stream.id);
            trimmed.extend(more);
            // An answer usually ends its stream: the index goes with it, exact for finished streams at no
            // extra write.
            let slack = if answers.is_some() { 0 } else { self.limits.index_slack_bytes };
            if index.needs_write(slack) {
                entries.push((INDEX_KEY.to_string(), index.to_json()));
                index.written();
            }
            (evicted, trimmed)
        };
        // Should the write fail, a response still leaves an answer for a replay.
        let fallback = answers.map(|id| (event_key(&stream.id, seq, 0), log::unstored_answer(id)));
        // A trimmed event could be this one (a stream alone over the budget): never delete what we write.
        let written: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
        trimmed.retain(|k| !written.contains(k));
        let rt = self.rt.clone();
        self.rt.spawn(Box::pin(async move {
            if rt.put_all(entries).await.is_err() {
                if let Some((key, answer)) = fallback {
                    let _ = rt.put_all(vec![(key, answer)]).await;
                }
            }
            delete_all(&*rt, evicted, trimmed).await;
        }));
    }

    /// Brings storage under its bounds for `current`'s sake: whole streams not running here go first (oldest
    /// first), then the oldest events of running streams. Returns the streams to delete and the event keys to
    /// delete.
    pub(super) fn make_room(&self, index: &mut Index, current: &str) -> (Vec<String>, Vec<String>) {
        let limits = &self.limits;
        let mut evicted = Vec::new();
        let mut trimmed = Vec::new();
        let over = |index: &Index| {
            index.total() > limits.max_stored_bytes || index.len() > limits.max_streams_stored
        };
        while over(index) {
            let streams = self.streams.borrow();
            let running = |id: &str| {
                streams.get(id).is_some_and(|s| !s.is_finished() && s.storing.get() != Storing::No)
            };
            let idle = index.ids().find(|id| *id != current && !running(id)).map(str::to_string);
            if let Some(id) = idle {
                index.remove(&id);
                evicted.push(id);
                continue;
            }
            if index.total() <= limits.max_stored_bytes {
                break;
            }
            // Only running streams are left: drop their oldest events, keeping each one's newest.
            let victim =
                index.ids().filter_map(|id| streams.get(id)).find(|s| s.stored.borrow().len() > 1).cloned();
            drop(streams);
            let Some(victim) = victim else { break };
            let old = victim.stored.borrow_mut().pop_front().expect("a record");
            trimmed.extend(old.keys(&victim.id));
            index.grow(&victim.id, 0, old.bytes);
        }
        (evicted, trimmed)
    }

    pub(super) async fn delete_stored(&self, streams: Vec<String>, keys: Vec<String>) {
        delete_all(&*self.rt, streams, keys).await;
    }

    /// Writes the final answers of a POST and ends its stream.
    pub fn finish(&self, stream: &OutStream, responses: &[Response]) {
        for response in responses {
            self.push_event(stream, response.to_json(), response.id.clone());
        }
        stream.finish();
        if stream.is_stored() {
            self.forget_cancelled(stream, responses);
            if responses.is_empty() {
                self.write_index_if_changed();
            }
        }
    }

    /// A stored POST stream that finished without answering some of its requests (they were cancelled)
    /// records only those it answered, so a replay after a restart does not invent an error for the others.
    pub(super) fn forget_cancelled(&self, stream: &OutStream, responses: &[Response]) {
        let answered: Vec<RequestId> = responses.iter().filter_map(|r| r.id.clone()).collect();
        let expected = stream.answers.borrow().clone();
        if expected.iter().all(|id| answered.contains(id)) {
            return;
        }
        self.rewrite_meta(&stream.id, &StreamMeta::Requests(answered));
    }

    /// Rewrites the stored meta of stream `id`, in the background.
    pub(super) fn rewrite_meta(&self, id: &str, meta: &StreamMeta) {
        self.put_later(vec![(meta_key(id), serde_json::to_string(meta).unwrap_or_default())]);
    }

    /// Writes `entries` in the background, unless the session ended (its storage is gone). A failure only
    /// costs the accuracy of a later replay, so it is not waited for.
    pub(super) fn put_later(&self, entries: Vec<(String, String)>) {
        if self.closed.get() {
            return;
        }
        let rt = self.rt.clone();
        self.rt.spawn(Box::pin(async move {
            let _ = rt.put_all(entries).await;
        }));
    }

    /// Rewrites the stored index if sizes changed since it was written.
    pub(super) fn write_index_if_changed(&self) {
        let json = {
            let mut index = self.index.borrow_mut();
            match index.as_mut() {
                Some(index) if index.needs_write(0) => {
                    index.written();
                    index.to_json()
                }
                _ => return,
            }
        };
        self.put_later(vec![(INDEX_KEY.to_string(), json)]);
    }
}

/// Deletes whole stored streams and single event keys.
async fn delete_all(store: &dyn crate::stream::platform::Store, streams: Vec<String>, keys: Vec<String>) {
    for id in streams {
        let _ = log::delete_stream(store, &id).await;
    }
    if !keys.is_empty() {
        let _ = store.delete(keys).await;
    }
}
