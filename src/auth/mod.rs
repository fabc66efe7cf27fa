//! Who may use the server: static bearer keys, anonymous access when the deployer opts in, and development
//! mode. A deployment with neither credentials nor an explicit opt-in refuses traffic; whether a request is
//! "local" is never guessed from the `Host` a client sends.

pub mod api_keys;

pub use api_keys::ApiKeys;

use crate::error::HttpError;
use crate::identity::Identity;

/// The access rule for MCP endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessPolicy {
    pub api_keys: ApiKeys,
    /// `MCP_ALLOW_ANONYMOUS=true`: serve without credentials even when deployed.
    pub allow_anonymous: bool,
    /// `MCP_DEV_MODE=true` (set by `npm run dev`): open without credentials when none are configured.
    pub development: bool,
}

impl AccessPolicy {
    /// The identity of a request's caller, or why it is refused; `authorization` reads the request's
    /// `Authorization` header (only when credentials are configured). Configured keys are required whatever the
    /// mode; without keys, only development mode or `MCP_ALLOW_ANONYMOUS` admit anyone.
    pub fn admit(&self, authorization: impl FnOnce() -> Option<String>) -> Result<Identity, HttpError> {
        if !self.api_keys.is_empty() {
            let header = authorization();
            let token = header.as_deref().and_then(bearer_token);
            return match token {
                Some(token) => self
                    .api_keys
                    .find(token)
                    .ok_or_else(|| unauthorized("the bearer token is not valid", Some("invalid_token"))),
                None => Err(unauthorized("send an API key as `Authorization: Bearer <key>`", None)),
            };
        }
        if self.allow_anonymous || self.development {
            Ok(Identity::anonymous())
        } else {
            Err(HttpError::NotConfigured(NO_CREDENTIALS.into()))
        }
    }

    /// Whether a deployment is configured to admit anyone at all.
    pub fn is_configured(&self) -> bool {
        !self.api_keys.is_empty() || self.allow_anonymous || self.development
    }
}

/// What a deployment without credentials answers.
pub const NO_CREDENTIALS: &str = "this server has no credentials configured, so it refuses unauthenticated \
     traffic. Set API keys with `npx wrangler secret put MCP_API_KEYS` (comma-separated `name:key` pairs), or set \
     MCP_ALLOW_ANONYMOUS=true to serve without authentication (`npm run dev` sets MCP_DEV_MODE=true for local \
     development)";

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

    fn with_keys(keys: &str, development: bool) -> AccessPolicy {
        AccessPolicy { api_keys: ApiKeys::parse(keys).unwrap(), allow_anonymous: false, development }
    }

    #[test]
    fn keys_are_required_once_configured_even_in_development() {
        for development in [false, true] {
            let p = with_keys("alpha:alpha-key-0001, beta-key-0002", development);
            assert_eq!(p.admit(|| Some("bearer alpha-key-0001".into())), Ok(Identity::api_key("alpha")));
            assert!(p.admit(|| Some("Bearer beta-key-0002".into())).unwrap().id().starts_with("key:"));
            assert_eq!(p.admit(|| None).unwrap_err().status(), 401);
            let wrong = p.admit(|| Some("Bearer nope".into())).unwrap_err();
            assert!(
                matches!(&wrong, HttpError::Unauthorized { www_authenticate, .. } if www_authenticate.contains("invalid_token"))
            );
            assert_eq!(p.admit(|| Some("Basic alpha-key-0001".into())).unwrap_err().status(), 401);
        }
    }

    #[test]
    fn no_credentials_is_open_only_in_development_or_by_opt_in() {
        let closed = AccessPolicy::default();
        let refused = closed.admit(|| None).unwrap_err();
        assert_eq!(refused.status(), 503);
        assert!(refused.to_error_object().message.contains("MCP_API_KEYS"));
        assert!(!closed.is_configured());
        let dev = AccessPolicy { development: true, ..Default::default() };
        assert_eq!(dev.admit(|| None), Ok(Identity::anonymous()));
        let open = AccessPolicy { allow_anonymous: true, ..Default::default() };
        assert_eq!(open.admit(|| None), Ok(Identity::anonymous()));
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
