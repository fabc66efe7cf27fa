//! A grant: one user's approval of one client, and everything that must change under a lock. It lives in its
//! own Durable Object (`grant:<id>`), which runs one request at a time, so the rules here hold although KV has
//! no transactions: a code works once and a replayed code revokes the grant; refresh tokens rotate, a
//! concurrent refresh that lost the race gets the same new pair instead of burning the grant, and a rotated
//! token presented later revokes the grant (RFC 9700 §4.14.2). Only SHA-256 digests of codes and refresh tokens
//! are kept; the GitHub token is kept encrypted ([`super::vault`]).
//!
//! Codes and refresh tokens are `<grant id>.<secret>`: the grant id tells the Worker which object to ask.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sealed::AccessClaims;
use super::{digest, pkce, random_secret, vault, OAuthError};

/// How long a code may wait for its exchange, by default.
pub const CODE_TTL_MS: u64 = 5 * 60 * 1000;
/// How long the consent form and the state sent to GitHub stay good.
pub const STATE_TTL_MS: u64 = 10 * 60 * 1000;
/// How long after a rotation the previous refresh token still gets the new pair (a concurrent refresh that
/// lost the race, or an answer lost on the way).
pub const COALESCE_WINDOW_MS: u64 = 60_000;
/// How many rotated refresh tokens are remembered to detect their reuse.
const MAX_RETIRED: usize = 32;

/// The signed-in GitHub user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What GitHub gave us for the user: kept encrypted under the grant key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub access_token: String,
    /// GitHub App user tokens (`ghu_`) expire and come with a single-use refresh token; OAuth app tokens don't.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// How long before its expiry an expiring GitHub token is refreshed rather than used.
pub const UPSTREAM_REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

impl Upstream {
    /// Whether this is a GitHub App user token (`ghu_`) that expires within [`UPSTREAM_REFRESH_MARGIN_MS`] (or
    /// has expired) and can be refreshed: then the grant object refreshes it before handing it out.
    pub fn needs_refresh(&self, now_ms: u64) -> bool {
        self.access_token.starts_with("ghu_")
            && self.refresh_token.is_some()
            && self.expires_ms.is_some_and(|expires| expires <= now_ms + UPSTREAM_REFRESH_MARGIN_MS)
    }

    /// What GitHub answered a refresh with; a missing new refresh token keeps the old one.
    pub fn refreshed(&self, mut fresh: Upstream) -> Upstream {
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = self.refresh_token.clone();
        }
        fresh
    }
}

/// Token lifetimes of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_ms: u64,
    pub refresh_ms: u64,
    pub code_ms: u64,
}

/// What the approved request fixed, once GitHub named the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub resource: String,
    pub code_challenge: String,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Code {
    hash: String,
    challenge: String,
    expires_ms: u64,
    used: bool,
    /// The grant key wrapped under the code (dropped once exchanged).
    wrapped_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Refresh {
    hash: String,
    expires_ms: u64,
    /// The grant key wrapped under the current refresh token.
    wrapped_key: String,
    previous: Option<Previous>,
    /// Digests of older rotated tokens, newest last.
    retired: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Previous {
    hash: String,
    superseded_ms: u64,
    /// The token that replaced it, wrapped under it: only the holder of the previous token can get it back
    /// within the window.
    next: String,
}

/// A grant as its object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub resource: String,
    pub user: User,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
    code: Option<Code>,
    refresh: Option<Refresh>,
    /// The [`Upstream`] JSON, encrypted under the grant key.
    upstream: String,
}

/// The token request of an authorization code.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// What a successful exchange or refresh hands out: the refresh token, the claims of a new access token, and
/// the grant key (for the Worker to wrap under the access token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub refresh_token: String,
    pub claims: AccessClaims,
    pub grant_key: [u8; 32],
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::invalid_grant(why)
}

impl Grant {
    /// A new grant holding a fresh code; returns it with the code (`<grant id>.<secret>`) for the client.
    pub fn create(new: NewGrant, upstream: &Upstream, code_ms: u64, now_ms: u64) -> (Self, String) {
        let key = vault::new_key();
        let code = format!("{}.{}", new.id, random_secret());
        let plain = serde_json::to_value(upstream).map(|v| v.to_string()).unwrap_or_default();
        let grant = Self {
            id: new.id,
            client_id: new.client_id,
            redirect_uri: new.redirect_uri,
            scope: new.scope,
            resource: new.resource,
            user: new.user,
            created_ms: now_ms,
            revoked_ms: None,
            code: Some(Code {
                hash: digest(&code),
                challenge: new.code_challenge,
                expires_ms: now_ms + code_ms,
                used: false,
                wrapped_key: vault::wrap(&code, &key),
            }),
            refresh: None,
            upstream: vault::encrypt(&key, plain.as_bytes()),
        };
        (grant, code)
    }

    /// Exchanges `code` for the first tokens. A code presented again after its exchange revokes the grant.
    pub fn exchange(
        &mut self,
        code: &str,
        request: CodeRequest<'_>,
        lifetimes: Lifetimes,
        now_ms: u64,
    ) -> Result<Issued, OAuthError> {
        if self.revoked_ms.is_some() {
            return Err(invalid_grant("the grant was revoked"));
        }
        let Some(stored) = self.code.as_mut() else { return Err(invalid_grant("the code is not valid")) };
        if !super::constant_time_eq(&stored.hash, &digest(code)) {
            return Err(invalid_grant("the code is not valid"));
        }
        if stored.used {
            self.revoked_ms = Some(now_ms);
            return Err(invalid_grant("the code was already used; the tokens it issued are revoked"));
        }
        if now_ms >= stored.expires_ms {
            return Err(invalid_grant("the code has expired"));
        }
        if request.client_id != self.client_id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if request.redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(invalid_grant("redirect_uri differs from the authorization request's"));
        }
        let verifier = request
            .code_verifier
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
        if !pkce::verify(verifier, &stored.challenge) {
            return Err(invalid_grant("the code_verifier does not match the code_challenge"));
        }
        let key = vault::unwrap_key(code, &stored.wrapped_key).ok_or_else(OAuthError::server_error)?;
        stored.used = true;
        stored.wrapped_key.clear();
        let refresh_token = format!("{}.{}", self.id, random_secret());
        self.refresh = Some(Refresh {
            hash: digest(&refresh_token),
            expires_ms: now_ms + lifetimes.refresh_ms,
            wrapped_key: vault::wrap(&refresh_token, &key),
            previous: None,
            retired: Vec::new(),
        });
        Ok(self.issue(refresh_token, key, lifetimes, now_ms))
    }

    /// Refreshes with `token`: the current token rotates; the one it replaced, within
    /// [`COALESCE_WINDOW_MS`], gets the current pair again; any older one revokes the grant.
    pub fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        lifetimes: Lifetimes,
        now_ms: u64,
    ) -> Result<Issued, OAuthError> {
        if self.revoked_ms.is_some() {
            return Err(invalid_grant("the grant was revoked"));
        }
        if client_id != self.client_id {
            return Err(invalid_grant("the refresh token was issued to another client"));
        }
        let Some(refresh) = self.refresh.as_mut() else {
            return Err(invalid_grant("the refresh token is not valid"));
        };
        let hash = digest(token);
        if super::constant_time_eq(&refresh.hash, &hash) {
            if now_ms >= refresh.expires_ms {
                return Err(invalid_grant("the refresh token has expired"));
            }
            let key = vault::unwrap_key(token, &refresh.wrapped_key).ok_or_else(OAuthError::server_error)?;
            let next = format!("{}.{}", self.id, random_secret());
            if let Some(previous) = refresh.previous.take() {
                refresh.retired.push(previous.hash);
                if refresh.retired.len() > MAX_RETIRED {
                    refresh.retired.remove(0);
                }
            }
            refresh.previous = Some(Previous {
                hash: refresh.hash.clone(),
                superseded_ms: now_ms,
                next: vault::wrap(token, next.as_bytes()),
            });
            refresh.hash = digest(&next);
            refresh.expires_ms = now_ms + lifetimes.refresh_ms;
            refresh.wrapped_key = vault::wrap(&next, &key);
            return Ok(self.issue(next, key, lifetimes, now_ms));
        }
        let previous = refresh.previous.as_ref().filter(|p| super::constant_time_eq(&p.hash, &hash));
        if let Some(previous) = previous {
            if now_ms < previous.superseded_ms + COALESCE_WINDOW_MS {
                let current = vault::unwrap(token, &previous.next)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(OAuthError::server_error)?;
                let key =
                    vault::unwrap_key(&current, &refresh.wrapped_key).ok_or_else(OAuthError::server_error)?;
                return Ok(self.issue(current, key, lifetimes, now_ms));
            }
            self.revoked_ms = Some(now_ms);
            return Err(invalid_grant("the refresh token was already rotated; the grant is revoked"));
        }
        if refresh.retired.iter().any(|h| super::constant_time_eq(h, &hash)) {
            self.revoked_ms = Some(now_ms);
            return Err(invalid_grant("the refresh token was already rotated; the grant is revoked"));
        }
        Err(invalid_grant("the refresh token is not valid"))
    }

    fn issue(&self, refresh_token: String, grant_key: [u8; 32], lifetimes: Lifetimes, now_ms: u64) -> Issued {
        let claims = AccessClaims {
            grant_id: self.id.clone(),
            user_id: self.user.id,
            login: self.user.login.clone(),
            name: self.user.name.clone(),
            client_id: self.client_id.clone(),
            scope: self.scope.clone(),
            resource: self.resource.clone(),
            expires_ms: now_ms + lifetimes.access_ms,
            issued_ms: now_ms,
        };
        Issued { refresh_token, claims, grant_key }
    }

    /// Whether `token` is a refresh token of this grant, current or rotated (so revoking with it is proof of
    /// having held it).
    pub fn knows_refresh_token(&self, token: &str) -> bool {
        let hash = digest(token);
        self.refresh.as_ref().is_some_and(|r| {
            r.hash == hash || r.previous.as_ref().is_some_and(|p| p.hash == hash) || r.retired.contains(&hash)
        })
    }

    pub fn revoke(&mut self, now_ms: u64) {
        self.revoked_ms.get_or_insert(now_ms);
    }

    /// Whether access tokens of this grant may be used: not revoked, and its refresh token not expired.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.revoked_ms.is_none() && self.refresh.as_ref().is_some_and(|r| now_ms < r.expires_ms)
    }

    /// When the object may delete this grant: after everything it issued has expired, and never before the
    /// state that created it has (so replaying that state cannot create it again).
    pub fn delete_after_ms(&self, lifetimes: Lifetimes) -> u64 {
        let floor = self.created_ms + STATE_TTL_MS;
        let until = match (self.revoked_ms, &self.refresh, &self.code) {
            (Some(revoked), _, _) => revoked + lifetimes.access_ms,
            (None, Some(refresh), _) => refresh.expires_ms + lifetimes.access_ms,
            (None, None, Some(code)) => code.expires_ms,
            (None, None, None) => 0,
        };
        until.max(floor)
    }

    /// The GitHub token, given the grant key.
    pub fn upstream(&self, grant_key: &[u8; 32]) -> Option<Upstream> {
        let plain = vault::decrypt(grant_key, &self.upstream)?;
        serde_json::from_value(serde_json::from_slice(&plain).ok()?).ok()
    }

    /// Replaces the GitHub token (after GitHub rotated it), encrypted under the same grant key.
    pub fn set_upstream(&mut self, grant_key: &[u8; 32], upstream: &Upstream) {
        let plain = serde_json::to_value(upstream).map(|v| v.to_string()).unwrap_or_default();
        self.upstream = vault::encrypt(grant_key, plain.as_bytes());
    }
}

/// The token endpoint's answer (RFC 6749 §5.1).
pub fn token_response(access_token: &str, refresh_token: &str, expires_in_s: u64, scope: &str) -> Value {
    json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in_s,
        "refresh_token": refresh_token,
        "scope": scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    const NOW: u64 = 1_800_000_000_000;
    const LIFE: Lifetimes =
        Lifetimes { access_ms: 3_600_000, refresh_ms: 30 * 86_400_000, code_ms: CODE_TTL_MS };
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const REDIRECT: &str = "http://127.0.0.1:3000/cb";

    fn new_grant() -> (Grant, String) {
        let new = NewGrant {
            id: super::super::random_id(),
            client_id: "client-a".into(),
            redirect_uri: REDIRECT.into(),
            scope: "mcp".into(),
            resource: "https://h/mcp".into(),
            code_challenge: pkce::challenge(VERIFIER),
            user: User { id: 7, login: "octo".into(), name: None },
        };
        let upstream =
            Upstream { access_token: "gho_upstream".into(), refresh_token: None, expires_ms: None };
        Grant::create(new, &upstream, CODE_TTL_MS, NOW)
    }

    fn request(verifier: Option<&str>) -> CodeRequest<'_> {
        CodeRequest { client_id: "client-a", redirect_uri: Some(REDIRECT), code_verifier: verifier }
    }

    fn exchanged() -> (Grant, Issued) {
        let (mut g, code) = new_grant();
        let issued = g.exchange(&code, request(Some(VERIFIER)), LIFE, NOW + 1).unwrap();
        (g, issued)
    }

    #[test]
    fn a_code_exchanges_once_for_tokens_bound_to_the_grant() {
        let (g, issued) = exchanged();
        assert!(issued.refresh_token.starts_with(&format!("{}.", g.id)));
        assert_eq!(issued.claims.grant_id, g.id);
        assert_eq!(issued.claims.expires_ms, NOW + 1 + LIFE.access_ms);
        assert_eq!((issued.claims.user_id, issued.claims.login.as_str()), (7, "octo"));
        assert!(g.is_live(NOW + 2));
        assert_eq!(g.upstream(&issued.grant_key).unwrap().access_token, "gho_upstream");
        let stored = serde_json::to_string(&g).unwrap();
        assert!(!stored.contains(&issued.refresh_token) && !stored.contains("gho_upstream"), "{stored}");
    }

    #[test]
    fn a_replayed_code_revokes_the_grant() {
        let (mut g, code) = new_grant();
        g.exchange(&code, request(Some(VERIFIER)), LIFE, NOW).unwrap();
        let err = g.exchange(&code, request(Some(VERIFIER)), LIFE, NOW + 1).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        assert!(!g.is_live(NOW + 2), "every token from it stops working");
        assert_eq!(g.revoked_ms, Some(NOW + 1));
    }

    #[test]
    fn pkce_is_required_and_must_match() {
        let (mut g, code) = new_grant();
        let missing = g.exchange(&code, request(None), LIFE, NOW).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
        let wrong = g.exchange(&code, request(Some(&VERIFIER.replace('d', "e"))), LIFE, NOW).unwrap_err();
        assert_eq!(wrong.code, ErrorCode::InvalidGrant);
        let plain = pkce::challenge(VERIFIER);
        assert!(g.exchange(&code, request(Some(&plain)), LIFE, NOW).is_err(), "the challenge is no verifier");
        assert!(
            g.exchange(&code, request(Some(VERIFIER)), LIFE, NOW).is_ok(),
            "failures did not burn the code"
        );
    }

    #[test]
    fn a_code_for_another_client_or_redirect_or_an_expired_or_unknown_code_fails() {
        let (mut g, code) = new_grant();
        let other_client = CodeRequest { client_id: "client-b", ..request(Some(VERIFIER)) };
        assert_eq!(g.exchange(&code, other_client, LIFE, NOW).unwrap_err().code, ErrorCode::InvalidGrant);
        let other_redirect =
            CodeRequest { redirect_uri: Some("http://127.0.0.1:3000/other"), ..request(Some(VERIFIER)) };
        assert_eq!(g.exchange(&code, other_redirect, LIFE, NOW).unwrap_err().code, ErrorCode::InvalidGrant);
        let no_redirect = CodeRequest { redirect_uri: None, ..request(Some(VERIFIER)) };
        assert!(g.exchange(&code, no_redirect, LIFE, NOW).is_err());
        let forged = format!("{}.{}", g.id, random_secret());
        assert_eq!(
            g.exchange(&forged, request(Some(VERIFIER)), LIFE, NOW).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert!(g.revoked_ms.is_none(), "a wrong code revokes nothing");
        let late = g.exchange(&code, request(Some(VERIFIER)), LIFE, NOW + CODE_TTL_MS).unwrap_err();
        assert!(late.description.contains("expired"));
    }

    #[test]
    fn refresh_rotates_and_the_new_token_works() {
        let (mut g, first) = exchanged();
        let second = g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_eq!(second.grant_key, first.grant_key);
        assert_eq!(second.claims.issued_ms, NOW + 10);
        let third = g.refresh(&second.refresh_token, "client-a", LIFE, NOW + 20).unwrap();
        assert_ne!(third.refresh_token, second.refresh_token);
        assert!(g.is_live(NOW + 30));
        assert!(g.knows_refresh_token(&first.refresh_token));
    }

    #[test]
    fn concurrent_refreshes_coalesce_on_the_same_new_pair() {
        let (mut g, first) = exchanged();
        let winner = g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10).unwrap();
        let loser =
            g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10 + COALESCE_WINDOW_MS - 1).unwrap();
        assert_eq!(loser.refresh_token, winner.refresh_token, "the same refresh token, not a second family");
        assert!(g.is_live(NOW + 20));
        // And the shared new token goes on rotating.
        assert!(g.refresh(&winner.refresh_token, "client-a", LIFE, NOW + 30).is_ok());
    }

    #[test]
    fn reuse_of_a_rotated_refresh_token_revokes_the_grant() {
        let (mut g, first) = exchanged();
        g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10).unwrap();
        let err =
            g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10 + COALESCE_WINDOW_MS).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        assert!(!g.is_live(NOW + 10 + COALESCE_WINDOW_MS));

        let (mut g, first) = exchanged();
        let second = g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 10).unwrap();
        g.refresh(&second.refresh_token, "client-a", LIFE, NOW + 20).unwrap();
        assert!(g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 30).is_err(), "two rotations back");
        assert!(g.revoked_ms.is_some());
    }

    #[test]
    fn a_revoked_grant_refuses_everything() {
        let (mut g, first) = exchanged();
        g.revoke(NOW + 5);
        assert!(!g.is_live(NOW + 6));
        assert_eq!(
            g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 6).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert!(g.delete_after_ms(LIFE) >= NOW + 5 + LIFE.access_ms);
    }

    #[test]
    fn refresh_by_another_client_unknown_or_expired_tokens_fail_without_revoking() {
        let (mut g, first) = exchanged();
        assert!(g.refresh(&first.refresh_token, "client-b", LIFE, NOW + 2).is_err());
        let unknown = format!("{}.{}", g.id, random_secret());
        assert!(g.refresh(&unknown, "client-a", LIFE, NOW + 2).is_err());
        assert!(g.revoked_ms.is_none());
        let late = g.refresh(&first.refresh_token, "client-a", LIFE, NOW + 1 + LIFE.refresh_ms).unwrap_err();
        assert!(late.description.contains("expired"));
        assert!(!g.is_live(NOW + 1 + LIFE.refresh_ms));
    }

    #[test]
    fn an_unexchanged_grant_is_deleted_after_its_state_expires() {
        let (g, _) = new_grant();
        assert!(!g.is_live(NOW));
        assert_eq!(g.delete_after_ms(LIFE), NOW + STATE_TTL_MS);
    }

    #[test]
    fn the_upstream_token_can_be_replaced() {
        let (mut g, issued) = exchanged();
        let rotated = Upstream {
            access_token: "ghu_2".into(),
            refresh_token: Some("ghr_2".into()),
            expires_ms: Some(NOW),
        };
        g.set_upstream(&issued.grant_key, &rotated);
        assert_eq!(g.upstream(&issued.grant_key), Some(rotated));
        assert_eq!(g.upstream(&[0; 32]), None);
        let stored = serde_json::to_string(&g).unwrap();
        assert!(!stored.contains("ghu_2") && !stored.contains("ghr_2"), "re-encrypted: {stored}");
    }

    #[test]
    fn only_expiring_app_tokens_with_a_refresh_token_are_refreshed() {
        let app = |expires_ms| Upstream {
            access_token: "ghu_a".into(),
            refresh_token: Some("ghr_a".into()),
            expires_ms: Some(expires_ms),
        };
        assert!(app(NOW).needs_refresh(NOW), "expired");
        assert!(app(NOW + UPSTREAM_REFRESH_MARGIN_MS).needs_refresh(NOW), "expiring within the margin");
        assert!(!app(NOW + UPSTREAM_REFRESH_MARGIN_MS + 1).needs_refresh(NOW), "good for a while yet");
        let no_refresh = Upstream { refresh_token: None, ..app(NOW) };
        assert!(!no_refresh.needs_refresh(NOW));
        let oauth_app = Upstream { access_token: "gho_a".into(), refresh_token: None, expires_ms: None };
        assert!(!oauth_app.needs_refresh(NOW));
        let fresh = Upstream { access_token: "ghu_b".into(), refresh_token: None, expires_ms: Some(NOW + 1) };
        assert_eq!(app(NOW).refreshed(fresh).refresh_token.as_deref(), Some("ghr_a"));
    }
}
