//! `whoami`: who the server thinks is calling. Handy to check a sign-in end to end, and the example of a tool
//! reading the caller (`cx.caller`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::handler::{RequestContext, ToolDef};
use crate::identity::Identity;
use crate::model::tool::CallToolResult;

#[derive(Deserialize, JsonSchema)]
pub struct WhoamiArgs {}

/// The caller as a tool sees it.
#[derive(Serialize, JsonSchema, Debug, PartialEq)]
pub struct Caller {
    /// `user` (signed in with GitHub), `api_key` or `anonymous`.
    pub kind: String,
    /// The stable id: `github:<id>`, `key:<name>` or `anonymous`.
    pub id: String,
    /// The GitHub login of a signed-in user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// A user's display name on GitHub; an API key's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Caller {
    pub fn of(identity: &Identity) -> Self {
        Self {
            kind: identity.kind().as_str().into(),
            id: identity.id().into(),
            login: identity.login().map(str::to_string),
            name: identity.name().map(str::to_string),
        }
    }
}

pub fn tool() -> ToolDef {
    ToolDef::new(
        "whoami",
        "Tells who is calling: a GitHub user (login, id, name), an API key (its name), or anonymous.",
        |_: WhoamiArgs, cx: RequestContext| async move {
            Ok(CallToolResult::json(serde_json::to_value(Caller::of(&cx.caller))?))
        },
    )
    .title("Who am I")
    .output::<Caller>()
    .read_only()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_in_user_is_described_by_login_id_and_name() {
        let caller = Caller::of(&Identity::user(42, "octo", Some("Octo Cat")));
        assert_eq!(
            caller,
            Caller {
                kind: "user".into(),
                id: "github:42".into(),
                login: Some("octo".into()),
                name: Some("Octo Cat".into())
            }
        );
    }

    #[test]
    fn keys_are_named_and_anonymous_is_said_so() {
        let key = Caller::of(&Identity::api_key("ci"));
        assert_eq!((key.kind.as_str(), key.name.as_deref(), key.login), ("api_key", Some("ci"), None));
        let anon = serde_json::to_value(Caller::of(&Identity::anonymous())).unwrap();
        assert_eq!(anon, serde_json::json!({"kind": "anonymous", "id": "anonymous"}));
    }
}
