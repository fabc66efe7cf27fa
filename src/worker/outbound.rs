//! Requests the Worker sends to other servers (GitHub, client metadata documents), over the Workers fetch API,
//! as `http` types (what the `oauth2` crate speaks), with a time limit and a size limit on the answer. Errors
//! name the failure, never a header or a body.

use futures_util::StreamExt;
use oauth2::http;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::ByteStream;

/// Why a request to another server failed.
#[derive(Debug)]
pub struct OutboundError(pub String);

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OutboundError {}

/// The time limit of calls to GitHub.
pub const GITHUB_TIMEOUT_MS: u32 = 10_000;
/// The largest answer read from GitHub.
pub const GITHUB_MAX_BYTES: usize = 256 * 1024;

/// Sends `request`; fails after `timeout_ms`, or when the answer is over `max_bytes` (refused as soon as it
/// says or shows so).
pub async fn send(
    request: http::Request<Vec<u8>>,
    timeout_ms: u32,
    max_bytes: usize,
) -> Result<http::Response<Vec<u8>>, OutboundError> {
    let failed = |what: &str| OutboundError(what.to_string());
    let headers = web_sys::Headers::new().map_err(|_| failed("building a request"))?;
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| failed("a header value is not text"))?;
        headers.append(name.as_str(), value).map_err(|_| failed("building a request"))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(request.method().as_str());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(timeout_ms)));
    if !request.body().is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body().as_slice()));
    }
    let url = request.uri().to_string();
    let req =
        web_sys::Request::new_with_str_and_init(&url, &init).map_err(|_| failed("building a request"))?;
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let answer = JsFuture::from(scope.fetch_with_request(&req))
        .await
        .map_err(|_| failed("the request failed or timed out"))?;
    let answer: web_sys::Response = answer.unchecked_into();
    let mut response = http::Response::builder().status(answer.status());
    for name in ["content-type", "cache-control", "content-length"] {
        if let Ok(Some(value)) = answer.headers().get(name) {
            response = response.header(name, value);
        }
    }
    let declared: Option<usize> =
        answer.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(failed("the answer is too large"));
    }
    let mut body = Vec::new();
    if let Some(stream) = answer.body() {
        let mut stream = ByteStream::from(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| failed("the answer could not be read"))?;
            if body.len() + chunk.len() > max_bytes {
                return Err(failed("the answer is too large"));
            }
            body.extend_from_slice(&chunk);
        }
    }
    response.body(body).map_err(|_| failed("the answer could not be read"))
}

/// A request to an API served as tools ([`crate::openapi`]): sent without following redirects, stopped after
/// `timeout_ms`, the answer's body cut at `max_bytes` (and the rest not read) rather than refused.
pub async fn send_capped(
    request: crate::openapi::request::OutgoingRequest,
    timeout_ms: u64,
    max_bytes: usize,
) -> Result<crate::openapi::answer::Received, String> {
    let started = super::now_ms();
    let timeout_ms = timeout_ms.min(u32::MAX as u64);
    let failed = |what: &str| {
        if super::now_ms().saturating_sub(started) + 50 >= timeout_ms {
            format!("no answer within {} s", timeout_ms / 1000)
        } else {
            what.to_string()
        }
    };
    let headers = web_sys::Headers::new().map_err(|_| "building the request failed".to_string())?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(|_| format!("the header {name} is not valid"))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(request.method);
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(timeout_ms as u32)));
    if let Some(body) = &request.body {
        init.set_body(&js_sys::Uint8Array::from(body.as_slice()));
    }
    let req = web_sys::Request::new_with_str_and_init(&request.url, &init)
        .map_err(|_| "the request URL is not valid".to_string())?;
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let answer =
        JsFuture::from(scope.fetch_with_request(&req)).await.map_err(|_| failed("the connection failed"))?;
    let answer: web_sys::Response = answer.unchecked_into();
    let header = |name: &str| answer.headers().get(name).ok().flatten();
    let mut received = crate::openapi::answer::Received {
        status: answer.status(),
        content_type: header("content-type"),
        location: header("location"),
        body: Vec::new(),
        truncated: false,
    };
    let declared: Option<usize> = header("content-length").and_then(|v| v.trim().parse().ok());
    // A compressed answer's Content-Length is its compressed size, and fetch hands on the decompressed body:
    // only an uncompressed one is known to fit.
    let compressed = header("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    if declared.is_some_and(|n| n <= max_bytes) && !compressed {
        // Known to fit: read in one call rather than chunk by chunk.
        let buffer = answer.array_buffer().map_err(|_| failed("the answer could not be read"))?;
        let buffer = JsFuture::from(buffer).await.map_err(|_| failed("the answer could not be read"))?;
        received.body = js_sys::Uint8Array::new(&buffer).to_vec();
        received.truncated = received.body.len() > max_bytes;
        received.body.truncate(max_bytes);
    } else if let Some(stream) = answer.body() {
        let mut stream = ByteStream::from(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| failed("the answer could not be read"))?;
            let room = max_bytes - received.body.len();
            if chunk.len() > room {
                received.body.extend_from_slice(&chunk[..room]);
                received.truncated = true;
                break;
            }
            received.body.extend_from_slice(&chunk);
        }
    }
    Ok(received)
}
