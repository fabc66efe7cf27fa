//! `github_user`: the signed-in user as GitHub itself reports them (`GET /user` with the user's GitHub token).
//! The example of a tool calling GitHub on the user's behalf through [`RequestContext::github`]; registered
//! only when GitHub sign-in is configured.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::handler::{GitHubAccess, RequestContext, ToolDef};
use crate::model::tool::CallToolResult;

#[derive(Deserialize, JsonSchema)]
pub struct GitHubUserArgs {}

/// What GitHub says about the user.
#[derive(Serialize, JsonSchema, Debug, PartialEq)]
pub struct GitHubUser {
    /// The GitHub login.
    pub login: String,
    /// The GitHub user id.
    pub id: u64,
}

/// The refusal of a caller that did not sign in with GitHub.
pub const NEEDS_SIGN_IN: &str =
    "github_user calls GitHub as the signed-in user: it needs a client signed in with \
     GitHub (OAuth), not an API key or anonymous access";

/// The tool's answer: GitHub's user, or a tool error saying what failed (never a token or GitHub's text).
pub async fn answer(github: Option<&dyn GitHubAccess>) -> CallToolResult {
    let Some(github) = github else { return CallToolResult::error(NEEDS_SIGN_IN) };
    match github.get("/user").await {
        Ok((200, body)) => match user_of(&body) {
            Some(user) => CallToolResult::json(serde_json::to_value(user).unwrap_or(Value::Null)),
            None => CallToolResult::error("GitHub's answer did not name a user"),
        },
        Ok((status, _)) => CallToolResult::error(format!("GitHub answered HTTP {status}")),
        Err(why) => CallToolResult::error(format!("calling GitHub failed: {why}")),
    }
}

fn user_of(body: &Value) -> Option<GitHubUser> {
    Some(GitHubUser { login: body.get("login")?.as_str()?.to_string(), id: body.get("id")?.as_u64()? })
}

pub fn tool() -> ToolDef {
    ToolDef::new(
        "github_user",
        "Asks GitHub, with the signed-in user's GitHub token, who the user is (GET /user): login and id. \
         Needs GitHub sign-in.",
        |_: GitHubUserArgs, cx: RequestContext| async move { Ok(answer(cx.github.as_deref()).await) },
    )
    .title("GitHub user")
    .output::<GitHubUser>()
    .read_only()
    .open_world(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::tools::LocalFuture;
    use serde_json::json;

    struct Fake(u16, Value);

    impl GitHubAccess for Fake {
        fn token(&self) -> LocalFuture<'_, Result<String, String>> {
            Box::pin(async { Ok("ghu_x".to_string()) })
        }
        fn get(&self, path: &str) -> LocalFuture<'_, Result<(u16, Value), String>> {
            assert_eq!(path, "/user");
            let answer = (self.0, self.1.clone());
            Box::pin(async move { Ok(answer) })
        }
    }

    fn run(github: Option<&dyn GitHubAccess>) -> CallToolResult {
        futures_executor::block_on(answer(github))
    }

    #[test]
    fn answers_the_login_and_id_github_reports() {
        let fake = Fake(200, json!({"login": "octocat", "id": 583231, "name": "The Octocat"}));
        let result = run(Some(&fake));
        assert!(!result.is_error);
        assert_eq!(result.structured_content, Some(json!({"login": "octocat", "id": 583231})));
    }

    #[test]
    fn callers_without_github_and_github_failures_get_tool_errors() {
        let result = run(None);
        assert!(result.is_error);
        assert!(serde_json::to_string(&result).unwrap().contains("needs a client signed in with GitHub"));
        assert!(run(Some(&Fake(401, json!({"message": "Bad credentials"})))).is_error);
        assert!(run(Some(&Fake(200, json!({"message": "?"})))).is_error);
    }
}
