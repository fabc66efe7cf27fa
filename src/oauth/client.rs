//! OAuth clients: dynamic registration (RFC 7591) validated and bounded, the stored record, client
//! authentication at the token and revocation endpoints, and redirect URI matching (exact, except the port of
//! a loopback address, RFC 8252 §7.3).

use base64::engine::general_purpose::STANDARD as B64_STD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use super::form::Params;
use super::{digest, ErrorCode, OAuthError};

/// The largest registration request read.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// At most this many redirect URIs per client, each at most [`MAX_URI_BYTES`].
pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_URI_BYTES: usize = 2048;
/// The longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// An unused client expires after 90 days; each use (at most once a day) extends it.
pub const CLIENT_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
pub const TOUCH_EVERY_MS: u64 = 24 * 3600 * 1000;

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client (PKCE is its proof).
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl AuthMethod {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }
}

/// A registered client, as stored (`client:<id>` in KV); only a digest of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    pub auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    pub created_ms: u64,
    #[serde(default)]
    pub touched_ms: u64,
}

#[derive(Deserialize)]
struct RegistrationRequest {
    redirect_uris: Option<Vec<Value>>,
    client_name: Option<Value>,
    client_uri: Option<Value>,
    logo_uri: Option<Value>,
    token_endpoint_auth_method: Option<Value>,
    grant_types: Option<Vec<Value>>,
    response_types: Option<Vec<Value>>,
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

/// A string field of client metadata, or an error naming it.
fn text(value: Option<Value>, name: &str) -> Result<Option<String>, OAuthError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

/// Validates a registration request. `client_id` is fresh; `secret` is a fresh secret, issued only when the
/// client asks for a secret-based method (the default of RFC 7591 is `client_secret_basic`). Returns the
/// record and the secret to hand back once.
pub fn register(
    body: &[u8],
    client_id: String,
    secret: String,
    now_ms: u64,
) -> Result<(Client, Option<String>), OAuthError> {
    if body.len() > MAX_REGISTRATION_BYTES {
        return Err(metadata_error(format!(
            "the registration request is over {MAX_REGISTRATION_BYTES} bytes"
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| metadata_error("the registration request must be a JSON object"))?;
    if !value.is_object() {
        return Err(metadata_error("the registration request must be a JSON object"));
    }
    let request: RegistrationRequest = serde_json::from_value(value)
        .map_err(|_| metadata_error("redirect_uris, grant_types and response_types must be arrays"))?;
    let redirect_uris = redirect_uris(request.redirect_uris)?;
    let client_name = text(request.client_name, "client_name")?;
    if client_name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(metadata_error(format!("client_name is over {MAX_NAME_CHARS} characters")));
    }
    let client_uri = text(request.client_uri, "client_uri")?;
    let logo_uri = text(request.logo_uri, "logo_uri")?;
    for (name, uri) in [("client_uri", &client_uri), ("logo_uri", &logo_uri)] {
        if let Some(uri) = uri {
            check_web_uri(uri).map_err(|why| metadata_error(format!("{name}: {why}")))?;
        }
    }
    let method = match text(request.token_endpoint_auth_method, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(name) => AuthMethod::parse(&name).ok_or_else(|| {
            metadata_error(
                "token_endpoint_auth_method must be none, client_secret_post or client_secret_basic",
            )
        })?,
    };
    check_listed(request.grant_types, "grant_types", &["authorization_code", "refresh_token"])?;
    check_listed(request.response_types, "response_types", &["code"])?;
    let secret = (method != AuthMethod::None).then_some(secret);
    let client = Client {
        client_id,
        redirect_uris,
        client_name,
        client_uri,
        logo_uri,
        auth_method: method,
        secret_hash: secret.as_deref().map(digest),
        created_ms: now_ms,
        touched_ms: now_ms,
    };
    Ok((client, secret))
}

/// Every listed value must be one we support.
fn check_listed(list: Option<Vec<Value>>, name: &str, supported: &[&str]) -> Result<(), OAuthError> {
    for item in list.unwrap_or_default() {
        if !item.as_str().is_some_and(|s| supported.contains(&s)) {
            return Err(metadata_error(format!("{name} may hold only {}", supported.join(", "))));
        }
    }
    Ok(())
}

/// The redirect URIs of a registration or a metadata document: 1 to [`MAX_REDIRECT_URIS`], each valid.
pub fn redirect_uris(list: Option<Vec<Value>>) -> Result<Vec<String>, OAuthError> {
    let invalid = |why: String| OAuthError::new(ErrorCode::InvalidRedirectUri, why);
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Err(invalid("redirect_uris must list at least one URI".into()));
    }
    if list.len() > MAX_REDIRECT_URIS {
        return Err(invalid(format!("redirect_uris may list at most {MAX_REDIRECT_URIS} URIs")));
    }
    let mut uris = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let Value::String(uri) = item else {
            return Err(invalid(format!("redirect_uris[{i}] must be a string")));
        };
        check_redirect_uri(&uri).map_err(|why| invalid(format!("redirect_uris[{i}]: {why}")))?;
        uris.push(uri);
    }
    Ok(uris)
}

/// A redirect URI: `https`, or `http` to a loopback address (127.0.0.1, [::1], localhost); no fragment, no
/// user info, nothing a browser would treat as script or data; at most [`MAX_URI_BYTES`].
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = parse_strict(uri)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err("http is allowed only for loopback addresses (127.0.0.1, [::1], localhost)".into())
        }
        _ => return Err("the scheme must be https (or http for a loopback address)".into()),
    }
    if url.fragment().is_some() {
        return Err("a redirect URI must not have a fragment".into());
    }
    Ok(())
}

/// A web URI shown or linked (client and logo URIs): http or https, no user info.
fn check_web_uri(uri: &str) -> Result<(), String> {
    let url = parse_strict(uri)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("the scheme must be https".into());
    }
    Ok(())
}

/// An absolute URL with a host, sent as it would be used: within the size bound, no whitespace or control
/// characters (the parser would drop them silently), no user info.
fn parse_strict(uri: &str) -> Result<Url, String> {
    if uri.len() > MAX_URI_BYTES {
        return Err(format!("over {MAX_URI_BYTES} bytes"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("whitespace or control characters".into());
    }
    let url = Url::parse(uri).map_err(|_| "not an absolute URL".to_string())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user info is not allowed".into());
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Whether `presented` is one of `registered`: the same string, or (RFC 8252 §7.3) the same loopback http URI
/// with any port, since native apps listen on whatever port is free.
pub fn redirect_matches(registered: &[String], presented: &str) -> bool {
    registered.iter().any(|r| r == presented || same_but_loopback_port(r, presented))
}

fn same_but_loopback_port(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (parse_strict(registered), parse_strict(presented)) else { return false };
    r.scheme() == "http"
        && p.scheme() == "http"
        && is_loopback(&r)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
}

impl Client {
    /// The registration response (RFC 7591 §3.2.1), with the secret when one was issued.
    pub fn registration_response(&self, secret: Option<&str>) -> Value {
        let mut body = json!({
            "client_id": self.client_id,
            "client_id_issued_at": self.created_ms / 1000,
            "redirect_uris": self.redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": self.auth_method.as_str(),
            "scope": super::SCOPE,
        });
        for (name, value) in [
            ("client_name", &self.client_name),
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
        ] {
            if let Some(value) = value {
                body[name] = json!(value);
            }
        }
        if let Some(secret) = secret {
            body["client_secret"] = json!(secret);
            body["client_secret_expires_at"] = json!(0);
        }
        body
    }

    /// Whether the stored record should be written again to extend its life.
    pub fn needs_touch(&self, now_ms: u64) -> bool {
        now_ms >= self.touched_ms.saturating_add(TOUCH_EVERY_MS)
    }

    /// Checks what the client presented: a confidential client must prove its secret (by either method); a
    /// public one proves nothing here (PKCE does).
    pub fn authenticate(&self, auth: &ClientAuth) -> Result<(), OAuthError> {
        let Some(hash) = &self.secret_hash else { return Ok(()) };
        let fail = || OAuthError::invalid_client("client authentication failed").with_basic(auth.basic);
        let secret = auth.secret.as_deref().ok_or_else(fail)?;
        if super::constant_time_eq(hash, &digest(secret)) {
            Ok(())
        } else {
            Err(fail())
        }
    }
}

/// What a token or revocation request says about its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub client_id: String,
    pub secret: Option<String>,
    /// Credentials came in `Authorization: Basic`.
    pub basic: bool,
}

impl ClientAuth {
    /// From the `Authorization` header (Basic, RFC 6749 §2.3.1: id and secret form-encoded) or the body
    /// (`client_id`, `client_secret`). Using both methods is refused; `None` when nothing names a client.
    pub fn read(authorization: Option<&str>, params: &Params) -> Result<Option<Self>, OAuthError> {
        let basic = authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(s, _)| s.eq_ignore_ascii_case("basic"));
        if let Some((_, encoded)) = basic {
            let malformed = || OAuthError::invalid_client("malformed Basic credentials").with_basic(true);
            let decoded = B64_STD.decode(encoded.trim()).map_err(|_| malformed())?;
            let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
            let unescape = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            };
            let (id, secret) = (unescape(id).ok_or_else(malformed)?, unescape(secret).ok_or_else(malformed)?);
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request("use one client authentication method, not two"));
            }
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request("client_id differs from the Basic credentials"));
            }
            return Ok(Some(Self {
                client_id: id,
                secret: Some(secret).filter(|s| !s.is_empty()),
                basic: true,
            }));
        }
        let Some(id) = params.get("client_id") else {
            return Ok(None);
        };
        Ok(Some(Self {
            client_id: id.to_string(),
            secret: params.get("client_secret").map(str::to_string),
            basic: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn reg(body: Value) -> Result<(Client, Option<String>), OAuthError> {
        register(body.to_string().as_bytes(), "cid".into(), "sek".into(), NOW)
    }

    #[test]
    fn a_public_client_registers_without_a_secret() {
        let (client, secret) = reg(json!({
            "redirect_uris": ["http://localhost:3334/oauth/callback"],
            "client_name": "mcp-remote",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }))
        .unwrap();
        assert_eq!(secret, None);
        assert_eq!(client.auth_method, AuthMethod::None);
        let body = client.registration_response(None);
        assert_eq!(body["client_id"], "cid");
        assert_eq!(body["token_endpoint_auth_method"], "none");
        assert!(body.get("client_secret").is_none());
    }

    #[test]
    fn a_confidential_client_gets_a_secret_once_and_only_its_digest_is_kept() {
        let (client, secret) = reg(json!({"redirect_uris": ["https://app.example/cb"]})).unwrap();
        assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic, "the RFC 7591 default");
        assert_eq!(secret.as_deref(), Some("sek"));
        let stored = serde_json::to_string(&client).unwrap();
        assert!(!stored.contains("\"sek\""), "{stored}");
        assert_eq!(client.registration_response(secret.as_deref())["client_secret"], "sek");
        let ok = ClientAuth { client_id: "cid".into(), secret: Some("sek".into()), basic: true };
        assert!(client.authenticate(&ok).is_ok());
        let wrong = ClientAuth { secret: Some("nope".into()), ..ok.clone() };
        let err = client.authenticate(&wrong).unwrap_err();
        assert_eq!((err.code, err.status()), (ErrorCode::InvalidClient, 401));
        assert!(err.headers().iter().any(|(k, _)| *k == "WWW-Authenticate"));
        assert!(client.authenticate(&ClientAuth { secret: None, basic: false, ..ok }).is_err());
    }

    #[test]
    fn bad_registration_inputs_are_refused() {
        let long_name = "n".repeat(MAX_NAME_CHARS + 1);
        let many: Vec<String> = (0..=MAX_REDIRECT_URIS).map(|i| format!("https://a.example/{i}")).collect();
        let long_uri = format!("https://a.example/{}", "p".repeat(MAX_URI_BYTES));
        let cases = [
            (json!({}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": []}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": "https://a.example/cb"}), ErrorCode::InvalidClientMetadata),
            (json!({"redirect_uris": [42]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["javascript:alert(1)"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["data:text/html,<script>x</script>"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["http://evil.example/cb"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["https://a.example/cb#frag"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["https://user:pw@a.example/cb"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["/relative"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": [" https://a.example/cb"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["https://a.example/c\tb"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": ["myapp://callback"]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": [long_uri]}), ErrorCode::InvalidRedirectUri),
            (json!({"redirect_uris": many}), ErrorCode::InvalidRedirectUri),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": long_name}),
                ErrorCode::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": 5}),
                ErrorCode::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_uri": "javascript:x"}),
                ErrorCode::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                ErrorCode::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}),
                ErrorCode::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
                ErrorCode::InvalidClientMetadata,
            ),
            (json!(["not", "an", "object"]), ErrorCode::InvalidClientMetadata),
        ];
        for (body, code) in cases {
            let err = reg(body.clone()).unwrap_err();
            assert_eq!(err.code, code, "{body}: {err}");
            assert_eq!(err.status(), 400);
        }
        let err = register(b"{not json", "c".into(), "s".into(), NOW).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClientMetadata);
        let huge = format!(
            "{{\"redirect_uris\":[\"https://a.example/cb\"],\"x\":\"{}\"}}",
            "y".repeat(MAX_REGISTRATION_BYTES)
        );
        assert!(register(huge.as_bytes(), "c".into(), "s".into(), NOW).is_err());
    }

    #[test]
    fn loopback_and_https_redirects_are_accepted() {
        for uri in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:6274/oauth/callback",
            "http://[::1]/cb",
            "http://localhost:33418/",
            "https://a.example/cb?x=1",
        ] {
            assert_eq!(check_redirect_uri(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn redirects_match_exactly_except_a_loopback_port() {
        let registered =
            vec!["http://127.0.0.1:3000/callback".to_string(), "https://a.example/cb".to_string()];
        assert!(redirect_matches(&registered, "https://a.example/cb"));
        assert!(redirect_matches(&registered, "http://127.0.0.1:51234/callback"));
        assert!(redirect_matches(&registered, "http://127.0.0.1/callback"));
        assert!(!redirect_matches(&registered, "http://127.0.0.1:3000/callback/other"));
        assert!(!redirect_matches(&registered, "http://localhost:3000/callback"), "another loopback name");
        assert!(!redirect_matches(&registered, "https://a.example/cb/"));
        assert!(!redirect_matches(&registered, "https://a.example:8443/cb"), "ports matter for https");
        assert!(!redirect_matches(&registered, "https://a.example/cb?x=1"));
        assert!(!redirect_matches(&registered, "https://evil.example/cb"));
        assert!(!redirect_matches(&registered, "HTTPS://a.example/cb"), "exact string comparison");
    }

    #[test]
    fn client_authentication_is_read_from_basic_or_the_body() {
        let params = Params::parse(b"grant_type=x").unwrap();
        let basic = format!("Basic {}", B64_STD.encode("my%20id:s%3Acret"));
        let auth = ClientAuth::read(Some(&basic), &params).unwrap().unwrap();
        assert_eq!(
            (auth.client_id.as_str(), auth.secret.as_deref(), auth.basic),
            ("my id", Some("s:cret"), true)
        );
        let body = Params::parse(b"client_id=c1&client_secret=s1").unwrap();
        let auth = ClientAuth::read(None, &body).unwrap().unwrap();
        assert_eq!((auth.client_id.as_str(), auth.secret.as_deref(), auth.basic), ("c1", Some("s1"), false));
        assert!(ClientAuth::read(Some(&basic), &body).is_err(), "two methods");
        assert_eq!(ClientAuth::read(None, &params).unwrap(), None);
        assert!(ClientAuth::read(Some("Basic %%%"), &params).is_err());
        assert_eq!(ClientAuth::read(Some("Bearer x"), &params).unwrap(), None);
    }

    #[test]
    fn clients_are_touched_at_most_daily() {
        let (client, _) = reg(json!({"redirect_uris": ["https://a.example/cb"]})).unwrap();
        assert!(!client.needs_touch(NOW + 1000));
        assert!(client.needs_touch(NOW + TOUCH_EVERY_MS));
    }
}
