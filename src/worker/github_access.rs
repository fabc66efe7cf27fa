//! [`GitHubAccess`] in the Worker and in session objects: the signed-in user's GitHub token, reached through
//! the access token of ours the request carried (its KV record wraps the grant key; the grant object holds the
//! encrypted GitHub token and refreshes it when it expires), and GitHub's API called with it. Our access token
//! is used only to unwrap the grant key; it is never sent to GitHub or anywhere else.

use std::rc::Rc;

use serde_json::Value;
use worker::Env;

use super::outbound::{self, GITHUB_MAX_BYTES, GITHUB_TIMEOUT_MS};
use crate::config::Settings;
use crate::handler::tools::LocalFuture;
use crate::handler::GitHubAccess;
use crate::oauth::github::{API_VERSION, USER_AGENT};

/// GitHub as the user whose access token of ours is `access_token`.
pub struct UserGitHub {
    env: Env,
    access_token: String,
    api_url: String,
}

/// The provider for a request whose caller signed in with GitHub (`access_token` is then its bearer token);
/// `None` when sign-in is off or there is no such token.
pub fn for_token(env: &Env, settings: &Settings, access_token: Option<&str>) -> Option<Rc<dyn GitHubAccess>> {
    let sign_in = settings.sign_in.as_ref()?;
    let access_token = access_token?.to_string();
    Some(Rc::new(UserGitHub { env: env.clone(), access_token, api_url: sign_in.github.api_url.clone() }))
}

impl GitHubAccess for UserGitHub {
    fn token(&self) -> LocalFuture<'_, Result<String, String>> {
        Box::pin(super::grant_object::upstream_token(&self.env, &self.access_token))
    }

    fn get(&self, path: &str) -> LocalFuture<'_, Result<(u16, Value), String>> {
        let url = format!("{}{path}", self.api_url);
        Box::pin(async move {
            let token = self.token().await?;
            let request = oauth2::http::Request::get(url)
                .header("User-Agent", USER_AGENT)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION)
                .header("Authorization", format!("Bearer {token}"))
                .body(Vec::new())
                .map_err(|_| "the GitHub API URL is not valid".to_string())?;
            let response = outbound::send(request, GITHUB_TIMEOUT_MS, GITHUB_MAX_BYTES)
                .await
                .map_err(|_| "GitHub could not be reached".to_string())?;
            let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
            Ok((response.status().as_u16(), body))
        })
    }
}
