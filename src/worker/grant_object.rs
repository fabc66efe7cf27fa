//! `OAuthGrant`: one Durable Object per OAuth grant (`grant:<id>` in `OAUTH_GRANTS`), the one place where the
//! single-use and rotation rules of [`crate::oauth::grant`] are decided. A Durable Object runs one request at a
//! time, so two exchanges of a code or two refreshes of a token never race, which KV (no transactions,
//! eventually consistent) could not promise. It stores the grant under one key and deletes it with an alarm
//! once everything it issued has expired.

use std::time::Duration;

use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::{http, isolate};
use crate::config::Settings;
use crate::oauth::grant::{CodeRequest, Grant, Issued, NewGrant};
use crate::oauth::grant_call::{from_text, object_name, to_text, GrantCall, GrantReply};
use crate::oauth::sealed::{Kind, Sealer};
use crate::oauth::{vault, OAuthError};

/// The Durable Object namespace of grants.
const GRANT_BINDING: &str = "OAUTH_GRANTS";
const GRANT_KEY: &str = "grant";

#[durable_object(alarm)]
pub struct OAuthGrant {
    state: State,
    env: Env,
    /// Held for each call. The runtime's input gate holds other requests back only while storage is awaited,
    /// not during a fetch to GitHub; this makes calls run strictly one after another, so concurrent callers of
    /// an expiring GitHub token cause one refresh (GitHub's refresh tokens are single-use).
    turn: futures_util::lock::Mutex<()>,
}

impl DurableObject for OAuthGrant {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, turn: futures_util::lock::Mutex::new(()) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let reply = match req.text().await.ok().and_then(|t| from_text::<GrantCall>(&t)) {
            Some(call) => {
                let _turn = self.turn.lock().await;
                self.serve(call).await
            }
            None => Err("the grant object got a request the Worker did not build".to_string()),
        };
        match reply {
            Ok(reply) => Ok(http::json(200, to_text(&reply))),
            Err(detail) => {
                let reference = crate::random::hex::<8>();
                worker::console_error!("grant object [{reference}]: {detail}");
                Ok(http::json(500, String::new()))
            }
        }
    }

    /// Deletes the grant once its time is up; retried by the runtime on failure.
    async fn alarm(&self) -> worker::Result<Response> {
        let settings = isolate::settings(&self.env).map_err(worker::Error::RustError)?;
        let storage = self.state.storage();
        let grant: Option<Grant> = storage.get(GRANT_KEY).await.unwrap_or(None);
        let delete_after = match (&grant, &settings.sign_in) {
            (Some(grant), Some(sign_in)) => grant.delete_after_ms(sign_in.lifetimes),
            _ => 0,
        };
        let now = super::now_ms();
        if now >= delete_after {
            storage.delete_all().await?;
        } else {
            storage.set_alarm(Duration::from_millis(delete_after - now)).await?;
        }
        Response::empty()
    }
}

impl OAuthGrant {
    async fn serve(&self, call: GrantCall) -> Result<GrantReply, String> {
        let settings = isolate::settings(&self.env)?;
        let (Some(sign_in), Some(sealer)) = (&settings.sign_in, &settings.oauth) else {
            return Err("GitHub sign-in is not configured".into());
        };
        let lifetimes = sign_in.lifetimes;
        let now = super::now_ms();
        let stored: Option<Grant> =
            self.state.storage().get(GRANT_KEY).await.map_err(|e| format!("load: {e}"))?;
        if let GrantCall::Create {
            grant_id,
            client_id,
            redirect_uri,
            scope,
            resource,
            code_challenge,
            user,
            upstream,
        } = call
        {
            if stored.is_some() {
                return Ok(GrantReply::refused(&OAuthError::invalid_request(
                    "this sign-in was completed already",
                )));
            }
            let new =
                NewGrant { id: grant_id, client_id, redirect_uri, scope, resource, code_challenge, user };
            let (grant, code) = Grant::create(new, &upstream, lifetimes.code_ms, now);
            self.save(&grant, &settings).await?;
            return Ok(GrantReply::Created { code });
        }
        let Some(mut grant) = stored else {
            return Ok(match call {
                GrantCall::Status => GrantReply::Status { live: false },
                GrantCall::Revoke { .. } => GrantReply::Revoked { revoked: false },
                _ => GrantReply::refused(&OAuthError::invalid_grant("the grant is unknown or has expired")),
            });
        };
        let before = grant.clone();
        let reply = match call {
            GrantCall::Create { .. } => unreachable!("handled above"),
            GrantCall::Status => GrantReply::Status { live: grant.is_live(now) },
            GrantCall::UpstreamFor { access_token } => {
                let stored: Option<String> = self
                    .state
                    .storage()
                    .get(&access_key_of(&access_token))
                    .await
                    .map_err(|e| format!("load: {e}"))?;
                let key = stored.as_deref().and_then(|wrapped| vault::unwrap_key(&access_token, wrapped));
                match key {
                    Some(key) => self.upstream(&mut grant, &key, sign_in, now).await?,
                    None => GrantReply::refused(&OAuthError::invalid_grant(
                        "the access token is not one of this sign-in",
                    )),
                }
            }
            GrantCall::Exchange { code, client_id, redirect_uri, code_verifier } => {
                let request = CodeRequest {
                    client_id: &client_id,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                };
                let reply =
                    tokens(grant.exchange(&code, request, lifetimes, now), sealer, lifetimes.access_ms);
                self.keep_access_key(&reply).await?;
                reply
            }
            GrantCall::Refresh { refresh_token, client_id } => {
                let issued = grant.refresh(&refresh_token, &client_id, lifetimes, now);
                let reply = tokens(issued, sealer, lifetimes.access_ms);
                self.keep_access_key(&reply).await?;
                reply
            }
            GrantCall::Revoke { refresh_token, client_id } => {
                let holder = refresh_token.as_deref().is_none_or(|t| grant.knows_refresh_token(t));
                let owner = client_id.as_deref().is_none_or(|c| c == grant.client_id);
                if holder && owner {
                    grant.revoke(now);
                }
                GrantReply::Revoked { revoked: grant.revoked_ms.is_some() }
            }
        };
        if grant != before {
            self.save(&grant, &settings).await?;
        }
        Ok(reply)
    }

    /// The GitHub token under grant key `key`, refreshed first when it is an expiring GitHub App token.
    async fn upstream(
        &self,
        grant: &mut Grant,
        key: &[u8; 32],
        sign_in: &crate::config::SignIn,
        now: u64,
    ) -> Result<GrantReply, String> {
        if !grant.is_live(now) {
            return Ok(GrantReply::refused(&OAuthError::invalid_grant("the sign-in has ended")));
        }
        let upstream = grant.upstream(key).ok_or("the grant key does not open the GitHub token")?;
        Ok(match upstream.refresh_token.as_deref().filter(|_| upstream.needs_refresh(now)) {
            None => GrantReply::Upstream { access_token: upstream.access_token },
            Some(refresh_token) => {
                // One call at a time: concurrent callers wait here and then find the fresh token.
                match super::github_client::refresh(&sign_in.github, refresh_token, now).await {
                    Ok(fresh) => {
                        let fresh = upstream.refreshed(fresh);
                        grant.set_upstream(key, &fresh);
                        GrantReply::Upstream { access_token: fresh.access_token }
                    }
                    Err(e) => GrantReply::Refused {
                        error: "upstream".into(),
                        description: format!("renewing the GitHub token failed: {e}"),
                    },
                }
            }
        })
    }

    /// Keeps the grant key wrapped under a new access token (stored by the token's digest, deleted with the
    /// grant), so that [`GrantCall::UpstreamFor`] needs nothing from KV.
    async fn keep_access_key(&self, reply: &GrantReply) -> Result<(), String> {
        if let GrantReply::Tokens { access_token, access_key, .. } = reply {
            self.state
                .storage()
                .put(&access_key_of(access_token), access_key)
                .await
                .map_err(|e| format!("save: {e}"))?;
        }
        Ok(())
    }

    async fn save(&self, grant: &Grant, settings: &Settings) -> Result<(), String> {
        let storage = self.state.storage();
        storage.put(GRANT_KEY, grant).await.map_err(|e| format!("save: {e}"))?;
        if let Some(sign_in) = &settings.sign_in {
            let delay = grant.delete_after_ms(sign_in.lifetimes).saturating_sub(super::now_ms());
            storage
                .set_alarm(Duration::from_millis(delay.max(1000)))
                .await
                .map_err(|e| format!("alarm: {e}"))?;
        }
        Ok(())
    }
}

/// The reply for new tokens: the access token sealed here, and the grant key wrapped under it.
fn tokens(issued: Result<Issued, OAuthError>, sealer: &Sealer, access_ms: u64) -> GrantReply {
    match issued {
        Ok(issued) => {
            let access_token = sealer.seal(Kind::AccessToken, &issued.claims);
            GrantReply::Tokens {
                access_key: vault::wrap(&access_token, &issued.grant_key),
                access_token,
                refresh_token: issued.refresh_token,
                expires_in: access_ms / 1000,
                scope: issued.claims.scope,
            }
        }
        Err(error) => GrantReply::refused(&error),
    }
}

/// The storage key of the grant key wrapped under an access token: the token's digest, never the token.
fn access_key_of(access_token: &str) -> String {
    format!("ak:{}", crate::oauth::digest(access_token))
}

/// The GitHub token of the grant of `access_token` (a verified access token of ours names its grant), refreshed
/// first by the grant object when it is an expiring GitHub App token. Asks only the grant object, which is
/// strongly consistent, so it works in every location the moment the token is issued. The errors name no token.
pub async fn upstream_token(env: &Env, access_token: &str) -> Result<String, String> {
    let settings = isolate::settings(env)?;
    let sealer = settings.oauth.as_ref().ok_or("GitHub sign-in is not configured")?;
    let claims: crate::oauth::sealed::AccessClaims = sealer
        .open(crate::oauth::sealed::Kind::AccessToken, access_token, super::now_ms())
        .map_err(|_| "the access token is not valid")?;
    let request = GrantCall::UpstreamFor { access_token: access_token.to_string() };
    match call(env, &claims.grant_id, &request).await? {
        GrantReply::Upstream { access_token } => Ok(access_token),
        GrantReply::Refused { description, .. } => Err(description),
        _ => Err("the grant object answered something else".into()),
    }
}

/// Asks grant `grant_id`'s object. `Err` is a failure on our side (logged by the caller, never shown).
pub async fn call(env: &Env, grant_id: &str, call: &GrantCall) -> Result<GrantReply, String> {
    let text =
        super::object_call::ask(env, GRANT_BINDING, &object_name(grant_id), "https://grant/", to_text(call))
            .await?;
    serde_json::from_str(&text).map_err(|_| "the grant object's answer is malformed".into())
}
