//! Test doubles for the platform: a store in memory (with the Durable Object's size limits), a clock moved by
//! hand, and tasks on a `futures-executor` `LocalPool`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc::TryRecvError;
use futures_channel::oneshot;
use futures_executor::{LocalPool, LocalSpawner};
use futures_util::task::LocalSpawnExt;

use super::platform::{Spawn, Store, StoreError, Timer};
use super::SseBody;
use crate::handler::LocalFuture;

/// A SQLite-backed Durable Object value: key and value together at most 2 MB; a string may take two bytes
/// a character.
const MAX_ENTRY_BYTES: usize = 2_000_000;
const MAX_KEYS_PER_PUT: usize = 128;

#[derive(Default)]
pub struct MemoryStore {
    pub map: RefCell<BTreeMap<String, String>>,
    /// Puts of more value bytes than this fail.
    pub fail_puts_over: Cell<Option<usize>>,
}

impl MemoryStore {
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.map.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }
}

impl Store for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move { Ok(self.map.borrow().get(key).cloned()) })
    }

    fn put_all(&self, entries: Vec<(String, String)>) -> LocalFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self
                .fail_puts_over
                .get()
                .is_some_and(|max| entries.iter().map(|(_, v)| v.len()).sum::<usize>() > max)
            {
                return Err(StoreError("failing on purpose".into()));
            }
            if entries.len() > MAX_KEYS_PER_PUT {
                return Err(StoreError("too many keys".into()));
            }
            if entries.iter().any(|(k, v)| k.len() + 2 * v.len() > MAX_ENTRY_BYTES) {
                return Err(StoreError("value too large".into()));
            }
            self.map.borrow_mut().extend(entries);
            Ok(())
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            let map = self.map.borrow();
            Ok(map
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        })
    }

    fn delete(&self, keys: Vec<String>) -> LocalFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut map = self.map.borrow_mut();
            for key in keys {
                map.remove(&key);
            }
            Ok(())
        })
    }
}

/// A clock that moves only when told to.
#[derive(Default)]
pub struct ManualClock {
    now: Cell<Duration>,
    sleepers: RefCell<Vec<(Duration, oneshot::Sender<()>)>>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get() + by);
        let now = self.now.get();
        let mut sleepers = self.sleepers.borrow_mut();
        for (_, tx) in sleepers.extract_if(.., |(at, _)| *at <= now) {
            let _ = tx.send(());
        }
    }
}

/// The platform of one object instance; a "restart" is a new runtime over the same store.
pub struct TestRuntime {
    pub store: Rc<MemoryStore>,
    pub clock: Rc<ManualClock>,
    spawner: LocalSpawner,
}

impl TestRuntime {
    pub fn new(store: Rc<MemoryStore>, clock: Rc<ManualClock>, pool: &LocalPool) -> Self {
        Self { store, clock, spawner: pool.spawner() }
    }
}

impl Store for TestRuntime {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<String>, StoreError>> {
        self.store.get(key)
    }
    fn put_all(&self, entries: Vec<(String, String)>) -> LocalFuture<'_, Result<(), StoreError>> {
        self.store.put_all(entries)
    }
    fn list<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        self.store.list(prefix)
    }
    fn delete(&self, keys: Vec<String>) -> LocalFuture<'_, Result<(), StoreError>> {
        self.store.delete(keys)
    }
}

impl Spawn for TestRuntime {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        self.spawner.spawn_local(task).expect("the pool is alive");
    }
}

impl Timer for TestRuntime {
    fn sleep(&self, duration: Duration) -> LocalFuture<'static, ()> {
        let (tx, rx) = oneshot::channel();
        let clock = &self.clock;
        let at = clock.now.get() + duration;
        clock.sleepers.borrow_mut().push((at, tx));
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// What a reader got so far: the text, and whether the body ended.
pub fn read(body: &mut SseBody) -> (String, bool) {
    let mut text = String::new();
    loop {
        match body.try_recv() {
            Ok(chunk) => text.push_str(&String::from_utf8(chunk).expect("UTF-8")),
            Err(TryRecvError::Closed) => return (text, true),
            Err(TryRecvError::Empty) => return (text, false),
        }
    }
}

/// One SSE event: its id and data (comments dropped).
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub id: Option<String>,
    pub data: String,
}

pub fn parse(text: &str) -> Vec<Ev> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut data = Vec::new();
            let mut fields = 0;
            for line in block.lines().filter(|l| !l.starts_with(':') && !l.is_empty()) {
                fields += 1;
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                } else if line == "data:" {
                    data.push("");
                }
            }
            (fields > 0).then(|| Ev { id, data: data.join("\n") })
        })
        .collect()
}
