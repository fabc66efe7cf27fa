//! The configured REST APIs in this isolate: each API's index read from the `OPENAPI` KV namespace (key
//! `openapi:<name>`) at most every [`REFRESH_MS`] (the rules of what is parsed, kept and logged are
//! [`Loader`]'s), so an import reaches running isolates without a redeploy; calls sent with the fetch API
//! ([`outbound::send_capped`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use worker::Env;

use super::outbound;
use crate::config::Settings;
use crate::handler::LocalFuture;
use crate::openapi::answer::Received;
use crate::openapi::credentials::TokenCache;
use crate::openapi::loader::{LoadedApis, Loader};
use crate::openapi::request::OutgoingRequest;
use crate::openapi::settings::ApiSettings;
use crate::openapi::{parse_index, Api, Backend};

pub const BINDING: &str = "OPENAPI";
/// How long a loaded index is served before KV is read again.
pub const REFRESH_MS: u64 = 60_000;

thread_local! {
    static LOADER: RefCell<Loader> = RefCell::new(Loader::default());
    /// Client-credentials tokens outlive reloads of the index.
    static TOKENS: RefCell<HashMap<String, Rc<TokenCache>>> = RefCell::new(HashMap::new());
}

/// The generation of the APIs as of now (it changes whenever one of them does), and the APIs by name (each, or
/// why it is not served) unless `known` is that generation already: a warm request copies nothing. Reads KV
/// when [`Loader::claim_read`] says this request should.
pub async fn current(env: &Env, settings: &Settings, known: Option<u64>) -> (u64, Option<LoadedApis>) {
    let now = super::now_ms();
    // One request of the isolate reads KV when the indexes are due; the others meanwhile serve what was loaded.
    if LOADER.with(|l| l.borrow_mut().claim_read(now, REFRESH_MS)) {
        let mut texts = Vec::with_capacity(settings.openapi.len());
        for api in &settings.openapi {
            texts.push(read(env, &api.kv_key()).await);
        }
        LOADER.with(|l| {
            for (api, error) in l.borrow_mut().update(&settings.openapi, texts, now, build) {
                let kept = "the index loaded before is still served";
                worker::console_error!(
                    "{}",
                    serde_json::json!({"event": "openapi", "api": api, "error": error, "kept": kept})
                );
            }
        });
    }
    LOADER.with(|l| {
        let loader = l.borrow();
        match loader.generation() {
            generation if Some(generation) == known => (generation, None),
            generation => (generation, Some(loader.snapshot().1)),
        }
    })
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

fn build(api: &ApiSettings, text: &str) -> Result<Rc<Api>, String> {
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
