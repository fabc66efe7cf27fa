//! How the Worker speaks to a session's Durable Object: a request the Worker builds itself, naming the
//! operation, the session, the caller it authenticated and the revision, never the client's request with the
//! client's headers. The object reads only this, so nothing a client sends can pass for something the Worker
//! vouched for.

use serde::{Deserialize, Serialize};

use crate::handler::ToolFilter;
use crate::identity::Identity;
use crate::model::ProtocolVersion;

/// The one header of a Worker-built request to a session object: a [`SessionCall`] as JSON.
pub const CALL_HEADER: &str = "x-mcp-session-call";

/// What the Worker asks a session object to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Streamable HTTP POST: the body holds the client's messages.
    Post,
    /// Streamable HTTP GET: the standalone stream, or a resumption (`last_event_id`).
    Listen,
    /// Streamable HTTP DELETE.
    End,
    /// `initialize` whose opening does not fit in a deferred id: create the session now (body: the request).
    Initialize,
    /// `GET /sse`: create a legacy session and return its stream.
    LegacyOpen,
    /// `POST /messages`: the body holds the client's messages.
    LegacyMessage,
}

/// One Worker-built request to the object of `session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionCall {
    pub op: Operation,
    pub session: String,
    /// The id of the identity the Worker authenticated.
    pub caller: String,
    /// A signed-in user's login and name, for tools (the id alone decides ownership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `MCP-Protocol-Version` the client declared (already checked to be one we speak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<ProtocolVersion>,
    /// `Last-Event-ID` of a resumption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<String>,
    /// The tools the connection narrowed itself to through its URL.
    #[serde(default, skip_serializing_if = "ToolFilter::is_open")]
    pub tools: ToolFilter,
    /// A signed-in user's access token (of ours), from which the object reaches the user's GitHub token for
    /// tools. It travels only from the Worker to the object and is never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<Bearer>,
}

/// An access token that prints as `<redacted>` (`Debug`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bearer(pub String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl SessionCall {
    pub fn new(op: Operation, session: &str, caller: &Identity) -> Self {
        Self {
            op,
            session: session.to_string(),
            caller: caller.id().to_string(),
            login: caller.login().map(str::to_string),
            name: caller.login().and(caller.name()).map(str::to_string),
            revision: None,
            last_event_id: None,
            tools: ToolFilter::all(),
            bearer: None,
        }
    }

    pub fn caller(&self) -> Identity {
        Identity::from_id(self.caller.clone()).with_profile(self.login.clone(), self.name.clone())
    }

    pub fn to_header(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The call in a request's header; `None` for anything the Worker did not build.
    pub fn from_header(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip_through_the_header() {
        let mut call = SessionCall::new(Operation::Listen, "abc.def", &Identity::api_key("alice"));
        call.revision = Some(ProtocolVersion::V2025_06_18);
        call.last_event_id = Some("s1-4".into());
        call.tools = ToolFilter::from_query("tools=search,fetch").unwrap();
        assert!(!call.tools.is_open());
        assert_eq!(SessionCall::from_header(&call.to_header()), Some(call.clone()));
        assert_eq!(call.caller(), Identity::api_key("alice"));
        assert_eq!(SessionCall::from_header("{\"op\":\"post\"}"), None);
        assert_eq!(SessionCall::from_header("garbage"), None);
        let user = Identity::user(7, "octo", Some("Octo"));
        let call = SessionCall::new(Operation::Post, "s", &user);
        let back = SessionCall::from_header(&call.to_header()).unwrap().caller();
        assert_eq!((back.id(), back.login(), back.name()), ("github:7", Some("octo"), Some("Octo")));
        assert!(!call.to_header().contains("bearer"), "absent unless set");
        let mut call = call;
        call.bearer = Some(Bearer("mcp_at.secret".into()));
        assert_eq!(SessionCall::from_header(&call.to_header()), Some(call.clone()));
        assert!(!format!("{call:?}").contains("mcp_at.secret"), "never printed");
    }
}
