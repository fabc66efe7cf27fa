//! One call of an operation: the request built from the arguments, the credentials attached (a
//! client-credentials token fetched or reused; the caller's GitHub token), sent by the platform, and the answer
//! made a tool result. A 401 with a client-credentials token renews it and retries once.

use std::rc::Rc;

use serde_json::{Map, Value};

use super::answer::{answer_with, Received};
use super::credentials::{self, Needed, Placement, TokenCache};
use super::index::{ApiIndex, Operation};
use super::request::{build_request, OutgoingRequest};
use super::settings::ApiSettings;
use crate::handler::{LocalFuture, RequestContext};
use crate::model::tool::CallToolResult;

/// What the platform does for a call: the fetch (manual redirects, a time limit, the body cut at a size),
/// the clock, and multipart boundaries.
pub trait Backend {
    /// Sends `request`; an error says why nothing came back (never a header or a body).
    fn send(
        &self,
        request: OutgoingRequest,
        timeout_ms: u64,
        max_bytes: usize,
    ) -> LocalFuture<'_, Result<Received, String>>;
    fn now_ms(&self) -> u64;
    /// A fresh multipart boundary.
    fn boundary(&self) -> String;
}

/// The largest token endpoint answer read.
const TOKEN_MAX_BYTES: usize = 64 * 1024;

/// One configured API with its index: what its tools call.
pub struct Api {
    pub settings: ApiSettings,
    pub index: ApiIndex,
    /// Kept by the platform across reloads of the index.
    pub tokens: Rc<TokenCache>,
    pub backend: Rc<dyn Backend>,
}

impl Api {
    /// Calls `op` with `args` (validated against its input schema) for the caller of `cx`.
    /// `output_schema`: `op`'s, parsed (the tool keeps it parsed; `None` when the operation declares none).
    pub async fn call(
        &self,
        op: &Operation,
        args: &Map<String, Value>,
        output_schema: Option<&Value>,
        cx: &RequestContext,
    ) -> CallToolResult {
        match self.try_call(op, args, output_schema, cx).await {
            Ok(result) => result,
            Err(message) => CallToolResult::error(message),
        }
    }

    async fn try_call(
        &self,
        op: &Operation,
        args: &Map<String, Value>,
        output_schema: Option<&Value>,
        cx: &RequestContext,
    ) -> Result<CallToolResult, String> {
        let api = &self.settings;
        let request = build_request(op, args, &api.base, &self.backend.boundary())?;
        let needed = if api.github_user { Vec::new() } else { credentials::choose(op, &self.index, api)? };
        let placements = self.placements(&needed, &[], cx).await?;
        let mut received = self.send(&request, &placements).await?;
        let renewable = needed.iter().any(|n| matches!(n, Needed::ClientToken { .. }));
        if received.status == 401 && renewable {
            let renewed = self.placements(&needed, &placements, cx).await?;
            received = self.send(&request, &renewed).await?;
        }
        Ok(answer_with(op, &received, api.max_response_bytes, output_schema))
    }

    async fn send(&self, request: &OutgoingRequest, placements: &[Placement]) -> Result<Received, String> {
        let api = &self.settings;
        let mut request = request.clone();
        credentials::attach(&mut request, &api.base, placements)?;
        self.backend
            .send(request, api.timeout_ms, api.max_response_bytes)
            .await
            .map_err(|why| format!("The {} API did not answer: {why}.", api.name))
    }

    /// The credentials to attach; `refused` are placements the API just answered 401 to: their
    /// client-credentials tokens are dropped and fetched anew (unless another call renewed them already).
    async fn placements(
        &self,
        needed: &[Needed<'_>],
        refused: &[Placement],
        cx: &RequestContext,
    ) -> Result<Vec<Placement>, String> {
        let api = &self.settings;
        if api.github_user {
            let Some(github) = &cx.github else {
                return Err(format!(
                    "The {} API is called as the signed-in GitHub user ({}=github_user): sign in with GitHub to use it.",
                    api.name,
                    api.setting("AUTH")
                ));
            };
            let token =
                github.token().await.map_err(|e| format!("Your GitHub token is not available: {e}"))?;
            return Ok(vec![Placement::Bearer(token)]);
        }
        let mut placements = Vec::new();
        for n in needed {
            match n {
                Needed::Ready(p) => placements.push(p.clone()),
                Needed::ClientToken { scheme, credentials: c, token_url, scopes } => {
                    for placement in refused {
                        if let Placement::Bearer(token) = placement {
                            self.tokens.forget_if(scheme, token);
                        }
                    }
                    let token = match self.tokens.get(scheme, self.backend.now_ms()) {
                        Some(token) => token,
                        None => {
                            let (backend, timeout_ms) = (self.backend.clone(), api.timeout_ms);
                            let request = credentials::token_request(c, token_url, scopes);
                            let scheme_name = scheme.to_string();
                            // Calls that need a token at the same time share one token request.
                            let fetched = self.tokens.fetch(scheme, move || {
                                Box::pin(async move {
                                    let got = backend.send(request, timeout_ms, TOKEN_MAX_BYTES).await.map_err(|why| {
                                        format!("No token for {scheme_name}: the token endpoint did not answer: {why}.")
                                    })?;
                                    let answer = credentials::token_answer(got.status, &got.body)
                                        .map_err(|why| format!("No token for {scheme_name}: {why}."))?;
                                    Ok((answer.access_token, answer.expires_in))
                                })
                            });
                            let (token, expires_in) = fetched.await?;
                            self.tokens.put(scheme, token.clone(), expires_in, self.backend.now_ms());
                            token
                        }
                    };
                    placements.push(Placement::Bearer(token));
                }
            }
        }
        Ok(placements)
    }
}
