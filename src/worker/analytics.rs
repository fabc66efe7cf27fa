//! Workers Analytics Engine, when a dataset is bound as [`BINDING`]: one data point per JSON-RPC request and
//! per tool call, written with `writeDataPoint` (no round trip; the runtime sends points after the response).
//! Optional and failing open: without the binding nothing is written, and a failed write is logged once per
//! isolate and never fails a request. Called in raw runtime types: workers-rs checks the binding's class
//! name, which differs under `wrangler dev`.
//!
//! A point: index = the method or tool; blobs = kind (`mcp_request` / `tool_call`), method or tool, protocol
//! revision, outcome (`ok`, `error`, or the tool call's outcome), caller id; doubles = duration in ms, and for
//! requests the JSON-RPC error code (0 for a result).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use crate::audit::Outcome;
use crate::handler::{Answered, Observer, RequestContext};
use crate::metrics::labels;

/// The dataset binding's name in wrangler.toml.
pub const BINDING: &str = "MCP_ANALYTICS";

thread_local! {
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a dataset is bound (for `/health`).
pub fn is_bound(env: &Env) -> bool {
    Reflect::get(env, &BINDING.into()).is_ok_and(|d| d.is_object())
}

/// Writes the points, when the dataset is bound.
pub struct Analytics {
    dataset: JsValue,
    write: Function,
    known: Rc<dyn Fn(&str) -> bool>,
}

impl Analytics {
    /// The writer, if `env` binds a dataset; `None` otherwise.
    pub fn bound(env: &Env, known: Rc<dyn Fn(&str) -> bool>) -> Option<Self> {
        let dataset = Reflect::get(env, &BINDING.into()).ok().filter(|d| d.is_object())?;
        let write = Reflect::get(&dataset, &"writeDataPoint".into()).ok()?.dyn_into::<Function>().ok()?;
        Some(Self { dataset, write, known })
    }

    fn point(&self, index: &str, blobs: &[&str], doubles: &[f64]) {
        let point = Object::new();
        let blobs: Array = blobs.iter().map(|b| JsValue::from_str(b)).collect();
        let doubles: Array = doubles.iter().map(|d| JsValue::from_f64(*d)).collect();
        let indexes: Array = [JsValue::from_str(index)].into_iter().collect();
        let set = |k: &str, v: &JsValue| Reflect::set(&point, &k.into(), v);
        let written = set("indexes", &indexes)
            .and_then(|_| set("blobs", &blobs))
            .and_then(|_| set("doubles", &doubles))
            .and_then(|_| self.write.call1(&self.dataset, &point));
        if let Err(e) = written {
            if !WARNED.with(|w| w.replace(true)) {
                worker::console_error!(
                    "{}",
                    serde_json::json!({ "event": "analytics", "error": format!("{e:?}") })
                );
            }
        }
    }
}

impl Observer for Analytics {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn tool_call(&self, tool: &str, outcome: Outcome, duration_ms: f64, cx: &RequestContext) {
        let tool = labels::tool(tool, |n| (self.known)(n));
        let blobs =
            ["tool_call", tool, cx.protocol_version.as_str(), labels::outcome(outcome), cx.caller.id()];
        self.point(tool, &blobs, &[duration_ms]);
    }

    fn request(&self, answered: &Answered<'_>) {
        let method = labels::mcp_method(answered.method);
        let outcome = if answered.error.is_some() { "error" } else { "ok" };
        let blobs = ["mcp_request", method, answered.revision.as_str(), outcome, answered.caller.id()];
        let code = answered.error.map_or(0.0, f64::from);
        self.point(method, &blobs, &[answered.duration_ms, code]);
    }
}
