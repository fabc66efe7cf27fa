//! A pause on the runtime's `setTimeout`, for every wait of the Worker and its objects.
//!
//! Why not `worker::Delay`: it wakes the waker of its *first* poll only. The fetch handler polls a request's work
//! once before handing what is still pending to a task of its own ([`super::fetch`]), so a pause first polled
//! there would wake nobody, and a tool waiting on it (or its time limit) would hang. This one wakes the waker of
//! its latest poll, as the `Future` contract asks.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Resolves once `duration` has passed; dropped early, it clears its timer.
pub fn sleep(duration: Duration) -> Timer {
    Timer { duration, shared: Rc::default(), armed: None }
}

pub struct Timer {
    duration: Duration,
    shared: Rc<Shared>,
    /// The timer's id and its callback, once set.
    armed: Option<(JsValue, Closure<dyn FnMut()>)>,
}

#[derive(Default)]
struct Shared {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.fired.get() {
            return Poll::Ready(());
        }
        let mut waker = self.shared.waker.borrow_mut();
        match waker.as_mut() {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *waker = Some(cx.waker().clone()),
        }
        drop(waker);
        if self.armed.is_none() {
            let shared = self.shared.clone();
            let callback = Closure::<dyn FnMut()>::new(move || {
                shared.fired.set(true);
                if let Some(waker) = shared.waker.borrow_mut().take() {
                    waker.wake();
                }
            });
            let id = set_timeout(callback.as_ref().unchecked_ref(), self.duration.as_millis() as f64);
            self.armed = Some((id, callback));
        }
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some((id, _)) = &self.armed {
            if !self.shared.fired.get() {
                clear_timeout(id);
            }
        }
    }
}
