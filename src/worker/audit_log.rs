//! The audit log of [`crate::audit`] on Workers: lines go to `console.log`, which Workers Logs indexes field by
//! field (`[observability]` in wrangler.toml) and Logpush or a Tail Worker can ship elsewhere.

use crate::audit::{line, Outcome, RequestLine, ToolCallLine};
use crate::handler::{Observer, RequestContext};

/// Writes tool-call lines for the server (the Worker's and every session object's).
pub struct AuditLog;

impl Observer for AuditLog {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn tool_call(&self, tool: &str, outcome: Outcome, duration_ms: f64, cx: &RequestContext) {
        let record = ToolCallLine {
            event: "tool_call",
            tool,
            outcome,
            duration_ms,
            caller: cx.caller.id(),
            protocol_version: cx.protocol_version.as_str(),
        };
        worker::console_log!("{}", line(&record));
    }
}

/// Writes the line of one HTTP request.
pub fn request(record: &RequestLine<'_>) {
    worker::console_log!("{}", line(record));
}
