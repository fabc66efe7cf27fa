//! How an argument becomes part of an HTTP request, per OpenAPI `style` and `explode`: path segments, query
//! pairs, header and cookie values. Every value is percent-encoded (only the delimiters the style adds stay
//! literal), so an argument can never add a path segment, a query parameter or a header of its own.

use serde_json::Value;

use super::index::Style;

/// `text` with every byte but RFC 3986's unreserved characters percent-encoded: `/`, `?`, `#`, `&`, `=`, `,`,
/// `%` and spaces included.
pub fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A primitive's text: strings as they are, numbers and booleans as JSON; arrays and objects nested inside a
/// styled value as JSON text.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The pieces of a value: a primitive, an array's items, or an object's (name, value) pairs.
enum Shape {
    One(String),
    List(Vec<String>),
    Pairs(Vec<(String, String)>),
}

fn shape(value: &Value) -> Shape {
    match value {
        Value::Array(items) => Shape::List(items.iter().map(scalar).collect()),
        Value::Object(map) => Shape::Pairs(map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect()),
        other => Shape::One(scalar(other)),
    }
}

/// A path parameter's text for its segment (`simple`, `label` or `matrix`), encoded. A value that would be a
/// `.` or `..` segment is refused: encoding leaves dots alone, and such a segment would climb the path.
pub fn path_value(name: &str, value: &Value, style: Style, explode: bool) -> Result<String, String> {
    let text = match (style, shape(value)) {
        (Style::Label, Shape::One(v)) => format!(".{}", percent(&v)),
        (Style::Label, Shape::List(items)) => {
            format!(".{}", join(items.iter().map(|v| percent(v)), if explode { "." } else { "," }))
        }
        (Style::Label, Shape::Pairs(pairs)) => {
            format!(".{}", pairs_text(&pairs, explode, if explode { "." } else { "," }))
        }
        (Style::Matrix, Shape::One(v)) => format!(";{}={}", percent(name), percent(&v)),
        (Style::Matrix, Shape::List(items)) if explode => {
            items.iter().map(|v| format!(";{}={}", percent(name), percent(v))).collect()
        }
        (Style::Matrix, Shape::List(items)) => {
            format!(";{}={}", percent(name), join(items.iter().map(|v| percent(v)), ","))
        }
        (Style::Matrix, Shape::Pairs(pairs)) if explode => {
            pairs.iter().map(|(k, v)| format!(";{}={}", percent(k), percent(v))).collect()
        }
        (Style::Matrix, Shape::Pairs(pairs)) => {
            format!(";{}={}", percent(name), pairs_text(&pairs, false, ","))
        }
        // `simple`, and any style the path does not define.
        (_, Shape::One(v)) => percent(&v),
        (_, Shape::List(items)) => join(items.iter().map(|v| percent(v)), ","),
        (_, Shape::Pairs(pairs)) => pairs_text(&pairs, explode, ","),
    };
    if text.is_empty() {
        return Err(format!("the path parameter {name} must not be empty"));
    }
    if text == "." || text == ".." {
        return Err(format!("the path parameter {name} may not be {text:?}"));
    }
    Ok(text)
}

/// `k,v,k,v` (not exploded) or `k=v<sep>k=v` (exploded), encoded.
fn pairs_text(pairs: &[(String, String)], explode: bool, sep: &str) -> String {
    if explode {
        join(pairs.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))), sep)
    } else {
        join(pairs.iter().flat_map(|(k, v)| [percent(k), percent(v)]), ",")
    }
}

fn join(parts: impl Iterator<Item = String>, sep: &str) -> String {
    parts.collect::<Vec<_>>().join(sep)
}

/// A query parameter as encoded `name=value` pairs (joined with `&` by the caller).
pub fn query_pairs(name: &str, value: &Value, style: Style, explode: bool) -> Vec<String> {
    let key = percent(name);
    match (style, shape(value)) {
        (Style::DeepObject, _) => {
            let mut out = Vec::new();
            deep(&key, value, &mut out);
            out
        }
        (_, Shape::One(v)) => vec![format!("{key}={}", percent(&v))],
        (Style::SpaceDelimited | Style::PipeDelimited | Style::Form, Shape::List(items)) if explode => {
            items.iter().map(|v| format!("{key}={}", percent(v))).collect()
        }
        (Style::SpaceDelimited, Shape::List(items)) => {
            vec![format!("{key}={}", join(items.iter().map(|v| percent(v)), "%20"))]
        }
        (Style::PipeDelimited, Shape::List(items)) => {
            vec![format!("{key}={}", join(items.iter().map(|v| percent(v)), "|"))]
        }
        (_, Shape::List(items)) => vec![format!("{key}={}", join(items.iter().map(|v| percent(v)), ","))],
        (_, Shape::Pairs(pairs)) if explode => {
            pairs.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect()
        }
        (_, Shape::Pairs(pairs)) => vec![format!("{key}={}", pairs_text(&pairs, false, ","))],
    }
}

/// `deepObject`: `key[a]=1&key[b][c]=2`; an array repeats its key (`key[tags]=x&key[tags]=y`).
fn deep(key: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                deep(&format!("{key}[{}]", percent(k)), v, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                deep(key, item, out);
            }
        }
        Value::Null => {}
        other => out.push(format!("{key}={}", percent(&scalar(other)))),
    }
}

/// A header parameter's value (`simple`); refused when it holds a control character (no header splitting).
pub fn header_value(name: &str, value: &Value, explode: bool) -> Result<String, String> {
    let text = match shape(value) {
        Shape::One(v) => v,
        Shape::List(items) => items.join(","),
        Shape::Pairs(pairs) if explode => join(pairs.iter().map(|(k, v)| format!("{k}={v}")), ","),
        Shape::Pairs(pairs) => join(pairs.into_iter().flat_map(|(k, v)| [k, v]), ","),
    };
    if text.chars().any(|c| c.is_control()) {
        return Err(format!("the header parameter {name} may not contain control characters"));
    }
    Ok(text)
}

/// A cookie parameter as encoded `name=value` pairs (`form`), joined with `; ` by the caller.
pub fn cookie_pairs(name: &str, value: &Value, explode: bool) -> Vec<String> {
    query_pairs(name, value, Style::Form, explode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent("../admin"), "..%2Fadmin");
        assert_eq!(percent("a b/c?d#e&f=g,h%i"), "a%20b%2Fc%3Fd%23e%26f%3Dg%2Ch%25i");
        assert_eq!(percent("é"), "%C3%A9");
    }

    #[test]
    fn path_values_stay_in_their_segment() {
        let simple = |v: Value| path_value("id", &v, Style::Simple, false);
        assert_eq!(simple(json!("../admin")).unwrap(), "..%2Fadmin");
        assert_eq!(simple(json!("a?b#c")).unwrap(), "a%3Fb%23c");
        assert_eq!(simple(json!("%2e%2e")).unwrap(), "%252e%252e");
        assert!(simple(json!("..")).unwrap_err().contains("may not be"));
        assert!(simple(json!(".")).is_err());
        assert!(simple(json!("")).unwrap_err().contains("empty"));
        assert_eq!(simple(json!(5)).unwrap(), "5");
        assert_eq!(simple(json!([3, 4, 5])).unwrap(), "3,4,5");
        assert_eq!(simple(json!(["a,b", "c"])).unwrap(), "a%2Cb,c");
        assert_eq!(
            simple(json!({"role": "admin", "firstName": "Alex"})).unwrap(),
            "firstName,Alex,role,admin"
        );
        assert_eq!(
            path_value("id", &json!({"role": "admin", "firstName": "Alex"}), Style::Simple, true).unwrap(),
            "firstName=Alex,role=admin"
        );
    }

    #[test]
    fn label_and_matrix_path_styles() {
        let v = |value: Value, style, explode| path_value("id", &value, style, explode).unwrap();
        assert_eq!(v(json!(5), Style::Label, false), ".5");
        assert_eq!(v(json!([3, 4, 5]), Style::Label, false), ".3,4,5");
        assert_eq!(v(json!([3, 4, 5]), Style::Label, true), ".3.4.5");
        assert_eq!(v(json!(5), Style::Matrix, false), ";id=5");
        assert_eq!(v(json!([3, 4]), Style::Matrix, false), ";id=3,4");
        assert_eq!(v(json!([3, 4]), Style::Matrix, true), ";id=3;id=4");
        assert_eq!(v(json!({"a": "x/y"}), Style::Matrix, true), ";a=x%2Fy");
        assert_eq!(v(json!({"a": 1, "b": 2}), Style::Matrix, false), ";id=a,1,b,2");
    }

    #[test]
    fn query_styles() {
        let q = |value: Value, style, explode| query_pairs("id", &value, style, explode).join("&");
        assert_eq!(q(json!("a b&c=d"), Style::Form, true), "id=a%20b%26c%3Dd");
        assert_eq!(q(json!(true), Style::Form, true), "id=true");
        assert_eq!(q(json!([3, 4, 5]), Style::Form, true), "id=3&id=4&id=5");
        assert_eq!(q(json!([3, 4, 5]), Style::Form, false), "id=3,4,5");
        assert_eq!(q(json!({"role": "admin", "n": 1}), Style::Form, true), "n=1&role=admin");
        assert_eq!(q(json!({"role": "admin", "n": 1}), Style::Form, false), "id=n,1,role,admin");
        assert_eq!(q(json!([3, 4, 5]), Style::SpaceDelimited, false), "id=3%204%205");
        assert_eq!(q(json!([3, 4, 5]), Style::PipeDelimited, false), "id=3|4|5");
        assert_eq!(q(json!([3, "a|b"]), Style::PipeDelimited, false), "id=3|a%7Cb");
        assert_eq!(q(json!([3, 4]), Style::PipeDelimited, true), "id=3&id=4");
        assert_eq!(
            q(json!({"role": "admin", "name": {"first": "Al"}, "tags": ["x", "y"]}), Style::DeepObject, true),
            "id[name][first]=Al&id[role]=admin&id[tags]=x&id[tags]=y"
        );
        assert_eq!(q(json!({"a[b]": "c"}), Style::DeepObject, true), "id[a%5Bb%5D]=c");
        assert_eq!(query_pairs("a&b", &json!("1"), Style::Form, true), vec!["a%26b=1"]);
    }

    #[test]
    fn header_and_cookie_values() {
        assert_eq!(header_value("X", &json!([1, 2]), false).unwrap(), "1,2");
        assert_eq!(header_value("X", &json!({"a": 1, "b": "c"}), false).unwrap(), "a,1,b,c");
        assert_eq!(header_value("X", &json!({"a": 1, "b": "c"}), true).unwrap(), "a=1,b=c");
        assert!(header_value("X", &json!("a\r\nSet-Cookie: x"), false).is_err());
        assert_eq!(cookie_pairs("session", &json!("a b;c"), true), vec!["session=a%20b%3Bc"]);
        assert_eq!(cookie_pairs("ids", &json!([1, 2]), false), vec!["ids=1,2"]);
    }
}
