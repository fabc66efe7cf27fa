//! Form-encoded parameters (`application/x-www-form-urlencoded` bodies and query strings) as OAuth reads them:
//! a parameter sent twice is an error (RFC 6749 §3.1), and an empty value counts as absent.

use url::form_urlencoded;

use super::OAuthError;

/// The largest form body the token, revocation and consent endpoints read.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Parsed parameters, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a body or a query; refuses repeated parameters.
    pub fn parse(input: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(input) {
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!("the parameter {name:?} is repeated")));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// A parameter's value; an empty one is absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// A parameter that must be there.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// Whether a `Content-Type` is form encoding (parameters such as `charset` allowed).
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// `url` with `params` appended to its query (a redirect URI may carry a query of its own; it never carries a
/// fragment, registration refuses those).
pub fn with_query(url: &str, params: &[(&str, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let query = query.finish();
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) => "&",
    };
    format!("{url}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_and_repeats_refused() {
        let p = Params::parse(b"grant_type=authorization_code&code=a%2Bb&redirect_uri=http%3A%2F%2Fx&empty=")
            .unwrap();
        assert_eq!(p.get("code"), Some("a+b"));
        assert_eq!(p.get("redirect_uri"), Some("http://x"));
        assert_eq!(p.get("empty"), None);
        assert!(p.require("empty").unwrap_err().description.contains("empty"));
        assert!(Params::parse(b"code=a&code=b").is_err());
        assert_eq!(Params::parse(b"").unwrap(), Params::default());
    }

    #[test]
    fn form_content_types() {
        assert!(is_form(Some("application/x-www-form-urlencoded")));
        assert!(is_form(Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8")));
        assert!(!is_form(Some("application/json")));
        assert!(!is_form(Some(";;;")));
        assert!(!is_form(None));
    }

    #[test]
    fn queries_are_appended_to_redirect_uris() {
        let params = [("code", "a b".to_string()), ("state", "s&t".to_string())];
        assert_eq!(with_query("https://c.example/cb", &params), "https://c.example/cb?code=a+b&state=s%26t");
        assert_eq!(
            with_query("https://c.example/cb?x=1", &params),
            "https://c.example/cb?x=1&code=a+b&state=s%26t"
        );
        assert_eq!(with_query("https://c.example/cb?", &params), "https://c.example/cb?code=a+b&state=s%26t");
    }
}
