//! This isolate's share of the metrics: a batch of deltas ([`Metrics`]) kept in memory and sent to a
//! [`MetricsHub`](super::metrics_hub) shard off the request's critical path.
//!
//! Recording is a few map updates; nothing is awaited. After each request, [`flush`] makes sure one send is
//! under way (with `ctx.wait_until` in the Worker, a task of its own in a Durable Object): it waits
//! [`FLUSH_DELAY_MS`] so that the deltas of concurrent requests travel together, sends the batch, and goes on
//! while more deltas arrived meanwhile. So an isolate has at most one send in flight and sends at most about
//! 1000 / [`FLUSH_DELAY_MS`] batches a second, however busy it is. A batch the hub did not take is kept for the
//! next send; a batch still in memory when the isolate is evicted or crashes is lost (see the README).
//!
//! Nothing is recorded when metrics are off (`MCP_METRICS_TOKEN` unset).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_util::Stream;
use worker::{Context, Env};

use super::metrics_hub;
use crate::audit::Outcome;
use crate::handler::{Answered, Observer, RequestContext};
use crate::metrics::{self, labels, Metrics};

/// How long a send waits for more deltas before it goes.
pub const FLUSH_DELAY_MS: u64 = 100;
/// A send loop running longer than this ends (the next request starts another): `wait_until` has a limit.
const LOOP_MS: f64 = 5_000.0;
/// A send marked in flight for longer than this is taken for dead (its invocation was cancelled).
const STALE_MS: f64 = 15_000.0;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static PENDING: RefCell<Metrics> = RefCell::new(Metrics::default());
    /// When the send under way started.
    static IN_FLIGHT: Cell<Option<f64>> = const { Cell::new(None) };
    /// The environment of the last flush, for sends that start where no request is at hand (a stream closing
    /// in a Durable Object).
    static ENV: RefCell<Option<Env>> = const { RefCell::new(None) };
}

/// Turns recording on (once the settings say `MCP_METRICS_TOKEN` is set).
pub fn enable(on: bool) {
    ENABLED.with(|e| e.set(on));
}

pub fn enabled() -> bool {
    ENABLED.with(Cell::get)
}

/// Applies `change` to the batch, when metrics are on.
pub fn record(change: impl FnOnce(&mut Metrics)) {
    if enabled() {
        PENDING.with(|p| change(&mut p.borrow_mut()));
    }
}

/// The batch so far, leaving an empty one.
pub fn take() -> Metrics {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// Puts back a batch that could not be sent (merged with what came since).
pub fn put_back(batch: &Metrics) {
    PENDING.with(|p| p.borrow_mut().merge(batch));
}

/// Makes sure a send of the batch is under way: kept alive by `ctx` in the Worker, a task of the object's
/// own otherwise.
pub fn flush(env: &Env, ctx: Option<&Context>) {
    if !enabled() || PENDING.with(|p| p.borrow().is_empty()) {
        return;
    }
    let now = js_sys::Date::now();
    if IN_FLIGHT.with(|f| f.get()).is_some_and(|since| now - since < STALE_MS) {
        return;
    }
    IN_FLIGHT.with(|f| f.set(Some(now)));
    ENV.with(|e| *e.borrow_mut() = Some(env.clone()));
    let task = send_loop(env.clone(), now);
    match ctx {
        Some(ctx) => ctx.wait_until(task),
        None => wasm_bindgen_futures::spawn_local(task),
    }
}

async fn send_loop(env: Env, started: f64) {
    loop {
        super::timer::sleep(Duration::from_millis(FLUSH_DELAY_MS)).await;
        let batch = take();
        if batch.is_empty() {
            break;
        }
        if let Err(detail) = metrics_hub::add(&env, &batch).await {
            put_back(&batch);
            worker::console_error!("{}", serde_json::json!({ "event": "metrics", "error": detail }));
            break;
        }
        if js_sys::Date::now() - started > LOOP_MS {
            break;
        }
    }
    IN_FLIGHT.with(|f| f.set(None));
}

/// One HTTP request the Worker answered.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    record(|m| {
        let status = labels::status(status);
        let labels = [("path", route), ("method", labels::http_method(method)), ("status", status.as_str())];
        m.count(&metrics::HTTP_REQUESTS, &labels, 1);
        m.observe(&metrics::HTTP_DURATION, &[("path", route)], seconds);
    });
}

/// An admitted caller (`Ok`, how it authenticated) or a refusal (`Err`, why).
pub fn auth(outcome: Result<&str, &str>) {
    record(|m| match outcome {
        Ok(method) => m.count(&metrics::AUTH_SUCCESSES, &[("method", method)], 1),
        Err(reason) => m.count(&metrics::AUTH_FAILURES, &[("reason", reason)], 1),
    });
}

/// A request denied by the rate limit `policy` (`mcp`, `oauth`, `tool`), or by a bound (`sessions` per caller,
/// `streams` per session).
pub fn rate_limited(policy: &str) {
    record(|m| m.count(&metrics::RATE_LIMITED, &[("policy", policy)], 1));
}

/// A session object created its session (+1) or ended it (-1).
pub fn session(delta: i64) {
    record(|m| m.move_gauge(&metrics::ACTIVE_SESSIONS, &[], delta));
}

/// Reports tool calls and JSON-RPC requests into the batch; `known` says which tool names are the server's.
pub struct MetricsObserver {
    pub known: Rc<dyn Fn(&str) -> bool>,
}

impl Observer for MetricsObserver {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn tool_call(&self, tool: &str, outcome: Outcome, duration_ms: f64, _cx: &RequestContext) {
        let tool = labels::tool(tool, |n| (self.known)(n));
        record(|m| {
            m.count(&metrics::TOOL_CALLS, &[("tool", tool), ("outcome", labels::outcome(outcome))], 1);
            m.observe(&metrics::TOOL_DURATION, &[("tool", tool)], duration_ms / 1000.0);
        });
    }

    fn request(&self, answered: &Answered<'_>) {
        let labels =
            [("method", labels::mcp_method(answered.method)), ("revision", answered.revision.as_str())];
        record(|m| m.count(&metrics::MCP_REQUESTS, &labels, 1));
    }
}

/// An SSE body counted in `mcp_open_streams{kind}` from now until it ends or is dropped (the client went
/// away, or the object let go of it). In a Durable Object (`in_object`), the close is sent at once; in the
/// Worker it goes with the isolate's next flush (a task started as the request ends could be cancelled).
pub fn counted<S: Stream + Unpin>(body: S, kind: &'static str, in_object: bool) -> Counted<S> {
    let kind = labels::stream_kind(kind);
    record(|m| m.move_gauge(&metrics::OPEN_STREAMS, &[("kind", kind)], 1));
    Counted { inner: body, kind, open: enabled(), in_object }
}

pub struct Counted<S> {
    inner: S,
    kind: &'static str,
    /// Counted as open, not yet as closed.
    open: bool,
    in_object: bool,
}

impl<S> Counted<S> {
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            let kind = self.kind;
            record(|m| m.move_gauge(&metrics::OPEN_STREAMS, &[("kind", kind)], -1));
            if self.in_object {
                if let Some(env) = ENV.with(|e| e.borrow().clone()) {
                    flush(&env, None);
                }
            }
        }
    }
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(None) = polled {
            self.close();
        }
        polled
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        self.close();
    }
}
