//! `/health`: what a load balancer or an operator polls. One report of every component (configuration,
//! credentials, the server secret, KV, Durable Objects, rate limiting) and an overall status: 200 when the
//! deployment can serve (`ok`, or `degraded` when a part of what it offers is missing), 503 when it cannot, with
//! the reason named (never a secret's value).

use serde::Serialize;
use serde_json::{json, Value};

/// The state of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum Component {
    /// Working; `detail` says how (e.g. the authentication mode).
    Ok {
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Switched off by configuration (not a failure).
    Off,
    /// Partly broken: what it serves is served, the rest is not (a configured REST API whose index is missing),
    /// so the deployment still serves: `/health` stays 200 and a monitor can still tell.
    Degraded { error: String },
    /// Broken: requests that need it fail.
    Failing { error: String },
}

impl Component {
    pub fn ok() -> Self {
        Self::Ok { detail: None }
    }

    pub fn ok_with(detail: impl Into<String>) -> Self {
        Self::Ok { detail: Some(detail.into()) }
    }

    pub fn failing(error: impl Into<String>) -> Self {
        Self::Failing { error: error.into() }
    }

    pub fn degraded(error: impl Into<String>) -> Self {
        Self::Degraded { error: error.into() }
    }

    fn is_failing(&self) -> bool {
        matches!(self, Self::Failing { .. })
    }
}

/// Every component, by name, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub components: Vec<(&'static str, Component)>,
}

impl Report {
    pub fn with(mut self, name: &'static str, component: Component) -> Self {
        self.components.push((name, component));
        self
    }

    /// 200 when nothing fails (degraded parts included), else 503.
    pub fn status_code(&self) -> u16 {
        if self.components.iter().any(|(_, c)| c.is_failing()) {
            503
        } else {
            200
        }
    }

    pub fn to_json(&self, version: &str) -> Value {
        let components: serde_json::Map<String, Value> = self
            .components
            .iter()
            .map(|(name, c)| (name.to_string(), serde_json::to_value(c).expect("components serialize")))
            .collect();
        let degraded = self.components.iter().any(|(_, c)| matches!(c, Component::Degraded { .. }));
        let status = match self.status_code() {
            200 if degraded => "degraded",
            200 => "ok",
            _ => "failing",
        };
        json!({
            "status": status,
            "version": version,
            "components": components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_failing_component_makes_the_whole_503_and_names_itself() {
        let healthy = Report::default().with("kv", Component::ok()).with("rate_limiting", Component::Off);
        assert_eq!(healthy.status_code(), 200);
        assert_eq!(healthy.to_json("1")["status"], "ok");
        assert_eq!(healthy.to_json("1")["components"]["rate_limiting"], json!({"status": "off"}));
        let broken = healthy.with("configuration", Component::failing("MCP_PAGE_SIZE must be a number"));
        assert_eq!(broken.status_code(), 503);
        let body = broken.to_json("1");
        assert_eq!(body["status"], "failing");
        assert_eq!(body["components"]["configuration"]["error"], "MCP_PAGE_SIZE must be a number");
        assert_eq!(body["components"]["kv"], json!({"status": "ok"}));
    }

    #[test]
    fn a_degraded_component_keeps_the_whole_serving_and_says_so() {
        let partly = Report::default()
            .with("kv", Component::ok())
            .with("openapi", Component::degraded("gone: no index"));
        assert_eq!(partly.status_code(), 200);
        let body = partly.to_json("1");
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["components"]["openapi"], json!({"status": "degraded", "error": "gone: no index"}));
        let broken = partly.with("access", Component::failing("no credentials"));
        assert_eq!((broken.status_code(), broken.to_json("1")["status"].as_str()), (503, Some("failing")));
    }
}
