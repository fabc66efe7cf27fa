//! The Workers rate limiting binding, called in raw runtime types (`env.<binding>.limit({key})`), for the OAuth
//! endpoints' per-IP limit. Counts are kept per Cloudflare location, cached and eventually consistent: cheap
//! for every request, not an exact ledger (callers' limits are exact: `caller_object::admit_request`). A missing
//! binding or a failed call lets the request through and is logged: a limit must not take the service down.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Env;

/// The binding counting OAuth requests per client IP.
pub const IPS: &str = "OAUTH_RATE_LIMITER";

/// Whether one more request under `key` is within the limit of `binding`.
pub async fn allows(env: &Env, binding: &str, key: &str) -> bool {
    match limit(env, binding, key).await {
        Ok(allowed) => allowed,
        Err(detail) => {
            worker::console_error!(
                "{}",
                serde_json::json!({ "event": "rate_limit", "binding": binding, "error": detail })
            );
            true
        }
    }
}

async fn limit(env: &Env, binding: &str, key: &str) -> Result<bool, String> {
    let limiter = Reflect::get(env, &binding.into()).map_err(|e| format!("{e:?}"))?;
    if limiter.is_undefined() {
        return Err(format!("the {binding} binding is missing (see wrangler.toml)"));
    }
    let method: js_sys::Function = Reflect::get(&limiter, &"limit".into())
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|e| format!("{e:?}"))?;
    let options = Object::new();
    Reflect::set(&options, &"key".into(), &JsValue::from_str(key)).map_err(|e| format!("{e:?}"))?;
    let promise: js_sys::Promise = method
        .call1(&limiter, &options)
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|e| format!("{e:?}"))?;
    let outcome = JsFuture::from(promise).await.map_err(|e| format!("{e:?}"))?;
    Ok(Reflect::get(&outcome, &"success".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true))
}
