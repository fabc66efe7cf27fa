//! What one isolate keeps between requests: the parsed settings and the assembled server. Both depend only
//! on the deployment's variables, which do not change during an isolate's life.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::{Delay, Env};

use super::documents_kv::KvDocuments;
use crate::config::{FixtureSet, Settings};
use crate::handler::Server;
use crate::toolset::{self, Fixtures};

thread_local! {
    static SETTINGS: OnceCell<Result<Rc<Settings>, String>> = const { OnceCell::new() };
    static SERVER: OnceCell<Rc<Server>> = const { OnceCell::new() };
}

/// The settings, or the message explaining which one is malformed.
pub fn settings(env: &Env) -> Result<Rc<Settings>, String> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            Settings::from_lookup(|name| {
                env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok()
            })
            .map(Rc::new)
        })
        .clone()
    })
}

/// The MCP server with this deployment's tools.
pub fn server(env: &Env, settings: &Settings) -> Rc<Server> {
    SERVER.with(|cell| {
        cell.get_or_init(|| {
            let documents = Rc::new(KvDocuments::new(env.clone()));
            let fixtures = match settings.fixtures {
                FixtureSet::None => Fixtures::None,
                FixtureSet::Conformance => {
                    Fixtures::Conformance { sleep: Rc::new(|d| Box::pin(Delay::from(d))) }
                }
            };
            Rc::new(toolset::server(documents, settings.page_size, fixtures))
        })
        .clone()
    })
}
