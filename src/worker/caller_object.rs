//! `CallerLedger`: one Durable Object per caller (`caller:<identity id>` in `MCP_CALLERS`; a caller without
//! credentials, on an open deployment, one per client IP for its request window), counting exactly what must
//! hold across isolates for that caller: its live sessions (`MCP_MAX_SESSIONS_PER_CALLER`), its request window
//! (`MCP_RATE_LIMIT`) and its per-tool windows (`MCP_TOOL_RATE_LIMITS`). The rules are [`crate::per_caller`] and
//! [`crate::rate_limit::lease`]; it stores them and keeps nothing past its alarm: expired sessions and ended
//! windows are dropped, and an empty ledger deletes itself.
//!
//! Only asked when those settings are on: the session open (`initialize`, `GET /sse`) and end, a session's
//! expiry renewal (once a minute at most), an isolate's lease of requests (when its last is spent), and calls
//! of the tools listed. Failures let the request through (and are logged): a counter must not take the
//! service down.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::http;
use crate::error::HttpError;
use crate::identity::Identity;
use crate::per_caller::{self, object_name, CallerCall, CallerReply, LedgerWindow, LimitedCall, Sessions};
use crate::rate_limit::lease::{Admission, Asking, Leases};
use crate::rate_limit::{Policy, ToolDenial, ToolLimit};

/// The Durable Object namespace of callers.
const CALLER_BINDING: &str = "MCP_CALLERS";
/// A counted session: `s:<session id>` → when it expires (one key each: a caller may hold thousands).
const SESSION_PREFIX: &str = "s:";
/// The per-tool windows, all in one value (a deployment limits a few tools).
const TOOLS_KEY: &str = "tools";
/// The caller's request window (`MCP_RATE_LIMIT`).
const REQUESTS_KEY: &str = "requests";

/// What the ledger holds, read once from storage.
#[derive(Default)]
struct Ledger {
    sessions: Sessions,
    tools: BTreeMap<String, LedgerWindow>,
    requests: Option<LedgerWindow>,
}

thread_local! {
    /// What this isolate leased of its callers' request windows.
    static LEASES: RefCell<Leases> = RefCell::new(Leases::default());
}

#[durable_object(alarm)]
pub struct CallerLedger {
    state: State,
    ledger: RefCell<Option<Ledger>>,
    /// When the alarm is set for, as far as this instance knows.
    alarm_at: Cell<Option<u64>>,
}

impl DurableObject for CallerLedger {
    fn new(state: State, _env: Env) -> Self {
        Self { state, ledger: RefCell::new(None), alarm_at: Cell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let call = req.text().await.ok().and_then(|t| serde_json::from_str::<CallerCall>(&t).ok());
        let Some(call) = call else {
            worker::console_error!("caller object: a request the Worker did not build");
            return Ok(http::json(500, String::new()));
        };
        match self.serve(call).await {
            Ok(reply) => Ok(http::json(200, serde_json::to_string(&reply).unwrap_or_default())),
            Err(e) => {
                worker::console_error!("caller object: {e}");
                Ok(http::json(500, String::new()))
            }
        }
    }

    /// Drops expired sessions and ended windows; deletes everything once nothing is left. Retried by the
    /// runtime on failure.
    async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_at.set(None);
        self.load().await?;
        let now = super::now_ms();
        let storage = self.state.storage();
        let (empty, expired, tools, requests_ended) = {
            let mut ledger = self.ledger.borrow_mut();
            let ledger = ledger.as_mut().expect("loaded");
            let expired = ledger.sessions.prune(now);
            ledger.tools.retain(|_, w| w.ends_at() > now);
            let requests_ended = ledger.requests.take_if(|w| w.ends_at() <= now).is_some();
            let empty = ledger.sessions.is_empty() && ledger.tools.is_empty() && ledger.requests.is_none();
            (empty, expired, ledger.tools.clone(), requests_ended)
        };
        if empty {
            storage.delete_all().await?;
            return Response::empty();
        }
        delete_sessions(&storage, expired).await?;
        storage.put(TOOLS_KEY, &tools).await?;
        if requests_ended {
            storage.delete(REQUESTS_KEY).await?;
        }
        self.schedule().await?;
        Response::empty()
    }
}

impl CallerLedger {
    async fn load(&self) -> worker::Result<()> {
        if self.ledger.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let listed = storage.list_with_options(worker::ListOptions::new().prefix(SESSION_PREFIX)).await?;
        let mut sessions = Sessions::default();
        listed.for_each(&mut |expires, key| {
            if let (Some(key), Some(expires)) = (key.as_string(), expires.as_f64()) {
                if let Some(id) = key.strip_prefix(SESSION_PREFIX) {
                    sessions.keep(id, expires as u64);
                }
            }
        });
        let tools: Option<BTreeMap<String, LedgerWindow>> = storage.get(TOOLS_KEY).await?;
        let requests: Option<LedgerWindow> = storage.get(REQUESTS_KEY).await?;
        // Another request may have loaded it meanwhile; keep that copy.
        self.ledger.borrow_mut().get_or_insert_with(|| Ledger {
            sessions,
            tools: tools.unwrap_or_default(),
            requests,
        });
        Ok(())
    }

    async fn serve(&self, call: CallerCall) -> worker::Result<CallerReply> {
        self.load().await?;
        let now = super::now_ms();
        let storage = self.state.storage();
        let (reply, write) = {
            let mut ledger = self.ledger.borrow_mut();
            let ledger = ledger.as_mut().expect("loaded");
            match call {
                CallerCall::Open { session, expires_at_ms, limit } => {
                    let expired = ledger.sessions.prune(now);
                    match ledger.sessions.open(&session, expires_at_ms, now, limit) {
                        Ok(()) => {
                            let expires = ledger.sessions.expiry(&session).unwrap_or(expires_at_ms);
                            (CallerReply::Opened, Write::Session { expired, put: Some((session, expires)) })
                        }
                        Err(retry_after_ms) => {
                            let live = ledger.sessions.len();
                            let reply = CallerReply::Full { live, retry_after_ms };
                            (reply, Write::Session { expired, put: None })
                        }
                    }
                }
                CallerCall::Keep { session, expires_at_ms } => {
                    // Only a session still counted is renewed: this message may arrive after its `Close`.
                    let put = if ledger.sessions.renew(&session, expires_at_ms) {
                        ledger.sessions.expiry(&session).map(|expires| (session, expires))
                    } else {
                        None
                    };
                    (CallerReply::Done, Write::Session { expired: Vec::new(), put })
                }
                CallerCall::Close { session } => match ledger.sessions.close(&session) {
                    true => (CallerReply::Done, Write::Session { expired: vec![session], put: None }),
                    false => (CallerReply::Done, Write::Nothing),
                },
                CallerCall::Take { calls } => match per_caller::take_all(&mut ledger.tools, &calls, now) {
                    Ok(()) => (CallerReply::Took, Write::Tools(ledger.tools.clone())),
                    Err((index, take)) => (CallerReply::Refused { index, take }, Write::Nothing),
                },
                CallerCall::Lease { limit, window_ms, want } => {
                    let window = ledger.requests.get_or_insert_with(LedgerWindow::default);
                    let grant = window.lease(now, limit, window_ms, want);
                    let write = if grant.granted > 0 { Write::Requests(*window) } else { Write::Nothing };
                    (CallerReply::Leased(grant), write)
                }
            }
        };
        match write {
            Write::Nothing => return Ok(reply),
            Write::Session { expired, put } => {
                delete_sessions(&storage, expired).await?;
                if let Some((session, expires)) = put {
                    issue(storage.put(&format!("{SESSION_PREFIX}{session}"), expires));
                }
            }
            Write::Tools(tools) => issue(storage.put(TOOLS_KEY, &tools)),
            Write::Requests(window) => issue(storage.put(REQUESTS_KEY, &window)),
        }
        self.schedule().await?;
        Ok(reply)
    }

    /// Sets the alarm for the first thing that expires, unless it is set for earlier already.
    async fn schedule(&self) -> worker::Result<()> {
        let next = {
            let ledger = self.ledger.borrow();
            let Some(ledger) = ledger.as_ref() else { return Ok(()) };
            let windows = ledger.tools.values().chain(&ledger.requests).map(LedgerWindow::ends_at);
            ledger.sessions.next_expiry().into_iter().chain(windows).min()
        };
        let Some(next) = next else { return Ok(()) };
        if self.alarm_at.get().is_some_and(|at| at <= next) {
            return Ok(());
        }
        let now = super::now_ms();
        self.state.storage().set_alarm(Duration::from_millis(next.saturating_sub(now).max(1))).await?;
        self.alarm_at.set(Some(next));
        Ok(())
    }
}

/// What a call changed, to store.
enum Write {
    Nothing,
    /// Sessions to forget, and one to count until when.
    Session {
        expired: Vec<String>,
        put: Option<(String, u64)>,
    },
    Tools(BTreeMap<String, LedgerWindow>),
    Requests(LedgerWindow),
}

/// Starts a storage write without waiting for it: the runtime's output gate holds this object's answers until
/// the write is durable (and resets the object if it fails), so the answer is as safe, while the next request,
/// often of the same caller, need not queue behind the write.
fn issue(write: impl std::future::Future<Output = worker::Result<()>>) {
    // The first poll makes the call; the runtime carries it on without the future.
    let _ = futures_util::FutureExt::now_or_never(write);
}

async fn delete_sessions(storage: &worker::Storage, ids: Vec<String>) -> worker::Result<()> {
    // At most 128 keys per call.
    let keys: Vec<String> = ids.iter().map(|id| format!("{SESSION_PREFIX}{id}")).collect();
    for batch in keys.chunks(128) {
        storage.delete_multiple(batch.to_vec()).await?;
    }
    Ok(())
}

/// Asks `caller_id`'s object. `Err` holds the detail, for the log.
pub async fn call(env: &Env, caller_id: &str, call: &CallerCall) -> Result<CallerReply, String> {
    ask(env, &object_name(caller_id), call).await
}

/// Asks the ledger object named `name`.
async fn ask(env: &Env, name: &str, call: &CallerCall) -> Result<CallerReply, String> {
    let body = serde_json::to_string(call).map_err(|e| e.to_string())?;
    let text = super::object_call::ask(env, CALLER_BINDING, name, "https://caller/", body).await?;
    serde_json::from_str(&text).map_err(|_| "the caller object's answer is malformed".into())
}

/// Admits one MCP request of the caller counted under `key` (`MCP_RATE_LIMIT`): from this isolate's lease of
/// the caller's window, or, when it is spent, from a new lease asked of the ledger named `key` (see
/// [`crate::rate_limit::lease`]). Past the limit: 429 saying when the window ends. A failure of the ledger
/// lets the request through.
pub async fn admit_request(env: &Env, policy: Policy, key: &str) -> Result<(), HttpError> {
    let (limit, window_ms) = (policy.limit, policy.window_ms());
    let refused = |reset_ms: u64| HttpError::RateLimited {
        policy,
        retry_after_seconds: reset_ms.div_ceil(1000).max(1),
    };
    let asking = match LEASES.with(|l| l.borrow_mut().admit(key, super::now_ms(), limit, window_ms)) {
        Admission::Admitted => return Ok(()),
        Admission::Refused { reset_ms } => return Err(refused(reset_ms)),
        Admission::Ask(asking) => asking,
    };
    let call = CallerCall::Lease { limit, window_ms, want: asking.want };
    let admission = match ask(env, key, &call).await {
        Ok(CallerReply::Leased(grant)) => LEASES.with(|l| l.borrow_mut().granted(key, asking, grant)),
        Ok(_) => fail_open(key, asking, "the caller object answered a lease with something else"),
        Err(detail) => fail_open(key, asking, &detail),
    };
    match admission {
        Admission::Refused { reset_ms } => Err(refused(reset_ms)),
        _ => Ok(()),
    }
}

fn fail_open(key: &str, asking: Asking, detail: &str) -> Admission {
    LEASES.with(|l| l.borrow_mut().failed(key, asking));
    log_failure("lease", detail);
    Admission::Admitted
}

fn log_failure(what: &str, detail: &str) {
    worker::console_error!(
        "{}",
        serde_json::json!({ "event": "caller_ledger", "call": what, "error": detail })
    );
}

/// Counts session `session` of `caller` when `MCP_MAX_SESSIONS_PER_CALLER` is on: 429 naming the setting when
/// the caller holds that many live sessions already. A failure of the ledger lets the session open.
pub async fn open_session(
    env: &Env,
    settings: &crate::config::Settings,
    caller: &Identity,
    session: &str,
) -> Result<(), HttpError> {
    let Some(limit) = settings.max_sessions_per_caller else { return Ok(()) };
    let expires_at_ms = super::now_ms() + settings.session_ttl_ms;
    let request = CallerCall::Open { session: session.to_string(), expires_at_ms, limit };
    match call(env, caller.id(), &request).await {
        Ok(CallerReply::Full { live, retry_after_ms }) => Err({
            super::metrics_recorder::rate_limited("sessions");
            HttpError::LimitReached {
            message: format!(
                "this caller has {live} sessions open, the most it may (MCP_MAX_SESSIONS_PER_CALLER={limit}); end \
                 one with DELETE, or wait for an idle one to expire"
            ),
            retry_after_seconds: retry_after_ms.div_ceil(1000).max(1),
            }
        }),
        Ok(_) => Ok(()),
        Err(detail) => {
            log_failure("open", &detail);
            Ok(())
        }
    }
}

/// Tells `owner`'s ledger that a session was used and now expires at `expires_at_ms`, in the background;
/// nothing when the limit is off.
pub fn keep_session(
    env: &Env,
    settings: &crate::config::Settings,
    owner: &str,
    session: &str,
    expires_at_ms: u64,
) {
    if settings.max_sessions_per_caller.is_none() {
        return;
    }
    let request = CallerCall::Keep { session: session.to_string(), expires_at_ms };
    let (env, owner) = (env.clone(), owner.to_string());
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(detail) = call(&env, &owner, &request).await {
            log_failure("keep", &detail);
        }
    });
}

/// Tells `owner`'s ledger that a session ended; nothing when the limit is off. A failure is only logged: the
/// ledger drops the session at its expiry anyway.
pub async fn close_session(env: &Env, settings: &crate::config::Settings, owner: &str, session: &str) {
    if settings.max_sessions_per_caller.is_none() {
        return;
    }
    if let Err(detail) = call(env, owner, &CallerCall::Close { session: session.to_string() }).await {
        log_failure("close", &detail);
    }
}

/// Counts the calls of limited tools in `limits` (one each, in order; all or none) for `caller`: when one does not
/// fit, none is counted and the 429 says when its window ends. A failure of the ledger lets the calls through.
pub async fn take_tool_calls(env: &Env, caller: &Identity, limits: &[&ToolLimit]) -> Result<(), HttpError> {
    if limits.is_empty() {
        return Ok(());
    }
    let calls = limits
        .iter()
        .map(|l| LimitedCall {
            tool: l.tool.clone(),
            limit: l.limit,
            window_ms: u64::from(l.window_seconds) * 1000,
        })
        .collect();
    match call(env, caller.id(), &CallerCall::Take { calls }).await {
        Ok(CallerReply::Refused { index, take }) => {
            super::metrics_recorder::rate_limited("tool");
            let limit = limits.get(index).copied().unwrap_or(limits[0]);
            Err(HttpError::ToolRateLimited(ToolDenial::new(limit, &take)))
        }
        Ok(_) => Ok(()),
        Err(detail) => {
            log_failure("take", &detail);
            Ok(())
        }
    }
}
