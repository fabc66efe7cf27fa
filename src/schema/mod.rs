//! JSON Schemas for tool input and output: generated from Rust types, and enforced on arguments.

pub mod validate;

pub use validate::validate;

use schemars::{generate::SchemaSettings, JsonSchema};
use serde_json::Value;

/// The JSON Schema 2020-12 of `T`, as a tool's `inputSchema` or `outputSchema`.
///
/// The generated `title` (the Rust type's name) is dropped: it means nothing to a model.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(map) = &mut value {
        map.remove("title");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Args {
        /// What to look for.
        query: String,
        limit: Option<u32>,
    }

    #[test]
    fn generates_2020_12_object_schemas() {
        let schema = schema_for::<Args>();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["query"]["description"], "What to look for.");
        assert_eq!(schema["required"], serde_json::json!(["query"]));
        assert!(schema.get("title").is_none());
        assert!(validate(&serde_json::json!({"query": "a", "limit": 2}), &schema).is_ok());
        assert!(validate(&serde_json::json!({"limit": -1}), &schema).is_err());
    }
}
