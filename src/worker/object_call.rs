//! The Worker's requests to its Durable Objects (sessions, the listen hub, metrics shards, grants, callers): a POST
//! the Worker builds itself, with one header of its own and a body. Raw runtime types end to end:
//! `worker::Request`/`Response` would copy the URL, read `cf` and wrap the headers on the way in and out, on every
//! request.

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::{DurableObjectId, DurableObjectNamespace};
use worker::Env;

use super::incoming::Body;
use super::{interned, Reply};

#[wasm_bindgen(module = "/src/worker/object_call.js")]
extern "C" {
    /// `namespace.get(id).fetch(url, { method: 'POST', headers: { [header]: value }, body })`.
    #[wasm_bindgen(catch, js_name = fetchObject)]
    fn fetch_object(
        namespace: &DurableObjectNamespace,
        id: &DurableObjectId,
        url: &js_sys::JsString,
        header: &js_sys::JsString,
        value: &str,
        body: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// A POST to the object `name` of namespace `binding`, with one header and `body`; its answer. `Err` holds the
/// detail, for the log.
pub async fn call(
    env: &Env,
    binding: &'static str,
    name: &str,
    url: &'static str,
    header: (&'static str, &str),
    body: Body,
) -> Result<Reply, String> {
    let answer = send(env, binding, name, url, header, &body)?;
    let response = JsFuture::from(answer).await.map_err(|e| format!("the object: {e:?}"))?;
    Ok(response.unchecked_into())
}

/// Sends the request of [`call`]: the promise of the object's answer, which the caller may pass on unread.
pub fn send(
    env: &Env,
    binding: &'static str,
    name: &str,
    url: &'static str,
    (header, value): (&'static str, &str),
    body: &Body,
) -> Result<js_sys::Promise, String> {
    let unbound = |e: JsValue| format!("Durable Object binding {binding}: {e:?}");
    let namespace = js_sys::Reflect::get(env, &interned::js(binding)).map_err(unbound)?;
    if namespace.is_undefined() {
        return Err(format!("the Durable Object binding {binding} is missing (see wrangler.toml)"));
    }
    let namespace: DurableObjectNamespace = namespace.unchecked_into();
    // `idFromName` + `get` rather than `getByName`: measurably cheaper per request under workerd. The id (a
    // digest of the name, no I/O object) is remembered by the isolate; the stub is made per request.
    let object = object_id(&namespace, binding, name).map_err(unbound)?;
    let body = match body {
        Body::None => JsValue::UNDEFINED,
        Body::Bytes(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
        Body::Stream(stream) => stream.into(),
    };
    fetch_object(&namespace, &object, &interned::js(url), &interned::js(header), value, &body)
        .map_err(|e| format!("the object: {e:?}"))
}

/// The id of object `name` of `binding`, from this isolate's memory of recent ones (the ids of the sessions it
/// serves), or made and remembered.
fn object_id(
    namespace: &DurableObjectNamespace,
    binding: &str,
    name: &str,
) -> Result<DurableObjectId, JsValue> {
    /// Ids remembered before the memory starts over.
    const CAPACITY: usize = 1024;
    thread_local! {
        /// By binding, then by name (looked up without building a key).
        static IDS: RefCell<HashMap<String, HashMap<String, JsValue>>> = RefCell::new(HashMap::new());
    }
    let known = IDS.with(|ids| ids.borrow().get(binding).and_then(|named| named.get(name)).cloned());
    if let Some(id) = known {
        return Ok(id.unchecked_into());
    }
    let id = namespace.id_from_name(name)?;
    IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        let named = ids.entry(binding.to_string()).or_default();
        if named.len() >= CAPACITY {
            named.clear();
        }
        named.insert(name.to_string(), JsValue::clone(id.as_ref()));
    });
    Ok(id)
}

/// Asks the object `name` of `binding` with a JSON `body` (an operation the Worker built), and returns the text
/// of its 200 answer. `Err` holds the detail, for the log.
pub async fn ask(
    env: &Env,
    binding: &'static str,
    name: &str,
    url: &'static str,
    body: String,
) -> Result<String, String> {
    let reply =
        call(env, binding, name, url, ("Content-Type", "application/json"), Body::Bytes(body.into_bytes()))
            .await?;
    answer_text(reply, binding).await
}

/// The text of an object's 200 answer; any other status is an error naming `binding`.
pub async fn answer_text(reply: Reply, binding: &str) -> Result<String, String> {
    if reply.status() != 200 {
        return Err(format!("the object of {binding} answered {}", reply.status()));
    }
    let text = reply.text().map_err(|e| format!("{binding}: {e:?}"))?;
    let text = JsFuture::from(text).await.map_err(|e| format!("{binding}: {e:?}"))?;
    Ok(text.as_string().unwrap_or_default())
}
