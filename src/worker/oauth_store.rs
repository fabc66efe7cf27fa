//! What OAuth keeps in KV (`OAUTH_KV`), where eventual consistency is acceptable; every record expires:
//! - `client:<id>`: registered clients (only a digest of a secret), 90 days, extended when used (daily at most);
//! - `cimd:<digest of URL>`: fetched client metadata documents, as long as their `Cache-Control` allows (≤ 1 h);
//! - `token:<digest of access token>`: the record of a live access token (its grant, and the grant key wrapped
//!   under it), for as long as the token lives; no request waits on it (the grant object keeps the same).
//!
//! A client registered in one location may be unknown in another for up to about a minute (KV propagation);
//! the authorization flow's state and tokens do not depend on KV.

use serde::{Deserialize, Serialize};
use worker::{Context, Env};

use super::outbound;
use crate::oauth::cimd::{self, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES, MIN_CACHE_SECONDS};
use crate::oauth::client::{Client, CLIENT_TTL_MS};
use crate::oauth::digest;
use crate::oauth::grant_call::{from_text, to_text};

const BINDING: &str = "OAUTH_KV";
/// Client ids longer than this are neither ours nor worth a lookup.
const MAX_CLIENT_ID_CHARS: usize = 2048;

/// Why a client could not be had.
pub enum Lookup {
    /// No such client: it never registered, or expired (clients then register again).
    Unknown,
    /// A metadata document that could not be fetched or is not acceptable; the reason is ours to show.
    BadDocument(String),
    /// KV failed.
    Failed(String),
}

/// The client named `client_id`: a registered one, or one described by a metadata document (fetched, or from
/// the cache).
pub async fn client(
    env: &Env,
    ctx: &Context,
    client_id: &str,
    development: bool,
    now_ms: u64,
) -> Result<Client, Lookup> {
    let kv = env.kv(BINDING).map_err(|e| Lookup::Failed(format!("KV binding {BINDING}: {e}")))?;
    if client_id.len() > MAX_CLIENT_ID_CHARS {
        return Err(Lookup::Unknown);
    }
    if cimd::is_document_url(client_id, development) {
        let key = format!("cimd:{}", digest(client_id));
        if let Some(cached) = kv.get(&key).text().await.ok().flatten().and_then(|t| from_text::<Client>(&t)) {
            return Ok(cached);
        }
        let (client, seconds) = fetch_document(client_id, now_ms).await?;
        if seconds > 0 {
            let put =
                kv.put(&key, to_text(&client)).map(|p| p.expiration_ttl(seconds.max(MIN_CACHE_SECONDS)));
            if let Ok(put) = put {
                ctx.wait_until(async move {
                    let _ = put.execute().await;
                });
            }
        }
        return Ok(client);
    }
    let key = format!("client:{client_id}");
    let text = kv.get(&key).text().await.map_err(|e| Lookup::Failed(format!("reading a client: {e}")))?;
    let client: Client = text.and_then(|t| from_text(&t)).ok_or(Lookup::Unknown)?;
    if client.needs_touch(now_ms) {
        let mut touched = client.clone();
        touched.touched_ms = now_ms;
        ctx.wait_until(async move {
            let _ = save_client(&kv, &touched).await;
        });
    }
    Ok(client)
}

/// Stores a registered client for [`CLIENT_TTL_MS`].
pub async fn save_client(kv: &worker::kv::KvStore, client: &Client) -> Result<(), String> {
    kv.put(&format!("client:{}", client.client_id), to_text(client))
        .map_err(|e| e.to_string())?
        .expiration_ttl(CLIENT_TTL_MS / 1000)
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// Registers `client`.
pub async fn register(env: &Env, client: &Client) -> Result<(), String> {
    let kv = env.kv(BINDING).map_err(|e| format!("KV binding {BINDING}: {e}"))?;
    save_client(&kv, client).await
}

/// Fetches and validates a client metadata document; with the seconds it may be cached.
async fn fetch_document(url: &str, now_ms: u64) -> Result<(Client, u64), Lookup> {
    let bad =
        |why: &str| Lookup::BadDocument(format!("the client metadata document at the client_id URL {why}"));
    let request = oauth2::http::Request::get(url)
        .header("Accept", "application/json")
        .header("User-Agent", crate::oauth::github::USER_AGENT)
        .body(Vec::new())
        .map_err(|_| bad("is not a valid URL"))?;
    // One byte over the limit is enough to know it is too large.
    let response = outbound::send(request, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| bad(&format!("could not be fetched: {e}")))?;
    if response.status() != 200 {
        return Err(bad(&format!("answered HTTP {}", response.status().as_u16())));
    }
    let client = cimd::validate(url, response.body(), now_ms).map_err(Lookup::BadDocument)?;
    let cache_control = response.headers().get("cache-control").and_then(|v| v.to_str().ok());
    Ok((client, cimd::cache_seconds(cache_control)))
}

/// The KV record of a live access token.
#[derive(Serialize, Deserialize)]
struct TokenRecord {
    grant: String,
    expires_ms: u64,
    /// The grant key wrapped under the access token.
    key: String,
}

/// Records a new access token (hashed) for its lifetime, in the background.
pub fn record_token(
    env: &Env,
    ctx: &Context,
    access_token: &str,
    grant: &str,
    key: String,
    ttl_s: u64,
    now_ms: u64,
) {
    let Ok(kv) = env.kv(BINDING) else { return };
    let record = TokenRecord { grant: grant.to_string(), expires_ms: now_ms + ttl_s * 1000, key };
    let Ok(put) = kv.put(&format!("token:{}", digest(access_token)), to_text(&record)) else { return };
    let put = put.expiration_ttl(ttl_s.max(60));
    ctx.wait_until(async move {
        if let Err(e) = put.execute().await {
            worker::console_error!("oauth: recording an access token failed: {e}");
        }
    });
}
