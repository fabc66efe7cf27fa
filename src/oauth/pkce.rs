//! PKCE (RFC 7636), S256 only: OAuth 2.1 and the MCP specification require it, and `plain` protects nothing
//! once the challenge is seen.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::OAuthError;

/// The challenge of `verifier`: base64url(SHA-256(verifier)).
pub fn challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks the challenge an authorization request carries: present, method `S256` (absent means `plain`, which
/// is refused), and shaped like a base64url SHA-256 (43 characters).
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, OAuthError> {
    let challenge = challenge
        .ok_or_else(|| OAuthError::invalid_request("code_challenge is required (PKCE with S256)"))?;
    match method {
        Some("S256") => {}
        Some("plain") | None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 (plain is not supported)",
            ))
        }
        Some(_) => return Err(OAuthError::invalid_request("code_challenge_method must be S256")),
    }
    let shaped = challenge.len() == 43 && challenge.bytes().all(is_base64url);
    if !shaped {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the verifier",
        ));
    }
    Ok(challenge.to_string())
}

/// Whether `verifier` (43 to 128 unreserved characters) hashes to `challenge`.
pub fn verify(verifier: &str, challenge_expected: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    shaped && super::constant_time_eq(&challenge(verifier), challenge_expected)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(challenge(VERIFIER), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verify(VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_fails() {
        let c = challenge(VERIFIER);
        assert!(!verify(&VERIFIER.replace('d', "e"), &c));
        assert!(!verify("short", &challenge("short")), "under 43 characters");
        assert!(!verify(&"a".repeat(129), &challenge(&"a".repeat(129))), "over 128 characters");
        assert!(!verify(&format!("{}!", &VERIFIER[1..]), &challenge(&format!("{}!", &VERIFIER[1..]))));
        assert!(!verify(&c, &c), "the challenge itself is no verifier (that would be plain)");
    }

    #[test]
    fn only_s256_challenges_are_accepted() {
        let c = challenge(VERIFIER);
        assert_eq!(check_challenge(Some(&c), Some("S256")), Ok(c.clone()));
        assert!(check_challenge(Some(&c), Some("plain")).unwrap_err().description.contains("plain"));
        assert!(check_challenge(Some(&c), None).is_err(), "absent means plain");
        assert!(check_challenge(Some(&c), Some("s256")).is_err());
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(check_challenge(Some("too-short"), Some("S256")).is_err());
    }
}
