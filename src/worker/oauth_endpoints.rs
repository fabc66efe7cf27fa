//! The authorization server's endpoints in the Worker: discovery metadata, registration, the consent page and
//! its answer, GitHub's callback (the token and revocation endpoints are in `oauth_token`). The rules are in
//! [`crate::oauth`]; this reads requests, fetches and stores, and writes answers. Errors before a redirect URI
//! is validated are HTML pages; after it, redirects carrying `error`, `state` and `iss`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use worker::{Context, Env};

use super::incoming::Incoming;
use super::oauth_store::{self, Lookup};
use super::{github_client, http, now_ms, oauth_token, Reply};
use crate::config::{Settings, SignIn};
use crate::oauth::client::{self, MAX_REGISTRATION_BYTES};
use crate::oauth::consent::{self, View};
use crate::oauth::form::{self, Params, MAX_FORM_BYTES};
use crate::oauth::grant::STATE_TTL_MS;
use crate::oauth::grant_call::{GrantCall, GrantReply};
use crate::oauth::sealed::{AuthorizationRequest, Kind, SealError, Sealer, UpstreamState};
use crate::oauth::{
    github, metadata, pkce, random_id, random_secret, resource, ErrorCode, OAuthError, Route,
};
use crate::oauth::{CALLBACK_PATH, SCOPE};

/// The longest `state` a client may send (it comes back in URLs).
const MAX_STATE_CHARS: usize = 2048;
const UPSTREAM_PKCE_LABEL: &[u8] = b"upstream-pkce";

/// What every OAuth endpoint needs.
pub struct OAuth<'a> {
    pub env: &'a Env,
    pub ctx: &'a Context,
    pub settings: &'a Settings,
    pub sign_in: &'a SignIn,
    pub sealer: &'a Sealer,
    /// `scheme://host[:port]` of the request: the issuer, and the base of the resource.
    pub origin: &'a str,
}

impl OAuth<'_> {
    fn https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

pub async fn handle(req: &Incoming, at: &OAuth<'_>, route: Route) -> Reply {
    let method = req.method.as_str();
    match (route, method) {
        (Route::ResourceMetadata, "GET") => {
            json(200, &metadata::protected_resource(at.origin).to_string(), &[])
        }
        (Route::ServerMetadata, "GET") => {
            json(200, &metadata::authorization_server(at.origin).to_string(), &[])
        }
        (Route::Register, "POST") => register(req, at).await,
        (Route::Authorize, "GET") => authorize(req, at).await,
        (Route::Authorize, "POST") => consent(req, at).await,
        (Route::Callback, "GET") => callback(req, at).await,
        (Route::Token, "POST") => oauth_token::token(req, at).await,
        (Route::Revoke, "POST") => oauth_token::revoke(req, at).await,
        (Route::ResourceMetadata | Route::ServerMetadata | Route::Callback, _) => not_allowed("GET, OPTIONS"),
        (Route::Authorize, _) => not_allowed("GET, POST, OPTIONS"),
        (Route::Register | Route::Token | Route::Revoke, _) => not_allowed("POST, OPTIONS"),
    }
}

fn not_allowed(allow: &str) -> Reply {
    http::respond(405, &[("Allow", allow)], String::new()).into()
}

/// A JSON answer that is never cached.
pub fn json(status: u16, body: &str, extra: &[(&str, String)]) -> Reply {
    let mut headers: Vec<(&str, &str)> =
        vec![("Content-Type", http::JSON), ("Cache-Control", "no-store"), ("Pragma", "no-cache")];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    http::respond(status, &headers, body.to_string()).into()
}

/// An OAuth error as JSON (token, revocation and registration endpoints).
pub fn error_json(e: &OAuthError) -> Reply {
    json(e.status(), &e.to_json(), &e.headers())
}

/// A failure on our side: the detail goes to the log under a reference; the client gets `server_error`.
pub fn internal(context: &str, detail: &str) -> OAuthError {
    let reference = crate::random::hex::<8>();
    worker::console_error!("oauth [{reference}]: {context}: {detail}");
    OAuthError::new(
        ErrorCode::ServerError,
        format!("the server could not complete the request (reference {reference})"),
    )
}

fn page(status: u16, html: String, cookie: Option<String>) -> Reply {
    let mut headers: Vec<(&str, &str)> = consent::PAGE_HEADERS.to_vec();
    if let Some(cookie) = &cookie {
        headers.push(("Set-Cookie", cookie));
    }
    http::respond(status, &headers, html).into()
}

fn error_page(status: u16, message: &str) -> Reply {
    page(status, consent::error_page(message), None)
}

fn redirect(location: &str, cookie: Option<String>) -> Reply {
    let mut headers: Vec<(&str, &str)> =
        vec![("Location", location), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")];
    if let Some(cookie) = &cookie {
        headers.push(("Set-Cookie", cookie));
    }
    http::respond(302, &headers, String::new()).into()
}

/// An error sent back to the client's (validated) redirect URI.
fn redirect_error(
    request: &AuthorizationRequest,
    origin: &str,
    error: &OAuthError,
    cookie: Option<String>,
) -> Reply {
    redirect(
        &form::with_query(&request.redirect_uri, &error.redirect_params(request.state.as_deref(), origin)),
        cookie,
    )
}

/// `POST /register` (RFC 7591).
async fn register(req: &Incoming, at: &OAuth<'_>) -> Reply {
    let refused = |why: &str| error_json(&OAuthError::new(ErrorCode::InvalidClientMetadata, why));
    let body = match req.read_body(MAX_REGISTRATION_BYTES, at.ctx).await {
        Ok(body) => body,
        Err(_) => return refused("the registration request is too large or unreadable"),
    };
    match client::register(&body, random_id(), random_secret(), now_ms()) {
        Ok((client, secret)) => match oauth_store::register(at.env, &client).await {
            Ok(()) => json(201, &client.registration_response(secret.as_deref()).to_string(), &[]),
            Err(e) => error_json(&internal("storing a client", &e)),
        },
        Err(e) => error_json(&e),
    }
}

/// `GET /authorize`: the request is validated, then the consent page is shown.
async fn authorize(req: &Incoming, at: &OAuth<'_>) -> Reply {
    let query = crate::transport::request_url::query(&req.url).unwrap_or("");
    let params = match Params::parse(query.as_bytes()) {
        Ok(params) => params,
        Err(e) => return error_page(400, &e.description),
    };
    let Some(client_id) = params.get("client_id") else {
        return error_page(400, "client_id is missing");
    };
    let client = match oauth_store::client(at.env, at.ctx, client_id, at.settings.development, now_ms()).await
    {
        Ok(client) => client,
        Err(Lookup::Unknown) => {
            return error_page(400, "the client is not registered (or its registration expired)")
        }
        Err(Lookup::BadDocument(why)) => return error_page(400, &why),
        Err(Lookup::Failed(e)) => return error_page(500, &internal("reading a client", &e).description),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client::redirect_matches(&client.redirect_uris, uri) => uri.to_string(),
        Some(_) => return error_page(400, "redirect_uri is not one the client registered"),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return error_page(400, "redirect_uri is missing"),
    };
    let state = params.get("state").map(str::to_string);
    let mut request = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        state,
        code_challenge: String::new(),
        scope: SCOPE.into(),
        resource: resource(at.origin),
        expires_ms: now_ms() + STATE_TTL_MS,
    };
    let checked = (|| {
        if request.state.as_ref().is_some_and(|s| s.len() > MAX_STATE_CHARS) {
            request.state = None;
            return Err(OAuthError::invalid_request("state is too long"));
        }
        if params.get("response_type") != Some("code") {
            return Err(OAuthError::new(ErrorCode::UnsupportedResponseType, "response_type must be code"));
        }
        request.code_challenge =
            pkce::check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))?;
        if let Some(asked) = params.get("resource") {
            if asked.trim_end_matches('/') != at.origin && asked != resource(at.origin) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    "resource must be this server's MCP endpoint",
                ));
            }
        }
        Ok(())
    })();
    if let Err(e) = checked {
        return redirect_error(&request, at.origin, &e, None);
    }
    let sealed = at.sealer.seal(Kind::AuthorizationRequest, &request);
    let nonce = B64.encode(crate::random::bytes::<16>());
    let csrf = consent::csrf_token(at.sealer, &sealed, &nonce);
    let view = View {
        client_id: &client.client_id,
        client_name: client.client_name.as_deref(),
        client_uri: client.client_uri.as_deref(),
        redirect_uri: &request.redirect_uri,
        scope: &request.scope,
        sealed_request: &sealed,
        csrf: &csrf,
    };
    let cookie = consent::set_cookie(at.https(), &sealed, &nonce, STATE_TTL_MS / 1000);
    page(200, consent::page(&view), Some(cookie))
}

/// `POST /authorize`: the consent form's answer. Approval goes to GitHub with a one-time state.
async fn consent(req: &Incoming, at: &OAuth<'_>) -> Reply {
    if !form::is_form(req.header("Content-Type").as_deref()) {
        return error_page(400, "the consent form must be sent as a form");
    }
    let Ok(body) = req.read_body(MAX_FORM_BYTES, at.ctx).await else {
        return error_page(400, "the consent form is too large or unreadable");
    };
    let params = match Params::parse(&body) {
        Ok(params) => params,
        Err(e) => return error_page(400, &e.description),
    };
    let Some(sealed) = params.get(consent::FIELD_REQUEST) else {
        return error_page(400, "the consent form is incomplete");
    };
    let request: AuthorizationRequest = match at.sealer.open(Kind::AuthorizationRequest, sealed, now_ms()) {
        Ok(request) => request,
        Err(SealError::Expired) => {
            return error_page(400, "the consent form has expired: start the sign-in again")
        }
        Err(SealError::Forged) => return error_page(400, "the consent form is not valid"),
    };
    let cookies = req.header("Cookie");
    let nonce = consent::cookie(cookies.as_deref(), &consent::cookie_name(at.https(), sealed));
    if !consent::csrf_ok(at.sealer, sealed, nonce, params.get(consent::FIELD_CSRF)) {
        return error_page(
            403,
            "the consent form failed its CSRF check: start the sign-in again from the client",
        );
    }
    let clear = Some(consent::clear_cookie(at.https(), sealed));
    match params.get(consent::FIELD_ACTION) {
        Some(consent::APPROVE) => {}
        Some(consent::DENY) => {
            let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied access");
            return redirect_error(&request, at.origin, &denied, clear);
        }
        _ => return error_page(400, "the consent form's action must be approve or deny"),
    }
    let grant_id = random_id();
    let verifier = upstream_verifier(at.sealer, &grant_id);
    let state = UpstreamState { request, grant_id, expires_ms: now_ms() + STATE_TTL_MS };
    let state = at.sealer.seal(Kind::UpstreamState, &state);
    let callback = format!("{}{CALLBACK_PATH}", at.origin);
    match github::authorize_url(&at.sign_in.github, &callback, &state, &verifier) {
        Ok(url) => redirect(&url, clear),
        Err(e) => error_page(500, &internal("building GitHub's authorize URL", &e.to_string()).description),
    }
}

/// The PKCE verifier of our request to GitHub, derived from the grant id rather than carried in the state
/// (which travels in URLs beside GitHub's code).
fn upstream_verifier(sealer: &Sealer, grant_id: &str) -> String {
    B64.encode(sealer.derive(UPSTREAM_PKCE_LABEL, &[grant_id.as_bytes()]))
}

/// `GET /callback`: GitHub sends the user back; the user is read, the grant created, the client gets its code.
async fn callback(req: &Incoming, at: &OAuth<'_>) -> Reply {
    let query = crate::transport::request_url::query(&req.url).unwrap_or("");
    let Ok(params) = Params::parse(query.as_bytes()) else {
        return error_page(400, "the callback is malformed");
    };
    let Some(state) = params.get("state") else {
        return error_page(400, "the callback has no state");
    };
    let now = now_ms();
    let state: UpstreamState = match at.sealer.open(Kind::UpstreamState, state, now) {
        Ok(state) => state,
        Err(SealError::Expired) => {
            return error_page(400, "the sign-in took too long: start again from the client")
        }
        Err(SealError::Forged) => return error_page(400, "the callback's state is not valid"),
    };
    let request = &state.request;
    if let Some(error) = params.get("error") {
        let e = if error == "access_denied" {
            OAuthError::new(ErrorCode::AccessDenied, "the user denied access on GitHub")
        } else {
            OAuthError::new(ErrorCode::ServerError, "GitHub sign-in failed")
        };
        return redirect_error(request, at.origin, &e, None);
    }
    let Some(code) = params.get("code") else {
        return error_page(400, "the callback has no code");
    };
    let github = &at.sign_in.github;
    let callback = format!("{}{CALLBACK_PATH}", at.origin);
    let verifier = upstream_verifier(at.sealer, &state.grant_id);
    let upstream = match github_client::exchange(github, &callback, code, &verifier, now).await {
        Ok(upstream) => upstream,
        Err(e) => {
            return redirect_error(
                request,
                at.origin,
                &internal("GitHub code exchange", &e.to_string()),
                None,
            )
        }
    };
    let user = match github_client::user(github, &upstream.access_token).await {
        Ok(user) => user,
        Err(e) => return redirect_error(request, at.origin, &internal("GitHub /user", &e.to_string()), None),
    };
    let create = GrantCall::Create {
        grant_id: state.grant_id.clone(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        resource: request.resource.clone(),
        code_challenge: request.code_challenge.clone(),
        user,
        upstream,
    };
    match super::grant_object::call(at.env, &state.grant_id, &create).await {
        Ok(GrantReply::Created { code }) => {
            let mut params = vec![("code", code)];
            if let Some(state) = &request.state {
                params.push(("state", state.clone()));
            }
            params.push(("iss", at.origin.to_string()));
            redirect(&form::with_query(&request.redirect_uri, &params), None)
        }
        Ok(_) => error_page(400, "this sign-in link was used already: start again from the client"),
        Err(e) => redirect_error(request, at.origin, &internal("creating a grant", &e), None),
    }
}
