//! The native OpenAPI importer behind `npm run openapi:import` (src/bin/openapi-import.rs): reads an OpenAPI 3.0
//! or 3.1 spec (JSON or YAML; Swagger 2.0 converted), resolves its internal refs, refuses external ones, and
//! writes the compact operation index ([`crate::openapi::index::ApiIndex`]) the Worker serves. Compiled
//! natively only: none of it reaches the wasm.

pub mod cli;
pub mod fetch;
mod filter;
mod names;
mod operation;
mod refs;
mod schema;
mod security;
pub mod source;
mod swagger2;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

pub use filter::{glob_matches, Filters};
pub use names::{is_valid_tool_name, MAX_TOOL_NAME};

use crate::openapi::index::{ApiIndex, Method, Operation, INDEX_FORMAT};
use filter::Candidate;
use operation::Context;
use schema::Dialect;

/// The HTTP methods a path item can hold, in the order the OpenAPI spec lists them.
pub const METHODS: [Method; 8] = [
    Method::Get,
    Method::Put,
    Method::Post,
    Method::Delete,
    Method::Options,
    Method::Head,
    Method::Patch,
    Method::Trace,
];

/// Why an import failed.
#[derive(Debug)]
pub enum ImportError {
    /// The text is neither JSON nor YAML.
    Parse(String),
    /// Not an OpenAPI 3.x or Swagger 2.0 document.
    NotOpenApi(String),
    /// A `$ref` to another document: refused, never followed.
    ExternalRef(String),
    /// An internal `$ref` that cannot be followed.
    BadRef { reference: String, why: String },
    /// Something in one operation that cannot be served (the operation is skipped, the import goes on).
    Invalid(String),
    /// Reading the spec from a URL failed or was refused.
    Fetch(String),
    /// Reading or writing a file failed.
    Io(String),
    /// A bad `--rename`.
    Rename(String),
    /// Bad command-line arguments.
    Usage(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Parse(why) => write!(f, "the spec is not valid JSON or YAML: {why}"),
            ImportError::NotOpenApi(why) => write!(f, "not an OpenAPI 3.0/3.1 or Swagger 2.0 document: {why}"),
            ImportError::ExternalRef(r) => write!(
                f,
                "external $ref `{r}` refused: only refs within the spec (#/...) are followed; bundle the spec into one file first"
            ),
            ImportError::BadRef { reference, why } => write!(f, "$ref `{reference}`: {why}"),
            ImportError::Invalid(why) => write!(f, "{why}"),
            ImportError::Fetch(why) => write!(f, "fetching the spec: {why}"),
            ImportError::Io(why) => write!(f, "{why}"),
            ImportError::Rename(why) => write!(f, "--rename: {why}"),
            ImportError::Usage(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// What to keep and how to name it.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub filters: Filters,
    /// `operationId` (or `METHOD /path`) → tool name.
    pub renames: Vec<(String, String)>,
}

/// An operation left out of the index, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub method: Method,
    pub path: String,
    pub operation_id: Option<String>,
    pub reason: String,
    /// Left out by a filter (rather than for something in the spec it could not serve).
    pub filtered: bool,
}

/// The result of an import.
#[derive(Debug)]
pub struct Imported {
    pub index: ApiIndex,
    pub skipped: Vec<Skipped>,
}

/// The strings of a JSON array (`tags`, `required`); anything else in it, or no array, gives none.
pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Imports a spec from its text (JSON or YAML).
pub fn import(text: &[u8], options: &Options) -> Result<Imported, ImportError> {
    let (doc, path_order) = source::parse(text)?;
    import_document(doc, &path_order, options)
}

/// Imports a parsed spec; `path_order` is the order of its `paths` as written (a JSON map here is sorted).
pub fn import_document(
    doc: Value,
    path_order: &[String],
    options: &Options,
) -> Result<Imported, ImportError> {
    refs::refuse_external(&doc)?;
    // YAML without quotes reads `swagger: 2.0` as a number.
    let version = |key: &str| match doc.get(key) {
        Some(Value::String(v)) => Some(v.clone()),
        Some(Value::Number(n)) => {
            Some(n.as_f64().map(|f| format!("{f:.1}")).unwrap_or_else(|| n.to_string()))
        }
        _ => None,
    };
    let (doc, dialect) = match (version("openapi"), version("swagger")) {
        (Some(v), _) if v.starts_with("3.0") => (doc, Dialect::V30),
        (Some(v), _) if v.starts_with("3.") => (doc, Dialect::V31),
        (None, Some(v)) if v == "2.0" => (swagger2::convert(&doc)?, Dialect::V30),
        (Some(v), _) | (None, Some(v)) => {
            return Err(ImportError::NotOpenApi(format!("version {v} is not supported")))
        }
        (None, None) => return Err(ImportError::NotOpenApi("no `openapi` or `swagger` field".into())),
    };
    let cx = Context { doc: &doc, dialect };
    let empty = serde_json::Map::new();
    let paths = doc.get("paths").and_then(Value::as_object).unwrap_or(&empty);
    let mut ordered: Vec<&String> =
        path_order.iter().filter_map(|p| paths.get_key_value(p).map(|(k, _)| k)).collect();
    if ordered.len() != paths.len() {
        ordered = paths.keys().collect();
    }
    let mut operations = Vec::new();
    let mut skipped = Vec::new();
    for path in ordered {
        let item = refs::deref(&doc, &paths[path])?;
        for method in METHODS {
            let Some(op) = item.get(method.as_str().to_ascii_lowercase()) else { continue };
            let operation_id = op.get("operationId").and_then(Value::as_str);
            let tags = strings(op.get("tags"));
            let candidate = Candidate {
                method,
                path,
                operation_id,
                tags: &tags,
                deprecated: op.get("deprecated") == Some(&Value::Bool(true)),
            };
            let skip = |reason: String, filtered: bool| Skipped {
                method,
                path: path.clone(),
                operation_id: operation_id.map(str::to_string),
                reason,
                filtered,
            };
            if let Some(reason) = options.filters.rejects(&candidate) {
                skipped.push(skip(reason, true));
                continue;
            }
            match operation::build(&cx, method, path, item, op) {
                Ok(built) => operations.push(built),
                Err(ImportError::ExternalRef(r)) => return Err(ImportError::ExternalRef(r)),
                Err(e) => skipped.push(skip(e.to_string(), false)),
            }
        }
    }
    name_operations(&mut operations, &skipped, &options.renames)?;
    let info = |key: &str| match doc.pointer(&format!("/info/{key}")) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let index = ApiIndex {
        format: INDEX_FORMAT,
        title: info("title"),
        version: info("version"),
        security_schemes: security::schemes(&doc)?,
        operations,
    };
    Ok(Imported { index, skipped })
}

/// Gives every operation its unique tool name: the operator's renames first, then the rest in spec order.
fn name_operations(
    operations: &mut [Operation],
    skipped: &[Skipped],
    renames: &[(String, String)],
) -> Result<(), ImportError> {
    let key_matches = |key: &str, id: Option<&str>, method: Method, path: &str| {
        id == Some(key)
            || key.split_once(' ').is_some_and(|(m, p)| m.eq_ignore_ascii_case(method.as_str()) && p == path)
    };
    let mut chosen: HashMap<usize, String> = HashMap::new();
    let mut names = names::ToolNames::default();
    for (key, name) in renames {
        if !names::is_valid_tool_name(name) {
            return Err(ImportError::Rename(format!(
                "`{name}` is not a valid tool name ([A-Za-z0-9_-], 1 to {MAX_TOOL_NAME} characters)"
            )));
        }
        let found =
            operations.iter().position(|o| key_matches(key, o.operation_id.as_deref(), o.method, &o.path));
        match found {
            Some(i) => {
                if !names.reserve(name) {
                    return Err(ImportError::Rename(format!("`{name}` is given to two operations")));
                }
                chosen.insert(i, name.clone());
            }
            None if skipped
                .iter()
                .any(|s| key_matches(key, s.operation_id.as_deref(), s.method, &s.path)) => {}
            None => {
                return Err(ImportError::Rename(format!(
                    "no operation `{key}` in the spec (give an operationId or `METHOD /path`)"
                )))
            }
        }
    }
    for (i, op) in operations.iter_mut().enumerate() {
        op.name = match chosen.remove(&i) {
            Some(name) => name,
            None => names.allocate(
                &names::base_name(op.operation_id.as_deref(), op.method, &op.path),
                op.method,
                &op.path,
            ),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests;
