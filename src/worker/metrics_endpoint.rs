//! `GET /metrics`: the totals of every [`MetricsHub`](super::metrics_hub) shard in the Prometheus text format,
//! for the holder of `MCP_METRICS_TOKEN` only. Without that setting the path does not exist (404), in
//! development mode too: metrics name callers' tools and rates, and are never served openly.

use worker::Env;

use super::incoming::Incoming;
use super::{http, metrics_hub, metrics_recorder, Failure, Reply};
use crate::config::Settings;
use crate::error::HttpError;
use crate::metrics::{self, CONTENT_TYPE};

pub const PATH: &str = "/metrics";

pub async fn handle(req: &Incoming, env: &Env, settings: &Settings) -> Result<Reply, Failure> {
    let Some(token) = &settings.metrics_token else {
        return Err(HttpError::NotFound(PATH.into()).into());
    };
    if req.method != "GET" && req.method != "HEAD" {
        return Err(HttpError::MethodNotAllowed { allow: "GET, HEAD" }.into());
    }
    if !metrics::authorized(req.header("Authorization").as_deref(), token) {
        return Err(HttpError::Unauthorized {
            message: "send the metrics token (MCP_METRICS_TOKEN) as `Authorization: Bearer <token>`".into(),
            www_authenticate: "Bearer realm=\"metrics\"".into(),
        }
        .into());
    }
    // This isolate's deltas go first, so that a read sees everything this isolate counted.
    let pending = metrics_recorder::take();
    if !pending.is_empty() {
        if let Err(detail) = metrics_hub::add(env, &pending).await {
            metrics_recorder::put_back(&pending);
            return Err(http::internal("sending metrics", detail).into());
        }
    }
    let totals = metrics_hub::read(env).await.map_err(|detail| http::internal("reading metrics", detail))?;
    let headers = [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")];
    Ok(http::respond(200, &headers, totals.render()).into())
}
