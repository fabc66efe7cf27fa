//! GitHub as the upstream identity provider: the authorize URL, the code exchange through the `oauth2` crate
//! over whatever HTTP function the caller gives (the Workers fetch API in the Worker, a fake in tests), and
//! reading `/user`. GitHub answers token errors with HTTP 200 and an `error` field, which `oauth2` sees as a
//! parse failure: those bodies are read here and mapped to a fixed code. Nothing GitHub sends is ever put in an
//! error message or a log line.

use std::future::Future;

use oauth2::basic::BasicClient;
use oauth2::http::{self, header, HeaderValue};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use serde::Deserialize;
use serde_json::Value;

use super::grant::{Upstream, User};

/// The scope asked of GitHub: the profile, nothing more.
pub const UPSTREAM_SCOPE: &str = "read:user";
/// GitHub refuses API requests without a `User-Agent`.
pub const USER_AGENT: &str = concat!("mcp-worker-rs/", env!("CARGO_PKG_VERSION"));
pub const API_VERSION: &str = "2022-11-28";

/// The deployment's GitHub OAuth app and where GitHub is.
#[derive(Clone, PartialEq, Eq)]
pub struct GitHubApp {
    pub client_id: String,
    pub client_secret: String,
    /// `https://github.com`, or a local fake in tests.
    pub base_url: String,
    /// `https://api.github.com`, or a local fake in tests.
    pub api_url: String,
}

impl std::fmt::Debug for GitHubApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitHubApp({}, {}, {})", self.client_id, self.base_url, self.api_url)
    }
}

/// Why talking to GitHub failed, without anything GitHub said beyond a known error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubError {
    /// GitHub refused the exchange (`bad_verification_code`, `incorrect_client_credentials`, ...).
    Refused(&'static str),
    /// The request did not complete.
    Unreachable,
    /// An answer we could not read.
    Malformed,
    /// An unexpected HTTP status.
    Status(u16),
}

impl std::fmt::Display for GitHubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(code) => write!(f, "GitHub refused the sign-in ({code})"),
            Self::Unreachable => f.write_str("GitHub could not be reached"),
            Self::Malformed => f.write_str("GitHub's answer could not be read"),
            Self::Status(status) => write!(f, "GitHub answered HTTP {status}"),
        }
    }
}

/// GitHub's error codes we name; anything else is `other`, so no text of theirs is echoed.
fn known_code(code: &str) -> &'static str {
    const KNOWN: [&str; 7] = [
        "bad_verification_code",
        "incorrect_client_credentials",
        "redirect_uri_mismatch",
        "unverified_user_email",
        "access_denied",
        "bad_refresh_token",
        "application_suspended",
    ];
    KNOWN.into_iter().find(|k| *k == code).unwrap_or("other")
}

fn client(app: &GitHubApp, redirect_uri: Option<&str>) -> Result<OAuthClient, GitHubError> {
    let bad = |_| GitHubError::Malformed;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(app.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/login/oauth/authorize", app.base_url)).map_err(bad)?)
        .set_token_uri(TokenUrl::new(format!("{}/login/oauth/access_token", app.base_url)).map_err(bad)?)
        .set_auth_type(AuthType::RequestBody);
    Ok(match redirect_uri {
        Some(uri) => client.set_redirect_uri(RedirectUrl::new(uri.to_string()).map_err(bad)?),
        None => client,
    })
}

type OAuthClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// Where the user signs in: GitHub's authorize URL with our `state` and the S256 challenge of `verifier`.
pub fn authorize_url(
    app: &GitHubApp,
    redirect_uri: &str,
    state: &str,
    verifier: &str,
) -> Result<String, GitHubError> {
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_string()));
    let (url, _) = client(app, Some(redirect_uri))?
        .authorize_url(|| CsrfToken::new(state.to_string()))
        .add_scope(Scope::new(UPSTREAM_SCOPE.into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(url.into())
}

/// Exchanges GitHub's `code` with the `oauth2` crate over `http`.
pub async fn exchange_code<F, Fut, E>(
    app: &GitHubApp,
    http: F,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    now_ms: u64,
) -> Result<Upstream, GitHubError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, E>>,
    E: std::error::Error + 'static,
{
    let http = |request: HttpRequest| {
        let answer = http(request);
        async move { answer.await.map(json_body) }
    };
    let result = client(app, Some(redirect_uri))?
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&http)
        .await;
    upstream_of(result, now_ms)
}

/// Refreshes an expiring GitHub App user token (`grant_type=refresh_token`) with the `oauth2` crate over
/// `http`. GitHub's refresh tokens are single-use: the answer carries the next one.
pub async fn refresh_token<F, Fut, E>(
    app: &GitHubApp,
    http: F,
    refresh_token: &str,
    now_ms: u64,
) -> Result<Upstream, GitHubError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, E>>,
    E: std::error::Error + 'static,
{
    let http = |request: HttpRequest| {
        let answer = http(request);
        async move { answer.await.map(json_body) }
    };
    let result = client(app, None)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
        .request_async(&http)
        .await;
    upstream_of(result, now_ms)
}

type TokenResult<E> = Result<
    oauth2::basic::BasicTokenResponse,
    RequestTokenError<E, oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
>;

/// The upstream token of a token endpoint's answer, or why there is none (no text of GitHub's).
fn upstream_of<E: std::error::Error + 'static>(
    result: TokenResult<E>,
    now_ms: u64,
) -> Result<Upstream, GitHubError> {
    match result {
        Ok(token) => Ok(Upstream {
            access_token: token.access_token().secret().clone(),
            refresh_token: token.refresh_token().map(|t| t.secret().clone()),
            expires_ms: token.expires_in().map(|d| now_ms + d.as_millis() as u64),
        }),
        Err(RequestTokenError::ServerResponse(e)) => {
            Err(GitHubError::Refused(known_code(e.error().as_ref())))
        }
        Err(RequestTokenError::Parse(_, body)) => Err(refusal(&body)),
        Err(RequestTokenError::Request(_)) => Err(GitHubError::Unreachable),
        Err(RequestTokenError::Other(_)) => Err(GitHubError::Malformed),
    }
}

/// A 200 answer that is not a token: GitHub's way of saying no.
fn refusal(body: &[u8]) -> GitHubError {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    match value.get("error").and_then(Value::as_str) {
        Some(code) => GitHubError::Refused(known_code(code)),
        None => GitHubError::Malformed,
    }
}

/// GitHub's token endpoint answers form encoding unless told otherwise; `oauth2` reads only JSON, so a form
/// answer is turned into the same JSON here.
fn json_body(mut response: HttpResponse) -> HttpResponse {
    let is_form = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| super::form::is_form(Some(t)));
    if is_form {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(response.body())
            .map(|(k, v)| {
                let value = match v.parse::<u64>() {
                    Ok(n) if k.ends_with("expires_in") => Value::from(n),
                    _ => Value::String(v.into_owned()),
                };
                (k.into_owned(), value)
            })
            .collect();
        *response.body_mut() = Value::Object(map).to_string().into_bytes();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// The request for the signed-in user's profile.
pub fn user_request(app: &GitHubApp, access_token: &str) -> Result<HttpRequest, GitHubError> {
    http::Request::get(format!("{}/user", app.api_url))
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Vec::new())
        .map_err(|_| GitHubError::Malformed)
}

/// The user in a `/user` answer.
pub fn parse_user(response: &HttpResponse) -> Result<User, GitHubError> {
    #[derive(Deserialize)]
    struct Profile {
        id: u64,
        login: String,
        name: Option<String>,
    }
    if response.status() != 200 {
        return Err(GitHubError::Status(response.status().as_u16()));
    }
    let value: Value = serde_json::from_slice(response.body()).map_err(|_| GitHubError::Malformed)?;
    let profile: Profile = serde_json::from_value(value).map_err(|_| GitHubError::Malformed)?;
    if profile.login.is_empty() {
        return Err(GitHubError::Malformed);
    }
    Ok(User { id: profile.id, login: profile.login, name: profile.name.filter(|n| !n.is_empty()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn app() -> GitHubApp {
        GitHubApp {
            client_id: "Iv1.abc".into(),
            client_secret: "shh-secret".into(),
            base_url: "http://127.0.0.1:9999".into(),
            api_url: "http://127.0.0.1:9998".into(),
        }
    }

    #[derive(Debug)]
    struct Down;
    impl std::fmt::Display for Down {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("down")
        }
    }
    impl std::error::Error for Down {}

    fn answer(status: u16, content_type: &str, body: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .header("Content-Type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn exchange(
        response: HttpResponse,
        seen: &RefCell<Option<HttpRequest>>,
    ) -> Result<Upstream, GitHubError> {
        let http = |req: HttpRequest| {
            *seen.borrow_mut() = Some(req);
            let response = response.clone();
            async move { Ok::<_, Down>(response) }
        };
        futures_executor::block_on(exchange_code(
            &app(),
            http,
            "gh-code",
            "https://w.example/callback",
            "v".repeat(43).as_str(),
            1000,
        ))
    }

    #[test]
    fn a_refresh_sends_the_refresh_token_and_reads_the_rotated_pair() {
        let seen = RefCell::new(None);
        let body = "access_token=ghu_new&expires_in=28800&refresh_token=ghr_new&refresh_token_expires_in=15811200&token_type=bearer&scope=";
        let response = answer(200, "application/x-www-form-urlencoded", body);
        let http = |req: HttpRequest| {
            *seen.borrow_mut() = Some(req);
            let response = response.clone();
            async move { Ok::<_, Down>(response) }
        };
        let token = futures_executor::block_on(refresh_token(&app(), http, "ghr_old", 1000)).unwrap();
        assert_eq!(token.access_token, "ghu_new");
        assert_eq!(token.refresh_token.as_deref(), Some("ghr_new"));
        assert_eq!(token.expires_ms, Some(1000 + 28_800_000));
        let request = seen.borrow_mut().take().unwrap();
        assert_eq!(request.uri(), "http://127.0.0.1:9999/login/oauth/access_token");
        let form = String::from_utf8(request.body().clone()).unwrap();
        for part in ["grant_type=refresh_token", "refresh_token=ghr_old", "client_id=Iv1.abc"] {
            assert!(form.contains(part), "{part} in {form}");
        }
        let refused = answer(200, "application/json", r#"{"error":"bad_refresh_token"}"#);
        let http = |_req: HttpRequest| {
            let refused = refused.clone();
            async move { Ok::<_, Down>(refused) }
        };
        let err = futures_executor::block_on(refresh_token(&app(), http, "ghr_old", 1000)).unwrap_err();
        assert_eq!(err, GitHubError::Refused("bad_refresh_token"));
    }

    #[test]
    fn the_authorize_url_carries_state_pkce_and_our_callback() {
        let url = authorize_url(&app(), "https://w.example/callback", "mcp_st.a.b", &"v".repeat(43)).unwrap();
        assert!(url.starts_with("http://127.0.0.1:9999/login/oauth/authorize?"), "{url}");
        for part in [
            "client_id=Iv1.abc",
            "state=mcp_st.a.b",
            "code_challenge_method=S256",
            "scope=read%3Auser",
            "redirect_uri=https%3A%2F%2Fw.example%2Fcallback",
        ] {
            assert!(url.contains(part), "{part} in {url}");
        }
        assert!(!url.contains("shh-secret"));
    }

    #[test]
    fn a_json_token_is_read_and_credentials_go_in_the_body() {
        let seen = RefCell::new(None);
        let token = exchange(
            answer(
                200,
                "application/json",
                r#"{"access_token":"gho_x","token_type":"bearer","scope":"read:user"}"#,
            ),
            &seen,
        )
        .unwrap();
        assert_eq!(token, Upstream { access_token: "gho_x".into(), refresh_token: None, expires_ms: None });
        let req = seen.borrow_mut().take().unwrap();
        assert_eq!(req.uri(), "http://127.0.0.1:9999/login/oauth/access_token");
        let body = String::from_utf8(req.body().clone()).unwrap();
        assert!(body.contains("client_secret=shh-secret") && body.contains("code_verifier="), "{body}");
        assert_eq!(req.headers()["accept"], "application/json");
    }

    #[test]
    fn expiring_app_tokens_keep_their_refresh_token_and_expiry() {
        let seen = RefCell::new(None);
        let body = "access_token=ghu_x&expires_in=28800&refresh_token=ghr_y&refresh_token_expires_in=15811200&token_type=bearer&scope=";
        let token = exchange(answer(200, "application/x-www-form-urlencoded", body), &seen).unwrap();
        assert_eq!(token.refresh_token.as_deref(), Some("ghr_y"));
        assert_eq!(token.expires_ms, Some(1000 + 28_800_000));
    }

    #[test]
    fn a_200_with_error_is_a_refusal_naming_only_a_known_code() {
        let seen = RefCell::new(None);
        let body = r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired. gho_leak"}"#;
        let err = exchange(answer(200, "application/json", body), &seen).unwrap_err();
        assert_eq!(err, GitHubError::Refused("bad_verification_code"));
        assert!(!err.to_string().contains("gho_leak"));
        let odd = exchange(answer(200, "application/json", r#"{"error":"<script>"}"#), &seen).unwrap_err();
        assert_eq!(odd, GitHubError::Refused("other"));
        let form = exchange(
            answer(200, "application/x-www-form-urlencoded", "error=incorrect_client_credentials"),
            &seen,
        );
        assert_eq!(form.unwrap_err(), GitHubError::Refused("incorrect_client_credentials"));
        assert_eq!(exchange(answer(200, "text/html", "<html>"), &seen).unwrap_err(), GitHubError::Malformed);
        assert!(matches!(
            exchange(answer(500, "application/json", "{}"), &seen).unwrap_err(),
            GitHubError::Malformed | GitHubError::Refused(_)
        ));
    }

    #[test]
    fn an_unreachable_github_is_said_so() {
        let http = |_req: HttpRequest| async { Err::<HttpResponse, _>(Down) };
        let err = futures_executor::block_on(exchange_code(
            &app(),
            http,
            "c",
            "https://w.example/callback",
            &"v".repeat(43),
            0,
        ));
        assert_eq!(err.unwrap_err(), GitHubError::Unreachable);
    }

    #[test]
    fn the_user_request_has_a_user_agent_and_the_api_version() {
        let req = user_request(&app(), "gho_x").unwrap();
        assert_eq!(req.uri(), "http://127.0.0.1:9998/user");
        assert!(req.headers()["user-agent"].to_str().unwrap().starts_with("mcp-worker-rs/"));
        assert_eq!(req.headers()["x-github-api-version"], API_VERSION);
        assert_eq!(req.headers()["authorization"], "Bearer gho_x");
    }

    #[test]
    fn users_are_read_from_the_profile() {
        let ok = answer(
            200,
            "application/json",
            r#"{"login":"octocat","id":583231,"name":"The Octocat","email":null}"#,
        );
        assert_eq!(
            parse_user(&ok),
            Ok(User { id: 583231, login: "octocat".into(), name: Some("The Octocat".into()) })
        );
        let nameless = answer(200, "application/json", r#"{"login":"x","id":1,"name":null}"#);
        assert_eq!(parse_user(&nameless).unwrap().name, None);
        assert_eq!(parse_user(&answer(403, "application/json", "{}")), Err(GitHubError::Status(403)));
        assert_eq!(
            parse_user(&answer(200, "application/json", r#"{"login":"x"}"#)),
            Err(GitHubError::Malformed)
        );
    }
}
