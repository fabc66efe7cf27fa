//! What the stream machinery needs from the platform, as three small traits: a key-value store, a way to
//! spawn a local task, and a timer. The Durable Object implements them over `worker::Storage`,
//! `wasm_bindgen_futures::spawn_local` and `worker::Delay`; the unit tests over memory and a manual clock.

use std::time::Duration;

use crate::handler::LocalFuture;

/// A storage failure, as text (the platform's error types stay in the shell).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The few storage operations the event log needs. Values are text (JSON).
pub trait Store {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<String>, StoreError>>;
    /// Writes every entry, atomically: all of them or none.
    fn put_all(&self, entries: Vec<(String, String)>) -> LocalFuture<'_, Result<(), StoreError>>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn list<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Result<Vec<(String, String)>, StoreError>>;
    fn delete(&self, keys: Vec<String>) -> LocalFuture<'_, Result<(), StoreError>>;
}

/// Runs a task on the current thread, detached.
pub trait Spawn {
    fn spawn(&self, task: LocalFuture<'static, ()>);
}

/// Waits.
pub trait Timer {
    fn sleep(&self, duration: Duration) -> LocalFuture<'static, ()>;
}

/// Everything an [`super::Outbox`] runs on.
pub trait Runtime: Store + Spawn + Timer + 'static {}

impl<T: Store + Spawn + Timer + 'static> Runtime for T {}
