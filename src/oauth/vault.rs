//! Encryption at rest of what a grant keeps from GitHub. The GitHub token is encrypted (AES-256-GCM) under a
//! random per-grant key; that key is stored only wrapped, under keys derived from each live token of ours (the
//! code until it is exchanged, the refresh token in the grant object, the access token in its KV record). A copy
//! of the stores therefore decrypts nothing without a token that is still live.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_BYTES: usize = 12;

/// A fresh random 256-bit key.
pub fn new_key() -> [u8; 32] {
    crate::random::bytes::<32>()
}

/// `plaintext` encrypted under `key` with a fresh nonce: base64url of nonce and ciphertext (with its tag).
pub fn encrypt(key: &[u8; 32], plaintext: &[u8]) -> String {
    let nonce = crate::random::bytes::<NONCE_BYTES>();
    let cipher = Aes256Gcm::new(key.into());
    let sealed =
        cipher.encrypt(Nonce::from_slice(&nonce), plaintext).expect("AES-GCM encrypts any length we use");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    B64.encode(out)
}

/// The plaintext of [`encrypt`]'s output, if `key` is the key it was made with and nothing was changed.
pub fn decrypt(key: &[u8; 32], sealed: &str) -> Option<Vec<u8>> {
    let bytes = B64.decode(sealed).ok()?;
    if bytes.len() < NONCE_BYTES + 16 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    Aes256Gcm::new(key.into()).decrypt(Nonce::from_slice(nonce), ciphertext).ok()
}

/// The key a token of ours wraps with: HMAC-SHA256 keyed by the token (which has 256 random bits).
fn token_key(token: &str) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"mcp-worker/v1/wrap");
    mac.finalize().into_bytes().into()
}

/// `secret` encrypted so that only a holder of `token` can read it.
pub fn wrap(token: &str, secret: &[u8]) -> String {
    encrypt(&token_key(token), secret)
}

/// What [`wrap`] wrapped with `token`.
pub fn unwrap(token: &str, wrapped: &str) -> Option<Vec<u8>> {
    decrypt(&token_key(token), wrapped)
}

/// A grant key unwrapped with `token`.
pub fn unwrap_key(token: &str, wrapped: &str) -> Option<[u8; 32]> {
    unwrap(token, wrapped)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_values_open_only_with_their_key_and_unchanged() {
        let key = new_key();
        let sealed = encrypt(&key, b"gho_secret");
        assert!(!sealed.contains("gho_secret"));
        assert_ne!(sealed, encrypt(&key, b"gho_secret"), "a fresh nonce each time");
        assert_eq!(decrypt(&key, &sealed).as_deref(), Some(&b"gho_secret"[..]));
        assert_eq!(decrypt(&new_key(), &sealed), None);
        let mut bytes = B64.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(decrypt(&key, &B64.encode(bytes)), None);
        assert_eq!(decrypt(&key, "short"), None);
    }

    #[test]
    fn a_wrapped_key_needs_the_live_token() {
        let key = new_key();
        let wrapped = wrap("refresh-token-1", &key);
        assert_eq!(unwrap_key("refresh-token-1", &wrapped), Some(key));
        assert_eq!(unwrap_key("refresh-token-2", &wrapped), None);
    }
}
