//! Which tools a request may see and call. The deployment sets the outer bounds (`MCP_TOOLS`,
//! `MCP_TOOLS_EXCLUDE`, `MCP_READ_ONLY`); a connection may narrow them through its URL (`?tools=`, `?exclude=`,
//! `?readonly`), for clients that cannot send headers, and never widen them. A hidden tool is absent from
//! `tools/list` and unknown to `tools/call`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::tool::Tool;

/// A set of tools by rule: only the allowed names (when a list is given), none of the denied ones, and only
/// read-only tools (`readOnlyHint`) in read-only mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub deny: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// The longest list a URL or setting may name (tool names are at most 128 characters).
const MAX_NAMES: usize = 256;

impl ToolFilter {
    /// Every tool.
    pub fn all() -> Self {
        Self::default()
    }

    /// Whether this filter lets every tool through.
    pub fn is_open(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty() && !self.read_only
    }

    pub fn admits(&self, tool: &Tool) -> bool {
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        self.allow.as_ref().is_none_or(|allow| allow.contains(&tool.name))
            && !self.deny.contains(&tool.name)
            && (!self.read_only || read_only)
    }

    /// What both filters let through: allowed by both, denied by either, read-only if either is.
    pub fn narrowed_by(&self, other: &ToolFilter) -> ToolFilter {
        let allow = match (&self.allow, &other.allow) {
            (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        ToolFilter {
            allow,
            deny: self.deny.union(&other.deny).cloned().collect(),
            read_only: self.read_only || other.read_only,
        }
    }

    /// A comma-separated list of tool names (a setting's or a URL's).
    pub fn names(list: &str) -> Result<BTreeSet<String>, String> {
        let names: BTreeSet<String> =
            list.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
        if names.len() > MAX_NAMES {
            return Err(format!("at most {MAX_NAMES} tool names, not {}", names.len()));
        }
        match names
            .iter()
            .find(|n| n.len() > 128 || !n.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
        {
            Some(bad) => Err(format!("{bad:?} is not a tool name (letters, digits, `_`, `-`, `.`)")),
            None => Ok(names),
        }
    }

    /// This filter as the URL query [`Self::from_query`] reads (empty when open).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(allow) = &self.allow {
            parts.push(format!("tools={}", allow.iter().cloned().collect::<Vec<_>>().join(",")));
        }
        if !self.deny.is_empty() {
            parts.push(format!("exclude={}", self.deny.iter().cloned().collect::<Vec<_>>().join(",")));
        }
        if self.read_only {
            parts.push("readonly=true".into());
        }
        parts.join("&")
    }

    /// The narrowing a connection asks for in its URL's query: `tools=a,b` (only these), `exclude=a,b`,
    /// `readonly` (or `readonly=true`). Other parameters are ignored; a malformed one is an error naming it.
    pub fn from_query(query: &str) -> Result<ToolFilter, String> {
        let mut filter = ToolFilter::all();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !matches!(key, "tools" | "exclude" | "readonly") {
                // Another endpoint's parameter (`/messages?sessionId=`), read and checked there.
                continue;
            }
            let value =
                percent_decode(value).ok_or_else(|| format!("the query parameter {key:?} is not valid"))?;
            match key {
                "tools" => filter.allow = Some(Self::names(&value).map_err(|e| format!("tools: {e}"))?),
                "exclude" => filter.deny = Self::names(&value).map_err(|e| format!("exclude: {e}"))?,
                "readonly" => {
                    filter.read_only = match value.as_str() {
                        "" | "true" | "1" => true,
                        "false" | "0" => false,
                        other => return Err(format!("readonly must be true or false, not {other:?}")),
                    }
                }
                _ => {}
            }
        }
        Ok(filter)
    }
}

/// `%XX` and `+` decoding of a query value; `None` when it is not valid UTF-8 or has a broken escape.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tool::ToolAnnotations;
    use serde_json::json;

    fn tool(name: &str, read_only: bool) -> Tool {
        Tool {
            name: name.into(),
            title: None,
            description: String::new(),
            input_schema: json!({"type": "object"}),
            output_schema: None,
            annotations: read_only
                .then(|| ToolAnnotations { read_only_hint: Some(true), ..Default::default() }),
        }
    }

    #[test]
    fn allow_deny_and_read_only_each_hide_tools() {
        let (search, write) = (tool("search", true), tool("write", false));
        assert!(ToolFilter::all().admits(&search) && ToolFilter::all().admits(&write));
        let only_search = ToolFilter::from_query("tools=search").unwrap();
        assert!(only_search.admits(&search) && !only_search.admits(&write));
        let no_search = ToolFilter::from_query("exclude=search").unwrap();
        assert!(!no_search.admits(&search) && no_search.admits(&write));
        let read_only = ToolFilter::from_query("readonly").unwrap();
        assert!(read_only.admits(&search) && !read_only.admits(&write));
    }

    #[test]
    fn a_connection_narrows_and_never_widens() {
        let deployment =
            ToolFilter { allow: Some(["search".into(), "fetch".into()].into()), ..Default::default() };
        let asked = ToolFilter::from_query("tools=search,write&exclude=fetch").unwrap();
        let effective = deployment.narrowed_by(&asked);
        assert_eq!(effective.allow, Some(["search".to_string()].into()));
        assert!(
            !effective.admits(&tool("write", false)),
            "not widened to a tool the deployment does not allow"
        );
        let read_only_deployment = ToolFilter { read_only: true, ..Default::default() };
        let asked = ToolFilter::from_query("readonly=false").unwrap();
        assert!(read_only_deployment.narrowed_by(&asked).read_only);
    }

    #[test]
    fn a_filter_survives_its_query() {
        for query in ["tools=a,b&exclude=c&readonly=true", "readonly=true", ""] {
            let filter = ToolFilter::from_query(query).unwrap();
            assert_eq!(ToolFilter::from_query(&filter.to_query()).unwrap(), filter, "{query}");
        }
    }

    #[test]
    fn queries_decode_and_refuse_what_is_not_a_tool_list() {
        assert_eq!(
            ToolFilter::from_query("sessionId=x&tools=a%2Cb").unwrap().allow,
            Some(["a".into(), "b".into()].into())
        );
        assert!(ToolFilter::from_query("").unwrap().is_open());
        assert!(ToolFilter::from_query("tools=%3Cscript%3E").is_err());
        assert!(ToolFilter::from_query("tools=%ZZ").is_err());
        // Other endpoints' parameters are theirs to check (`/messages?sessionId=`).
        assert!(ToolFilter::from_query("sessionId=%zz&other=%").unwrap().is_open());
        assert!(ToolFilter::from_query("readonly=maybe").is_err());
        let many = (0..300).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
        assert!(ToolFilter::from_query(&format!("tools={many}")).is_err());
    }
}
