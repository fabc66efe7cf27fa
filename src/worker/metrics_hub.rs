//! `MetricsHub`: the Durable Objects where the isolates' metric deltas add up to true totals. There are
//! [`SHARDS`] of them (`metrics:<n>` in `MCP_METRICS`); an isolate sends all its batches to one shard, picked
//! at random when it starts, so no one object takes every isolate's traffic, and `/metrics` reads every shard
//! and adds them up (a gauge's +1 and -1 may land in different shards; their sum is still right).
//!
//! A shard keeps its totals in memory and writes them to storage (one key, [`TOTALS_KEY`]) before it answers
//! an `add`, so a restart loses nothing it acknowledged. Like the other objects, it reads only requests the
//! Worker built: `POST` with [`OP_HEADER`] `add` (a JSON [`Metrics`] batch) or `read`.

use std::cell::{Cell, RefCell};

use futures_util::future::join_all;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::incoming::Body;
use super::{http, Reply};
use crate::error::HttpError;
use crate::metrics::Metrics;

/// The Durable Object namespace of the shards.
const METRICS_BINDING: &str = "MCP_METRICS";
/// How many shards there are. Changing it loses nothing stored, but shards beyond the new count are no
/// longer read.
pub const SHARDS: u32 = 4;
const OP_HEADER: &str = "X-Metrics-Op";
const TOTALS_KEY: &str = "totals";

thread_local! {
    /// The shard this isolate sends to.
    static SHARD: Cell<Option<u32>> = const { Cell::new(None) };
}

#[durable_object(fetch)]
pub struct MetricsHub {
    state: State,
    /// The totals, once read from storage.
    totals: RefCell<Option<Metrics>>,
}

impl DurableObject for MetricsHub {
    fn new(state: State, _env: Env) -> Self {
        Self { state, totals: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op = http::header(&req, OP_HEADER).unwrap_or_default();
        let answer = match op.as_str() {
            "add" => match req.text().await.map(|t| serde_json::from_str::<Metrics>(&t)) {
                Ok(Ok(batch)) => self.add(&batch).await.map(|()| http::respond(204, &[], String::new())),
                _ => Err(HttpError::BadRequest("not a metrics batch".into())),
            },
            "read" => self.load().await.map(|()| {
                let totals = self.totals.borrow().clone().unwrap_or_default();
                http::json(200, serde_json::to_string(&totals).unwrap_or_default())
            }),
            _ => Err(HttpError::Internal("the metrics hub got a request the Worker did not build".into())),
        };
        Ok(answer.unwrap_or_else(|error| http::error(&error, None, &crate::random::hex::<8>())))
    }
}

impl MetricsHub {
    /// Reads the totals from storage the first time.
    async fn load(&self) -> Result<(), HttpError> {
        if self.totals.borrow().is_some() {
            return Ok(());
        }
        let stored: Option<String> =
            self.state.storage().get(TOTALS_KEY).await.map_err(|e| http::internal("reading metrics", e))?;
        let stored = stored.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
        // Another request may have loaded them while storage was read: keep that.
        self.totals.borrow_mut().get_or_insert(stored);
        Ok(())
    }

    /// Adds `batch` to the totals and stores them.
    async fn add(&self, batch: &Metrics) -> Result<(), HttpError> {
        self.load().await?;
        let text = {
            let mut totals = self.totals.borrow_mut();
            let totals = totals.get_or_insert_with(Metrics::default);
            totals.merge(batch);
            serde_json::to_string(&*totals).unwrap_or_default()
        };
        let stored = self.state.storage().put(TOTALS_KEY, text).await;
        if stored.is_err() {
            // The sender keeps a batch that was not acknowledged and sends it again: forget the totals it was
            // merged into, and read the stored ones next time, so it is counted once.
            *self.totals.borrow_mut() = None;
        }
        stored.map_err(|e| http::internal("storing metrics", e))
    }
}

/// This isolate's shard.
fn shard() -> u32 {
    SHARD.with(|s| {
        let shard = s.get().unwrap_or_else(|| u32::from(crate::random::bytes::<1>()[0]) % SHARDS);
        s.set(Some(shard));
        shard
    })
}

/// Sends `batch` to this isolate's shard; `Err` holds the detail, for the log.
pub async fn add(env: &Env, batch: &Metrics) -> Result<(), String> {
    let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
    let name = format!("metrics:{}", shard());
    let reply = super::object_call::call(
        env,
        METRICS_BINDING,
        &name,
        "https://metrics/",
        (OP_HEADER, "add"),
        Body::Bytes(body),
    )
    .await?;
    match reply.status() {
        204 => Ok(()),
        status => Err(format!("the metrics hub answered {status}")),
    }
}

/// The totals of every shard, added up.
pub async fn read(env: &Env) -> Result<Metrics, String> {
    let reads = (0..SHARDS).map(|n| async move {
        let name = format!("metrics:{n}");
        let reply: Reply = super::object_call::call(
            env,
            METRICS_BINDING,
            &name,
            "https://metrics/",
            (OP_HEADER, "read"),
            Body::None,
        )
        .await?;
        let text = super::object_call::answer_text(reply, METRICS_BINDING).await?;
        serde_json::from_str::<Metrics>(&text).map_err(|e| e.to_string())
    });
    let mut totals = Metrics::default();
    for shard in join_all(reads).await {
        totals.merge(&shard?);
    }
    Ok(totals)
}
