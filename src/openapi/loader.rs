//! What an isolate does with the index texts it reads (the shell reads them from KV): each API's index parsed
//! only when its text changed, the last good one kept while its text cannot be read, and a generation that
//! changes whenever an API does, so the server is rebuilt only then.

use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::settings::ApiSettings;
use super::Api;

/// The configured APIs by name: each loaded, or why it is not.
pub type LoadedApis = Vec<(String, Result<Rc<Api>, String>)>;

/// One API as last loaded.
struct Entry {
    name: String,
    digest: Option<[u8; 32]>,
    outcome: Result<Rc<Api>, String>,
}

/// How long one request's reading of the texts may take before another request of the isolate reads them
/// instead (the first one's request may have been cancelled, never to call [`Loader::update`]).
pub const READ_GIVEN_UP_MS: u64 = 10_000;

/// The APIs as last loaded.
#[derive(Default)]
pub struct Loader {
    loaded_at_ms: Option<u64>,
    /// When a request of this isolate began reading the texts again, until its [`Loader::update`].
    reading_since_ms: Option<u64>,
    generation: u64,
    entries: Vec<Entry>,
}

impl Loader {
    /// Whether what was loaded is younger than `max_age_ms` at `now_ms`.
    pub fn is_fresh(&self, now_ms: u64, max_age_ms: u64) -> bool {
        self.loaded_at_ms.is_some_and(|at| now_ms.saturating_sub(at) < max_age_ms)
    }

    /// Whether the request asking at `now_ms` should read the texts (and then [`Self::update`]): always while
    /// nothing is loaded, since there is nothing to serve meanwhile; once something is, only when it is older
    /// than `max_age_ms` and no other request is reading them already, so that the requests arriving while
    /// one reads are served what was loaded instead of all reading KV at once.
    pub fn claim_read(&mut self, now_ms: u64, max_age_ms: u64) -> bool {
        if self.loaded_at_ms.is_none() {
            return true;
        }
        let reading = self.reading_since_ms.is_some_and(|at| now_ms.saturating_sub(at) < READ_GIVEN_UP_MS);
        if self.is_fresh(now_ms, max_age_ms) || reading {
            return false;
        }
        self.reading_since_ms = Some(now_ms);
        true
    }

    /// Takes in the texts just read for `apis` (in their order; an error when a text could not be read, or is
    /// missing), building the APIs whose text changed with `build`. Returns the read failures of APIs still
    /// served from what was loaded before (an API that is not served shows its reason in [`Self::snapshot`],
    /// and a new generation says when that changed).
    pub fn update(
        &mut self,
        apis: &[ApiSettings],
        texts: Vec<Result<String, String>>,
        now_ms: u64,
        build: impl Fn(&ApiSettings, &str) -> Result<Rc<Api>, String>,
    ) -> Vec<(String, String)> {
        let mut changed = self.entries.len() != apis.len();
        let mut entries = Vec::with_capacity(apis.len());
        let mut kept = Vec::new();
        for (api, text) in apis.iter().zip(texts) {
            let before = self.entries.iter().find(|e| e.name == api.name);
            let (digest, outcome) = match (text, before) {
                // The text could not be read: keep serving what was loaded, and say why.
                (Err(why), Some(before)) if before.outcome.is_ok() => {
                    kept.push((api.name.clone(), why));
                    (before.digest, before.outcome.clone())
                }
                (Err(why), _) => (None, Err(why)),
                (Ok(text), before) => {
                    let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
                    match before {
                        Some(before) if before.digest == Some(digest) => {
                            (Some(digest), before.outcome.clone())
                        }
                        _ => (Some(digest), build(api, &text)),
                    }
                }
            };
            changed |= before
                .is_none_or(|b| b.digest != digest || b.outcome.as_ref().err() != outcome.as_ref().err());
            entries.push(Entry { name: api.name.clone(), digest, outcome });
        }
        self.entries = entries;
        self.loaded_at_ms = Some(now_ms);
        self.reading_since_ms = None;
        self.generation += u64::from(changed);
        kept
    }

    /// Changes whenever an API does (its index, or why it is not served).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The APIs as loaded, and their generation.
    pub fn snapshot(&self) -> (u64, LoadedApis) {
        let apis = self.entries.iter().map(|e| (e.name.clone(), e.outcome.clone())).collect();
        (self.generation, apis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::credentials::TokenCache;
    use crate::openapi::{parse_index, settings};
    use std::cell::Cell;
    use std::collections::HashMap;

    const ZOO: &str = include_str!("../../tests/e2e/fixtures/openapi/zoo.json");

    struct NoBackend;

    impl crate::openapi::Backend for NoBackend {
        fn send(
            &self,
            _: crate::openapi::request::OutgoingRequest,
            _: u64,
            _: usize,
        ) -> crate::handler::LocalFuture<'_, Result<crate::openapi::answer::Received, String>> {
            Box::pin(async { Err("unused".to_string()) })
        }
        fn now_ms(&self) -> u64 {
            0
        }
        fn boundary(&self) -> String {
            String::new()
        }
    }

    fn apis() -> Vec<ApiSettings> {
        let map: HashMap<&str, &str> = [
            ("OPENAPI_APIS", "a,b"),
            ("OPENAPI_A_BASE_URL", "https://a.example"),
            ("OPENAPI_B_BASE_URL", "https://b.example"),
        ]
        .into();
        settings::parse(&|k| map.get(k).map(|v| v.to_string()), false).unwrap()
    }

    #[test]
    fn indexes_are_parsed_only_when_they_change_and_the_last_good_one_is_kept() {
        let apis = apis();
        let builds = Cell::new(0);
        let build = |api: &ApiSettings, text: &str| {
            builds.set(builds.get() + 1);
            let index = parse_index(text)?;
            Ok(Rc::new(Api {
                settings: api.clone(),
                index,
                tokens: Rc::new(TokenCache::default()),
                backend: Rc::new(NoBackend),
            }))
        };
        let mut loader = Loader::default();
        assert!(!loader.is_fresh(0, 60_000));
        let kept = loader.update(&apis, vec![Ok(ZOO.into()), Err("b is missing".into())], 1_000, build);
        assert_eq!(kept, vec![]);
        let (first, loaded) = loader.snapshot();
        assert!(first > 0);
        assert!(loaded[0].1.is_ok());
        assert_eq!(loaded[1].1.as_ref().err().map(String::as_str), Some("b is missing"));
        assert!(loader.is_fresh(60_999, 60_000) && !loader.is_fresh(61_000, 60_000));
        assert_eq!(builds.get(), 1);

        // The same texts: nothing parsed again, the same generation (so nothing is rebuilt or logged again).
        let kept = loader.update(&apis, vec![Ok(ZOO.into()), Err("b is missing".into())], 2_000, build);
        assert_eq!((kept, loader.snapshot().0, builds.get()), (vec![], first, 1));

        // KV fails for a: the index loaded last is still served, the failure is returned to be logged.
        let kept =
            loader.update(&apis, vec![Err("KV is down".into()), Err("b is missing".into())], 3_000, build);
        assert_eq!(kept, vec![("a".to_string(), "KV is down".to_string())]);
        assert!(loader.snapshot().1[0].1.is_ok());
        assert_eq!(loader.snapshot().0, first);

        // b appears, a changes to something invalid: both rebuilt, a new generation.
        assert_eq!(loader.update(&apis, vec![Ok("{}".into()), Ok(ZOO.into())], 4_000, build), vec![]);
        let (next, loaded) = loader.snapshot();
        assert!(next > first);
        assert!(loaded[0].1.as_ref().err().unwrap().contains("not valid"));
        assert!(loaded[1].1.is_ok());
        assert_eq!(builds.get(), 3);
    }

    #[test]
    fn one_request_at_a_time_reads_again_while_the_others_are_served_what_was_loaded() {
        let apis = apis();
        let build = |_: &ApiSettings, _: &str| Err("not built".to_string());
        let mut loader = Loader::default();
        // Nothing loaded: every request reads, there is nothing to serve meanwhile.
        assert!(loader.claim_read(0, 60_000) && loader.claim_read(1, 60_000));
        loader.update(&apis, vec![Err("a".into()), Err("b".into())], 1_000, build);
        assert!(!loader.claim_read(60_999, 60_000), "fresh");
        // Stale: the first request reads, the others meanwhile do not.
        assert!(loader.claim_read(61_000, 60_000));
        assert!(
            !loader.claim_read(61_001, 60_000) && !loader.claim_read(61_000 + READ_GIVEN_UP_MS - 1, 60_000)
        );
        // A read that never ended (its request was cancelled) is given up.
        assert!(loader.claim_read(61_000 + READ_GIVEN_UP_MS, 60_000));
        loader.update(&apis, vec![Err("a".into()), Err("b".into())], 72_000, build);
        assert!(!loader.claim_read(72_001, 60_000), "fresh again, nobody reads");
        assert!(loader.claim_read(132_000, 60_000));
    }
}
