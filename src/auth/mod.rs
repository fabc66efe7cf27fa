//! Who may use the server: static bearer keys, and the rule that a deployment with no credentials
//! configured refuses traffic while local development works without any.

pub mod api_keys;

pub use api_keys::ApiKeys;

use crate::error::HttpError;

/// The access rule for MCP endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessPolicy {
    pub api_keys: ApiKeys,
    /// `MCP_ALLOW_ANONYMOUS=true`: serve without credentials even when deployed.
    pub allow_anonymous: bool,
}

/// Who made a request, once admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Holder of the configured key with this index (keys are never logged).
    ApiKey(usize),
    /// No credentials needed: local development, or anonymous access switched on.
    Anonymous,
}

impl AccessPolicy {
    /// Admits or refuses a request. `local` says the request reached us on a loopback host, which only
    /// happens under `wrangler dev` (Cloudflare routes deployed traffic by its public hostname).
    pub fn admit(&self, authorization: Option<&str>, local: bool) -> Result<Principal, HttpError> {
        if !self.api_keys.is_empty() {
            let token = authorization.and_then(bearer_token);
            return match token {
                Some(token) => self
                    .api_keys
                    .find(token)
                    .map(Principal::ApiKey)
                    .ok_or_else(|| unauthorized("the bearer token is not valid", Some("invalid_token"))),
                None => Err(unauthorized("send an API key as `Authorization: Bearer <key>`", None)),
            };
        }
        if self.allow_anonymous || local {
            Ok(Principal::Anonymous)
        } else {
            Err(HttpError::NotConfigured(
                "this server has no credentials configured, so it refuses unauthenticated traffic. Set API keys \
                 with `npx wrangler secret put MCP_API_KEYS` (comma-separated), or set MCP_ALLOW_ANONYMOUS=true \
                 to serve without authentication"
                    .into(),
            ))
        }
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

    fn with_keys(keys: &str) -> AccessPolicy {
        AccessPolicy { api_keys: ApiKeys::parse(keys), allow_anonymous: false }
    }

    #[test]
    fn keys_are_required_once_configured_even_locally() {
        let p = with_keys("alpha-key-0001, beta-key-0002");
        assert_eq!(p.admit(Some("Bearer beta-key-0002"), true), Ok(Principal::ApiKey(1)));
        assert_eq!(p.admit(Some("bearer alpha-key-0001"), false), Ok(Principal::ApiKey(0)));
        let missing = p.admit(None, true).unwrap_err();
        assert_eq!(missing.status(), 401);
        let wrong = p.admit(Some("Bearer nope"), false).unwrap_err();
        assert!(
            matches!(&wrong, HttpError::Unauthorized { www_authenticate, .. } if www_authenticate.contains("invalid_token"))
        );
        assert_eq!(p.admit(Some("Basic alpha-key-0001"), false).unwrap_err().status(), 401);
    }

    #[test]
    fn no_credentials_is_open_locally_and_refused_when_deployed() {
        let p = AccessPolicy::default();
        assert_eq!(p.admit(None, true), Ok(Principal::Anonymous));
        let refused = p.admit(None, false).unwrap_err();
        assert_eq!(refused.status(), 503);
        assert!(refused.to_error_object().message.contains("MCP_API_KEYS"));
        let open = AccessPolicy { allow_anonymous: true, ..Default::default() };
        assert_eq!(open.admit(None, false), Ok(Principal::Anonymous));
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
