//! An API's HTTP answer → the tool's result. JSON comes back as text and as `structuredContent` (a non-object
//! wrapped as `{"result": ...}`); other types as bounded text; an HTTP error or a redirect as a result with
//! `isError`, the status and a bounded body (a redirect: only where it pointed, by origin, never followed).
//!
//! Output schemas are checked leniently: the keywords the validator knows, `format` and `pattern` ignored. A
//! client must get `structuredContent` that matches a declared `outputSchema` (the official SDKs reject a
//! result that does not), so an answer that does not match, or that cannot be structured (not JSON, cut
//! short, empty), is returned as text with `isError` and a note saying the call itself succeeded: the model
//! gets the data, and no client breaks.

use serde_json::{json, Value};

use super::index::Operation;
use super::settings::origin_of;
use crate::model::tool::CallToolResult;
use crate::schema;

/// What the shell received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    pub status: u16,
    pub content_type: Option<String>,
    /// `Location`, for a redirect.
    pub location: Option<String>,
    /// At most the API's `MAX_RESPONSE_BYTES`.
    pub body: Vec<u8>,
    /// Whether the body was cut at the limit.
    pub truncated: bool,
}

/// How much of an error's body is shown.
const ERROR_BODY_BYTES: usize = 2048;

/// The result of `op`'s call, from what came back; `max_bytes` is the limit the body was cut at.
pub fn answer(op: &Operation, received: &Received, max_bytes: usize) -> CallToolResult {
    let declared = op.output_schema.as_ref().and_then(|s| serde_json::from_str::<Value>(s.get()).ok());
    answer_with(op, received, max_bytes, declared.as_ref())
}

/// [`answer`], with `op`'s output schema parsed already (once per tool, not per call).
pub fn answer_with(
    op: &Operation,
    received: &Received,
    max_bytes: usize,
    declared: Option<&Value>,
) -> CallToolResult {
    let status = received.status;
    if (300..400).contains(&status) {
        let to = received.location.as_deref().and_then(origin_of).unwrap_or_else(|| "the same server".into());
        return CallToolResult::error(format!(
            "HTTP {status}: {} answered with a redirect to {to}, which is not followed.",
            op.name
        ));
    }
    let cut_note = || format!("\n[truncated: the response is longer than {max_bytes} bytes]");
    if !(200..400).contains(&status) {
        let mut text = format!("HTTP {status}: {} failed.", op.name);
        if !received.body.is_empty() {
            let shown = &received.body[..received.body.len().min(ERROR_BODY_BYTES)];
            text.push_str(&format!("\n{}", String::from_utf8_lossy(shown)));
            if received.body.len() > ERROR_BODY_BYTES || received.truncated {
                text.push_str("\n[truncated]");
            }
        }
        return CallToolResult::error(text);
    }
    let is_json = received.content_type.as_deref().is_some_and(is_json_type);
    let parsed = (is_json && !received.truncated)
        .then(|| serde_json::from_slice::<Value>(&received.body).ok())
        .flatten();
    let text = body_text(received);
    match parsed {
        Some(value) => {
            let structured =
                if op.wraps_output || !value.is_object() { json!({ "result": value }) } else { value };
            if let Some(schema) = declared {
                if let Err(problems) = schema::validate(&structured, schema) {
                    // The validator names the top level "arguments" (it checks those most); here it is the response.
                    let shown: Vec<String> = problems
                        .into_iter()
                        .take(3)
                        .map(|p| {
                            p.strip_prefix("arguments")
                                .map_or(p.clone(), |rest| format!("the response{rest}"))
                        })
                        .collect();
                    return succeeded_unstructured(
                        status,
                        &format!(
                            "its response does not match the declared output schema ({})",
                            shown.join("; ")
                        ),
                        &text,
                    );
                }
            }
            CallToolResult {
                content: vec![crate::model::Content::text(text)],
                structured_content: Some(structured),
                is_error: false,
            }
        }
        None => {
            let mut text =
                if received.body.is_empty() { format!("HTTP {status}: no content.") } else { text };
            if received.truncated {
                text.push_str(&cut_note());
            }
            if declared.is_some() {
                let why = if received.truncated {
                    "its response was cut short, so it is not returned as structured content"
                } else {
                    "its response is not the JSON the operation declares"
                };
                return succeeded_unstructured(status, why, &text);
            }
            CallToolResult::text(text)
        }
    }
}

/// A 2xx answer that cannot be the declared structured content.
fn succeeded_unstructured(status: u16, why: &str, text: &str) -> CallToolResult {
    CallToolResult::error(format!(
        "HTTP {status}: the call succeeded (do not repeat it), but {why}. The response:\n{text}"
    ))
}

/// The body as text; binary content is described, not shown.
fn body_text(received: &Received) -> String {
    match std::str::from_utf8(&received.body) {
        Ok(text) => text.to_string(),
        // Cut in the middle of a character at the limit.
        Err(e) if received.truncated && e.error_len().is_none() => {
            String::from_utf8_lossy(&received.body[..e.valid_up_to()]).into_owned()
        }
        Err(_) => format!(
            "[{} bytes of {}, not shown]",
            received.body.len(),
            received.content_type.as_deref().unwrap_or("binary content")
        ),
    }
}

/// `application/json`, `+json` types, with parameters.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Content;
    use crate::openapi::index::ApiIndex;

    fn op(name: &str) -> Operation {
        let index: ApiIndex =
            serde_json::from_str(include_str!("../../tests/e2e/fixtures/openapi/zoo.json")).unwrap();
        index.operations.into_iter().find(|o| o.name == name).unwrap()
    }

    fn received(status: u16, content_type: &str, body: &str) -> Received {
        Received {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    fn text(result: &CallToolResult) -> &str {
        let Content::Text { text } = &result.content[0] else { panic!() };
        text
    }

    #[test]
    fn json_objects_are_text_and_structured_content() {
        let r = answer(
            &op("getAnimal"),
            &received(200, "application/json; charset=utf-8", r#"{"id":"7","name":"Rex"}"#),
            1000,
        );
        assert!(!r.is_error);
        assert_eq!(text(&r), r#"{"id":"7","name":"Rex"}"#);
        assert_eq!(r.structured_content, Some(json!({"id": "7", "name": "Rex"})));
    }

    #[test]
    fn non_objects_are_wrapped() {
        let r = answer(&op("listAnimals"), &received(200, "application/json", r#"[{"id":"1"}]"#), 1000);
        assert_eq!(r.structured_content, Some(json!({"result": [{"id": "1"}]})));
        // Without an output schema too: structuredContent is always an object.
        let r = answer(&op("feedAnimal"), &received(200, "application/problem+json", "42"), 1000);
        assert_eq!((r.structured_content, r.is_error), (Some(json!({"result": 42})), false));
    }

    #[test]
    fn an_answer_off_the_output_schema_is_text_with_a_note() {
        let r = answer(&op("getAnimal"), &received(200, "application/json", r#"{"name":"Rex"}"#), 1000);
        assert!(r.is_error && r.structured_content.is_none());
        assert!(
            text(&r).contains("succeeded") && text(&r).contains("\"id\"") && text(&r).contains("Rex"),
            "{}",
            text(&r)
        );
        let r = answer(&op("getAnimal"), &received(200, "text/html", "<p>hi</p>"), 1000);
        assert!(r.is_error && text(&r).contains("<p>hi</p>"));
    }

    #[test]
    fn other_types_are_bounded_text() {
        let r = answer(&op("feedAnimal"), &received(200, "text/plain", "fed"), 1000);
        assert_eq!(r, CallToolResult::text("fed"));
        let r = answer(&op("feedAnimal"), &Received { status: 204, ..Default::default() }, 1000);
        assert_eq!(r, CallToolResult::text("HTTP 204: no content."));
        let binary = Received {
            status: 200,
            content_type: Some("image/png".into()),
            body: vec![0x89, 0xff, 0xfe],
            truncated: false,
            location: None,
        };
        assert_eq!(text(&answer(&op("feedAnimal"), &binary, 1000)), "[3 bytes of image/png, not shown]");
    }

    #[test]
    fn truncated_answers_say_so() {
        let mut cut = received(200, "application/json", "[1,2,3,");
        cut.truncated = true;
        let r = answer(&op("feedAnimal"), &cut, 7);
        assert!(!r.is_error && r.structured_content.is_none());
        assert_eq!(text(&r), "[1,2,3,\n[truncated: the response is longer than 7 bytes]");
        let r = answer(&op("listAnimals"), &cut, 7);
        assert!(r.is_error && text(&r).contains("cut short") && text(&r).contains("[1,2,3,"));
        // A character cut in half at the limit is dropped, not shown as binary.
        let mut half = Received {
            status: 200,
            content_type: Some("text/plain".into()),
            body: "ab\u{e9}".as_bytes()[..3].to_vec(),
            truncated: true,
            location: None,
        };
        assert!(text(&answer(&op("feedAnimal"), &half, 3)).starts_with("ab\n[truncated"));
        half.truncated = false;
        assert!(text(&answer(&op("feedAnimal"), &half, 3)).starts_with("[3 bytes"));
    }

    #[test]
    fn errors_carry_the_status_and_a_bounded_body() {
        let r = answer(
            &op("getAnimal"),
            &received(404, "application/json", r#"{"message":"no such animal"}"#),
            1000,
        );
        assert!(r.is_error && r.structured_content.is_none());
        assert_eq!(text(&r), "HTTP 404: getAnimal failed.\n{\"message\":\"no such animal\"}");
        let long = "x".repeat(5000);
        let r = answer(&op("getAnimal"), &received(500, "text/plain", &long), 10_000);
        assert!(
            text(&r).starts_with("HTTP 500") && text(&r).ends_with("[truncated]") && text(&r).len() < 2200
        );
    }

    #[test]
    fn redirects_show_only_the_origin() {
        let mut r = received(302, "text/html", "moved");
        r.location = Some("https://elsewhere.example/steal?token=abc".into());
        let result = answer(&op("getAnimal"), &r, 1000);
        assert!(result.is_error);
        assert!(text(&result).contains("HTTP 302") && text(&result).contains("https://elsewhere.example"));
        assert!(!text(&result).contains("steal") && !text(&result).contains("abc"));
        r.location = Some("/relative/path".into());
        assert!(text(&answer(&op("getAnimal"), &r, 1000)).contains("the same server"));
    }
}
