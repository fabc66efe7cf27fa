//! Running a request's work eagerly: polled once where the runtime called us, a task only for what waits.
//!
//! wasm-bindgen turns an `async` export into a promise, a task, closures and a microtask hop per awaited promise;
//! measured at workerd's socket, that machinery was most of what separated a Rust Worker from a few lines of
//! JavaScript. Work that never waits on a promise (a stateless call whose body is already read) is answered
//! before the export returns. Work that does wait continues in a task: it was polled once with a waker that
//! wakes nobody, which is sound because every future here wakes the waker of its latest poll (hence
//! [`super::timer`], not `worker::Delay`). [`after`] chains work onto a promise (a session object's answer the
//! Worker adds to) without a task at all.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(module = "/src/worker/traps.js")]
extern "C" {
    /// The value of `boxed` (a promise of `[value]`), which `entry.mjs` fails should the instance trap before
    /// it settles: a trap ends every task, and with it the work the promise waits for.
    fn watched(boxed: &js_sys::Promise) -> js_sys::Promise;
    /// `response`, whose body `entry.mjs` ends should the instance trap: a stream the instance writes would
    /// otherwise stay open without another event or keepalive, and its client would never reconnect.
    #[wasm_bindgen(js_name = endedOnTrap)]
    pub fn ended_on_trap(
        response: &worker::worker_sys::web_sys::Response,
    ) -> worker::worker_sys::web_sys::Response;
    /// Tells `entry.mjs` that the instance is about to trap (from the panic hook, src/worker/mod.rs): every
    /// watched promise fails, and `entry.mjs` answers each request with its fixed 500.
    pub fn trapped();
}

/// `work`'s outcome when it is ready at once; otherwise a promise of it, which fails should the instance trap
/// first (a promise `work` returns is the runtime's, a session object's answer, say: it settles by itself).
pub fn run<F>(work: F) -> JsValue
where
    F: Future<Output = JsValue> + 'static,
{
    let mut work: Pin<Box<F>> = Box::pin(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => {
            let boxed = async move { Ok(js_sys::Array::of1(&work.await).into()) };
            watched(&wasm_bindgen_futures::future_to_promise(boxed)).into()
        }
    }
}

/// Runs `work` now up to its first wait, and in a task of its own from there (as `spawn_local` would, minus the
/// task and the microtask when it never waits).
pub fn spawn(work: impl Future<Output = ()> + 'static) {
    let mut work = Box::pin(work);
    if work.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending() {
        wasm_bindgen_futures::spawn_local(work);
    }
}

/// What runs once a promise settles: `Ok` its value, `Err` its rejection.
type Then = Box<dyn FnOnce(Result<JsValue, JsValue>) -> JsValue>;

thread_local! {
    /// The continuations waiting for their promise, by key. One whose promise never settles stays, as a task
    /// awaiting that promise would.
    static WAITING: RefCell<(u32, HashMap<u32, Then>)> = Default::default();
    /// Two handlers made once per isolate and bound to a key per promise: two closures made (and released) per
    /// request, as `JsFuture` does, cost more than the bind.
    static HANDLERS: (js_sys::Function, js_sys::Function) = (handler(Ok), handler(Err));
}

fn handler(settled: fn(JsValue) -> Result<JsValue, JsValue>) -> js_sys::Function {
    let resume = move |key: u32, value: JsValue| {
        match WAITING.with(|waiting| waiting.borrow_mut().1.remove(&key)) {
            Some(then) => then(settled(value)),
            // Lost with an instance that trapped (this one replaced it): the value passes on as it came (a session
            // object's answer: its own fixed 500, say, when the trap was its).
            None => value,
        }
    };
    Closure::<dyn FnMut(u32, JsValue) -> JsValue>::new(resume).into_js_value().unchecked_into()
}

#[wasm_bindgen]
extern "C" {
    /// `Promise.prototype.then` with any functions (js-sys's `then` takes closures only).
    #[wasm_bindgen(js_namespace = ["Promise", "prototype", "then"], js_name = call)]
    fn promise_then(promise: &js_sys::Promise, fulfilled: &JsValue, rejected: &JsValue) -> js_sys::Promise;
}

/// A promise of what `then` returns once `promise` settles (a promise `then` returns is followed in turn).
pub fn after(
    promise: &js_sys::Promise,
    then: impl FnOnce(Result<JsValue, JsValue>) -> JsValue + 'static,
) -> JsValue {
    let key = WAITING.with(|waiting| {
        let (next, waiting) = &mut *waiting.borrow_mut();
        let key = *next;
        *next = next.wrapping_add(1);
        waiting.insert(key, Box::new(then));
        key
    });
    HANDLERS.with(|(fulfilled, rejected)| {
        let key = JsValue::from(key);
        let (fulfilled, rejected) =
            (fulfilled.bind1(&JsValue::NULL, &key), rejected.bind1(&JsValue::NULL, &key));
        promise_then(promise, &fulfilled, &rejected).into()
    })
}
