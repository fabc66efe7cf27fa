//! The consent page, shown before any redirect to GitHub: one GitHub OAuth app serves every client that
//! registers here, so without the user's word for each client a malicious one could ride an earlier approval
//! (the confused-deputy rule of the MCP specification). Everything a client chose (its name, its URIs) is
//! escaped. The form is CSRF-protected by a double submit: a random nonce in a cookie, and a MAC of the sealed
//! request and that nonce in the form, which another site can neither read nor compute.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use super::sealed::Sealer;

/// Form fields of the consent form.
pub const FIELD_REQUEST: &str = "request";
pub const FIELD_CSRF: &str = "csrf";
pub const FIELD_ACTION: &str = "action";
pub const APPROVE: &str = "approve";
pub const DENY: &str = "deny";
const CSRF_LABEL: &[u8] = b"csrf";

/// Headers of every page here: no script, no framing, no caching, no referrer (URLs carry codes).
pub const PAGE_HEADERS: [(&str, &str); 6] = [
    ("Content-Type", "text/html; charset=utf-8"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
];

/// What the consent page shows.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub client_id: &'a str,
    pub client_name: Option<&'a str>,
    pub client_uri: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub sealed_request: &'a str,
    pub csrf: &'a str,
}

/// `text` safe inside HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The host a redirect URI leads to, as the user should read it.
pub fn redirect_host(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| uri.to_string())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;\
color:#222}h1{font-size:1.3rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#666}\
dd{margin:0;word-break:break-all}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// The consent page: which client asks, where it will send the user back, for what; approve or deny.
pub fn page(view: &View<'_>) -> String {
    let name = view.client_name.unwrap_or(view.client_id);
    let uri =
        view.client_uri.map(|u| format!("<dt>Client website</dt><dd>{}</dd>", escape(u))).unwrap_or_default();
    let body = format!(
        "<h1>{name} wants to use this MCP server as you</h1>\
         <p>Approving sends you to GitHub to sign in, then back to the client.</p>\
         <dl><dt>Client</dt><dd>{name}</dd><dt>Client ID</dt><dd>{id}</dd>{uri}\
         <dt>Redirects to</dt><dd>{host}</dd><dt>Access</dt><dd>{scope}</dd></dl>\
         <form method=\"post\" action=\"/authorize\">\
         <input type=\"hidden\" name=\"{FIELD_REQUEST}\" value=\"{request}\">\
         <input type=\"hidden\" name=\"{FIELD_CSRF}\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"{FIELD_ACTION}\" value=\"{APPROVE}\">Approve</button>\
         <button type=\"submit\" name=\"{FIELD_ACTION}\" value=\"{DENY}\">Deny</button></form>\
         <p><small>Only approve clients you started yourself.</small></p>",
        name = escape(name),
        id = escape(view.client_id),
        host = escape(&redirect_host(view.redirect_uri)),
        scope = escape(view.scope),
        request = escape(view.sealed_request),
        csrf = escape(view.csrf),
    );
    document("Authorize access", &body)
}

/// A page for an error that must not be sent to an unvalidated redirect URI.
pub fn error_page(message: &str) -> String {
    document("Authorization failed", &format!("<h1>Authorization failed</h1><p>{}</p>", escape(message)))
}

/// The CSRF token of a consent form: a MAC of the sealed request and the cookie's nonce.
pub fn csrf_token(sealer: &Sealer, sealed_request: &str, nonce: &str) -> String {
    B64.encode(&sealer.derive(CSRF_LABEL, &[sealed_request.as_bytes(), nonce.as_bytes()])[..16])
}

/// Whether the form's token matches the request and the cookie's nonce.
pub fn csrf_ok(sealer: &Sealer, sealed_request: &str, nonce: Option<&str>, token: Option<&str>) -> bool {
    let (Some(nonce), Some(token)) = (nonce, token) else { return false };
    let Ok(tag) = B64.decode(token) else { return false };
    tag.len() == 16 && sealer.verify_derived(CSRF_LABEL, &[sealed_request.as_bytes(), nonce.as_bytes()], &tag)
}

/// The name of the nonce cookie of one consent form (one per request, so two tabs do not clash). Over https it
/// is a `__Host-` cookie: secure, this host only.
pub fn cookie_name(https: bool, sealed_request: &str) -> String {
    let suffix = &super::digest(sealed_request)[..10];
    if https {
        format!("__Host-mcp_csrf_{suffix}")
    } else {
        format!("mcp_csrf_{suffix}")
    }
}

/// `Set-Cookie` for the nonce: HttpOnly, SameSite=Lax, path /, for the life of the consent form.
pub fn set_cookie(https: bool, sealed_request: &str, nonce: &str, max_age_s: u64) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{}={nonce}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}",
        cookie_name(https, sealed_request)
    )
}

/// `Set-Cookie` that removes the nonce once used.
pub fn clear_cookie(https: bool, sealed_request: &str) -> String {
    set_cookie(https, sealed_request, "", 0)
}

/// A cookie's value in a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').filter_map(|c| c.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerSecret;

    fn sealer() -> Sealer {
        Sealer::new(&ServerSecret::parse(&"q".repeat(40)).unwrap())
    }

    #[test]
    fn html_and_script_in_client_metadata_are_shown_escaped() {
        let view = View {
            client_id: "id\"><script>alert(1)</script>",
            client_name: Some("<img src=x onerror=alert(1)>Evil & Co"),
            client_uri: Some("https://x.example/\"onmouseover=\"alert(1)"),
            redirect_uri: "https://evil.example/cb",
            scope: "mcp",
            sealed_request: "mcp_ar.a.b",
            csrf: "tok",
        };
        let html = page(&view);
        assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;Evil &amp; Co"));
        assert!(!html.contains("\"onmouseover"));
        assert!(html.contains("evil.example"), "the redirect host is named");
        assert!(html.contains("name=\"request\" value=\"mcp_ar.a.b\""));
        assert!(html.contains("value=\"approve\"") && html.contains("value=\"deny\""));
        assert!(!error_page("<b>x</b>").contains("<b>"));
    }

    #[test]
    fn the_redirect_host_includes_a_port() {
        assert_eq!(redirect_host("http://127.0.0.1:3000/cb"), "127.0.0.1:3000");
        assert_eq!(redirect_host("https://claude.ai/api/cb"), "claude.ai");
    }

    #[test]
    fn csrf_tokens_bind_the_request_and_the_cookie_nonce() {
        let s = sealer();
        let token = csrf_token(&s, "mcp_ar.req", "nonce1");
        assert_ne!(token, "nonce1", "the cookie value is not the token");
        assert!(csrf_ok(&s, "mcp_ar.req", Some("nonce1"), Some(&token)));
        assert!(!csrf_ok(&s, "mcp_ar.req", None, Some(&token)), "no cookie");
        assert!(!csrf_ok(&s, "mcp_ar.req", Some("nonce1"), None), "no token");
        assert!(!csrf_ok(&s, "mcp_ar.req", Some("nonce2"), Some(&token)));
        assert!(!csrf_ok(&s, "mcp_ar.other", Some("nonce1"), Some(&token)));
        assert!(!csrf_ok(&s, "mcp_ar.req", Some("nonce1"), Some("!!!")));
    }

    #[test]
    fn cookies_are_host_only_and_secure_over_https() {
        let c = set_cookie(true, "r", "n", 600);
        assert!(c.starts_with("__Host-mcp_csrf_") && c.contains("Secure") && c.contains("HttpOnly"));
        assert!(c.contains("SameSite=Lax") && c.contains("Path=/"));
        assert!(!set_cookie(false, "r", "n", 600).contains("Secure"));
        let name = cookie_name(false, "r");
        let header = format!("a=1; {name}=n0nce; b=2");
        assert_eq!(cookie(Some(&header), &name), Some("n0nce"));
        assert_eq!(cookie(Some("a=1"), &name), None);
        assert_ne!(cookie_name(false, "r"), cookie_name(false, "s"));
    }
}
