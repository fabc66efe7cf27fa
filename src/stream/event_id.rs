//! Stream ids and the `Last-Event-ID` a client resumes with.

use crate::error::HttpError;
use crate::transport::sse;

/// The longest `Last-Event-ID` accepted; ours are 16 hex digits, a dash and a number.
pub const MAX_LAST_EVENT_ID_LEN: usize = 128;

/// Names the streams of one outbox: 16 hex digits, a random prefix drawn once and a counter, so that a new
/// stream costs no call for randomness. Streams stored by an earlier instance of the object had another prefix.
#[derive(Debug)]
pub struct StreamIds {
    prefix: String,
    next: std::cell::Cell<u32>,
}

impl Default for StreamIds {
    fn default() -> Self {
        Self { prefix: crate::random::hex::<5>(), next: std::cell::Cell::new(0) }
    }
}

impl StreamIds {
    /// A fresh stream id.
    pub fn next(&self) -> String {
        let n = self.next.get();
        self.next.set(n.wrapping_add(1));
        format!("{}{:06x}", self.prefix, n & 0x00ff_ffff)
    }
}

/// The stream and event number a `Last-Event-ID` names. A header that is too long, holds characters our
/// ids never use or lacks the `<stream>-<n>` shape is a 400.
pub fn parse_last_event_id(value: &str) -> Result<(&str, u64), HttpError> {
    let value = value.trim();
    let bad = |why: &str| HttpError::BadRequest(format!("malformed Last-Event-ID: {why}"));
    if value.len() > MAX_LAST_EVENT_ID_LEN {
        return Err(bad(&format!("longer than {MAX_LAST_EVENT_ID_LEN} characters")));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(bad("only letters, digits, '-' and '_' are allowed"));
    }
    match sse::parse_event_id(value) {
        Some((stream, seq)) if !stream.is_empty() => Ok((stream, seq)),
        _ => Err(bad("expected <stream>-<number>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_our_ids() {
        let ids = StreamIds::default();
        let id = ids.next();
        assert_ne!(id, ids.next());
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(parse_last_event_id(&format!("{id}-0")).unwrap(), (id.as_str(), 0));
        assert_eq!(parse_last_event_id(" abc-12 ").unwrap(), ("abc", 12));
    }

    #[test]
    fn refuses_bad_ids_with_400() {
        for bad in [
            "garbage".to_string(),
            "-3".to_string(),
            "abc-".to_string(),
            "abc-x".to_string(),
            "abc-99999999999999999999999".to_string(),
            "ab c-1".to_string(),
            "abc:1-2".to_string(),
            "é-1".to_string(),
            format!("{}-1", "a".repeat(MAX_LAST_EVENT_ID_LEN)),
            format!("{}-1", "a".repeat(10_000)),
        ] {
            let err = parse_last_event_id(&bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
        // The bound is on the whole id.
        let longest = format!("{}-1", "a".repeat(MAX_LAST_EVENT_ID_LEN - 2));
        assert!(parse_last_event_id(&longest).is_ok());
    }
}
