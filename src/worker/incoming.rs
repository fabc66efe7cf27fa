//! A client's request as the runtime hands it over, read lazily. `worker::Request` copies the URL and reads
//! `cf` eagerly (the runtime builds that object on every access): on the hot path that was a measurable share of
//! each request, and the router needs neither.

use futures_util::StreamExt;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{ByteStream, Context};

use super::interned;
use crate::error::HttpError;
use crate::transport::request_url;
use crate::transport::streamable_http::check_content_length;

/// How much of a refused chunked body is read (and dropped) after answering 413; past it the upload is cut.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `Headers`, with a `get` taking the name as a JS string.
    type NamedHeaders;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get(this: &NamedHeaders, name: &js_sys::JsString) -> Result<Option<String>, wasm_bindgen::JsValue>;
}

/// A header's value, its name passed as a JS string made once per isolate ([`interned`]): the hot path reads
/// several headers per request.
pub fn header(headers: &web_sys::Headers, name: &'static str) -> Option<String> {
    headers.unchecked_ref::<NamedHeaders>().get(&interned::js(name)).ok().flatten()
}

pub struct Incoming {
    raw: web_sys::Request,
    /// The body, when it was read before the request was routed (by `entry.mjs`), or why it could not be.
    read: std::cell::RefCell<Option<Result<Vec<u8>, String>>>,
    headers: web_sys::Headers,
    pub url: String,
    pub method: String,
}

/// A request body on its way to a session object: none, read, or still streaming from the client.
pub enum Body {
    None,
    Bytes(Vec<u8>),
    Stream(web_sys::ReadableStream),
}

impl Incoming {
    pub fn new(raw: web_sys::Request) -> Self {
        Self { headers: raw.headers(), url: raw.url(), method: raw.method(), raw, read: Default::default() }
    }

    /// This request with the body `entry.mjs` read before calling in: its text, why it could not be read (an
    /// `Error`), or `null` when it was not read. Which requests it reads is only a matter of speed: the limits
    /// are checked against the declared length either way ([`Self::read_body`]).
    pub fn with_body(self, body: wasm_bindgen::JsValue) -> Self {
        *self.read.borrow_mut() = handed_in(body);
        self
    }

    /// A header's value (a repeated header's values joined with `, `, as `Headers.get` gives them).
    pub fn header(&self, name: &'static str) -> Option<String> {
        header(&self.headers, name)
    }

    pub fn path(&self) -> &str {
        request_url::path(&self.url)
    }

    /// The body, unread, when its declared length is within `limit` (the runtime delivers exactly that
    /// length): it goes to the session object as it arrives. `None` when the body has no declared length.
    pub fn declared_body(
        &self,
        content_length: Option<&str>,
        limit: usize,
    ) -> Result<Option<Body>, HttpError> {
        check_content_length(content_length, limit)?;
        if content_length.is_none() {
            return Ok(None);
        }
        Ok(Some(self.raw.body().map_or(Body::None, Body::Stream)))
    }

    /// Reads the body as text ([`as_text`]), at most `limit` bytes. A declared length over the limit is refused
    /// before reading; a body without one (chunked) is read piece by piece and refused as soon as it passes the
    /// limit, so nothing larger is ever buffered. The rest of a refused chunked body is read and dropped after
    /// the answer (up to [`DRAIN_LIMIT`]), so the client's connection stays usable.
    pub async fn read_body(&self, limit: usize, ctx: &Context) -> Result<Vec<u8>, HttpError> {
        let declared = self.header("Content-Length");
        check_content_length(declared.as_deref(), limit)?;
        if let Some(read) = self.read.borrow_mut().take() {
            return read.map_err(unreadable);
        }
        let failed = |e: wasm_bindgen::JsValue| unreadable(format!("{e:?}"));
        if declared.is_some() {
            let promise = self.raw.text().map_err(failed)?;
            let text = JsFuture::from(promise).await.map_err(failed)?;
            return Ok(text.as_string().unwrap_or_default().into_bytes());
        }
        let Some(body) = self.raw.body() else { return Ok(Vec::new()) };
        let mut stream = ByteStream::from(body.unchecked_into::<web_sys::ReadableStream>());
        let mut read = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(unreadable)?;
            if read.len() + chunk.len() > limit {
                ctx.wait_until(async move {
                    let mut drained = 0usize;
                    while let Some(Ok(chunk)) = stream.next().await {
                        drained += chunk.len();
                        if drained > DRAIN_LIMIT {
                            break;
                        }
                    }
                });
                return Err(HttpError::PayloadTooLarge { limit });
            }
            read.extend_from_slice(&chunk);
        }
        Ok(as_text(read))
    }
}

/// A body that could not be read: the client's upload broke off (a 400, not a failure of ours; the client is
/// usually gone), whichever side was reading it.
pub fn unreadable(why: impl std::fmt::Display) -> HttpError {
    HttpError::BadRequest(format!("unreadable body: {why}"))
}

/// `bytes` decoded as UTF-8 the way `Request.text()` decodes a body (invalid sequences become U+FFFD), so that a
/// body means the same whichever side read it (`entry.mjs` reads small ones as text: `arrayBuffer()` costs the
/// runtime more).
fn as_text(bytes: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(text) => text.into_bytes(),
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned().into_bytes(),
    }
}

/// A body `entry.mjs` read and handed in: its text (as bytes), or why it could not be read (an `Error`: a
/// client gone mid-upload); `None` when it read none (`null`).
pub fn handed_in(body: wasm_bindgen::JsValue) -> Option<Result<Vec<u8>, String>> {
    if body.is_null() || body.is_undefined() {
        return None;
    }
    Some(match body.as_string() {
        Some(text) => Ok(text.into_bytes()),
        None => Err(body.dyn_into::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default()),
    })
}
