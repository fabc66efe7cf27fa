//! The stateless lane of `/mcp` (2026-07-28), answered in the Worker: no Durable Object, no storage. The rules
//! are in [`crate::transport::stateless`]; this reads the headers, runs the lane, and writes JSON, or SSE when
//! the request asked for notifications on its way (a progress token or a log level). `subscriptions/listen`
//! goes to the listen hub, the one place every isolate's changes reach.

use std::rc::Rc;

use futures_util::StreamExt;
use serde_json::Value;

use super::incoming::Incoming;
use super::{http, isolate, listen_hub, now_ms, Admitted, Failure, Reply};
use crate::error::HttpError;
use crate::model::stateless::{header, SubscriptionFilter};
use crate::model::{ErrorObject, Request, Response};
use crate::transport::stateless::{self, Answer, Checked, Lane, WireHeaders};
use crate::transport::{listen, sse};

/// Answers one stateless request; `protocol_version` is its `MCP-Protocol-Version` header, read already.
pub async fn post(
    req: &Incoming,
    at: &Admitted<'_>,
    request: Request,
    protocol_version: Option<String>,
) -> Result<Reply, Failure> {
    let server = isolate::server(at.env, at.settings).await;
    let headers =
        WireHeaders { protocol_version, method: req.header(header::METHOD), name: req.header(header::NAME) };
    let checked = match stateless::check(&request, &headers, &server) {
        Ok(checked) => checked,
        Err(refused) => return Ok(json(refused)),
    };
    let limited = at.settings.tool_rate_limits.call_of(&request, |r| server.tools_reached(r));
    super::caller_object::take_tool_calls(at.env, &at.caller, limited.as_slice())
        .await
        .map_err(|error| Failure { error, id: Some(request.id.clone()) })?;
    if request.method == "subscriptions/listen" {
        return open_listen(at, &server, &request).await;
    }
    let lane = Lane {
        server: &server,
        states: at.states,
        caller: at.caller.clone(),
        tools: at.tools.clone(),
        now_ms: now_ms(),
        notify: Rc::new(|_| {}),
        github: super::github_access::for_token(at.env, at.settings, at.bearer.as_deref()),
    };
    if !streams_notifications(&request, &checked) {
        return Ok(json(lane.answer(request, checked).await));
    }
    // Notifications as they happen, then the answer, on the POST's stream; but an answer that comes before any
    // notification goes out as JSON with its own status (a -32021 stays a 400). No event ids: the stateless
    // revision has no resumption, and an id would invite a GET with Last-Event-ID.
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<Frame>();
    let notifications = tx.clone();
    let (server, states, caller, tools) =
        (server.clone(), at.states.clone(), at.caller.clone(), at.tools.clone());
    let github = super::github_access::for_token(at.env, at.settings, at.bearer.as_deref());
    wasm_bindgen_futures::spawn_local(async move {
        let notify = Rc::new(move |message: Value| {
            let _ = notifications.unbounded_send(Frame::Notification(message));
        });
        let lane = Lane { server: &server, states: &states, caller, tools, now_ms: now_ms(), notify, github };
        let answer = lane.answer(request, checked).await;
        let _ = tx.unbounded_send(Frame::Answer(answer));
        tx.close_channel();
    });
    let first = match rx.next().await {
        Some(Frame::Answer(answer)) => return Ok(json(answer)),
        Some(first) => first,
        None => {
            return Err(
                http::internal("answering a stateless request", "the task ended without an answer").into()
            )
        }
    };
    let frames = futures_util::stream::once(async { first }).chain(rx).map(|frame| {
        let message = match frame {
            Frame::Notification(message) => message.to_string(),
            Frame::Answer(answer) => answer.to_json(),
        };
        Ok::<Vec<u8>, worker::Error>(sse::message(None, &message).into_bytes())
    });
    // Counted in the open streams gauge; its close goes with this isolate's next flush.
    let frames = super::metrics_recorder::counted(Box::pin(frames), "stateless", false);
    let response =
        worker::Response::from_stream(frames).map_err(|e| http::internal("opening the stream", e))?;
    http::sse_headers(response.headers());
    Ok(super::eager::ended_on_trap(&response.into()))
}

/// What the task answering a streamed request sends on.
enum Frame {
    Notification(Value),
    Answer(Answer),
}

/// Whether the request asked for notifications while it runs: then it is answered as a stream.
fn streams_notifications(request: &Request, checked: &Checked) -> bool {
    let meta = request.params.as_ref().and_then(|p| p.get("_meta"));
    checked.declared.log_level.is_some() || meta.and_then(|m| m.get("progressToken")).is_some()
}

fn json(answer: Answer) -> Reply {
    http::json_reply(answer.status, &answer.to_json())
}

/// `subscriptions/listen`: the honoured part of the filter, then a stream from the listen hub.
async fn open_listen(
    at: &Admitted<'_>,
    server: &crate::handler::Server,
    request: &Request,
) -> Result<Reply, Failure> {
    // A missing filter asks for nothing; a malformed one is an in-band error, as every params error here.
    let requested = request.params.as_ref().and_then(|p| p.get("notifications")).cloned();
    let requested: SubscriptionFilter = match requested.map(serde_json::from_value).transpose() {
        Ok(filter) => filter.unwrap_or_default(),
        Err(_) => {
            let why = "notifications must be an object of toolsListChanged, promptsListChanged, resourcesListChanged \
                       (booleans) and resourceSubscriptions (URIs)";
            let error =
                ErrorObject::new(crate::model::code::INVALID_PARAMS, format!("Invalid params: {why}"));
            return Ok(json(Answer::new(200, Response::error(Some(request.id.clone()), error))));
        }
    };
    let honoured = listen::honoured(&requested, server.changing_lists());
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    if id.to_string().len() > listen::MAX_LISTEN_ID_BYTES {
        let why =
            format!("the id of a listen request may take at most {} bytes", listen::MAX_LISTEN_ID_BYTES);
        let error = ErrorObject::new(crate::model::code::INVALID_PARAMS, format!("Invalid params: {why}"));
        return Ok(json(Answer::new(400, Response::error(Some(request.id.clone()), error))));
    }
    listen_hub::open(at.env, &id, &honoured)
        .await
        .map_err(|error: HttpError| Failure { error, id: Some(request.id.clone()) })
}
