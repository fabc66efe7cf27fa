//! An operation's arguments → the HTTP request to the configured base URL: the path template filled with
//! encoded segments, the query, headers, cookies and the body. Pure: credentials are attached afterwards
//! ([`super::credentials`]), and the fetch is the shell's.

use serde_json::{Map, Value};

use super::encode;
use super::index::{Body, BodyEncoding, BodyShape, Location, Operation};
use super::settings::{origin_of, BaseUrl};

/// A request about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingRequest {
    pub method: &'static str,
    /// Absolute: the base URL, the encoded path and the query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl OutgoingRequest {
    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets header `name`, replacing any value it had.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    /// Appends encoded `pairs` to the query.
    pub fn add_query(&mut self, pair: &str) {
        self.url.push(if self.url.contains('?') { '&' } else { '?' });
        self.url.push_str(pair);
    }

    /// Adds an encoded `name=value` to the `Cookie` header.
    pub fn add_cookie(&mut self, pair: &str) {
        let cookie = match self.header("Cookie") {
            Some(existing) => format!("{existing}; {pair}"),
            None => pair.to_string(),
        };
        self.set_header("Cookie", cookie);
    }

    /// Sets query parameter `name` (encoded) to `pair` (`name=value`, encoded), dropping the values it had: a
    /// credential must not sit beside an argument of the same name, which the API might read instead.
    pub fn set_query(&mut self, name: &str, pair: &str) {
        if let Some((path, query)) = self.url.split_once('?') {
            let kept: Vec<&str> = query.split('&').filter(|p| p.split('=').next() != Some(name)).collect();
            self.url = if kept.is_empty() { path.to_string() } else { format!("{path}?{}", kept.join("&")) };
        }
        self.add_query(pair);
    }

    /// Sets cookie `name` (encoded) to `pair`, dropping the values it had (see [`Self::set_query`]).
    pub fn set_cookie(&mut self, name: &str, pair: &str) {
        if let Some(existing) = self.header("Cookie").map(str::to_string) {
            let kept: Vec<&str> =
                existing.split("; ").filter(|p| p.split('=').next() != Some(name)).collect();
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("Cookie"));
            if !kept.is_empty() {
                self.headers.push(("Cookie".to_string(), kept.join("; ")));
            }
        }
        self.add_cookie(pair);
    }

    /// Whether this request goes to `base`'s origin: checked again before any credential is attached.
    pub fn goes_to(&self, base: &BaseUrl) -> bool {
        origin_of(&self.url).is_some_and(|origin| origin == base.origin)
    }
}

/// What every call says it is, unless the operation has a `User-Agent` parameter of its own.
pub const USER_AGENT: &str = concat!("mcp-worker-rs/", env!("CARGO_PKG_VERSION"));

/// Headers an argument may not set: the platform's, and those the request builds itself.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "cookie",
    "authorization",
    "proxy-authorization",
];

/// Builds the request of `op` with `args` (already validated against its input schema) for `base`;
/// `boundary` separates multipart parts (random, from the caller).
pub fn build_request(
    op: &Operation,
    args: &Map<String, Value>,
    base: &BaseUrl,
    boundary: &str,
) -> Result<OutgoingRequest, String> {
    // Some specs write `/path#variant` or `/path?fixed=query` as the path: the fragment names the operation only,
    // the query is part of every request. Only the path part takes parameters.
    let template = op.path.split('#').next().unwrap_or_default();
    let (template, fixed_query) = template.split_once('?').unwrap_or((template, ""));
    let mut path = template.to_string();
    let mut request =
        OutgoingRequest { method: op.method.as_str(), url: String::new(), headers: Vec::new(), body: None };
    let mut query = Vec::new();
    for param in &op.params {
        let value = match args.get(&param.arg) {
            None | Some(Value::Null) if param.required => {
                return Err(format!("the argument {} is required", param.arg));
            }
            None | Some(Value::Null) => continue,
            Some(value) => value,
        };
        // A parameter declared with `content: application/json` is sent as JSON text.
        let json_text;
        let value = if param.json {
            json_text = Value::String(value.to_string());
            &json_text
        } else {
            value
        };
        match param.location {
            Location::Path => {
                let placeholder = format!("{{{}}}", param.name);
                if !path.contains(&placeholder) {
                    return Err(format!("the path {} has no parameter {}", op.path, param.name));
                }
                let text = encode::path_value(&param.name, value, param.style, param.explode)?;
                path = path.replace(&placeholder, &text);
            }
            Location::Query => {
                query.extend(encode::query_pairs(&param.name, value, param.style, param.explode))
            }
            Location::Header => {
                if RESERVED_HEADERS.contains(&param.name.to_ascii_lowercase().as_str())
                    || !param.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                {
                    continue;
                }
                request
                    .headers
                    .push((param.name.clone(), encode::header_value(&param.name, value, param.explode)?));
            }
            Location::Cookie => {
                for pair in encode::cookie_pairs(&param.name, value, param.explode) {
                    request.add_cookie(&pair);
                }
            }
        }
    }
    if path.contains('{') || !path.starts_with('/') {
        return Err(format!("the path {} is missing a parameter", op.path));
    }
    // Encoding already keeps each value in its segment; this refuses a template that climbs by itself.
    // URL parsers also read `%2e` as a dot and `\` as a slash.
    let dot = |segment: &str| {
        let plain = segment.to_ascii_lowercase().replace("%2e", ".");
        plain == ".." || plain == "."
    };
    if path.contains('\\') || path.split('/').any(dot) || fixed_query.contains(['{', '}', '#']) {
        return Err(format!("the path {} is not a plain path", op.path));
    }
    if !fixed_query.is_empty() {
        query.insert(0, fixed_query.to_string());
    }
    // APIs such as GitHub's refuse requests without a User-Agent; an operation's own header parameter wins.
    if request.header("User-Agent").is_none() {
        request.set_header("User-Agent", USER_AGENT.to_string());
    }
    if request.header("Accept").is_none() {
        request.set_header("Accept", "application/json, */*;q=0.8".to_string());
    }
    request.url = format!("{}{}{}", base.origin, base.prefix, path);
    if !query.is_empty() {
        request.add_query(&query.join("&"));
    }
    if !request.goes_to(base) {
        return Err("the request would leave the configured base URL".into());
    }
    if let Some(body) = &op.body {
        if let Some(content) = body_value(body, args)? {
            let (bytes, content_type) = encode_body(body, &content, boundary)?;
            request.set_header("Content-Type", content_type);
            request.body = Some(bytes);
        }
    }
    Ok(request)
}

/// The body's value from the arguments: the whole-body argument, or an object of the flattened properties;
/// `None` when the body is optional and nothing of it was given.
fn body_value(body: &Body, args: &Map<String, Value>) -> Result<Option<Value>, String> {
    match &body.shape {
        BodyShape::Whole { arg } => match args.get(arg) {
            Some(Value::Null) | None if body.required => {
                Err(format!("the argument {arg} (the body) is required"))
            }
            Some(Value::Null) | None => Ok(None),
            Some(value) => Ok(Some(value.clone())),
        },
        BodyShape::Properties(properties) => {
            let object: Map<String, Value> = properties
                .iter()
                .filter_map(|p| args.get(&p.arg).map(|v| (p.name.clone(), v.clone())))
                .collect();
            Ok((body.required || !object.is_empty()).then_some(Value::Object(object)))
        }
    }
}

/// The body's bytes and its `Content-Type`.
fn encode_body(body: &Body, value: &Value, boundary: &str) -> Result<(Vec<u8>, String), String> {
    match body.encoding {
        BodyEncoding::Json => Ok((value.to_string().into_bytes(), body.content_type.clone())),
        BodyEncoding::Text => Ok((encode::scalar(value).into_bytes(), body.content_type.clone())),
        BodyEncoding::Form => {
            let text = match value {
                Value::Object(map) => form(map),
                // A string is taken as a form that is encoded already.
                Value::String(s) => s.clone(),
                _ => return Err("a form body must be an object".into()),
            };
            Ok((text.into_bytes(), body.content_type.clone()))
        }
        BodyEncoding::Multipart => {
            let Value::Object(map) = value else { return Err("a multipart body must be an object".into()) };
            Ok((multipart(map, boundary)?, format!("multipart/form-data; boundary={boundary}")))
        }
    }
}

/// `application/x-www-form-urlencoded`: arrays repeat their key, objects nest as `key[name]` (as Stripe and
/// most frameworks read them).
fn form(map: &Map<String, Value>) -> String {
    let mut pairs = Vec::new();
    for (name, value) in map {
        form_pairs(&encode::percent(name), value, &mut pairs);
    }
    pairs.join("&")
}

fn form_pairs(key: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                form_pairs(&format!("{key}%5B{}%5D", encode::percent(k)), v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| form_pairs(key, item, out)),
        Value::Null => {}
        other => out.push(format!("{key}={}", encode::percent(&encode::scalar(other)))),
    }
}

/// `multipart/form-data`: one part per property (an array: one per item); strings as text, other values as
/// JSON.
fn multipart(map: &Map<String, Value>, boundary: &str) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    for (name, value) in map {
        let items: Vec<&Value> = match value {
            Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                items.iter().collect()
            }
            other => vec![other],
        };
        for item in items {
            if item.is_null() {
                continue;
            }
            if name.chars().any(char::is_control) {
                return Err("a multipart field name may not contain control characters".into());
            }
            let name = name.replace('"', "%22");
            out.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n"));
            match item {
                Value::String(s) => out.push_str(&format!("\r\n{s}\r\n")),
                other => out.push_str(&format!("Content-Type: application/json\r\n\r\n{other}\r\n")),
            }
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::index::ApiIndex;
    use serde_json::json;

    fn index() -> ApiIndex {
        serde_json::from_str(include_str!("../../tests/e2e/fixtures/openapi/zoo.json")).unwrap()
    }

    fn build(name: &str, args: Value) -> Result<OutgoingRequest, String> {
        let index = index();
        let op = index.operations.iter().find(|o| o.name == name).unwrap();
        let base = BaseUrl { origin: "https://api.example".into(), prefix: "/v2".into() };
        build_request(op, args.as_object().unwrap(), &base, "BOUNDARY")
    }

    #[test]
    fn path_query_headers_and_cookies() {
        let r = build(
            "getAnimal",
            json!({"kind": "cat", "id": "../admin", "fields": ["name", "age"], "filter": {"color": "red"},
                   "X-Trace": "t1", "session": "s 1", "tags": ["a", "b"]}),
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.url,
            "https://api.example/v2/animals/cat/..%2Fadmin?fields=name,age&filter[color]=red&tags=a|b"
        );
        assert_eq!(r.header("X-Trace"), Some("t1"));
        assert_eq!(r.header("User-Agent"), Some(USER_AGENT));
        assert_eq!(r.header("Accept"), Some("application/json, */*;q=0.8"));
        assert_eq!(r.header("Cookie"), Some("session=s%201"));
        assert_eq!(r.body, None);
    }

    #[test]
    fn missing_and_smuggling_arguments_are_refused() {
        assert!(build("getAnimal", json!({"kind": "cat"})).unwrap_err().contains("id"));
        assert!(build("getAnimal", json!({"kind": "cat", "id": ".."})).is_err());
        let r = build("getAnimal", json!({"kind": "a/b?c#d", "id": "1"})).unwrap();
        assert!(r.url.starts_with("https://api.example/v2/animals/a%2Fb%3Fc%23d/1"), "{}", r.url);
        assert!(build("getAnimal", json!({"kind": "cat", "id": "1", "X-Trace": "a\nb"})).is_err());
    }

    #[test]
    fn reserved_headers_cannot_be_set_by_arguments() {
        let r = build(
            "getAnimal",
            json!({"kind": "cat", "id": "1", "Authorization": "Bearer mine", "Host": "evil"}),
        )
        .unwrap();
        assert_eq!(r.header("Authorization"), None);
        assert_eq!(r.header("Host"), None);
    }

    #[test]
    fn json_form_multipart_and_text_bodies() {
        let r = build("addAnimal", json!({"name": "Rex", "age": 3, "kind": "dog"})).unwrap();
        assert_eq!((r.method, r.url.as_str()), ("POST", "https://api.example/v2/animals/dog"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(
            serde_json::from_slice::<Value>(r.body.as_ref().unwrap()).unwrap(),
            json!({"name": "Rex", "age": 3})
        );

        let r = build(
            "updateAnimalForm",
            json!({"id": "7", "name": "Rex & co", "tags": ["a", "b"], "meta": {"k": "v"}}),
        )
        .unwrap();
        assert_eq!(r.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(
            String::from_utf8(r.body.clone().unwrap()).unwrap(),
            "meta%5Bk%5D=v&name=Rex%20%26%20co&tags=a&tags=b"
        );

        let r = build("uploadNote", json!({"id": "7", "note": "hello", "meta": {"a": 1}})).unwrap();
        assert_eq!(r.header("Content-Type"), Some("multipart/form-data; boundary=BOUNDARY"));
        assert_eq!(
            String::from_utf8(r.body.clone().unwrap()).unwrap(),
            "--BOUNDARY\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n\
             --BOUNDARY\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--BOUNDARY--\r\n"
        );

        let r = build("setMotto", json!({"id": "7", "body": "Roar"})).unwrap();
        assert_eq!((r.method, r.header("Content-Type")), ("PUT", Some("text/plain")));
        assert_eq!(r.body.as_deref(), Some(&b"Roar"[..]));
        assert!(build("setMotto", json!({"id": "7"})).unwrap_err().contains("body"));
    }

    #[test]
    fn an_optional_body_with_nothing_given_is_not_sent() {
        let r = build("updateAnimalForm", json!({"id": "7"})).unwrap();
        assert_eq!((r.body.as_deref(), r.header("Content-Type")), (None, None));
    }

    #[test]
    fn a_fragment_in_the_path_is_dropped_and_a_fixed_query_kept() {
        let mut index = index();
        let op = index.operations.iter_mut().find(|o| o.name == "listAnimals").unwrap();
        let base = BaseUrl { origin: "https://api.example".into(), prefix: String::new() };
        let args = json!({"limit": 2});
        op.path = "/animals#byLimit".into();
        assert_eq!(
            build_request(op, args.as_object().unwrap(), &base, "b").unwrap().url,
            "https://api.example/animals?limit=2"
        );
        op.path = "/animals?kind=cat#x".into();
        let r = build_request(op, args.as_object().unwrap(), &base, "b").unwrap();
        assert_eq!(r.url, "https://api.example/animals?kind=cat&limit=2");
        for climbing in
            ["/animals/../admin", "/animals/%2e%2E/admin", "/animals/.%2e/admin", "/animals\\..\\admin"]
        {
            op.path = climbing.into();
            assert!(build_request(op, args.as_object().unwrap(), &base, "b").is_err(), "{climbing}");
        }
    }

    #[test]
    fn a_json_content_parameter_is_sent_as_json_text() {
        let r = build("deleteAnimal", json!({"id": "7", "where": {"a": [1]}})).unwrap();
        assert_eq!(r.url, "https://api.example/v2/animals/7?where=%7B%22a%22%3A%5B1%5D%7D");
        assert_eq!(r.method, "DELETE");
    }
}
