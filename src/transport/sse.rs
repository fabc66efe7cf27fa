//! Server-Sent Events framing.

use std::fmt::Write;

/// One SSE event. `data` may hold newlines; each line becomes its own `data:` field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event<'a> {
    pub id: Option<&'a str>,
    pub event: Option<&'a str>,
    pub data: &'a str,
    /// Reconnection delay hint, in milliseconds.
    pub retry_ms: Option<u64>,
}

impl Event<'_> {
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 48);
        if let Some(id) = self.id {
            let _ = writeln!(out, "id: {id}");
        }
        if let Some(event) = self.event {
            let _ = writeln!(out, "event: {event}");
        }
        if let Some(retry) = self.retry_ms {
            let _ = writeln!(out, "retry: {retry}");
        }
        if self.data.is_empty() {
            out.push_str("data: \n");
        }
        for line in self.data.lines() {
            let _ = writeln!(out, "data: {line}");
        }
        out.push('\n');
        out
    }
}

/// A JSON-RPC message as an MCP SSE event.
pub fn message(id: Option<&str>, json: &str) -> String {
    Event { id, event: Some("message"), data: json, retry_ms: None }.encode()
}

/// The id of event `seq` of stream `stream`: ids name their stream, so a `Last-Event-ID` says which stream to
/// resume and from where. Event 0 is the priming event.
pub fn event_id(stream: &str, seq: u64) -> String {
    format!("{stream}-{seq}")
}

/// Splits an event id made by [`event_id`] into its stream and number.
pub fn parse_event_id(id: &str) -> Option<(&str, u64)> {
    let (stream, seq) = id.trim().rsplit_once('-')?;
    Some((stream, seq.parse().ok()?))
}

/// The first event of a stream: an id to resume from, the reconnection delay, and no data.
pub fn priming(stream: &str, retry_ms: u64) -> String {
    Event { id: Some(&event_id(stream, 0)), retry_ms: Some(retry_ms), ..Default::default() }.encode()
}

/// A comment line: ignored by clients, keeps proxies from closing an idle stream.
pub fn comment(text: &str) -> String {
    format!(": {text}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_fields_in_order() {
        let e = Event { id: Some("s-1"), event: Some("message"), data: "{\"a\":1}", retry_ms: Some(500) };
        assert_eq!(e.encode(), "id: s-1\nevent: message\nretry: 500\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn event_ids_name_their_stream() {
        assert_eq!(event_id("abc", 7), "abc-7");
        assert_eq!(parse_event_id("abc-7"), Some(("abc", 7)));
        assert_eq!(parse_event_id(" a-b-12 "), Some(("a-b", 12)));
        assert_eq!(parse_event_id("garbage"), None);
        assert_eq!(parse_event_id("abc-x"), None);
        assert_eq!(priming("abc", 2000), "id: abc-0\nretry: 2000\ndata: \n\n");
    }

    #[test]
    fn multiline_and_empty_data() {
        assert_eq!(Event { data: "a\nb", ..Default::default() }.encode(), "data: a\ndata: b\n\n");
        assert_eq!(Event { id: Some("0"), ..Default::default() }.encode(), "id: 0\ndata: \n\n");
        assert_eq!(comment("keepalive"), ": keepalive\n\n");
    }
}
