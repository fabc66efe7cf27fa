//! Security schemes and requirements, reduced to what attaching a credential needs.

use std::collections::BTreeMap;

use serde_json::Value;

use super::refs::deref;
use super::ImportError;
use crate::openapi::index::{Location, SecurityScheme};

/// The spec's `components.securitySchemes`, mapped.
pub fn schemes(doc: &Value) -> Result<BTreeMap<String, SecurityScheme>, ImportError> {
    let mut out = BTreeMap::new();
    let Some(map) = doc.pointer("/components/securitySchemes").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (name, scheme) in map {
        out.insert(name.clone(), scheme_of(deref(doc, scheme)?));
    }
    Ok(out)
}

fn scheme_of(scheme: &Value) -> SecurityScheme {
    let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or_default();
    match text("type") {
        "http" => match text("scheme").to_ascii_lowercase().as_str() {
            "bearer" => SecurityScheme::Bearer,
            "basic" => SecurityScheme::Basic,
            other => SecurityScheme::Other { kind: format!("http-{other}") },
        },
        "apiKey" => {
            let location = match text("in") {
                "query" => Some(Location::Query),
                "header" => Some(Location::Header),
                "cookie" => Some(Location::Cookie),
                _ => None,
            };
            match (location, text("name")) {
                (Some(location), name) if !name.is_empty() => {
                    SecurityScheme::ApiKey { location, name: name.to_string() }
                }
                _ => SecurityScheme::Other { kind: "apiKey".into() },
            }
        }
        "oauth2" => match scheme.pointer("/flows/clientCredentials") {
            Some(flow) => SecurityScheme::OAuth2ClientCredentials {
                token_url: flow.get("tokenUrl").and_then(Value::as_str).map(str::to_string),
                scopes: flow
                    .get("scopes")
                    .and_then(Value::as_object)
                    .map(|s| s.keys().cloned().collect())
                    .unwrap_or_default(),
            },
            None => SecurityScheme::Other { kind: "oauth2".into() },
        },
        other => SecurityScheme::Other {
            kind: if other.is_empty() { "unknown".into() } else { other.to_string() },
        },
    }
}

/// A security requirement (`[{scheme: scopes}, ...]`) as alternatives of scheme-name sets; an empty set in it
/// means the operation may also be called without a credential.
pub fn requirement(value: Option<&Value>) -> Vec<Vec<String>> {
    value
        .and_then(Value::as_array)
        .map(|alternatives| {
            alternatives
                .iter()
                .filter_map(Value::as_object)
                .map(|set| set.keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_every_kind_of_scheme() {
        let doc = json!({"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "Bearer", "bearerFormat": "JWT"},
            "basic": {"type": "http", "scheme": "basic"},
            "digest": {"type": "http", "scheme": "digest"},
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "cookie": {"$ref": "#/components/x/cookie"},
            "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth/token", "scopes": {"read": "", "write": ""}}}},
            "code": {"type": "oauth2", "flows": {"authorizationCode": {}}},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x"}
        }, "x": {"cookie": {"type": "apiKey", "in": "cookie", "name": "sid"}}}});
        let s = schemes(&doc).unwrap();
        assert_eq!(s["bearer"], SecurityScheme::Bearer);
        assert_eq!(s["basic"], SecurityScheme::Basic);
        assert_eq!(s["digest"], SecurityScheme::Other { kind: "http-digest".into() });
        assert_eq!(s["key"], SecurityScheme::ApiKey { location: Location::Query, name: "api_key".into() });
        assert_eq!(s["cookie"], SecurityScheme::ApiKey { location: Location::Cookie, name: "sid".into() });
        assert_eq!(
            s["cc"],
            SecurityScheme::OAuth2ClientCredentials {
                token_url: Some("https://auth/token".into()),
                scopes: vec!["read".into(), "write".into()]
            }
        );
        assert_eq!(s["code"], SecurityScheme::Other { kind: "oauth2".into() });
        assert_eq!(s["oidc"], SecurityScheme::Other { kind: "openIdConnect".into() });
    }

    #[test]
    fn requirements_keep_alternatives_and_anonymous() {
        let r = requirement(Some(&json!([{"a": [], "b": ["x"]}, {}])));
        assert_eq!(r, vec![vec!["a".to_string(), "b".to_string()], vec![]]);
        assert!(requirement(Some(&json!([]))).is_empty());
        assert!(requirement(None).is_empty());
    }
}
