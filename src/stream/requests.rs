//! Server-to-client requests waiting for the client's answer, and their time-out.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::future::{select, Either};
use serde_json::Value;

use crate::handler::{LocalFuture, PeerError};
use crate::model::{ErrorObject, RequestId, Response};

type Answer = Result<Value, ErrorObject>;

/// The requests sent to the client and not answered yet.
#[derive(Default)]
pub struct PendingRequests {
    waiting: RefCell<HashMap<RequestId, oneshot::Sender<Answer>>>,
    next: Cell<u64>,
}

/// One request waiting for its answer; dropping it (answered, timed out, or the waiting call was cancelled)
/// forgets the request.
pub struct Waiting {
    pub id: RequestId,
    answer: oneshot::Receiver<Answer>,
    requests: Rc<PendingRequests>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.requests.waiting.borrow_mut().remove(&self.id);
    }
}

impl PendingRequests {
    /// A fresh request id (`srv-<stream>-<n>`, unique in the session), registered as waiting.
    pub fn register(self: &Rc<Self>, stream: &str) -> Waiting {
        let n = self.next.get() + 1;
        self.next.set(n);
        let id = RequestId::String(format!("srv-{stream}-{n}"));
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(id.clone(), tx);
        Waiting { id, answer: rx, requests: self.clone() }
    }

    /// Routes a client's response to the request waiting for it; `false` when none is.
    pub fn deliver(&self, response: Response) -> bool {
        let waiting = response.id.as_ref().and_then(|id| self.waiting.borrow_mut().remove(id));
        match waiting {
            Some(tx) => {
                let _ = tx.send(response.outcome);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.waiting.borrow().len()
    }

    /// Fails every waiting request (the session ended).
    pub fn clear(&self) {
        self.waiting.borrow_mut().clear();
    }
}

impl Waiting {
    /// The client's answer, or why there is none: `timeout` (of `timeout_ms`) fired first, or the session
    /// ended.
    pub async fn answer(
        mut self,
        timeout: LocalFuture<'static, ()>,
        timeout_ms: u64,
    ) -> Result<Value, PeerError> {
        match select(&mut self.answer, timeout).await {
            Either::Left((Ok(outcome), _)) => outcome.map_err(PeerError::Rejected),
            Either::Left((Err(_), _)) => Err(PeerError::Closed("the session ended".into())),
            Either::Right(_) => Err(PeerError::Timeout { seconds: timeout_ms / 1000 }),
        }
    }
}
