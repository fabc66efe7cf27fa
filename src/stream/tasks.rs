//! The client requests being worked on, so `notifications/cancelled` can stop them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures_util::future::{abortable, AbortHandle};

use super::platform::Spawn;
use crate::model::RequestId;

#[derive(Default)]
pub struct Tasks {
    running: RefCell<HashMap<RequestId, AbortHandle>>,
}

impl Tasks {
    /// Runs `work` for the client requests `ids` as a task that [`Tasks::cancel`] for any of them stops (the
    /// future is dropped where it waits).
    pub fn spawn_cancellable(
        self: &Rc<Self>,
        spawner: &dyn Spawn,
        ids: Vec<RequestId>,
        work: impl Future<Output = ()> + 'static,
    ) {
        let (work, handle) = abortable(work);
        {
            let mut running = self.running.borrow_mut();
            for id in &ids {
                running.insert(id.clone(), handle.clone());
            }
        }
        let me = self.clone();
        spawner.spawn(Box::pin(async move {
            let _ = work.await;
            let mut running = me.running.borrow_mut();
            for id in &ids {
                running.remove(id);
            }
        }));
    }

    /// Stops the task working on `id`, if any; `true` when there was one.
    pub fn cancel(&self, id: &RequestId) -> bool {
        let handle = self.running.borrow_mut().remove(id);
        handle.map(|h| h.abort()).is_some()
    }

    pub fn is_running(&self, id: &RequestId) -> bool {
        self.running.borrow().contains_key(id)
    }

    /// Stops every task (the session ended).
    pub fn abort_all(&self) {
        for (_, handle) in self.running.borrow_mut().drain() {
            handle.abort();
        }
    }
}
