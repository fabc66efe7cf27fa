//! Which REST APIs a deployment serves and how (`OPENAPI_APIS`, `OPENAPI_<NAME>_*`), read once with the other
//! settings. The spec is untrusted: where calls go and which credentials they carry come only from here.

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

/// The default of `OPENAPI_<NAME>_MAX_TOOLS`: above it the API is offered as three tools (search, describe,
/// invoke), so clients with tool-count limits still work.
pub const DEFAULT_MAX_TOOLS: usize = 40;
/// The default of `OPENAPI_<NAME>_TIMEOUT_SECONDS`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// The default of `OPENAPI_<NAME>_MAX_RESPONSE_BYTES`: a longer answer is cut there, with a note.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// The most APIs one deployment serves.
const MAX_APIS: usize = 16;

/// One configured API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    /// The API's name, lower case (`[a-z0-9_-]`): its KV key is `openapi:<name>`.
    pub name: String,
    /// Where every call goes.
    pub base: BaseUrl,
    /// Credentials by security scheme name (`OPENAPI_<NAME>_CREDENTIALS`).
    pub credentials: BTreeMap<String, Credential>,
    /// `OPENAPI_<NAME>_AUTH=github_user`: every call carries the signed-in user's GitHub token.
    pub github_user: bool,
    pub max_tools: usize,
    /// `OPENAPI_<NAME>_PROMPTS`: one prompt per operation.
    pub prompts: bool,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
    /// `OPENAPI_<NAME>_TOOL_PREFIX`: put before every tool name of this API (empty by default).
    pub tool_prefix: String,
}

impl ApiSettings {
    /// The prefix of this API's settings: `OPENAPI_<NAME>_`.
    pub fn setting(&self, suffix: &str) -> String {
        setting_name(&self.name, suffix)
    }

    /// The KV key of the API's index.
    pub fn kv_key(&self) -> String {
        format!("openapi:{}", self.name)
    }
}

fn setting_name(api: &str, suffix: &str) -> String {
    format!("OPENAPI_{}_{suffix}", api.to_ascii_uppercase().replace('-', "_"))
}

/// The configured base URL: an origin (`scheme://host[:port]`) and a path prefix without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub origin: String,
    pub prefix: String,
}

impl BaseUrl {
    /// https, or http to a loopback host (or any host in development mode); no credentials, query or fragment.
    pub fn parse(text: &str, development: bool) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if loopback || development => {}
            _ => return Err("must be an https URL (http only for a loopback host)".into()),
        }
        if url.host_str().is_none_or(str::is_empty)
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err("must be scheme, host and path only (no user, query or fragment)".into());
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
            prefix: url.path().trim_end_matches('/').to_string(),
        })
    }
}

/// The origin of `url` (`scheme://host[:port]`), if it is an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// A credential for one security scheme. What a string means depends on the scheme: a bearer token, an API
/// key, or `user:password` for basic.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Credential {
    Secret(String),
    ClientCredentials(ClientCredentials),
}

/// OAuth 2.0 client credentials.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// Where tokens come from; without it the spec's token URL, only on the base URL's origin.
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// Never prints a secret.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::ClientCredentials(c) => c.fmt(f),
        }
    }
}

/// Never prints the client secret.
impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Reads every configured API through `get` (trimmed, blank as unset); errors name the setting.
pub fn parse(get: &dyn Fn(&str) -> Option<String>, development: bool) -> Result<Vec<ApiSettings>, String> {
    let Some(list) = get("OPENAPI_APIS") else { return Ok(Vec::new()) };
    let mut names: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let name = name.to_ascii_lowercase();
        let valid = name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(format!(
                "OPENAPI_APIS: {name:?} is not an API name (up to 32 letters, digits, `_` or `-`)"
            ));
        }
        // `a-b` and `a_b` would share their settings.
        if names.iter().any(|a| setting_name(a, "") == setting_name(&name, "")) {
            return Err(format!("OPENAPI_APIS names {name:?} twice"));
        }
        names.push(name);
    }
    if names.len() > MAX_APIS {
        return Err(format!("OPENAPI_APIS may name at most {MAX_APIS} APIs, not {}", names.len()));
    }
    names.iter().map(|name| api(name, get, development)).collect()
}

fn api(name: &str, get: &dyn Fn(&str) -> Option<String>, development: bool) -> Result<ApiSettings, String> {
    let key = |suffix: &str| setting_name(name, suffix);
    let value = |suffix: &str| get(&key(suffix));
    let base_text = value("BASE_URL")
        .ok_or_else(|| format!("{} is not set (where calls to {name} go)", key("BASE_URL")))?;
    let base = BaseUrl::parse(&base_text, development).map_err(|e| format!("{} {e}", key("BASE_URL")))?;
    let credentials: BTreeMap<String, Credential> = match value("CREDENTIALS") {
        None => BTreeMap::new(),
        // The message never repeats the value: it is a secret.
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} must be a JSON object mapping security scheme names to a token, `user:password`, an API key \
                 or {{\"client_id\", \"client_secret\", \"token_url\"?, \"scopes\"?}} (line {}, column {})",
                key("CREDENTIALS"),
                e.line(),
                e.column()
            )
        })?,
    };
    for (scheme, credential) in &credentials {
        if let Credential::ClientCredentials(ClientCredentials { token_url: Some(url), .. }) = credential {
            BaseUrl::parse(url, development)
                .map_err(|e| format!("{}: the token_url of {scheme:?} {e}", key("CREDENTIALS")))?;
        }
    }
    let github_user = match value("AUTH").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "github_user" => true,
        Some(v) if v == "none" => false,
        Some(v) => return Err(format!("{} must be \"github_user\" or \"none\", not {v:?}", key("AUTH"))),
    };
    let number = |suffix: &str, range: std::ops::RangeInclusive<u64>, default: u64| -> Result<u64, String> {
        match value(suffix) {
            None => Ok(default),
            Some(text) => text.parse().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                format!(
                    "{} must be a whole number from {} to {}, not {text:?}",
                    key(suffix),
                    range.start(),
                    range.end()
                )
            }),
        }
    };
    let prompts = match value("PROMPTS").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if ["true", "1", "yes"].contains(&v.as_str()) => true,
        Some(v) if ["false", "0", "no"].contains(&v.as_str()) => false,
        Some(v) => return Err(format!("{} must be true or false, not {v:?}", key("PROMPTS"))),
    };
    let tool_prefix = value("TOOL_PREFIX").unwrap_or_default();
    if tool_prefix.len() > 16
        || !tool_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{} must be up to 16 letters, digits, `_` or `-`, not {tool_prefix:?}",
            key("TOOL_PREFIX")
        ));
    }
    Ok(ApiSettings {
        name: name.to_string(),
        base,
        credentials,
        github_user,
        max_tools: number("MAX_TOOLS", 0..=1000, DEFAULT_MAX_TOOLS as u64)? as usize,
        prompts,
        timeout_ms: number("TIMEOUT_SECONDS", 1..=300, DEFAULT_TIMEOUT_SECONDS)? * 1000,
        max_response_bytes: number(
            "MAX_RESPONSE_BYTES",
            1024..=16 * 1024 * 1024,
            DEFAULT_MAX_RESPONSE_BYTES as u64,
        )? as usize,
        tool_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Vec<ApiSettings>, String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&|k| map.get(k).cloned(), false)
    }

    #[test]
    fn reads_an_api_with_every_setting() {
        let apis = from(&[
            ("OPENAPI_APIS", "Pets, gh-api"),
            ("OPENAPI_PETS_BASE_URL", "https://pets.example/v1/"),
            ("OPENAPI_PETS_CREDENTIALS", r#"{"key":"k1","cc":{"client_id":"id","client_secret":"s3cret","token_url":"https://auth.example/token"}}"#),
            ("OPENAPI_PETS_MAX_TOOLS", "5"),
            ("OPENAPI_PETS_PROMPTS", "true"),
            ("OPENAPI_PETS_TIMEOUT_SECONDS", "7"),
            ("OPENAPI_PETS_MAX_RESPONSE_BYTES", "2048"),
            ("OPENAPI_PETS_TOOL_PREFIX", "pets_"),
            ("OPENAPI_GH_API_BASE_URL", "http://127.0.0.1:9000"),
            ("OPENAPI_GH_API_AUTH", "github_user"),
        ])
        .unwrap();
        let pets = &apis[0];
        assert_eq!(pets.name, "pets");
        assert_eq!(pets.base, BaseUrl { origin: "https://pets.example".into(), prefix: "/v1".into() });
        assert_eq!(pets.kv_key(), "openapi:pets");
        assert_eq!(pets.credentials["key"], Credential::Secret("k1".into()));
        assert!(matches!(&pets.credentials["cc"], Credential::ClientCredentials(c) if c.client_id == "id"));
        assert!(!format!("{pets:?}").contains("s3cret") && !format!("{pets:?}").contains("k1"));
        assert_eq!(
            (pets.max_tools, pets.prompts, pets.timeout_ms, pets.max_response_bytes),
            (5, true, 7000, 2048)
        );
        assert_eq!(pets.tool_prefix, "pets_");
        let gh = &apis[1];
        assert_eq!((gh.name.as_str(), gh.github_user, gh.max_tools), ("gh-api", true, DEFAULT_MAX_TOOLS));
        assert_eq!(gh.base.origin, "http://127.0.0.1:9000");
        assert!(from(&[]).unwrap().is_empty());
    }

    #[test]
    fn bad_values_name_the_setting_and_never_show_a_secret() {
        let base = ("OPENAPI_APIS", "pets");
        let url = ("OPENAPI_PETS_BASE_URL", "https://pets.example");
        for (pairs, setting) in [
            (vec![base], "OPENAPI_PETS_BASE_URL"),
            (vec![base, ("OPENAPI_PETS_BASE_URL", "http://pets.example")], "OPENAPI_PETS_BASE_URL"),
            (vec![base, ("OPENAPI_PETS_BASE_URL", "https://u:p@pets.example")], "OPENAPI_PETS_BASE_URL"),
            (vec![base, ("OPENAPI_PETS_BASE_URL", "https://pets.example/?a=1")], "OPENAPI_PETS_BASE_URL"),
            (vec![base, url, ("OPENAPI_PETS_CREDENTIALS", "[\"hunter2\"]")], "OPENAPI_PETS_CREDENTIALS"),
            (
                vec![
                    base,
                    url,
                    (
                        "OPENAPI_PETS_CREDENTIALS",
                        r#"{"cc":{"client_id":"a","client_secret":"hunter2","token_url":"http://evil.example"}}"#,
                    ),
                ],
                "OPENAPI_PETS_CREDENTIALS",
            ),
            (vec![base, url, ("OPENAPI_PETS_AUTH", "mcp_client")], "OPENAPI_PETS_AUTH"),
            (vec![base, url, ("OPENAPI_PETS_MAX_TOOLS", "lots")], "OPENAPI_PETS_MAX_TOOLS"),
            (vec![base, url, ("OPENAPI_PETS_TIMEOUT_SECONDS", "0")], "OPENAPI_PETS_TIMEOUT_SECONDS"),
            (vec![base, url, ("OPENAPI_PETS_MAX_RESPONSE_BYTES", "10")], "OPENAPI_PETS_MAX_RESPONSE_BYTES"),
            (vec![base, url, ("OPENAPI_PETS_PROMPTS", "maybe")], "OPENAPI_PETS_PROMPTS"),
            (vec![base, url, ("OPENAPI_PETS_TOOL_PREFIX", "a.b")], "OPENAPI_PETS_TOOL_PREFIX"),
            (vec![("OPENAPI_APIS", "pets,../x")], "OPENAPI_APIS"),
            (
                vec![("OPENAPI_APIS", "a-b,a_b"), ("OPENAPI_A_B_BASE_URL", "https://x.example")],
                "OPENAPI_APIS",
            ),
        ] {
            let err = from(&pairs).unwrap_err();
            assert!(err.contains(setting), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn development_mode_allows_http_anywhere() {
        let map: HashMap<&str, &str> =
            [("OPENAPI_APIS", "x"), ("OPENAPI_X_BASE_URL", "http://backend.internal:8080/api")].into();
        let apis = parse(&|k| map.get(k).map(|v| v.to_string()), true).unwrap();
        assert_eq!(apis[0].base.origin, "http://backend.internal:8080");
        assert!(parse(&|k| map.get(k).map(|v| v.to_string()), false).is_err());
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(origin_of("https://a.example/x?y").as_deref(), Some("https://a.example"));
        assert_eq!(origin_of("https://a.example:443/").as_deref(), Some("https://a.example"));
        assert_eq!(origin_of("http://127.0.0.1:81/").as_deref(), Some("http://127.0.0.1:81"));
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("javascript:alert(1)"), None);
    }
}
