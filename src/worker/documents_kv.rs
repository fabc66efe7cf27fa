//! The document collection from the `DOCUMENTS` KV namespace, falling back to the bundled one.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::documents::{Corpus, DocumentSource, KV_KEY};
use crate::handler::LocalFuture;

pub const BINDING: &str = "DOCUMENTS";
/// How long a loaded collection is served before KV is read again.
const CACHE_MS: u64 = 60_000;

pub struct KvDocuments {
    env: Env,
    bundled: Rc<Corpus>,
    cache: RefCell<Option<(Rc<Corpus>, u64)>>,
}

impl KvDocuments {
    pub fn new(env: Env) -> Self {
        Self { env, bundled: Rc::new(Corpus::bundled()), cache: RefCell::new(None) }
    }

    async fn load(&self) -> Result<Rc<Corpus>, String> {
        // Without the binding (a deployer may remove it), the bundled collection is served.
        let Ok(kv) = self.env.kv(BINDING) else {
            return Ok(self.bundled.clone());
        };
        let text = kv
            .get(KV_KEY)
            .text()
            .await
            .map_err(|e| format!("could not read {KV_KEY} from the {BINDING} KV namespace: {e}"))?;
        match text {
            None => Ok(self.bundled.clone()),
            Some(text) => Corpus::from_json(&text)
                .map(Rc::new)
                .map_err(|e| format!("{KV_KEY} in the {BINDING} KV namespace: {e}")),
        }
    }
}

impl DocumentSource for KvDocuments {
    fn corpus(&self) -> LocalFuture<'_, Result<Rc<Corpus>, String>> {
        Box::pin(async move {
            let now = super::now_ms();
            if let Some((corpus, at)) = &*self.cache.borrow() {
                if now.saturating_sub(*at) < CACHE_MS {
                    return Ok(corpus.clone());
                }
            }
            let corpus = self.load().await?;
            *self.cache.borrow_mut() = Some((corpus.clone(), now));
            Ok(corpus)
        })
    }
}
