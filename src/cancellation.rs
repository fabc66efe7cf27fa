//! Cancelling one request: a [`Cancellation`] signal handlers can watch, and [`InFlight`], the requests of a
//! session being worked on, so that `notifications/cancelled` stops exactly the request it names.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::model::RequestId;

/// A request's cancellation signal. Clones share the signal.
#[derive(Clone, Default)]
pub struct Cancellation {
    inner: Rc<Signal>,
}

#[derive(Default)]
struct Signal {
    cancelled: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl std::fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cancellation({})", if self.is_cancelled() { "cancelled" } else { "live" })
    }
}

impl Cancellation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        if !self.inner.cancelled.replace(true) {
            for waker in self.inner.wakers.borrow_mut().drain(..) {
                waker.wake();
            }
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.get()
    }

    /// Resolves once the request is cancelled (for handlers that want to stop cleanly themselves).
    pub fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_cancelled(cx))
    }

    fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self.inner.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Runs `work` until it finishes (`Some`) or the request is cancelled (`None`; `work` is dropped where it
    /// waits, e.g. for a client's answer).
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if self.poll_cancelled(cx).is_ready() {
                return Poll::Ready(None);
            }
            Pin::new(&mut work).poll(cx).map(Some)
        })
        .await
    }
}

/// The client requests of one session being worked on, by id.
#[derive(Debug, Default)]
pub struct InFlight {
    running: RefCell<HashMap<RequestId, Cancellation>>,
    /// The session ended: nothing starts any more.
    closed: Cell<bool>,
}

/// Why a request cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Another request with this id is still in flight.
    DuplicateId,
    /// The session ended.
    Closed,
}

impl InFlight {
    /// Registers request `id`. An id still in flight is refused: two requests under one id would make
    /// `notifications/cancelled` (and the client's bookkeeping) ambiguous.
    pub fn start(&self, id: &RequestId) -> Result<Cancellation, Refusal> {
        if self.closed.get() {
            return Err(Refusal::Closed);
        }
        let mut running = self.running.borrow_mut();
        if running.contains_key(id) {
            return Err(Refusal::DuplicateId);
        }
        let cancellation = Cancellation::new();
        running.insert(id.clone(), cancellation.clone());
        Ok(cancellation)
    }

    /// Request `id` ended (answered or cancelled).
    pub fn finish(&self, id: &RequestId, cancellation: &Cancellation) {
        let mut running = self.running.borrow_mut();
        if running.get(id).is_some_and(|c| Rc::ptr_eq(&c.inner, &cancellation.inner)) {
            running.remove(id);
        }
    }

    /// `notifications/cancelled` for `id`: cancels that request if it is still running.
    pub fn cancel(&self, id: &RequestId) -> bool {
        match self.running.borrow_mut().remove(id) {
            Some(cancellation) => {
                cancellation.cancel();
                true
            }
            None => false,
        }
    }

    /// The session ended: cancels everything in flight and refuses whatever would start later.
    pub fn close(&self) {
        self.closed.set(true);
        for (_, cancellation) in self.running.borrow_mut().drain() {
            cancellation.cancel();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub fn len(&self) -> usize {
        self.running.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::LocalPool;
    use futures_util::task::LocalSpawnExt;

    #[test]
    fn a_cancelled_request_stops_where_it_waits_and_others_go_on() {
        let in_flight = Rc::new(InFlight::default());
        let mut pool = LocalPool::new();
        let results = Rc::new(RefCell::new(Vec::new()));
        for id in [1, 2] {
            let (in_flight, results) = (in_flight.clone(), results.clone());
            let cancellation = in_flight.start(&RequestId::Number(id)).unwrap();
            pool.spawner()
                .spawn_local(async move {
                    // Waits forever unless cancelled: like a tool waiting for a client that never answers.
                    let outcome = cancellation.run(std::future::pending::<()>()).await;
                    results.borrow_mut().push((id, outcome.is_some()));
                    in_flight.finish(&RequestId::Number(id), &cancellation);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert!(in_flight.cancel(&RequestId::Number(1)));
        pool.run_until_stalled();
        assert_eq!(*results.borrow(), vec![(1, false)]);
        assert_eq!(in_flight.len(), 1, "request 2 still runs");
        assert!(!in_flight.cancel(&RequestId::Number(1)), "cancelling twice does nothing");
    }

    #[test]
    fn an_id_in_flight_cannot_be_reused_and_a_finished_one_can() {
        let in_flight = InFlight::default();
        let id = RequestId::String("a".into());
        let first = in_flight.start(&id).unwrap();
        assert_eq!(in_flight.start(&id).unwrap_err(), Refusal::DuplicateId);
        in_flight.finish(&id, &first);
        let second = in_flight.start(&id).unwrap();
        // A late finish of the first request does not unregister the second.
        in_flight.finish(&id, &first);
        assert!(in_flight.cancel(&id));
        assert!(second.is_cancelled() && !first.is_cancelled());
    }

    #[test]
    fn a_closed_session_cancels_its_requests_and_starts_no_more() {
        let in_flight = InFlight::default();
        let running = in_flight.start(&RequestId::Number(1)).unwrap();
        in_flight.close();
        assert!(running.is_cancelled() && in_flight.is_empty());
        assert_eq!(in_flight.start(&RequestId::Number(2)).unwrap_err(), Refusal::Closed);
    }

    #[test]
    fn finished_work_is_returned() {
        let c = Cancellation::new();
        assert_eq!(futures_executor::block_on(c.run(async { 7 })), Some(7));
        c.cancel();
        assert_eq!(futures_executor::block_on(c.run(async { 7 })), None);
        futures_executor::block_on(c.cancelled());
    }
}
