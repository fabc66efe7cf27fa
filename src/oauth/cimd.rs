//! Client ID metadata documents: a `client_id` that is an https URL names a JSON document, served by the
//! client, describing it (its redirect URIs, its name). The Worker fetches it with size and time limits; this
//! decides which URLs qualify, whether a document is acceptable, and how long it may be cached.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::client::{self, AuthMethod, Client, MAX_NAME_CHARS, MAX_URI_BYTES};

/// The largest document read (claude.ai's has passed 5 KB before; a tight cap broke it elsewhere).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long fetching a document may take.
pub const FETCH_TIMEOUT_MS: u32 = 5_000;
/// Cache bounds, in seconds (KV's shortest expiry is 60 s).
pub const MIN_CACHE_SECONDS: u64 = 60;
pub const MAX_CACHE_SECONDS: u64 = 3600;
const DEFAULT_CACHE_SECONDS: u64 = 300;

/// Whether `client_id` names a metadata document: an https URL with a path, no fragment, no user info, in
/// normal form (no dot segments). In development mode a loopback http URL also qualifies, so tests can serve
/// documents locally.
pub fn is_document_url(client_id: &str, development: bool) -> bool {
    if client_id.len() > MAX_URI_BYTES || !client_id.contains("://") {
        return false;
    }
    let Ok(url) = Url::parse(client_id) else { return false };
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => development && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    };
    scheme_ok
        && url.as_str() == client_id
        && url.path() != "/"
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

#[derive(Deserialize)]
struct Document {
    client_id: Option<Value>,
    redirect_uris: Option<Vec<Value>>,
    client_name: Option<Value>,
    client_uri: Option<Value>,
    logo_uri: Option<Value>,
    token_endpoint_auth_method: Option<Value>,
}

/// The client a fetched document describes, if it is acceptable: at most [`MAX_DOCUMENT_BYTES`], a JSON
/// object whose `client_id` equals the URL it came from, valid redirect URIs, a public client (we hold no key
/// to check anything else). The error says what is wrong, never echoing the document.
pub fn validate(url: &str, body: &[u8], now_ms: u64) -> Result<Client, String> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("the client metadata document is over {MAX_DOCUMENT_BYTES} bytes"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "the client metadata document is not JSON".to_string())?;
    if !value.is_object() {
        return Err("the client metadata document is not a JSON object".into());
    }
    let doc: Document = serde_json::from_value(value)
        .map_err(|_| "the client metadata document has malformed fields".to_string())?;
    if doc.client_id.as_ref().and_then(Value::as_str) != Some(url) {
        return Err("the document's client_id differs from the URL it was fetched from".into());
    }
    let redirect_uris = client::redirect_uris(doc.redirect_uris).map_err(|e| e.description)?;
    let string = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string)).filter(|s| !s.is_empty());
    let client_name = string(doc.client_name);
    if client_name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(format!("client_name is over {MAX_NAME_CHARS} characters"));
    }
    match string(doc.token_endpoint_auth_method).as_deref() {
        None | Some("none") => {}
        Some(_) => return Err("only public clients (token_endpoint_auth_method none) are supported".into()),
    }
    let web = |u: &String| u.starts_with("https://") || u.starts_with("http://");
    let client_uri = string(doc.client_uri).filter(web);
    Ok(Client {
        client_id: url.to_string(),
        redirect_uris,
        client_name,
        client_uri,
        logo_uri: string(doc.logo_uri).filter(web),
        auth_method: AuthMethod::None,
        secret_hash: None,
        created_ms: now_ms,
        touched_ms: now_ms,
    })
}

/// Seconds a document may be cached, from its `Cache-Control`: `max-age` within bounds, 0 for `no-store`
/// (fetched every time), a few minutes when unsaid.
pub fn cache_seconds(cache_control: Option<&str>) -> u64 {
    let Some(value) = cache_control else { return DEFAULT_CACHE_SECONDS };
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return 0;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs.trim_matches('"').parse::<u64>().ok();
        }
    }
    match max_age {
        Some(0) => 0,
        Some(secs) => secs.clamp(MIN_CACHE_SECONDS, MAX_CACHE_SECONDS),
        None => DEFAULT_CACHE_SECONDS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://app.example/oauth/client.json";

    fn doc(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn document_urls_are_https_with_a_path() {
        assert!(is_document_url(URL, false));
        assert!(!is_document_url("https://app.example/", false), "no path");
        assert!(!is_document_url("https://app.example", false));
        assert!(!is_document_url("http://app.example/c.json", true), "http only for loopback");
        assert!(!is_document_url("http://127.0.0.1:9/c.json", false), "loopback http only in development");
        assert!(is_document_url("http://127.0.0.1:9/c.json", true));
        assert!(!is_document_url("https://app.example/c.json#x", false));
        assert!(!is_document_url("https://u:p@app.example/c.json", false));
        assert!(!is_document_url("https://app.example/a/../c.json", false), "not in normal form");
        assert!(!is_document_url("abcdef0123", false), "a registered client id");
    }

    #[test]
    fn a_valid_document_describes_a_public_client() {
        let body = doc(json!({
            "client_id": URL,
            "client_name": "App",
            "client_uri": "https://app.example",
            "redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"],
            "token_endpoint_auth_method": "none",
        }));
        let client = validate(URL, &body, 1).unwrap();
        assert_eq!(client.client_id, URL);
        assert_eq!(client.auth_method, AuthMethod::None);
        assert_eq!(client.redirect_uris.len(), 2);
        assert_eq!(client.client_name.as_deref(), Some("App"));
    }

    #[test]
    fn oversized_malformed_or_foreign_documents_are_refused() {
        let big = format!(
            "{{\"client_id\":\"{URL}\",\"redirect_uris\":[\"https://app.example/cb\"],\"pad\":\"{}\"}}",
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        assert!(validate(URL, big.as_bytes(), 1).unwrap_err().contains("bytes"));
        assert!(validate(URL, b"<html>not json</html>", 1).is_err());
        assert!(validate(URL, b"[1,2]", 1).is_err());
        assert!(validate(URL, &doc(json!({"client_id": URL, "redirect_uris": "x"})), 1).is_err());
        let other = doc(
            json!({"client_id": "https://evil.example/c.json", "redirect_uris": ["https://a.example/cb"]}),
        );
        assert!(validate(URL, &other, 1).unwrap_err().contains("client_id"));
        assert!(validate(URL, &doc(json!({"client_id": URL})), 1).is_err(), "no redirect URIs");
        let bad_redirect = doc(json!({"client_id": URL, "redirect_uris": ["javascript:alert(1)"]}));
        assert!(validate(URL, &bad_redirect, 1).is_err());
        let confidential = doc(
            json!({"client_id": URL, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
        );
        assert!(validate(URL, &confidential, 1).is_err());
        let long_name = doc(
            json!({"client_id": URL, "redirect_uris": ["https://a.example/cb"], "client_name": "n".repeat(201)}),
        );
        assert!(validate(URL, &long_name, 1).is_err());
    }

    #[test]
    fn caching_follows_cache_control_within_bounds() {
        assert_eq!(cache_seconds(None), DEFAULT_CACHE_SECONDS);
        assert_eq!(cache_seconds(Some("public, max-age=86400")), MAX_CACHE_SECONDS);
        assert_eq!(cache_seconds(Some("max-age=5")), MIN_CACHE_SECONDS);
        assert_eq!(cache_seconds(Some("max-age=600")), 600);
        assert_eq!(cache_seconds(Some("no-store")), 0);
        assert_eq!(cache_seconds(Some("max-age=0")), 0);
    }
}
