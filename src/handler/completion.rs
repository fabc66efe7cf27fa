//! `completion/complete`: suggestions for prompt arguments and resource-template variables.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::tools::LocalFuture;

/// Candidate values for one argument, given the argument's name and what the user typed so far.
pub type Completer = Rc<dyn Fn(String, String) -> LocalFuture<'static, Vec<String>>>;

/// The most values one answer carries (the spec's limit).
pub const MAX_VALUES: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "type",
    expecting = "a reference: `{\"type\": \"ref/prompt\", \"name\"}` or `{\"type\": \"ref/resource\", \"uri\"}`"
)]
pub enum Reference {
    #[serde(rename = "ref/prompt")]
    Prompt { name: String },
    #[serde(rename = "ref/resource")]
    Resource { uri: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(expecting = "an object with `name` and `value` strings")]
pub struct CompleteArgument {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(expecting = "an object with `ref` and `argument`")]
pub struct CompleteParams {
    #[serde(rename = "ref")]
    pub reference: Reference,
    pub argument: CompleteArgument,
}

/// The `completion` result: candidates starting with `typed` (case-insensitive), at most [`MAX_VALUES`].
pub fn result(candidates: Vec<String>, typed: &str) -> Value {
    let typed = typed.to_lowercase();
    let matching: Vec<String> =
        candidates.into_iter().filter(|c| c.to_lowercase().starts_with(&typed)).collect();
    let total = matching.len();
    let values: Vec<String> = matching.into_iter().take(MAX_VALUES).collect();
    json!({ "completion": { "values": values, "total": total, "hasMore": total > MAX_VALUES } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_prefix_and_caps() {
        let r = result(vec!["Alpha".into(), "beta".into(), "alps".into()], "al");
        assert_eq!(r, json!({"completion": {"values": ["Alpha", "alps"], "total": 2, "hasMore": false}}));
        let many: Vec<String> = (0..150).map(|i| format!("v{i}")).collect();
        let r = result(many, "v");
        assert_eq!(r["completion"]["values"].as_array().unwrap().len(), MAX_VALUES);
        assert_eq!(r["completion"]["hasMore"], true);
        assert_eq!(r["completion"]["total"], 150);
    }

    #[test]
    fn parses_both_reference_kinds() {
        let p: CompleteParams = serde_json::from_value(
            json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": "x"}}),
        )
        .unwrap();
        assert!(matches!(p.reference, Reference::Prompt { name } if name == "p"));
        let r: CompleteParams = serde_json::from_value(
            json!({"ref": {"type": "ref/resource", "uri": "docs://{id}"}, "argument": {"name": "id"}}),
        )
        .unwrap();
        assert!(matches!(r.reference, Reference::Resource { uri } if uri == "docs://{id}"));
        assert_eq!(r.argument.value, "");
    }
}
