//! Settings, read from Worker variables and secrets through a lookup function (so tests need no Worker).
//! A malformed value is an error naming the setting, never a silent default.

use crate::audit::LogLevel;
use crate::auth::{AccessPolicy, ApiKeys, NO_CREDENTIALS};
use crate::error::HttpError;
use crate::handler::ToolFilter;
use crate::keys::ServerSecret;
use crate::oauth::github::GitHubApp;
use crate::oauth::grant::{Lifetimes, CODE_TTL_MS};
use crate::oauth::sealed::Sealer;
use crate::openapi::settings::ApiSettings;
use crate::rate_limit::{Policy, ToolLimits, Windows};
use crate::session::id::SessionIds;
use crate::stream::Limits as StreamLimits;
use crate::transport::origin::{HostPolicy, OriginPolicy};
use crate::transport::request_state::RequestStates;
use crate::transport::streamable_http::ResponseMode;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub response_mode: ResponseMode,
    pub origins: OriginPolicy,
    pub hosts: HostPolicy,
    pub session_ttl_ms: u64,
    pub max_body_bytes: usize,
    pub page_size: usize,
    pub access: AccessPolicy,
    /// `MCP_FIXTURES`: extra tool sets (the conformance suite's fixtures).
    pub fixtures: FixtureSet,
    /// How often idle SSE streams get a `: keepalive` comment.
    pub keepalive_ms: u64,
    /// Paths of the 2024-11-05 HTTP+SSE transport.
    pub sse_path: String,
    pub messages_path: String,
    /// How long a server-to-client request (sampling, elicitation, roots) waits for the client's answer.
    pub client_request_timeout_ms: u64,
    /// `MCP_DEV_MODE`: local development (open without credentials, loopback origins, a public secret).
    pub development: bool,
    /// Session ids signed with `MCP_SERVER_SECRET`, or development mode's public secret; `None` when a
    /// deployment lacks the secret.
    pub session_ids: Option<SessionIds>,
    /// Seals the request state of input-required results, with the same secret (its own derived key).
    pub request_states: Option<RequestStates>,
    /// The tools this deployment exposes: `MCP_TOOLS` (only these), `MCP_TOOLS_EXCLUDE`, `MCP_READ_ONLY`.
    pub exposure: ToolFilter,
    /// `MCP_MAX_JSON_DEPTH`: deeper request bodies are refused before parsing.
    pub max_json_depth: usize,
    /// `MCP_TOOL_TIMEOUT_SECONDS`: a tool call still running after this is answered with a tool error.
    pub tool_timeout_ms: u64,
    /// `MCP_LOG_LEVEL`: `info` (the default) writes the audit log.
    pub log_level: LogLevel,
    /// `MCP_RATE_LIMIT`: per caller on the MCP endpoints (counted exactly by the caller's object, through
    /// leases); off when unset.
    pub caller_rate_limit: Option<Policy>,
    /// `OAUTH_RATE_LIMIT`: per client IP on the OAuth endpoints (binding `OAUTH_RATE_LIMITER`); off when unset.
    pub ip_rate_limit: Option<Policy>,
    /// `MCP_TOOL_RATE_LIMITS`: per caller and tool, counted exactly by the caller's object; none when unset.
    pub tool_rate_limits: ToolLimits,
    /// `MCP_MAX_SESSIONS_PER_CALLER`: live sessions a caller may hold (counted by the caller's object); off
    /// when unset, and then opening a session costs no extra round trip.
    pub max_sessions_per_caller: Option<u32>,
    /// A session's stream bounds: `MCP_MAX_STREAMS_PER_SESSION`, `MCP_MAX_STORED_STREAMS`,
    /// `MCP_MAX_STORED_BYTES`.
    pub streams: StreamLimits,
    /// GitHub sign-in (the OAuth authorization server), on when both GitHub secrets are set.
    pub sign_in: Option<SignIn>,
    /// Seals OAuth requests, upstream state and access tokens, with the same secret (its own derived key).
    pub oauth: Option<Sealer>,
    /// The GitHub setting missing when only one of the two is set: the deployment refuses traffic until fixed.
    pub sign_in_missing: Option<&'static str>,
    /// `MCP_METRICS_TOKEN`: the bearer token `/metrics` asks for; metrics are collected only when it is set.
    pub metrics_token: Option<String>,
    /// `OPENAPI_APIS` and `OPENAPI_<NAME>_*`: REST APIs served as tools.
    pub openapi: Vec<ApiSettings>,
}

/// The default of `MCP_MAX_JSON_DEPTH`; the parser's own limit (128) is the most it can be.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;
/// The default of `MCP_TOOL_TIMEOUT_SECONDS`.
pub const DEFAULT_TOOL_TIMEOUT_SECONDS: u64 = 300;

/// GitHub sign-in: the GitHub OAuth app and the lifetimes of our tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    pub github: GitHubApp,
    pub lifetimes: Lifetimes,
}

pub const DEFAULT_ACCESS_TTL_SECONDS: u64 = 3600;
pub const DEFAULT_REFRESH_TTL_SECONDS: u64 = 30 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FixtureSet {
    #[default]
    None,
    Conformance,
}

pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 86_400;
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT_SECONDS: u64 = 120;
/// What the official TypeScript implementation uses; proxies and the edge cut idle streams after minutes.
pub const DEFAULT_KEEPALIVE_SECONDS: u64 = 25;

impl Default for Settings {
    fn default() -> Self {
        Self {
            response_mode: ResponseMode::Json,
            origins: OriginPolicy::default(),
            hosts: HostPolicy::default(),
            session_ttl_ms: DEFAULT_SESSION_TTL_SECONDS * 1000,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            page_size: DEFAULT_PAGE_SIZE,
            access: AccessPolicy::default(),
            fixtures: FixtureSet::None,
            client_request_timeout_ms: DEFAULT_CLIENT_REQUEST_TIMEOUT_SECONDS * 1000,
            keepalive_ms: DEFAULT_KEEPALIVE_SECONDS * 1000,
            sse_path: "/sse".into(),
            messages_path: "/messages".into(),
            development: false,
            session_ids: None,
            request_states: None,
            exposure: ToolFilter::all(),
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            tool_timeout_ms: DEFAULT_TOOL_TIMEOUT_SECONDS * 1000,
            log_level: LogLevel::default(),
            caller_rate_limit: None,
            ip_rate_limit: None,
            tool_rate_limits: ToolLimits::default(),
            max_sessions_per_caller: None,
            streams: StreamLimits::default(),
            sign_in: None,
            oauth: None,
            sign_in_missing: None,
            metrics_token: None,
            openapi: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads every setting through `get` (name → value, `None` when unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut settings = Settings::default();
        if let Some(flag) = get("MCP_DEV_MODE") {
            settings.development = boolean(&flag, "MCP_DEV_MODE")?;
        }
        let secret = get("MCP_SERVER_SECRET").map(|s| ServerSecret::parse(&s)).transpose()?;
        let secret = match secret {
            Some(secret) => Some(secret),
            None if settings.development => Some(ServerSecret::development()),
            None => None,
        };
        settings.session_ids = secret.as_ref().map(SessionIds::new);
        settings.request_states = secret.as_ref().map(RequestStates::new);
        settings.oauth = secret.as_ref().map(Sealer::new);
        settings.access.development = settings.development;
        if let Some(list) = get("MCP_TOOLS") {
            settings.exposure.allow = Some(ToolFilter::names(&list).map_err(|e| format!("MCP_TOOLS: {e}"))?);
        }
        if let Some(list) = get("MCP_TOOLS_EXCLUDE") {
            settings.exposure.deny =
                ToolFilter::names(&list).map_err(|e| format!("MCP_TOOLS_EXCLUDE: {e}"))?;
        }
        if let Some(flag) = get("MCP_READ_ONLY") {
            settings.exposure.read_only = boolean(&flag, "MCP_READ_ONLY")?;
        }
        if let Some(text) = get("MCP_RATE_LIMIT") {
            settings.caller_rate_limit =
                Some(Policy::parse("caller", &text, "MCP_RATE_LIMIT", Windows::Exact)?);
        }
        if let Some(text) = get("OAUTH_RATE_LIMIT") {
            settings.ip_rate_limit = Some(Policy::parse("ip", &text, "OAUTH_RATE_LIMIT", Windows::Binding)?);
        }
        if let Some(text) = get("MCP_TOOL_RATE_LIMITS") {
            settings.tool_rate_limits = ToolLimits::parse(&text)?;
        }
        if let Some(max) = get("MCP_MAX_SESSIONS_PER_CALLER") {
            settings.max_sessions_per_caller = match max.to_ascii_lowercase().as_str() {
                "off" | "0" => None,
                _ => Some(max.parse().ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| {
                    format!("MCP_MAX_SESSIONS_PER_CALLER must be a whole number from 1 to 10000, or off, not {max:?}")
                })?),
            };
        }
        settings.streams = stream_limits(&get)?;
        if let Some(token) = get("MCP_METRICS_TOKEN") {
            if token.len() < 16 || token.contains(char::is_whitespace) {
                return Err("MCP_METRICS_TOKEN must be at least 16 characters without spaces".into());
            }
            settings.metrics_token = Some(token);
        }
        if let Some(level) = get("MCP_LOG_LEVEL") {
            settings.log_level = LogLevel::parse(&level)?;
        }
        if let Some(depth) = get("MCP_MAX_JSON_DEPTH") {
            settings.max_json_depth =
                depth.parse().ok().filter(|d| (2..=128).contains(d)).ok_or_else(|| {
                    format!("MCP_MAX_JSON_DEPTH must be a whole number from 2 to 128, not {depth:?}")
                })?;
        }
        if let Some(seconds) = get("MCP_TOOL_TIMEOUT_SECONDS") {
            let seconds: u64 = seconds.parse().ok().filter(|s| (1..=3600).contains(s)).ok_or_else(|| {
                format!("MCP_TOOL_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600, not {seconds:?}")
            })?;
            settings.tool_timeout_ms = seconds * 1000;
        }
        settings.origins = OriginPolicy::parse("", settings.development);
        settings.hosts = HostPolicy::parse("", settings.development);
        if let Some(mode) = get("MCP_RESPONSE_MODE") {
            settings.response_mode = ResponseMode::parse(&mode)
                .ok_or_else(|| format!("MCP_RESPONSE_MODE must be \"json\" or \"sse\", not {mode:?}"))?;
        }
        if let Some(list) = get("MCP_ALLOWED_ORIGINS") {
            settings.origins = OriginPolicy::parse(&list, settings.development);
        }
        if let Some(list) = get("MCP_ALLOWED_HOSTS") {
            settings.hosts = HostPolicy::parse(&list, settings.development);
        }
        if let Some(ttl) = get("MCP_SESSION_TTL_SECONDS") {
            settings.session_ttl_ms = positive(&ttl, "MCP_SESSION_TTL_SECONDS")? * 1000;
        }
        if let Some(max) = get("MCP_MAX_BODY_BYTES") {
            settings.max_body_bytes = positive(&max, "MCP_MAX_BODY_BYTES")? as usize;
        }
        if let Some(size) = get("MCP_PAGE_SIZE") {
            settings.page_size = positive(&size, "MCP_PAGE_SIZE")? as usize;
        }
        if let Some(set) = get("MCP_FIXTURES") {
            settings.fixtures = match set.to_ascii_lowercase().as_str() {
                "none" | "off" => FixtureSet::None,
                "conformance" => FixtureSet::Conformance,
                _ => return Err(format!("MCP_FIXTURES must be \"conformance\" or \"none\", not {set:?}")),
            };
        }
        if let Some(secs) = get("MCP_CLIENT_REQUEST_TIMEOUT_SECONDS") {
            settings.client_request_timeout_ms =
                positive(&secs, "MCP_CLIENT_REQUEST_TIMEOUT_SECONDS")? * 1000;
        }
        if let Some(secs) = get("MCP_KEEPALIVE_SECONDS") {
            settings.keepalive_ms = positive(&secs, "MCP_KEEPALIVE_SECONDS")? * 1000;
        }
        if let Some(path) = get("MCP_SSE_PATH") {
            settings.sse_path = route_path(&path, "MCP_SSE_PATH")?;
        }
        if let Some(path) = get("MCP_MESSAGES_PATH") {
            settings.messages_path = route_path(&path, "MCP_MESSAGES_PATH")?;
        }
        if settings.sse_path == settings.messages_path {
            return Err("MCP_SSE_PATH and MCP_MESSAGES_PATH must differ".into());
        }
        if let Some(keys) = get("MCP_API_KEYS") {
            settings.access.api_keys = ApiKeys::parse(&keys)?;
        }
        if let Some(flag) = get("MCP_ALLOW_ANONYMOUS") {
            settings.access.allow_anonymous = boolean(&flag, "MCP_ALLOW_ANONYMOUS")?;
        }
        match (get("GITHUB_CLIENT_ID"), get("GITHUB_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => {
                let base_url = get("GITHUB_BASE_URL").unwrap_or_else(|| "https://github.com".into());
                let api_url = get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
                let mut lifetimes = Lifetimes {
                    access_ms: DEFAULT_ACCESS_TTL_SECONDS * 1000,
                    refresh_ms: DEFAULT_REFRESH_TTL_SECONDS * 1000,
                    code_ms: CODE_TTL_MS,
                };
                if let Some(secs) = get("OAUTH_ACCESS_TTL_SECONDS") {
                    lifetimes.access_ms = at_least(&secs, 60, "OAUTH_ACCESS_TTL_SECONDS")? * 1000;
                }
                if let Some(secs) = get("OAUTH_CODE_TTL_SECONDS") {
                    lifetimes.code_ms = at_least(&secs, 10, "OAUTH_CODE_TTL_SECONDS")?.min(600) * 1000;
                }
                if let Some(secs) = get("OAUTH_REFRESH_TTL_SECONDS") {
                    lifetimes.refresh_ms = at_least(&secs, 60, "OAUTH_REFRESH_TTL_SECONDS")? * 1000;
                }
                let github = GitHubApp {
                    client_id,
                    client_secret,
                    base_url: base_url_setting(&base_url, "GITHUB_BASE_URL")?,
                    api_url: base_url_setting(&api_url, "GITHUB_API_URL")?,
                };
                settings.sign_in = Some(SignIn { github, lifetimes });
                settings.access.sign_in = true;
            }
            (Some(_), None) => settings.sign_in_missing = Some("GITHUB_CLIENT_SECRET"),
            (None, Some(_)) => settings.sign_in_missing = Some("GITHUB_CLIENT_ID"),
            (None, None) => {}
        }
        settings.openapi = crate::openapi::settings::parse(&get, settings.development)?;
        Ok(settings)
    }

    /// The session-id signer and the request-state sealer, once the deployment is ready to serve: credentials
    /// (or an explicit opt-in) and the server secret. Otherwise a 503 naming everything that is missing, so one
    /// answer says all there is to fix.
    pub fn ready(&self) -> Result<(&SessionIds, &RequestStates), HttpError> {
        let mut missing = Vec::new();
        if let Some(name) = self.sign_in_missing {
            missing.push(format!(
                "GitHub sign-in needs both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, and {name} is not set: run \
                 `npx wrangler secret put {name}`"
            ));
        } else if !self.access.is_configured() {
            missing.push(NO_CREDENTIALS.to_string());
        }
        if self.session_ids.is_none() {
            missing.push(
                "the server secret is not set: run `npx wrangler secret put MCP_SERVER_SECRET` with at least 32 \
                 random characters (e.g. the output of `openssl rand -hex 32`); it signs session ids and OAuth tokens"
                    .to_string(),
            );
        }
        match (&self.session_ids, &self.request_states) {
            (Some(ids), Some(states)) if missing.is_empty() => Ok((ids, states)),
            _ => Err(HttpError::NotConfigured(missing.join("; and "))),
        }
    }
}

/// A session's stream bounds from their settings.
fn stream_limits(get: &impl Fn(&str) -> Option<String>) -> Result<StreamLimits, String> {
    let mut limits = StreamLimits::default();
    if let Some(max) = get("MCP_MAX_STREAMS_PER_SESSION") {
        limits.max_open_streams = within(&max, 1, 10_000, "MCP_MAX_STREAMS_PER_SESSION")? as usize;
    }
    let mut streams = limits.max_streams_stored;
    let mut bytes = limits.max_stored_bytes;
    if let Some(max) = get("MCP_MAX_STORED_STREAMS") {
        streams = within(&max, 1, 10_000, "MCP_MAX_STORED_STREAMS")? as usize;
    }
    if let Some(max) = get("MCP_MAX_STORED_BYTES") {
        // Up to 1 GiB: a session object's storage holds 10 GB, shared by all it keeps.
        bytes = within(&max, 1024, 1 << 30, "MCP_MAX_STORED_BYTES")?;
    }
    Ok(limits.with_stored(streams, bytes))
}

/// A whole number from `min` to `max`.
fn within(text: &str, min: u64, max: u64, name: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{name} must be a whole number from {min} to {max}, not {text:?}"))
}

fn boolean(flag: &str, name: &str) -> Result<bool, String> {
    match flag.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{name} must be true or false, not {flag:?}")),
    }
}

/// A path the worker serves besides `/mcp` and `/`.
fn route_path(text: &str, name: &str) -> Result<String, String> {
    let ok = text.starts_with('/')
        && text.len() > 1
        && text != "/mcp"
        && !text.contains(['?', '#', ' '])
        && !text.starts_with("/__");
    if ok {
        Ok(text.trim_end_matches('/').to_string())
    } else {
        Err(format!("{name} must be a path such as /sse (not / or /mcp), not {text:?}"))
    }
}

/// Where GitHub is: an https URL, or http to a loopback address (a local fake in tests); no trailing slash.
fn base_url_setting(text: &str, name: &str) -> Result<String, String> {
    let text = text.trim_end_matches('/');
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| text.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with(':')));
    let https =
        text.strip_prefix("https://").is_some_and(|host| !host.is_empty() && !host.contains(['?', '#', ' ']));
    if https || loopback {
        Ok(text.to_string())
    } else {
        Err(format!("{name} must be an https URL such as https://github.com, not {text:?}"))
    }
}

fn at_least(text: &str, min: u64, name: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|&n| n >= min)
        .ok_or_else(|| format!("{name} must be a whole number of seconds, at least {min}, not {text:?}"))
}

fn positive(text: &str, name: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{name} must be a positive whole number, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_when_unset_or_blank() {
        assert_eq!(from(&[]).unwrap(), Settings::default());
        assert_eq!(from(&[("MCP_PAGE_SIZE", " ")]).unwrap(), Settings::default());
    }

    #[test]
    fn the_metrics_token_is_off_unless_set_and_must_not_be_short() {
        assert_eq!(from(&[]).unwrap().metrics_token, None);
        let on = from(&[("MCP_METRICS_TOKEN", " metrics-token-0001 ")]).unwrap();
        assert_eq!(on.metrics_token.as_deref(), Some("metrics-token-0001"));
        let err = from(&[("MCP_METRICS_TOKEN", "short")]).unwrap_err();
        assert!(err.contains("MCP_METRICS_TOKEN") && !err.contains("short"), "{err}");
    }

    #[test]
    fn a_deployment_needs_credentials_and_the_secret_and_says_which_are_missing() {
        let bare = from(&[]).unwrap();
        let err = bare.ready().unwrap_err();
        assert_eq!(err.status(), 503);
        let message = err.to_error_object().message;
        assert!(message.contains("MCP_API_KEYS") && message.contains("MCP_SERVER_SECRET"), "{message}");
        let keys_only = from(&[("MCP_API_KEYS", "a:k1")]).unwrap();
        let message = keys_only.ready().unwrap_err().to_error_object().message;
        assert!(message.contains("MCP_SERVER_SECRET") && !message.contains("MCP_API_KEYS"), "{message}");
        let secret = "s".repeat(40);
        assert!(from(&[("MCP_API_KEYS", "a:k1"), ("MCP_SERVER_SECRET", &secret)]).unwrap().ready().is_ok());
        assert!(from(&[("MCP_ALLOW_ANONYMOUS", "true"), ("MCP_SERVER_SECRET", &secret)])
            .unwrap()
            .ready()
            .is_ok());
    }

    #[test]
    fn github_sign_in_needs_both_secrets_and_the_server_secret() {
        let secret = "s".repeat(40);
        let on = from(&[
            ("GITHUB_CLIENT_ID", "Iv1.x"),
            ("GITHUB_CLIENT_SECRET", "shh"),
            ("MCP_SERVER_SECRET", &secret),
        ])
        .unwrap();
        assert!(on.ready().is_ok(), "sign-in alone is credentials enough");
        let sign_in = on.sign_in.as_ref().unwrap();
        assert_eq!(sign_in.github.base_url, "https://github.com");
        assert_eq!(sign_in.github.api_url, "https://api.github.com");
        assert_eq!(sign_in.lifetimes.access_ms, 3_600_000);
        assert!(on.access.sign_in && on.oauth.is_some());
        assert!(!format!("{on:?}").contains("shh"), "the client secret is never printed");
        for (set, missing) in
            [("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"), ("GITHUB_CLIENT_SECRET", "GITHUB_CLIENT_ID")]
        {
            let half = from(&[(set, "x"), ("MCP_SERVER_SECRET", &secret), ("MCP_API_KEYS", "a:k")]).unwrap();
            let message = half.ready().unwrap_err().to_error_object().message;
            assert!(message.contains(&format!("{missing} is not set")), "{message}");
        }
        let no_secret = from(&[("GITHUB_CLIENT_ID", "x"), ("GITHUB_CLIENT_SECRET", "y")]).unwrap();
        let message = no_secret.ready().unwrap_err().to_error_object().message;
        assert!(message.contains("MCP_SERVER_SECRET") && !message.contains("MCP_API_KEYS"), "{message}");
    }

    #[test]
    fn github_urls_and_token_lifetimes_are_read_and_checked() {
        let s = from(&[
            ("GITHUB_CLIENT_ID", "x"),
            ("GITHUB_CLIENT_SECRET", "y"),
            ("GITHUB_BASE_URL", "http://127.0.0.1:9000/"),
            ("GITHUB_API_URL", "https://ghe.example/api/v3"),
            ("OAUTH_ACCESS_TTL_SECONDS", "120"),
            ("OAUTH_REFRESH_TTL_SECONDS", "600"),
            ("OAUTH_CODE_TTL_SECONDS", "60"),
        ])
        .unwrap();
        let sign_in = s.sign_in.unwrap();
        assert_eq!(sign_in.github.base_url, "http://127.0.0.1:9000");
        assert_eq!(sign_in.github.api_url, "https://ghe.example/api/v3");
        assert_eq!(sign_in.lifetimes, Lifetimes { access_ms: 120_000, refresh_ms: 600_000, code_ms: 60_000 });
        for (k, v) in [
            ("GITHUB_BASE_URL", "http://github.example"),
            ("GITHUB_API_URL", "ftp://x"),
            ("OAUTH_ACCESS_TTL_SECONDS", "30"),
            ("OAUTH_REFRESH_TTL_SECONDS", "soon"),
            ("OAUTH_CODE_TTL_SECONDS", "1"),
        ] {
            let err = from(&[("GITHUB_CLIENT_ID", "x"), ("GITHUB_CLIENT_SECRET", "y"), (k, v)]).unwrap_err();
            assert!(err.contains(k), "{err}");
        }
    }

    #[test]
    fn development_mode_needs_no_configuration_and_opens_loopback() {
        let dev = from(&[("MCP_DEV_MODE", "true")]).unwrap();
        assert!(dev.ready().is_ok());
        assert!(dev.origins.allows("http://localhost:6274"));
        assert!(!from(&[]).unwrap().origins.allows("http://localhost:6274"));
        assert!(from(&[("MCP_SERVER_SECRET", "short")]).unwrap_err().contains("MCP_SERVER_SECRET"));
    }

    #[test]
    fn reads_every_setting() {
        let s = from(&[
            ("MCP_RESPONSE_MODE", "SSE"),
            ("MCP_SESSION_TTL_SECONDS", "30"),
            ("MCP_MAX_BODY_BYTES", "1024"),
            ("MCP_PAGE_SIZE", "2"),
            ("MCP_API_KEYS", "a,b"),
            ("MCP_ALLOW_ANONYMOUS", "true"),
            ("MCP_ALLOWED_ORIGINS", "https://x.example"),
            ("MCP_FIXTURES", "conformance"),
            ("MCP_CLIENT_REQUEST_TIMEOUT_SECONDS", "5"),
            ("MCP_SSE_PATH", "/legacy/sse"),
            ("MCP_MESSAGES_PATH", "/legacy/messages/"),
        ])
        .unwrap();
        assert_eq!(s.response_mode, ResponseMode::Sse);
        assert_eq!(s.session_ttl_ms, 30_000);
        assert_eq!(s.max_body_bytes, 1024);
        assert_eq!(s.page_size, 2);
        assert_eq!(s.access.api_keys.len(), 2);
        assert!(!s.development);
        assert!(s.access.allow_anonymous);
        assert!(s.origins.allows("https://x.example"));
        assert_eq!(s.fixtures, FixtureSet::Conformance);
        assert_eq!(s.client_request_timeout_ms, 5_000);
        assert_eq!(s.sse_path, "/legacy/sse");
        assert_eq!(s.messages_path, "/legacy/messages");
    }

    #[test]
    fn limits_are_read_with_their_defaults() {
        let d = from(&[]).unwrap();
        assert_eq!(d.streams, StreamLimits::default());
        assert_eq!(d.streams.max_open_streams, crate::stream::DEFAULT_MAX_OPEN_STREAMS);
        assert_eq!(d.max_sessions_per_caller, None, "off unless set: no round trip when opening sessions");
        assert!(d.tool_rate_limits.is_empty());
        let s = from(&[
            ("MCP_MAX_STREAMS_PER_SESSION", "3"),
            ("MCP_MAX_STORED_STREAMS", "2"),
            ("MCP_MAX_STORED_BYTES", "4096"),
            ("MCP_MAX_SESSIONS_PER_CALLER", "5"),
            ("MCP_TOOL_RATE_LIMITS", "search=2/10"),
        ])
        .unwrap();
        assert_eq!(s.streams.max_open_streams, 3);
        assert_eq!((s.streams.max_streams_stored, s.streams.max_stored_bytes), (2, 4096));
        assert_eq!(s.streams.max_streams_in_memory, 2, "memory keeps no more than storage may");
        assert_eq!(s.streams.max_memory_bytes, StreamLimits::default().max_memory_bytes);
        assert_eq!(s.max_sessions_per_caller, Some(5));
        assert_eq!(s.tool_rate_limits.get("search").map(|l| l.limit), Some(2));
        assert_eq!(from(&[("MCP_MAX_SESSIONS_PER_CALLER", "off")]).unwrap().max_sessions_per_caller, None);
    }

    #[test]
    fn rest_apis_are_read_with_the_rest_and_their_errors_name_the_setting() {
        let s = from(&[("OPENAPI_APIS", "pets"), ("OPENAPI_PETS_BASE_URL", "https://pets.example")]).unwrap();
        assert_eq!(s.openapi.len(), 1);
        assert_eq!(s.openapi[0].base.origin, "https://pets.example");
        let err = from(&[("OPENAPI_APIS", "pets")]).unwrap_err();
        assert!(err.contains("OPENAPI_PETS_BASE_URL"), "{err}");
        // Development mode lets a local backend be plain http on any host.
        let dev = from(&[
            ("MCP_DEV_MODE", "true"),
            ("OPENAPI_APIS", "x"),
            ("OPENAPI_X_BASE_URL", "http://backend:8080"),
        ]);
        assert_eq!(dev.unwrap().openapi[0].base.origin, "http://backend:8080");
    }

    #[test]
    fn malformed_values_name_the_setting() {
        for (k, v) in [
            ("MCP_RESPONSE_MODE", "xml"),
            ("MCP_SESSION_TTL_SECONDS", "0"),
            ("MCP_MAX_BODY_BYTES", "-5"),
            ("MCP_PAGE_SIZE", "many"),
            ("MCP_ALLOW_ANONYMOUS", "maybe"),
            ("MCP_FIXTURES", "everything"),
            ("MCP_CLIENT_REQUEST_TIMEOUT_SECONDS", "0"),
            ("MCP_SSE_PATH", "sse"),
            ("MCP_MESSAGES_PATH", "/mcp"),
            ("MCP_DEV_MODE", "perhaps"),
            ("MCP_API_KEYS", "a/b:key"),
            ("MCP_MAX_STREAMS_PER_SESSION", "0"),
            ("MCP_MAX_STORED_STREAMS", "lots"),
            ("MCP_MAX_STORED_BYTES", "10"),
            ("MCP_MAX_SESSIONS_PER_CALLER", "-1"),
            ("MCP_TOOL_RATE_LIMITS", "search"),
        ] {
            let err = from(&[(k, v)]).unwrap_err();
            assert!(err.contains(k), "{err}");
        }
    }
}
