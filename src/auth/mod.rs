//! Who may use the server: users signed in with GitHub (OAuth access tokens of ours), static bearer keys,
//! anonymous access when the deployer opts in, and development mode. A deployment with neither credentials nor
//! an explicit opt-in refuses traffic; whether a request is "local" is never guessed from the `Host` a client
//! sends.
//!
//! With GitHub sign-in on, this is the resource server of RFC 9728 / 6750: refusals carry the challenge that
//! leads clients to the protected resource metadata, tokens must be for this server's resource (RFC 8707) and
//! hold the `mcp` scope. Whether the token's grant was revoked is the Worker's question to ask (a store round
//! trip, cached per isolate), so an admitted OAuth caller comes with its grant id.

pub mod api_keys;

pub use api_keys::ApiKeys;

use crate::error::HttpError;
use crate::identity::Identity;
use crate::oauth::metadata::challenge;
use crate::oauth::sealed::{AccessClaims, Kind, SealError, Sealer};
use crate::oauth::{resource, SCOPE};

/// The access rule for MCP endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessPolicy {
    pub api_keys: ApiKeys,
    /// `MCP_ALLOW_ANONYMOUS=true`: serve without credentials even when deployed.
    pub allow_anonymous: bool,
    /// `MCP_DEV_MODE=true` (set by `npm run dev`): open without credentials when none are configured.
    pub development: bool,
    /// GitHub sign-in is on (`GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET`): OAuth access tokens are accepted.
    pub sign_in: bool,
}

/// What OAuth access tokens are checked against: our key, this server's origin (the audience is
/// `<origin>/mcp`), and the time.
#[derive(Debug, Clone, Copy)]
pub struct TokenCheck<'a> {
    pub sealer: &'a Sealer,
    pub origin: &'a str,
    pub now_ms: u64,
}

/// An admitted caller; `grant` names the OAuth grant whose liveness the Worker still has to confirm.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub identity: Identity,
    pub grant: Option<String>,
}

impl AccessPolicy {
    /// The caller of a request, or why it is refused; `authorization` reads the request's `Authorization`
    /// header (only when credentials are configured). Configured credentials are required whatever the mode;
    /// without any, only development mode or `MCP_ALLOW_ANONYMOUS` admit anyone. `tokens` is needed when
    /// sign-in is on.
    pub fn admit(
        &self,
        authorization: impl FnOnce() -> Option<String>,
        tokens: Option<TokenCheck<'_>>,
    ) -> Result<Caller, HttpError> {
        let keyed = |identity| Ok(Caller { identity, grant: None });
        let oauth = tokens.filter(|_| self.sign_in);
        if self.api_keys.is_empty() && oauth.is_none() {
            return if self.allow_anonymous || self.development {
                keyed(Identity::anonymous())
            } else {
                Err(HttpError::NotConfigured(NO_CREDENTIALS.into()))
            };
        }
        let header = authorization();
        let Some(token) = header.as_deref().and_then(bearer_token) else {
            let message = if oauth.is_some() {
                "sign in (OAuth) or send an API key as `Authorization: Bearer <key>`"
            } else {
                "send an API key as `Authorization: Bearer <key>`"
            };
            return Err(self.refusal(oauth, message, None));
        };
        if let Some(check) = oauth.filter(|_| token.starts_with(Kind::AccessToken.prefix())) {
            return oauth_caller(token, check);
        }
        match self.api_keys.find(token) {
            Some(identity) => keyed(identity),
            None => Err(self.refusal(oauth, "the bearer token is not valid", Some("invalid_token"))),
        }
    }

    fn refusal(&self, oauth: Option<TokenCheck<'_>>, message: &str, error: Option<&str>) -> HttpError {
        match oauth {
            Some(check) => invalid_token_for(check.origin, message, error),
            None => unauthorized(message, error),
        }
    }

    /// Whether a deployment is configured to admit anyone at all.
    pub fn is_configured(&self) -> bool {
        !self.api_keys.is_empty() || self.sign_in || self.allow_anonymous || self.development
    }
}

/// The caller an OAuth access token names: ours (MAC), not expired, for this server's resource, with the `mcp`
/// scope.
fn oauth_caller(token: &str, check: TokenCheck<'_>) -> Result<Caller, HttpError> {
    let refused = |message: &str| invalid_token_for(check.origin, message, Some("invalid_token"));
    let claims: AccessClaims = match check.sealer.open(Kind::AccessToken, token, check.now_ms) {
        Ok(claims) => claims,
        Err(SealError::Expired) => return Err(refused(EXPIRED)),
        Err(SealError::Forged) => return Err(refused("the access token is not valid")),
    };
    if claims.resource != resource(check.origin) {
        return Err(refused(OTHER_RESOURCE));
    }
    if !claims.has_scope(SCOPE) {
        return Err(HttpError::InsufficientScope {
            www_authenticate: format!(
                "{}, error_description=\"the token lacks the mcp scope\"",
                challenge(check.origin, Some("insufficient_scope"))
            ),
        });
    }
    Ok(Caller {
        identity: Identity::user(claims.user_id, &claims.login, claims.name.as_deref()),
        grant: Some(claims.grant_id),
    })
}

/// A 401 with the OAuth challenge: where the resource metadata is, the scope, and the error when a token was
/// sent and refused.
pub fn invalid_token_for(origin: &str, message: &str, error: Option<&str>) -> HttpError {
    let mut www_authenticate = challenge(origin, error);
    if error.is_some() {
        www_authenticate.push_str(&format!(", error_description=\"{message}\""));
    }
    HttpError::Unauthorized { message: message.into(), www_authenticate }
}

/// What a deployment without credentials answers.
pub const NO_CREDENTIALS: &str = "this server has no credentials configured, so it refuses unauthenticated \
     traffic. Set API keys with `npx wrangler secret put MCP_API_KEYS` (comma-separated `name:key` pairs), turn on \
     GitHub sign-in with the secrets GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or set \
     MCP_ALLOW_ANONYMOUS=true to serve without authentication (`npm run dev` sets MCP_DEV_MODE=true for local \
     development)";

/// Why an expired access token is refused.
pub const EXPIRED: &str = "the access token has expired";
/// Why an access token of a revoked grant is refused (the Worker asks the grant).
pub const REVOKED: &str = "the access token was revoked";
/// Why an access token for another server (audience) is refused.
const OTHER_RESOURCE: &str = "the access token was issued for another resource";

/// Why authentication refused a request, as the metrics name it: `missing` (no bearer token), `expired`,
/// `revoked`, `wrong_audience`, `insufficient_scope`, `not_configured` (a deployment without credentials),
/// `invalid` (an unknown key, a forged or malformed token), or `error` (the check itself failed).
pub fn refusal_reason(error: &HttpError) -> &'static str {
    match error {
        HttpError::NotConfigured(_) => "not_configured",
        HttpError::InsufficientScope { .. } => "insufficient_scope",
        HttpError::Unauthorized { message, .. } if message == EXPIRED => "expired",
        HttpError::Unauthorized { message, .. } if message == REVOKED => "revoked",
        HttpError::Unauthorized { message, .. } if message == OTHER_RESOURCE => "wrong_audience",
        // A refusal without a token names no error in its challenge (RFC 6750 §3.1).
        HttpError::Unauthorized { www_authenticate, .. } if !www_authenticate.contains("error=") => "missing",
        HttpError::Unauthorized { .. } => "invalid",
        // The grant could not be asked (a 500): not the caller's fault.
        _ => "error",
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized(message: &str, error: Option<&str>) -> HttpError {
    let mut challenge = String::from("Bearer realm=\"mcp\"");
    if let Some(error) = error {
        challenge.push_str(&format!(", error=\"{error}\", error_description=\"{message}\""));
    }
    HttpError::Unauthorized { message: message.into(), www_authenticate: challenge }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerSecret;

    fn with_keys(keys: &str, development: bool) -> AccessPolicy {
        AccessPolicy { api_keys: ApiKeys::parse(keys).unwrap(), development, ..Default::default() }
    }

    fn admit(p: &AccessPolicy, header: Option<&str>) -> Result<Identity, HttpError> {
        p.admit(|| header.map(str::to_string), None).map(|c| c.identity)
    }

    #[test]
    fn keys_are_required_once_configured_even_in_development() {
        for development in [false, true] {
            let p = with_keys("alpha:alpha-key-0001, beta-key-0002", development);
            assert_eq!(admit(&p, Some("bearer alpha-key-0001")), Ok(Identity::api_key("alpha")));
            assert!(admit(&p, Some("Bearer beta-key-0002")).unwrap().id().starts_with("key:"));
            assert_eq!(admit(&p, None).unwrap_err().status(), 401);
            let wrong = admit(&p, Some("Bearer nope")).unwrap_err();
            assert!(
                matches!(&wrong, HttpError::Unauthorized { www_authenticate, .. } if www_authenticate.contains("invalid_token"))
            );
            assert_eq!(admit(&p, Some("Basic alpha-key-0001")).unwrap_err().status(), 401);
        }
    }

    #[test]
    fn no_credentials_is_open_only_in_development_or_by_opt_in() {
        let closed = AccessPolicy::default();
        let refused = admit(&closed, None).unwrap_err();
        assert_eq!(refused.status(), 503);
        assert!(refused.to_error_object().message.contains("MCP_API_KEYS"));
        assert!(refused.to_error_object().message.contains("GITHUB_CLIENT_ID"));
        assert!(!closed.is_configured());
        let dev = AccessPolicy { development: true, ..Default::default() };
        assert_eq!(admit(&dev, None), Ok(Identity::anonymous()));
        let open = AccessPolicy { allow_anonymous: true, ..Default::default() };
        assert_eq!(admit(&open, None), Ok(Identity::anonymous()));
        assert!(AccessPolicy { sign_in: true, ..Default::default() }.is_configured());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    const ORIGIN: &str = "https://mcp.example";
    const NOW: u64 = 1_800_000_000_000;

    fn sealer() -> Sealer {
        Sealer::new(&ServerSecret::parse(&"o".repeat(40)).unwrap())
    }

    fn token(s: &Sealer, change: impl FnOnce(&mut AccessClaims)) -> String {
        let mut claims = AccessClaims {
            grant_id: "g1".into(),
            user_id: 42,
            login: "octo".into(),
            name: None,
            client_id: "c".into(),
            scope: "mcp".into(),
            resource: format!("{ORIGIN}/mcp"),
            expires_ms: NOW + 1000,
            issued_ms: NOW,
        };
        change(&mut claims);
        s.seal(Kind::AccessToken, &claims)
    }

    fn signed_in(keys: &str) -> AccessPolicy {
        AccessPolicy {
            api_keys: ApiKeys::parse(keys).unwrap(),
            sign_in: true,
            development: true,
            ..Default::default()
        }
    }

    fn challenge_of(e: &HttpError) -> String {
        e.headers().into_iter().find(|(k, _)| *k == "WWW-Authenticate").map(|(_, v)| v).unwrap_or_default()
    }

    #[test]
    fn with_sign_in_a_request_without_credentials_gets_the_resource_metadata_challenge() {
        let s = sealer();
        let check = TokenCheck { sealer: &s, origin: ORIGIN, now_ms: NOW };
        let err = signed_in("").admit(|| None, Some(check)).unwrap_err();
        assert_eq!(err.status(), 401, "development mode does not open a signed-in server");
        assert_eq!(
            challenge_of(&err),
            "Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""
        );
    }

    #[test]
    fn a_valid_access_token_admits_its_user_with_the_grant_to_confirm() {
        let s = sealer();
        let check = TokenCheck { sealer: &s, origin: ORIGIN, now_ms: NOW };
        let header = format!("Bearer {}", token(&s, |_| {}));
        let caller = signed_in("ci:key-0001").admit(|| Some(header), Some(check)).unwrap();
        assert_eq!(caller.identity, Identity::user(42, "octo", None));
        assert_eq!(caller.identity.login(), Some("octo"));
        assert_eq!(caller.grant.as_deref(), Some("g1"));
        let key = signed_in("ci:key-0001").admit(|| Some("Bearer key-0001".into()), Some(check)).unwrap();
        assert_eq!((key.identity, key.grant), (Identity::api_key("ci"), None), "keys work alongside");
    }

    #[test]
    fn expired_forged_foreign_and_underscoped_tokens_are_refused() {
        let s = sealer();
        let check = TokenCheck { sealer: &s, origin: ORIGIN, now_ms: NOW };
        let refuse =
            |t: String| signed_in("").admit(|| Some(format!("Bearer {t}")), Some(check)).unwrap_err();
        for (t, why) in [
            (token(&s, |c| c.expires_ms = NOW), "expired"),
            (token(&sealer_of('z'), |_| {}), "not valid"),
            (token(&s, |c| c.resource = "https://other.example/mcp".into()), "another resource"),
            ("mcp_at.garbage".to_string(), "not valid"),
            ("not-a-token".to_string(), "not valid"),
        ] {
            let err = refuse(t);
            assert_eq!(err.status(), 401, "{why}");
            let c = challenge_of(&err);
            assert!(c.contains("error=\"invalid_token\"") && c.contains("resource_metadata="), "{c}");
            assert!(err.to_error_object().message.contains(why), "{why}: {err}");
        }
        let err = refuse(token(&s, |c| c.scope = "other".into()));
        assert_eq!(err.status(), 403);
        let c = challenge_of(&err);
        assert!(
            c.contains("error=\"insufficient_scope\"")
                && c.contains("scope=\"mcp\"")
                && c.contains("resource_metadata="),
            "{c}"
        );
    }

    #[test]
    fn refusals_are_named_by_reason() {
        let s = sealer();
        let check = TokenCheck { sealer: &s, origin: ORIGIN, now_ms: NOW };
        let signed = |h: Option<String>| signed_in("ci:key-0001").admit(|| h, Some(check)).unwrap_err();
        let bearer = |t: String| Some(format!("Bearer {t}"));
        assert_eq!(refusal_reason(&signed(None)), "missing");
        assert_eq!(refusal_reason(&signed(bearer(token(&s, |c| c.expires_ms = NOW)))), "expired");
        assert_eq!(refusal_reason(&signed(bearer(token(&sealer_of('z'), |_| {})))), "invalid");
        assert_eq!(refusal_reason(&signed(bearer("wrong-key".into()))), "invalid");
        let foreign = token(&s, |c| c.resource = "https://other.example/mcp".into());
        assert_eq!(refusal_reason(&signed(bearer(foreign))), "wrong_audience");
        assert_eq!(
            refusal_reason(&signed(bearer(token(&s, |c| c.scope = "x".into())))),
            "insufficient_scope"
        );
        assert_eq!(refusal_reason(&invalid_token_for(ORIGIN, REVOKED, Some("invalid_token"))), "revoked");
        let keyed = with_keys("a:key-0001", false);
        assert_eq!(refusal_reason(&admit(&keyed, None).unwrap_err()), "missing");
        assert_eq!(refusal_reason(&admit(&keyed, Some("Bearer nope")).unwrap_err()), "invalid");
        assert_eq!(refusal_reason(&admit(&AccessPolicy::default(), None).unwrap_err()), "not_configured");
        assert_eq!(refusal_reason(&HttpError::Internal("asking a grant".into())), "error");
    }

    fn sealer_of(c: char) -> Sealer {
        Sealer::new(&ServerSecret::parse(&c.to_string().repeat(40)).unwrap())
    }
}
