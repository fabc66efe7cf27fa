//! Which credentials a call carries and where they go. The operation's security requirement lists
//! alternatives; the first one every scheme of which has a configured credential is used. A credential is
//! attached only to a request for the configured base URL's origin, checked here on the request itself.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use futures_util::future::{FutureExt, Shared};
use serde::Deserialize;

use super::encode::percent;
use super::index::{ApiIndex, Location, Operation, SecurityScheme};
use super::request::OutgoingRequest;
use super::settings::{origin_of, ApiSettings, BaseUrl, ClientCredentials, Credential};
use crate::handler::LocalFuture;

/// What a chosen scheme needs before the call: a secret at hand, or a token to get first.
#[derive(Debug, Clone, PartialEq)]
pub enum Needed<'a> {
    Ready(Placement),
    /// An OAuth 2.0 client-credentials token, for scheme `scheme`, from `token_url`.
    ClientToken {
        scheme: &'a str,
        credentials: &'a ClientCredentials,
        token_url: String,
        scopes: Vec<String>,
    },
}

/// Where a credential goes.
#[derive(Clone, PartialEq)]
pub enum Placement {
    Bearer(String),
    Basic { user: String, password: String },
    ApiKey { location: Location, name: String, value: String },
}

/// Never prints a secret.
impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(..)"),
            Self::Basic { .. } => f.write_str("Basic(..)"),
            Self::ApiKey { location, name, .. } => write!(f, "ApiKey({location:?} {name})"),
        }
    }
}

/// The credentials `op` needs under `api`'s settings: the first alternative of its security requirement that
/// the configured credentials satisfy entirely (an empty alternative needs none). With
/// `OPENAPI_<NAME>_AUTH=github_user` the caller's GitHub token is used instead (see [`crate::openapi::call`]).
pub fn choose<'a>(
    op: &'a Operation,
    index: &'a ApiIndex,
    api: &'a ApiSettings,
) -> Result<Vec<Needed<'a>>, String> {
    if op.security.is_empty() {
        return Ok(Vec::new());
    }
    'alternatives: for alternative in &op.security {
        let mut needed = Vec::new();
        for scheme_name in alternative {
            let (Some(scheme), Some(credential)) =
                (index.security_schemes.get(scheme_name), api.credentials.get(scheme_name))
            else {
                continue 'alternatives;
            };
            match need(scheme_name, scheme, credential, &api.base) {
                Some(n) => needed.push(n),
                None => continue 'alternatives,
            }
        }
        return Ok(needed);
    }
    let wanted: Vec<String> = op.security.iter().map(|alt| alt.join(" + ")).collect();
    Err(format!(
        "{} needs credentials for {}, and {} configures none of them that fit",
        op.name,
        wanted.join(" or "),
        api.setting("CREDENTIALS")
    ))
}

/// A credential for `scheme`, if the configured one is of a kind the scheme takes.
fn need<'a>(
    name: &'a str,
    scheme: &'a SecurityScheme,
    credential: &'a Credential,
    base: &BaseUrl,
) -> Option<Needed<'a>> {
    let placement = match (scheme, credential) {
        (SecurityScheme::Bearer, Credential::Secret(token)) => Placement::Bearer(token.clone()),
        (SecurityScheme::Basic, Credential::Secret(pair)) => {
            let (user, password) = pair.split_once(':')?;
            Placement::Basic { user: user.into(), password: password.into() }
        }
        (SecurityScheme::ApiKey { location, name }, Credential::Secret(value)) => {
            Placement::ApiKey { location: *location, name: name.clone(), value: value.clone() }
        }
        (SecurityScheme::OAuth2ClientCredentials { token_url, scopes }, Credential::ClientCredentials(c)) => {
            // The spec's token URL only on the API's own origin: the spec is untrusted, the secret is not.
            let token_url = match (&c.token_url, token_url) {
                (Some(configured), _) => configured.clone(),
                (None, Some(from_spec)) if origin_of(from_spec).as_deref() == Some(base.origin.as_str()) => {
                    from_spec.clone()
                }
                (None, Some(relative)) if relative.starts_with('/') && !relative.starts_with("//") => {
                    format!("{}{relative}", base.origin)
                }
                _ => return None,
            };
            return Some(Needed::ClientToken {
                scheme: name,
                credentials: c,
                token_url,
                scopes: c.scopes.clone().unwrap_or_else(|| scopes.clone()),
            });
        }
        // Other OAuth 2.0 flows and OpenID Connect: the Worker cannot run them, but their tokens are bearer
        // tokens, so an access token the operator obtained is sent as one.
        (SecurityScheme::OAuth2ClientCredentials { .. }, Credential::Secret(token)) => {
            Placement::Bearer(token.clone())
        }
        (SecurityScheme::Other { kind }, Credential::Secret(token))
            if kind == "oauth2" || kind == "openIdConnect" =>
        {
            Placement::Bearer(token.clone())
        }
        // A credential of the wrong kind is not satisfiable here.
        _ => return None,
    };
    Some(Needed::Ready(placement))
}

/// Attaches `placements` to `request`, which must go to `base`'s origin: a request for anywhere else gets no
/// credential, it is refused.
pub fn attach(request: &mut OutgoingRequest, base: &BaseUrl, placements: &[Placement]) -> Result<(), String> {
    if placements.is_empty() {
        return Ok(());
    }
    if !request.goes_to(base) {
        return Err("refused: a credential may only go to the configured base URL's origin".into());
    }
    for placement in placements {
        match placement {
            Placement::Bearer(token) => request.set_header("Authorization", format!("Bearer {token}")),
            Placement::Basic { user, password } => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                request.set_header("Authorization", format!("Basic {encoded}"));
            }
            Placement::ApiKey { location: Location::Header, name, value } => {
                if value.chars().any(char::is_control) {
                    return Err(format!("the API key for header {name} contains control characters"));
                }
                request.set_header(name, value.clone());
            }
            Placement::ApiKey { location: Location::Query, name, value } => {
                request.set_query(&percent(name), &format!("{}={}", percent(name), percent(value)));
            }
            Placement::ApiKey { location: Location::Cookie, name, value } => {
                request.set_cookie(&percent(name), &format!("{}={}", percent(name), percent(value)));
            }
            Placement::ApiKey { location: Location::Path, .. } => {
                return Err("an API key cannot go in the path".into());
            }
        }
    }
    Ok(())
}

/// OAuth 2.0 client-credentials tokens of one API, by scheme, kept until shortly before they expire; and the
/// token requests under way, so that concurrent calls share one.
#[derive(Default)]
pub struct TokenCache {
    /// By scheme: the token, and from when it is renewed.
    tokens: RefCell<HashMap<String, (String, u64)>>,
    fetching: RefCell<HashMap<String, SharedFetch>>,
}

/// A token request's outcome: the token and its `expires_in`.
pub type Fetched = Result<(String, Option<u64>), String>;
pub type SharedFetch = Shared<LocalFuture<'static, Fetched>>;

/// A token is renewed this long before it expires (or half its lifetime, if that is shorter), so a call never
/// carries one about to lapse.
pub const REFRESH_MARGIN_MS: u64 = 60_000;
/// How long a token without `expires_in` is kept.
const DEFAULT_TOKEN_TTL_MS: u64 = 3_600_000;

impl TokenCache {
    /// The token for `scheme`, if one is held that is not due for renewal at `now_ms`.
    pub fn get(&self, scheme: &str, now_ms: u64) -> Option<String> {
        let tokens = self.tokens.borrow();
        let (token, renew_at) = tokens.get(scheme)?;
        (now_ms < *renew_at).then(|| token.clone())
    }

    pub fn put(&self, scheme: &str, token: String, expires_in_s: Option<u64>, now_ms: u64) {
        let ttl = expires_in_s.map_or(DEFAULT_TOKEN_TTL_MS, |s| s.saturating_mul(1000));
        let renew_at = now_ms.saturating_add(ttl - REFRESH_MARGIN_MS.min(ttl / 2));
        self.tokens.borrow_mut().insert(scheme.to_string(), (token, renew_at));
    }

    /// Drops `scheme`'s token if it is still `refused` (the API answered 401 with it); a token another call
    /// renewed meanwhile is kept.
    pub fn forget_if(&self, scheme: &str, refused: &str) {
        let mut tokens = self.tokens.borrow_mut();
        if tokens.get(scheme).is_some_and(|(token, _)| token == refused) {
            tokens.remove(scheme);
        }
    }

    /// The token request for `scheme` under way, or a new one made by `start` (a finished one is not reused):
    /// every call waiting for a token at the same time gets the outcome of the same request.
    pub fn fetch(&self, scheme: &str, start: impl FnOnce() -> LocalFuture<'static, Fetched>) -> SharedFetch {
        let mut fetching = self.fetching.borrow_mut();
        match fetching.get(scheme) {
            Some(under_way) if under_way.peek().is_none() => under_way.clone(),
            _ => {
                let fetch = start().shared();
                fetching.insert(scheme.to_string(), fetch.clone());
                fetch
            }
        }
    }
}

/// The token request for `needed`: `POST token_url` with `grant_type=client_credentials` (and the scopes),
/// the client authenticated with HTTP Basic (RFC 6749 section 2.3.1).
pub fn token_request(credentials: &ClientCredentials, token_url: &str, scopes: &[String]) -> OutgoingRequest {
    let mut body = "grant_type=client_credentials".to_string();
    if !scopes.is_empty() {
        body.push_str(&format!("&scope={}", percent(&scopes.join(" "))));
    }
    let pair =
        format!("{}:{}", form_component(&credentials.client_id), form_component(&credentials.client_secret));
    OutgoingRequest {
        method: "POST",
        url: token_url.to_string(),
        headers: vec![
            (
                "Authorization".into(),
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)),
            ),
            ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(body.into_bytes()),
    }
}

/// RFC 6749 encodes the client id and secret (form encoding) before Basic.
fn form_component(text: &str) -> String {
    percent(text).replace("%20", "+")
}

/// A token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Reads a token endpoint's answer; errors never quote it.
pub fn token_answer(status: u16, body: &[u8]) -> Result<TokenAnswer, String> {
    if !(200..300).contains(&status) {
        return Err(format!("the token endpoint answered HTTP {status}"));
    }
    serde_json::from_slice::<TokenAnswer>(body)
        .ok()
        .filter(|t| !t.access_token.is_empty() && !t.access_token.chars().any(char::is_control))
        .ok_or_else(|| "the token endpoint's answer has no access_token".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::settings;
    use std::collections::HashMap;

    fn index() -> ApiIndex {
        serde_json::from_str(include_str!("../../tests/e2e/fixtures/openapi/zoo.json")).unwrap()
    }

    fn api(credentials: &str) -> ApiSettings {
        let map: HashMap<&str, String> = [
            ("OPENAPI_APIS", "zoo".to_string()),
            ("OPENAPI_ZOO_BASE_URL", "https://zoo.example/api".to_string()),
            ("OPENAPI_ZOO_CREDENTIALS", credentials.to_string()),
        ]
        .into();
        settings::parse(&|k| map.get(k).cloned(), false).unwrap().remove(0)
    }

    fn op<'a>(index: &'a ApiIndex, name: &str) -> &'a Operation {
        index.operations.iter().find(|o| o.name == name).unwrap()
    }

    fn request(url: &str) -> OutgoingRequest {
        OutgoingRequest { method: "GET", url: url.into(), headers: Vec::new(), body: None }
    }

    fn placed(op_name: &str, credentials: &str) -> OutgoingRequest {
        let (index, api) = (index(), api(credentials));
        let needed = choose(op(&index, op_name), &index, &api).unwrap();
        let placements: Vec<Placement> = needed
            .into_iter()
            .map(|n| match n {
                Needed::Ready(p) => p,
                other => panic!("{other:?}"),
            })
            .collect();
        let mut r = request("https://zoo.example/api/x?a=1");
        attach(&mut r, &api.base, &placements).unwrap();
        r
    }

    #[test]
    fn each_kind_goes_in_its_place() {
        let creds = r#"{"apiKeyHeader":"hk","apiKeyQuery":"q k","apiKeyCookie":"ck","bearer":"tok","basic":"al:pa:ss"}"#;
        assert_eq!(placed("getAnimal", creds).header("X-Api-Key"), Some("hk"));
        assert_eq!(placed("uploadNote", creds).url, "https://zoo.example/api/x?a=1&api_key=q%20k");
        assert_eq!(placed("setMotto", creds).header("Cookie"), Some("zoo_key=ck"));
        assert_eq!(placed("addAnimal", creds).header("Authorization"), Some("Bearer tok"));
        // base64("al:pa:ss"): the password may hold colons.
        assert_eq!(placed("updateAnimalForm", creds).header("Authorization"), Some("Basic YWw6cGE6c3M="));
        assert_eq!(placed("listAnimals", creds).headers, vec![]);
    }

    #[test]
    fn a_query_or_cookie_key_replaces_an_argument_of_its_name() {
        let (index, api) = (index(), api(r#"{"apiKeyQuery":"secret","apiKeyCookie":"ck"}"#));
        let placements: Vec<Placement> = ["apiKeyQuery", "apiKeyCookie"]
            .iter()
            .map(|s| match need(s, &index.security_schemes[*s], &api.credentials[*s], &api.base) {
                Some(Needed::Ready(p)) => p,
                _ => panic!("{s}"),
            })
            .collect();
        let mut r = request("https://zoo.example/api/x?api_key=mine&a=1");
        r.set_header("Cookie", "zoo_key=mine; other=2".into());
        attach(&mut r, &api.base, &placements).unwrap();
        assert_eq!(r.url, "https://zoo.example/api/x?a=1&api_key=secret");
        assert_eq!(r.header("Cookie"), Some("other=2; zoo_key=ck"));
    }

    #[test]
    fn the_first_fully_configured_alternative_is_used() {
        // feedAnimal: openId (never satisfiable here), or apiKeyHeader + bearer together.
        let r = placed("feedAnimal", r#"{"apiKeyHeader":"hk","bearer":"tok"}"#);
        assert_eq!((r.header("X-Api-Key"), r.header("Authorization")), (Some("hk"), Some("Bearer tok")));
        let (index, only_one) = (index(), api(r#"{"apiKeyHeader":"hk"}"#));
        let err = choose(op(&index, "feedAnimal"), &index, &only_one).unwrap_err();
        assert!(err.contains("OPENAPI_ZOO_CREDENTIALS") && err.contains("apiKeyHeader + bearer"), "{err}");
        // headAnimal lists an empty alternative first: no credential is needed, none is sent.
        assert_eq!(placed("headAnimal", r#"{"apiKeyHeader":"hk"}"#).headers, vec![]);
        // OpenID Connect (and OAuth 2.0 flows the Worker cannot run) take a token the operator obtained, as a bearer.
        let r = placed("feedAnimal", r#"{"openId":"oidc-tok"}"#);
        assert_eq!(r.header("Authorization"), Some("Bearer oidc-tok"));
        // A credential of the wrong kind does not satisfy a scheme.
        let wrong = api(r#"{"bearer":{"client_id":"a","client_secret":"b"}}"#);
        assert!(choose(op(&index, "addAnimal"), &index, &wrong).is_err());
        let no_colon = api(r#"{"basic":"justuser"}"#);
        assert!(choose(op(&index, "updateAnimalForm"), &index, &no_colon).is_err());
    }

    #[test]
    fn credentials_go_only_to_the_base_origin() {
        let base = api("{}").base;
        let key = [Placement::Bearer("tok".into())];
        for elsewhere in
            ["https://evil.example/api/x", "http://zoo.example/api/x", "https://zoo.example:444/api", "/x"]
        {
            let mut r = request(elsewhere);
            assert!(attach(&mut r, &base, &key).is_err(), "{elsewhere}");
            assert_eq!(r.header("Authorization"), None);
        }
        let mut r = request("https://zoo.example/other/path");
        attach(&mut r, &base, &key).unwrap();
        assert_eq!(r.header("Authorization"), Some("Bearer tok"));
    }

    #[test]
    fn client_credentials_token_url_is_configured_or_on_the_api_origin() {
        let index = index();
        let delete = op(&index, "deleteAnimal");
        // The spec's token URL is on another origin: without a configured one, the scheme is unsatisfiable.
        let unconfigured = api(r#"{"oauth":{"client_id":"a","client_secret":"b"}}"#);
        assert!(choose(delete, &index, &unconfigured).is_err());
        let configured = api(
            r#"{"oauth":{"client_id":"a","client_secret":"b","token_url":"https://login.example/t","scopes":["x"]}}"#,
        );
        let needed = choose(delete, &index, &configured).unwrap();
        let [Needed::ClientToken { scheme, token_url, scopes, .. }] = &needed[..] else {
            panic!("{needed:?}")
        };
        assert_eq!(
            (*scheme, token_url.as_str(), scopes.clone()),
            ("oauth", "https://login.example/t", vec!["x".to_string()])
        );
        let mut same_origin = index;
        same_origin.security_schemes.insert(
            "oauth".into(),
            SecurityScheme::OAuth2ClientCredentials {
                token_url: Some("/oauth/token".into()),
                scopes: vec!["s".into()],
            },
        );
        let needed = choose(op(&same_origin, "deleteAnimal"), &same_origin, &unconfigured).unwrap();
        let [Needed::ClientToken { token_url, scopes, .. }] = &needed[..] else { panic!() };
        assert_eq!(
            (token_url.as_str(), scopes.clone()),
            ("https://zoo.example/oauth/token", vec!["s".to_string()])
        );
    }

    #[test]
    fn tokens_are_cached_until_shortly_before_expiry() {
        let cache = TokenCache::default();
        cache.put("oauth", "t1".into(), Some(120), 1_000);
        assert_eq!(cache.get("oauth", 1_000).as_deref(), Some("t1"));
        assert_eq!(cache.get("oauth", 1_000 + 59_000).as_deref(), Some("t1"));
        assert_eq!(cache.get("oauth", 1_000 + 60_000), None, "renewed a minute before it expires");
        // A token living less than two margins is renewed halfway.
        cache.put("short", "s1".into(), Some(30), 0);
        assert_eq!(cache.get("short", 14_999).as_deref(), Some("s1"));
        assert_eq!(cache.get("short", 15_000), None);
        cache.put("oauth", "t2".into(), None, 0);
        cache.forget_if("oauth", "t1");
        assert_eq!(cache.get("oauth", 0).as_deref(), Some("t2"), "renewed by another call meanwhile: kept");
        cache.forget_if("oauth", "t2");
        assert_eq!(cache.get("oauth", 0), None);
    }

    #[test]
    fn the_token_request_and_answer() {
        let c = ClientCredentials {
            client_id: "my id".into(),
            client_secret: "s:e".into(),
            token_url: None,
            scopes: None,
        };
        let r = token_request(&c, "https://login.example/t", &["a".into(), "b".into()]);
        assert_eq!(r.method, "POST");
        assert_eq!(
            String::from_utf8(r.body.clone().unwrap()).unwrap(),
            "grant_type=client_credentials&scope=a%20b"
        );
        let expected = base64::engine::general_purpose::STANDARD.encode("my+id:s%3Ae");
        assert_eq!(r.header("Authorization"), Some(format!("Basic {expected}").as_str()));
        assert_eq!(
            token_answer(200, br#"{"access_token":"x","expires_in":60}"#).unwrap().expires_in,
            Some(60)
        );
        assert!(token_answer(401, b"{}").err().unwrap().contains("401"));
        let err = token_answer(200, br#"{"error":"secret-ish"}"#).err().unwrap();
        assert!(!err.contains("secret-ish"));
    }
}
