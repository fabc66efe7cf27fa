//! `POST /token` (RFC 6749: authorization code and refresh token grants) and `POST /revoke` (RFC 7009). Both
//! read a form, authenticate the client, and leave every decision about codes and refresh tokens to the grant's
//! Durable Object.

use super::incoming::Incoming;
use super::oauth_endpoints::{error_json, internal, json, OAuth};
use super::oauth_store::{self, Lookup};
use super::{grant_object, isolate, now_ms, Reply};
use crate::oauth::client::{Client, ClientAuth};
use crate::oauth::form::{self, Params, MAX_FORM_BYTES};
use crate::oauth::grant::token_response;
use crate::oauth::grant_call::{GrantCall, GrantReply};
use crate::oauth::sealed::{AccessClaims, Kind};
use crate::oauth::{resource, split_grant_token, ErrorCode, OAuthError, SCOPE};

/// The form of a token or revocation request; a wrong `Content-Type` or an unreadable body is
/// `invalid_request` (400), never a 500.
async fn read_form(req: &Incoming, at: &OAuth<'_>) -> Result<Params, OAuthError> {
    if !form::is_form(req.header("Content-Type").as_deref()) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let body = req
        .read_body(MAX_FORM_BYTES, at.ctx)
        .await
        .map_err(|_| OAuthError::invalid_request("the body is too large or unreadable"))?;
    Params::parse(&body)
}

/// The client a request names, authenticated. An unknown client is `invalid_client` (401), so that clients
/// register again.
async fn authenticated(at: &OAuth<'_>, auth: &ClientAuth) -> Result<Client, OAuthError> {
    let unknown =
        || OAuthError::invalid_client("the client is unknown; register again").with_basic(auth.basic);
    let client = match oauth_store::client(at.env, at.ctx, &auth.client_id, at.settings.development, now_ms())
        .await
    {
        Ok(client) => client,
        Err(Lookup::Unknown) => return Err(unknown()),
        Err(Lookup::BadDocument(why)) => return Err(OAuthError::invalid_client(why).with_basic(auth.basic)),
        Err(Lookup::Failed(e)) => return Err(internal("reading a client", &e)),
    };
    client.authenticate(auth)?;
    Ok(client)
}

pub async fn token(req: &Incoming, at: &OAuth<'_>) -> Reply {
    match exchange(req, at).await {
        Ok(reply) => reply,
        Err(e) => error_json(&e),
    }
}

async fn exchange(req: &Incoming, at: &OAuth<'_>) -> Result<Reply, OAuthError> {
    let params = read_form(req, at).await?;
    let auth = ClientAuth::read(req.header("Authorization").as_deref(), &params)?
        .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    let grant_type = params.require("grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code or refresh_token",
        ));
    }
    if let Some(asked) = params.get("resource") {
        if asked.trim_end_matches('/') != at.origin && asked != resource(at.origin) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource must be this server's MCP endpoint",
            ));
        }
    }
    let client = authenticated(at, &auth).await?;
    let (grant_id, call) = if grant_type == "authorization_code" {
        let code = params.require("code")?;
        let (grant_id, _) =
            split_grant_token(code).ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
        let call = GrantCall::Exchange {
            code: code.to_string(),
            client_id: client.client_id.clone(),
            redirect_uri: params.get("redirect_uri").map(str::to_string),
            code_verifier: params.get("code_verifier").map(str::to_string),
        };
        (grant_id, call)
    } else {
        let token = params.require("refresh_token")?;
        if params.get("scope").is_some_and(|s| s.split(' ').any(|s| s != SCOPE)) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, "the only scope is mcp"));
        }
        let (grant_id, _) = split_grant_token(token)
            .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
        (
            grant_id,
            GrantCall::Refresh { refresh_token: token.to_string(), client_id: client.client_id.clone() },
        )
    };
    let reply =
        grant_object::call(at.env, grant_id, &call).await.map_err(|e| internal("asking a grant", &e))?;
    match reply {
        GrantReply::Tokens { access_token, refresh_token, expires_in, scope, access_key } => {
            let now = now_ms();
            oauth_store::record_token(at.env, at.ctx, &access_token, grant_id, access_key, expires_in, now);
            isolate::remember_grant(grant_id, true, now);
            let body = token_response(&access_token, &refresh_token, expires_in, &scope);
            Ok(json(200, &body.to_string(), &[]))
        }
        GrantReply::Refused { error, description } => {
            // A refusal may have revoked the grant (a replayed code, a reused refresh token): ask again next time.
            isolate::forget_grant(grant_id);
            Err(GrantReply::to_error(&error, &description).with_basic(auth.basic))
        }
        _ => Err(internal("asking a grant", "an unexpected answer")),
    }
}

/// `POST /revoke`: revoking an access or refresh token revokes its grant. Unknown or invalid tokens get 200,
/// as RFC 7009 says.
pub async fn revoke(req: &Incoming, at: &OAuth<'_>) -> Reply {
    match revoke_token(req, at).await {
        Ok(()) => json(200, "", &[]),
        Err(e) => error_json(&e),
    }
}

async fn revoke_token(req: &Incoming, at: &OAuth<'_>) -> Result<(), OAuthError> {
    let params = read_form(req, at).await?;
    let token = params.require("token")?;
    let auth = ClientAuth::read(req.header("Authorization").as_deref(), &params)?;
    let client_id = match &auth {
        Some(auth) => Some(authenticated(at, auth).await?.client_id),
        None => None,
    };
    let (grant_id, refresh_token) = if token.starts_with(Kind::AccessToken.prefix()) {
        // An expired access token revokes nothing: it works nowhere already.
        match at.sealer.open::<AccessClaims>(Kind::AccessToken, token, now_ms()) {
            Ok(claims) if client_id.as_ref().is_none_or(|c| *c == claims.client_id) => {
                (claims.grant_id, None)
            }
            _ => return Ok(()),
        }
    } else {
        match split_grant_token(token) {
            Some((grant_id, _)) => (grant_id.to_string(), Some(token.to_string())),
            None => return Ok(()),
        }
    };
    let call = GrantCall::Revoke { refresh_token, client_id };
    match grant_object::call(at.env, &grant_id, &call).await {
        Ok(GrantReply::Revoked { revoked: true }) => {
            isolate::remember_grant(&grant_id, false, now_ms());
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(internal("revoking a grant", &e)),
    }
}
