//! What one isolate keeps between requests: the parsed settings and the assembled server. Both depend only
//! on the deployment's variables, which do not change during an isolate's life.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use worker::Env;

use super::analytics::Analytics;
use super::audit_log::AuditLog;
use super::documents_kv::KvDocuments;
use super::listen_hub;
use super::metrics_recorder::{self, MetricsObserver};
use super::openapi_apis;
use super::timer;
use crate::config::{FixtureSet, Settings};
use crate::handler::{Observer, Observers, Server, ToolTimeout};
use crate::identity::Identity;
use crate::session::id::{Kind, SessionIds};
use crate::toolset::rest_apis::{self, ApiStatus};
use crate::toolset::{self, Fixtures};

thread_local! {
    static SETTINGS: OnceCell<Result<Rc<Settings>, String>> = const { OnceCell::new() };
    static SERVER: OnceCell<Rc<Server>> = const { OnceCell::new() };
    /// The server with the REST APIs' tools, for the generation of the APIs it was built with.
    static WITH_APIS: RefCell<Option<(u64, Served)>> = const { RefCell::new(None) };
    /// The REST APIs' tool names, which metrics and analytics keep as labels like the built-in ones.
    static API_TOOL_NAMES: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    static VERIFIED: RefCell<HashMap<String, (Kind, String)>> = RefCell::new(HashMap::new());
    static GRANTS: RefCell<HashMap<String, (bool, u64)>> = RefCell::new(HashMap::new());
}

/// How long an isolate trusts what it learnt of a grant: a grant revoked elsewhere stops working here within
/// this time (at once in the isolate that revoked it). Warm OAuth calls thus cost no store round trip.
pub const GRANT_STATUS_MS: u64 = 30_000;
const GRANTS_CAPACITY: usize = 4096;

/// Whether grant `id` is live, if this isolate learnt it less than [`GRANT_STATUS_MS`] ago.
pub fn grant_status(id: &str, now_ms: u64) -> Option<bool> {
    GRANTS.with(|g| g.borrow().get(id).filter(|(_, at)| now_ms < at + GRANT_STATUS_MS).map(|(live, _)| *live))
}

/// Remembers what the grant object said of grant `id`.
pub fn remember_grant(id: &str, live: bool, now_ms: u64) {
    GRANTS.with(|g| {
        let mut g = g.borrow_mut();
        if g.len() >= GRANTS_CAPACITY {
            g.retain(|_, (_, at)| now_ms < *at + GRANT_STATUS_MS);
            if g.len() >= GRANTS_CAPACITY {
                g.clear();
            }
        }
        g.insert(id.to_string(), (live, now_ms));
    });
}

/// Forgets grant `id`, so the next request asks its object again.
pub fn forget_grant(id: &str) {
    GRANTS.with(|g| g.borrow_mut().remove(id));
}

/// Session ids this isolate verified recently, with the caller they were verified for.
const VERIFIED_CAPACITY: usize = 4096;

/// The form of session `id` if this server issued it and it belongs to `caller` (a deferred id's owner tag
/// matches); `None` otherwise. Verifying costs two HMACs and a JSON parse, so an isolate remembers the ids it
/// verified for a caller (a session sends many requests).
pub fn verified_session(ids: &SessionIds, id: &str, caller: &Identity, now_ms: u64) -> Option<Kind> {
    let known =
        VERIFIED.with(|v| v.borrow().get(id).filter(|(_, who)| who == caller.id()).map(|(k, _)| k.clone()));
    if known.is_some() {
        return known;
    }
    let kind = ids.verify(id, now_ms)?;
    if let Kind::Deferred { owner, .. } = &kind {
        if !ids.is_owner(owner, caller) {
            return None;
        }
    }
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= VERIFIED_CAPACITY {
            v.clear();
        }
        v.insert(id.to_string(), (kind.clone(), caller.id().to_string()));
    });
    Some(kind)
}

/// The settings, or the message explaining which one is malformed.
pub fn settings(env: &Env) -> Result<Rc<Settings>, String> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            let parsed = Settings::from_lookup(|name| {
                env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok()
            });
            // Once per isolate: every request then answers 503 naming the setting, and /health reports it.
            if let Err(why) = &parsed {
                worker::console_error!("{}", serde_json::json!({ "event": "configuration", "error": why }));
            }
            metrics_recorder::enable(parsed.as_ref().is_ok_and(|s| s.metrics_token.is_some()));
            parsed.map(Rc::new)
        })
        .clone()
    })
}

/// The MCP server with this deployment's tools, the configured REST APIs' included (their indexes are read
/// from KV at most once a minute; the server is rebuilt only when one changed).
pub async fn server(env: &Env, settings: &Settings) -> Rc<Server> {
    server_and_apis(env, settings).await.0
}

/// The server, and how each configured REST API is served.
type Served = (Rc<Server>, Rc<Vec<ApiStatus>>);

/// [`server`], and how each configured REST API is served.
pub async fn server_and_apis(env: &Env, settings: &Settings) -> Served {
    let base = base_server(env, settings);
    if settings.openapi.is_empty() {
        return (base, Rc::default());
    }
    let known = WITH_APIS.with(|w| w.borrow().as_ref().map(|(generation, _)| *generation));
    let (generation, apis) = openapi_apis::current(env, settings, known).await;
    let apis = match apis {
        Some(apis) => apis,
        // The server built for this generation.
        None => match WITH_APIS.with(|w| w.borrow().as_ref().map(|(_, built)| built.clone())) {
            Some(built) => return built,
            None => openapi_apis::current(env, settings, None).await.1.unwrap_or_default(),
        },
    };
    let (server, statuses) = rest_apis::add_apis((*base).clone(), apis, &settings.exposure);
    // Once per change: an API not served (index missing or invalid, a name taken), in the log.
    for status in &statuses {
        if let Err(error) = &status.served {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "openapi", "api": status.name, "error": error})
            );
        }
    }
    // At most this many labels, so a deployment serving many operations keeps its metrics small.
    let names = server.registries().0.names().take(512).map(str::to_string).collect();
    API_TOOL_NAMES.with(|n| *n.borrow_mut() = names);
    let built = (Rc::new(server), Rc::new(statuses));
    WITH_APIS.with(|w| *w.borrow_mut() = Some((generation, built.clone())));
    built
}

/// The server with the built-in tools only.
fn base_server(env: &Env, settings: &Settings) -> Rc<Server> {
    SERVER.with(|cell| {
        cell.get_or_init(|| {
            let documents = Rc::new(KvDocuments::new(env.clone()));
            let fixtures = match settings.fixtures {
                FixtureSet::None => Fixtures::None,
                FixtureSet::Conformance => {
                    let env = env.clone();
                    Fixtures::Conformance {
                        sleep: Rc::new(|d| Box::pin(timer::sleep(d))),
                        announce: Rc::new(move |kind| {
                            let env = env.clone();
                            Box::pin(async move { listen_hub::announce(&env, kind).await })
                        }),
                    }
                }
            };
            let timeout = ToolTimeout {
                after: Duration::from_millis(settings.tool_timeout_ms),
                sleep: Rc::new(|d| Box::pin(timer::sleep(d))),
            };
            let server =
                toolset::server_with(documents, settings.page_size, fixtures, settings.sign_in.is_some())
                    .exposure(settings.exposure.clone())
                    .tool_timeout(timeout);
            // Tool names the metrics and analytics keep as labels; any other name a client sends is `other`.
            let names: HashSet<String> = server.tool_names().map(str::to_string).collect();
            let known: Rc<dyn Fn(&str) -> bool> = Rc::new(move |name| {
                names.contains(name) || API_TOOL_NAMES.with(|n| n.borrow().contains(name))
            });
            let mut observers: Vec<Rc<dyn Observer>> = Vec::new();
            if settings.log_level.audits() {
                observers.push(Rc::new(AuditLog));
            }
            if settings.metrics_token.is_some() {
                observers.push(Rc::new(MetricsObserver { known: known.clone() }));
            }
            if let Some(analytics) = Analytics::bound(env, known) {
                observers.push(Rc::new(analytics));
            }
            let server = match observers.len() {
                0 => server,
                1 => server.observer(observers.remove(0)),
                _ => server.observer(Rc::new(Observers(observers))),
            };
            Rc::new(server)
        })
        .clone()
    })
}
