//! The stream machinery of [`crate::stream`] on the Durable Object: its storage, spawn and timer traits over
//! `worker::Storage`, `wasm_bindgen_futures::spawn_local` and [`super::timer`], and SSE bodies as streaming
//! responses.

use std::time::Duration;

use futures_util::StreamExt;
use wasm_bindgen::JsValue;
use worker::{ListOptions, Response, Storage};

use super::http;
use crate::error::HttpError;
use crate::handler::LocalFuture;
use crate::stream::{self, Spawn, SseBody, Store, StoreError, Timer};

/// A session object's platform for its [`Outbox`].
pub struct ObjectRuntime {
    storage: Storage,
}

impl ObjectRuntime {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }
}

/// A session's streams, on the Durable Object.
pub type Outbox = stream::Outbox<ObjectRuntime>;
pub use crate::stream::OutStream;

impl Outbox {
    /// The object's storage (the session state is stored next to the streams).
    pub fn storage(&self) -> &Storage {
        &self.runtime().storage
    }

    /// A streaming response reading a POST's `stream` from now on (see [`stream::Outbox::stream_body`]).
    pub fn stream_response(&self, stream: &OutStream) -> Result<Response, HttpError> {
        sse_response(self.stream_body(stream), "post")
    }
}

fn store_error(context: &str, err: impl std::fmt::Display) -> StoreError {
    let error = StoreError(format!("{context}: {err}"));
    worker::console_error!("{error}");
    error
}

/// A stored value as text: strings as they are, anything else (written by an older version as a JS value)
/// as its JSON.
fn as_text(value: &JsValue) -> Option<String> {
    if value.is_undefined() {
        return None;
    }
    value.as_string().or_else(|| js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()))
}

impl Store for ObjectRuntime {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let map = self
                .storage
                .get_multiple(vec![key])
                .await
                .map_err(|e| store_error(&format!("reading {key}"), e))?;
            Ok(as_text(&map.get(&JsValue::from_str(key))))
        })
    }

    fn put_all(&self, entries: Vec<(String, String)>) -> LocalFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let object = js_sys::Object::new();
            for (key, value) in &entries {
                let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
            }
            self.storage.put_multiple_raw(object).await.map_err(|e| store_error("storing events", e))
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            let map = self
                .storage
                .list_with_options(ListOptions::new().prefix(prefix))
                .await
                .map_err(|e| store_error("listing stored events", e))?;
            let mut entries = Vec::with_capacity(map.size() as usize);
            for entry in map.entries() {
                let Ok(entry) = entry else { continue };
                let pair = js_sys::Array::from(&entry);
                if let (Some(key), Some(value)) = (pair.get(0).as_string(), as_text(&pair.get(1))) {
                    entries.push((key, value));
                }
            }
            Ok(entries)
        })
    }

    fn delete(&self, keys: Vec<String>) -> LocalFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            // At most 128 keys per call.
            for batch in keys.chunks(128) {
                self.storage
                    .delete_multiple(batch.to_vec())
                    .await
                    .map_err(|e| store_error("deleting stored events", e))?;
            }
            Ok(())
        })
    }
}

impl Spawn for ObjectRuntime {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }
}

impl Timer for ObjectRuntime {
    fn sleep(&self, duration: Duration) -> LocalFuture<'static, ()> {
        Box::pin(super::timer::sleep(duration))
    }
}

/// A streaming `text/event-stream` response over `body`, a Durable Object's stream of `kind` (counted in the
/// open streams gauge while it lasts), ended should the instance trap.
pub fn sse_response(body: SseBody, kind: &'static str) -> Result<Response, HttpError> {
    let body = super::metrics_recorder::counted(body, kind, true);
    let response = Response::from_stream(body.map(Ok::<Vec<u8>, worker::Error>))
        .map_err(|e| http::internal("opening the stream", e))?;
    http::sse_headers(response.headers());
    Ok(super::eager::ended_on_trap(&response.into()).into())
}
