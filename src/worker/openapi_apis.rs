//! The configured REST APIs in this isolate: each API's index read from the `OPENAPI` KV namespace (key
//! `openapi:<name>`), parsed once and read again every [`REFRESH_MS`] (parsed again only when it changed), so
//! an import reaches running isolates without a redeploy; calls sent with the fetch API
//! ([`outbound::send_capped`]). A missing or invalid index leaves its API out, logged and on `/health`; the
//! previous index stays served while KV cannot be read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use sha2::{Digest, Sha256};
use worker::Env;

use super::outbound;
use crate::config::Settings;
use crate::handler::LocalFuture;
use crate::openapi::answer::Received;
use crate::openapi::credentials::TokenCache;
use crate::openapi::request::OutgoingRequest;
use crate::openapi::{parse_index, Api, Backend};
use crate::toolset::rest_apis::LoadedApis;

pub const BINDING: &str = "OPENAPI";
/// How long a loaded index is served before KV is read again.
pub const REFRESH_MS: u64 = 60_000;

/// One API as last loaded: its index's digest and the outcome.
struct Entry {
    digest: Option<[u8; 32]>,
    outcome: Result<Rc<Api>, String>,
}

#[derive(Default)]
struct Loaded {
    at_ms: u64,
    generation: u64,
    entries: Vec<(String, Entry)>,
}

thread_local! {
    static LOADED: RefCell<Option<Loaded>> = const { RefCell::new(None) };
    /// Client-credentials tokens outlive reloads of the index.
    static TOKENS: RefCell<HashMap<String, Rc<TokenCache>>> = RefCell::new(HashMap::new());
}

/// The APIs as of now, by name (the API, or why it is not served), and a generation that changes whenever one
/// of them does.
pub async fn current(env: &Env, settings: &Settings) -> (u64, LoadedApis) {
    let now = super::now_ms();
    let fresh = LOADED
        .with(|l| l.borrow().as_ref().filter(|l| now.saturating_sub(l.at_ms) < REFRESH_MS).map(snapshot));
    if let Some(fresh) = fresh {
        return fresh;
    }
    let mut texts = Vec::new();
    for api in &settings.openapi {
        texts.push(read(env, &api.kv_key()).await);
    }
    LOADED.with(|cell| {
        let mut cell = cell.borrow_mut();
        let previous = cell.take().unwrap_or_default();
        let mut changed = previous.entries.len() != settings.openapi.len();
        let mut entries = Vec::new();
        for (api, text) in settings.openapi.iter().zip(texts) {
            let before = previous.entries.iter().find(|(name, _)| *name == api.name).map(|(_, e)| e);
            let entry = match (text, before) {
                // KV did not answer: keep serving what was loaded.
                (Err(why), Some(before)) if before.outcome.is_ok() => {
                    worker::console_error!(
                        "{}",
                        serde_json::json!({"event": "openapi", "api": api.name, "error": why})
                    );
                    Entry { digest: before.digest, outcome: before.outcome.clone() }
                }
                (Err(why), _) => Entry { digest: None, outcome: Err(why) },
                (Ok(text), before) => {
                    let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
                    match before {
                        Some(before) if before.digest == Some(digest) => {
                            Entry { digest: Some(digest), outcome: before.outcome.clone() }
                        }
                        _ => Entry { digest: Some(digest), outcome: build(api, &text) },
                    }
                }
            };
            changed |=
                before.is_none_or(|b| b.digest != entry.digest || b.outcome.is_ok() != entry.outcome.is_ok());
            entries.push((api.name.clone(), entry));
        }
        let generation = previous.generation + u64::from(changed);
        if changed {
            for (name, entry) in &entries {
                if let Err(why) = &entry.outcome {
                    worker::console_error!(
                        "{}",
                        serde_json::json!({"event": "openapi", "api": name, "error": why})
                    );
                }
            }
        }
        let loaded = Loaded { at_ms: now, generation, entries };
        let out = snapshot(&loaded);
        *cell = Some(loaded);
        out
    })
}

fn snapshot(loaded: &Loaded) -> (u64, LoadedApis) {
    let apis = loaded.entries.iter().map(|(name, e)| (name.clone(), e.outcome.clone())).collect();
    (loaded.generation, apis)
}

/// The index text of `key`; an error says what is missing and how to fix it.
async fn read(env: &Env, key: &str) -> Result<String, String> {
    let kv =
        env.kv(BINDING).map_err(|_| format!("the {BINDING} KV binding is missing (see wrangler.toml)"))?;
    match kv.get(key).text().await {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(format!(
            "{key} is not in the {BINDING} KV namespace: import the spec with `npm run openapi:import`"
        )),
        Err(e) => Err(format!("could not read {key} from the {BINDING} KV namespace: {e}")),
    }
}

fn build(api: &crate::openapi::settings::ApiSettings, text: &str) -> Result<Rc<Api>, String> {
    let index = parse_index(text).map_err(|e| format!("{}: {e}", api.kv_key()))?;
    let tokens = TOKENS.with(|t| t.borrow_mut().entry(api.name.clone()).or_default().clone());
    Ok(Rc::new(Api { settings: api.clone(), index, tokens, backend: Rc::new(FetchBackend) }))
}

/// [`Backend`] over the Workers fetch API.
pub struct FetchBackend;

impl Backend for FetchBackend {
    fn send(
        &self,
        request: OutgoingRequest,
        timeout_ms: u64,
        max_bytes: usize,
    ) -> LocalFuture<'_, Result<Received, String>> {
        Box::pin(outbound::send_capped(request, timeout_ms, max_bytes))
    }

    fn now_ms(&self) -> u64 {
        super::now_ms()
    }

    fn boundary(&self) -> String {
        format!("mcp-{}", crate::random::hex::<16>())
    }
}
