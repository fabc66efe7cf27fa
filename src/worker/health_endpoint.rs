//! `GET /health`: the report of [`crate::health`], from the settings this isolate parsed and two probes (a KV
//! read, a Durable Object round trip). Probes are cached per isolate for [`PROBE_TTL_MS`], so a load balancer
//! polling every second costs at most one probe of each per isolate that often. No credentials needed; nothing
//! secret is shown.

use std::cell::RefCell;

use worker::Env;

use super::{http, isolate, listen_hub, now_ms, Reply};
use crate::config::Settings;
use crate::health::{Component, Report};

/// How long probe results are reused.
const PROBE_TTL_MS: u64 = 10_000;
/// The KV namespace probed (the one every deployment has).
const KV_BINDING: &str = "DOCUMENTS";

thread_local! {
    static PROBES: RefCell<Option<(u64, Component, Component)>> = const { RefCell::new(None) };
}

pub async fn handle(env: &Env, method: &str) -> Reply {
    if method != "GET" && method != "HEAD" {
        return http::respond(405, &[("Allow", "GET, HEAD")], String::new()).into();
    }
    let mut report = Report::default();
    match isolate::settings(env) {
        Err(error) => report = report.with("configuration", Component::failing(error)),
        Ok(settings) => {
            report = report.with("configuration", Component::ok()).with("access", access(&settings));
            report = report.with("openapi", rest_apis(env, &settings).await);
        }
    }
    let (kv, objects) = probes(env).await;
    report = report
        .with("kv", kv)
        .with("durable_objects", objects)
        .with("rate_limiting", rate_limiting(env))
        .with("metrics", metrics(env));
    let body = report.to_json(env!("CARGO_PKG_VERSION")).to_string();
    let reply = http::json_reply(report.status_code(), &body);
    let _ = reply.headers().set("Cache-Control", "no-store");
    reply
}

/// Which limits count, as configured (the binding itself has no way to be asked).
fn rate_limiting(env: &Env) -> Component {
    let Ok(settings) = isolate::settings(env) else { return Component::Off };
    let mut on = Vec::new();
    if let Some(p) = settings.caller_rate_limit {
        on.push(format!("{}/{} s per caller", p.limit, p.window_seconds));
    }
    if let Some(p) = settings.ip_rate_limit {
        on.push(format!("{}/{} s per IP on the OAuth endpoints", p.limit, p.window_seconds));
    }
    if !settings.tool_rate_limits.is_empty() {
        on.push(format!("per caller and tool: {}", settings.tool_rate_limits.describe()));
    }
    if let Some(max) = settings.max_sessions_per_caller {
        on.push(format!("{max} sessions per caller"));
    }
    if on.is_empty() {
        Component::Off
    } else {
        Component::ok_with(on.join(", "))
    }
}

/// Whether `/metrics` is served (`MCP_METRICS_TOKEN`) and whether an Analytics Engine dataset is bound.
fn metrics(env: &Env) -> Component {
    let on = isolate::settings(env).is_ok_and(|s| s.metrics_token.is_some());
    let analytics = super::analytics::is_bound(env);
    match (on, analytics) {
        (false, false) => Component::Off,
        (true, false) => Component::ok_with("/metrics"),
        (false, true) => Component::ok_with("Analytics Engine"),
        (true, true) => Component::ok_with("/metrics, Analytics Engine"),
    }
}

/// How each configured REST API is served, or why it is not (its index missing or invalid, a name taken):
/// degraded then, since everything else is still served.
async fn rest_apis(env: &Env, settings: &Settings) -> Component {
    if settings.openapi.is_empty() {
        return Component::Off;
    }
    let (_, statuses) = isolate::server_and_apis(env, settings).await;
    let line = |s: &crate::toolset::rest_apis::ApiStatus| match &s.served {
        Ok(detail) => format!("{}: {detail}", s.name),
        Err(why) => format!("{}: {why}", s.name),
    };
    let text: Vec<String> = statuses.iter().map(line).collect();
    if statuses.iter().any(|s| s.served.is_err()) {
        Component::degraded(text.join("; "))
    } else {
        Component::ok_with(text.join("; "))
    }
}

/// How callers get in, or why nobody can (credentials or the server secret missing).
fn access(settings: &Settings) -> Component {
    if let Err(error) = settings.ready() {
        return Component::failing(error.to_error_object().message);
    }
    let access = &settings.access;
    let mut modes = Vec::new();
    if !access.api_keys.is_empty() {
        modes.push(format!("{} API key(s)", access.api_keys.len()));
    }
    if access.api_keys.is_empty() && access.allow_anonymous {
        modes.push("anonymous (MCP_ALLOW_ANONYMOUS)".into());
    }
    if access.api_keys.is_empty() && access.development {
        modes.push("open (development mode)".into());
    }
    Component::ok_with(modes.join(", "))
}

/// The KV and Durable Object probes, fresh or from the last [`PROBE_TTL_MS`].
async fn probes(env: &Env) -> (Component, Component) {
    let now = now_ms();
    if let Some((at, kv, objects)) = PROBES.with(|p| p.borrow().clone()) {
        if now.saturating_sub(at) < PROBE_TTL_MS {
            return (kv, objects);
        }
    }
    let kv = match env.kv(KV_BINDING) {
        Err(_) => Component::failing(format!("the {KV_BINDING} KV binding is missing")),
        Ok(kv) => match kv.get("health-probe").text().await {
            Ok(_) => Component::ok(),
            Err(e) => logged("KV", format!("reading {KV_BINDING}: {e}")),
        },
    };
    let objects = match listen_hub::ping(env).await {
        Ok(()) => Component::ok(),
        Err(e) => logged("Durable Objects", e),
    };
    PROBES.with(|p| *p.borrow_mut() = Some((now, kv.clone(), objects.clone())));
    (kv, objects)
}

/// A failed probe: the detail goes to the log, the report says what failed.
fn logged(what: &str, detail: String) -> Component {
    worker::console_error!("health: {what} probe failed: {detail}");
    Component::failing(format!("{what} did not answer (see the log)"))
}
