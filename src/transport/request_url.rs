//! The parts of a request's URL the router reads, taken from the serialized (WHATWG) URL the runtime hands
//! over. No URL parser: the `url` crate, with its internationalised-domain tables, would be about a sixth of
//! the upload, and a serialized URL needs none (its path never holds an unescaped `?` or `#`).

/// `host[:port]` of an absolute URL (`scheme://[userinfo@]host[:port]/...`); empty if it has none.
pub fn authority(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else { return "" };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

/// The path (`/` when the URL has none), without query or fragment.
pub fn path(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else { return "/" };
    let Some(start) = rest.find(['/', '?', '#']) else { return "/" };
    let rest = &rest[start..];
    let path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// The query, without its `?`.
pub fn query(url: &str) -> Option<&str> {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    url.split_once('?').map(|(_, query)| query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_serialized_urls() {
        assert_eq!(authority("http://localhost:8787/mcp"), "localhost:8787");
        assert_eq!(authority("https://mcp.example.com/messages?sessionId=ab"), "mcp.example.com");
        assert_eq!(authority("http://[::1]:8787/"), "[::1]:8787");
        assert_eq!(authority("https://user:pw@host.example/x"), "host.example");
        assert_eq!(authority("https://host.example?x=1"), "host.example");
        assert_eq!(authority("/relative"), "");
    }

    #[test]
    fn path_of_serialized_urls() {
        assert_eq!(path("http://localhost:8787/mcp"), "/mcp");
        assert_eq!(path("https://h.example/messages?sessionId=ab#x"), "/messages");
        assert_eq!(path("https://h.example"), "/");
        assert_eq!(path("https://h.example?x=1"), "/");
        assert_eq!(path("http://[::1]:8787/a/b/"), "/a/b/");
        assert_eq!(path("/relative"), "/");
    }

    #[test]
    fn query_of_serialized_urls() {
        assert_eq!(query("http://h/messages?sessionId=ab&x=1"), Some("sessionId=ab&x=1"));
        assert_eq!(query("http://h/messages?sessionId=ab#frag"), Some("sessionId=ab"));
        assert_eq!(query("http://h/mcp"), None);
        assert_eq!(query("http://h/mcp#a?b"), None);
        assert_eq!(query("http://h/mcp?"), Some(""));
    }
}
