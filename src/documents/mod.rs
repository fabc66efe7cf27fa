//! The document collection behind `search`, `fetch` and the `docs://` resources.
//!
//! The worker ships `data/documents.json`; a deployer replaces it by writing their own JSON array to the
//! `documents.json` key of the `DOCUMENTS` KV namespace. Loading is the shell's job ([`DocumentSource`]);
//! parsing and ranking are here, plain and tested.

use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::handler::LocalFuture;

/// The collection bundled into the worker.
pub const BUNDLED_JSON: &str = include_str!("../../data/documents.json");

/// The KV key a deployer writes their collection to.
pub const KV_KEY: &str = "documents.json";

/// One document, in the shape ChatGPT's `fetch` expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Document {
    /// Stable identifier, used by `fetch` and in `docs://<id>`.
    pub id: String,
    pub title: String,
    /// Where a person can read the document; shown as a citation.
    pub url: String,
    /// The full text.
    pub text: String,
    /// Free-form attributes (source, topic, dates...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub metadata: Option<Value>,
}

/// One `search` hit: enough to cite and to `fetch` it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub url: String,
}

/// A validated collection: unique, non-empty ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Corpus {
    documents: Vec<Document>,
    by_id: HashMap<String, usize>,
}

impl Corpus {
    /// Parses a JSON array of documents, refusing duplicates and empty ids with a clear message.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let documents: Vec<Document> =
            serde_json::from_str(text).map_err(|e| format!("the document collection is not valid: {e}"))?;
        let mut by_id = HashMap::with_capacity(documents.len());
        for (i, doc) in documents.iter().enumerate() {
            if doc.id.trim().is_empty() {
                return Err(format!("document #{i} has an empty id"));
            }
            if by_id.insert(doc.id.clone(), i).is_some() {
                return Err(format!("document id {:?} appears twice", doc.id));
            }
        }
        Ok(Self { documents, by_id })
    }

    pub fn bundled() -> Self {
        Self::from_json(BUNDLED_JSON).expect("data/documents.json is valid")
    }

    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    pub fn get(&self, id: &str) -> Option<&Document> {
        self.by_id.get(id).map(|&i| &self.documents[i])
    }

    /// Documents matching the query's words, best first, at most `limit`.
    ///
    /// Scoring is deliberately simple and predictable: each query word found counts once per occurrence in
    /// the text and five times in the title; documents matching more distinct words rank first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Document> {
        let words: Vec<String> = tokenize(query).collect();
        if words.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(usize, usize, usize)> = self
            .documents
            .iter()
            .enumerate()
            .filter_map(|(i, doc)| {
                let title: Vec<String> = tokenize(&doc.title).collect();
                let text: Vec<String> = tokenize(&doc.text).collect();
                let mut distinct = 0;
                let mut score = 0;
                for word in &words {
                    let hits = count(&title, word) * 5 + count(&text, word);
                    if hits > 0 {
                        distinct += 1;
                        score += hits;
                    }
                }
                (distinct > 0).then_some((distinct, score, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        scored.into_iter().take(limit).map(|(_, _, i)| &self.documents[i]).collect()
    }
}

/// Lowercase words of letters and digits, with a plural `s` dropped so "objects" finds "object".
fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| {
        let w = w.to_lowercase();
        match w.strip_suffix('s') {
            Some(stem) if stem.len() > 2 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        }
    })
}

fn count(words: &[String], word: &str) -> usize {
    words.iter().filter(|w| *w == word).count()
}

/// Where the collection comes from at run time (bundled, KV, ...).
pub trait DocumentSource {
    fn corpus(&self) -> LocalFuture<'_, Result<Rc<Corpus>, String>>;
}

/// A fixed collection, such as the bundled one.
pub struct StaticDocuments(pub Rc<Corpus>);

impl DocumentSource for StaticDocuments {
    fn corpus(&self) -> LocalFuture<'_, Result<Rc<Corpus>, String>> {
        let corpus = self.0.clone();
        Box::pin(async move { Ok(corpus) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_collection_is_valid() {
        let corpus = Corpus::bundled();
        assert!(corpus.documents().len() >= 5);
        assert!(corpus.get("getting-started").is_some());
    }

    #[test]
    fn search_ranks_title_and_distinct_words_first() {
        let corpus = Corpus::bundled();
        let hits = corpus.search("Durable Objects", 10);
        assert_eq!(hits[0].id, "durable-object-sessions");
        let hits = corpus.search("claude desktop", 10);
        assert_eq!(hits[0].id, "claude-desktop");
        assert!(corpus.search("zzzz-nothing", 10).is_empty());
        assert!(corpus.search("  ", 10).is_empty());
        assert_eq!(corpus.search("the", 2).len(), 2);
    }

    #[test]
    fn rejects_bad_collections() {
        assert!(Corpus::from_json("{}").is_err());
        assert!(Corpus::from_json(r#"[{"id":"","title":"t","url":"u","text":"x"}]"#).is_err());
        let dup =
            r#"[{"id":"a","title":"t","url":"u","text":"x"},{"id":"a","title":"t","url":"u","text":"y"}]"#;
        assert!(Corpus::from_json(dup).unwrap_err().contains("twice"));
    }
}
