//! GitHub over the Workers fetch API: the code exchange (through the `oauth2` crate, see
//! [`crate::oauth::github`]) and the signed-in user's profile.

use super::outbound::{self, GITHUB_MAX_BYTES, GITHUB_TIMEOUT_MS};
use crate::oauth::github::{self, GitHubApp, GitHubError};
use crate::oauth::grant::{Upstream, User};

/// GitHub's token for `code`, which GitHub sent to `redirect_uri` (our callback).
pub async fn exchange(
    app: &GitHubApp,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
    now_ms: u64,
) -> Result<Upstream, GitHubError> {
    let http = |request| outbound::send(request, GITHUB_TIMEOUT_MS, GITHUB_MAX_BYTES);
    github::exchange_code(app, http, code, redirect_uri, verifier, now_ms).await
}

/// The user `access_token` belongs to (`GET /user`).
pub async fn user(app: &GitHubApp, access_token: &str) -> Result<User, GitHubError> {
    let request = github::user_request(app, access_token)?;
    let response = outbound::send(request, GITHUB_TIMEOUT_MS, GITHUB_MAX_BYTES)
        .await
        .map_err(|_| GitHubError::Unreachable)?;
    github::parse_user(&response)
}

/// A new GitHub App user token for `refresh_token` (single-use; the answer carries the next one).
pub async fn refresh(app: &GitHubApp, refresh_token: &str, now_ms: u64) -> Result<Upstream, GitHubError> {
    let http = |request| outbound::send(request, GITHUB_TIMEOUT_MS, GITHUB_MAX_BYTES);
    github::refresh_token(app, http, refresh_token, now_ms).await
}
