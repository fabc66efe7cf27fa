//! Stream ids and the `Last-Event-ID` a client resumes with.

use crate::error::HttpError;
use crate::transport::sse;

/// The longest `Last-Event-ID` accepted; ours are 16 hex digits, a dash and a number.
pub const MAX_LAST_EVENT_ID_LEN: usize = 128;

/// A fresh stream id: 16 hex digits.
pub fn new_stream_id() -> String {
    crate::random::hex::<8>()
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
        let id = new_stream_id();
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
