//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a stream whose first event, `endpoint`, names the URL
//! for POSTs (`/messages?sessionId=<id>`); each POST is answered 202 and its replies go out on the stream.
//!
//! The session is created with the stream (before `initialize`, which arrives as the first POST) and ends when
//! the stream closes: this transport has no way to resume a stream, so a POST for a session whose stream is
//! gone is answered 404 and the client connects again.

use crate::error::HttpError;
use crate::handler::{RequestContext, Server};
use crate::model::{Message, Payload, Response};
use crate::session::{id as session_id, SessionState, TransportKind};
use crate::transport::streamable_http::{admit_all, Admitted};

/// The stream's first event: where to POST messages.
pub fn endpoint_event(messages_path: &str, session: &str, extra_query: &str) -> String {
    let extra = if extra_query.is_empty() { String::new() } else { format!("&{extra_query}") };
    format!("event: endpoint\ndata: {messages_path}?sessionId={session}{extra}\n\n")
}

/// The `sessionId` query parameter of a POST.
pub fn session_from_query(query: Option<&str>) -> Result<String, HttpError> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("sessionId="))
        .ok_or_else(|| HttpError::BadRequest("the sessionId query parameter is required".into()))?;
    if value.is_empty() || !session_id::is_valid_header(value) {
        Err(HttpError::BadRequest("malformed sessionId".into()))
    } else if session_id::is_well_formed(value) && !session_id::is_deferred(value) {
        Ok(value.to_string())
    } else {
        Err(HttpError::SessionNotFound)
    }
}

/// What one POST's messages produced: the replies to send on the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Replies {
    pub responses: Vec<Response>,
    pub batch: bool,
}

/// Answers one POST's messages inside a legacy session (`cx` holds it). `initialize` (re)defines the
/// session's negotiated version and client; everything else goes to the server as on Streamable HTTP.
pub async fn handle_message(
    server: &Server,
    cx: &RequestContext,
    payload: Payload,
    on_client_response: &dyn Fn(Response),
    now_ms: u64,
) -> Replies {
    let batch = payload.is_batch();
    let mut responses = Vec::new();
    for admitted in admit_all(server, cx, payload.into_items()) {
        match admitted {
            Admitted::Other(Message::Request(request)) => {
                match server.initialize_by(&request, &cx.caller, now_ms) {
                    Ok((response, opening)) => {
                        if let Some(session) = &cx.session {
                            session.update(|s| {
                                *s = SessionState {
                                    transport: TransportKind::LegacySse,
                                    ..SessionState::new(s.id.clone(), opening, &cx.caller, now_ms)
                                }
                            });
                        }
                        responses.push(response);
                    }
                    Err(response) => responses.push(response),
                }
            }
            Admitted::Other(message) => {
                responses.extend(server.handle_message(message, cx, on_client_response).await)
            }
            Admitted::Request(request, Ok(cancellation)) => {
                responses.extend(server.answer(&request, cx, cancellation).await);
            }
            Admitted::Request(_, Err(refused)) => responses.push(refused),
            Admitted::Malformed(malformed) => responses.push(malformed.into_response()),
        }
    }
    Replies { responses, batch }
}

/// The text of one `message` event carrying `replies` (an array for a batch).
pub fn replies_json(replies: &Replies) -> Option<String> {
    if replies.responses.is_empty() {
        None
    } else if replies.batch {
        Some(serde_json::to_string(&replies.responses).unwrap_or_default())
    } else {
        Some(replies.responses[0].to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_event_names_the_post_url() {
        assert_eq!(
            endpoint_event("/messages", "abc", ""),
            "event: endpoint\ndata: /messages?sessionId=abc\n\n"
        );
        assert_eq!(
            endpoint_event("/messages", "abc", "readonly=true"),
            "event: endpoint\ndata: /messages?sessionId=abc&readonly=true\n\n"
        );
    }

    #[test]
    fn session_ids_from_the_query() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";
        assert_eq!(session_from_query(Some(&format!("sessionId={id}"))).unwrap(), id);
        assert_eq!(session_from_query(Some(&format!("x=1&sessionId={id}"))).unwrap(), id);
        assert_eq!(session_from_query(None).unwrap_err().status(), 400);
        assert_eq!(session_from_query(Some("sessionId=")).unwrap_err().status(), 400);
        assert_eq!(session_from_query(Some("sessionId=a%20b")).unwrap_err().status(), 404);
        assert_eq!(session_from_query(Some("sessionId=nothex")).unwrap_err(), HttpError::SessionNotFound);
    }
}
