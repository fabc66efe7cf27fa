//! Metrics: counters, gauges and latency histograms keyed by bounded labels, the deltas an isolate batches,
//! merging them into totals, and the Prometheus text exposition (format 0.0.4) of the totals.
//!
//! One type, [`Metrics`], is both a batch of deltas (what an isolate has seen since its last flush) and the
//! totals (what the aggregating Durable Object holds): merging a batch into the totals adds counters, gauge
//! deltas and histogram buckets. A gauge is therefore the sum of the +1/-1 every isolate reported. Series are
//! keyed by their Prometheus identity (`name{label="value",...}`), so a batch and the totals serialize as plain
//! JSON maps; label values come only from [`labels`], which bounds each to a known set.

pub mod labels;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// What a family is in the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A metric family: its name, help text and kind (every series of it shares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

const fn family(name: &'static str, kind: Kind, help: &'static str) -> Family {
    Family { name, help, kind }
}

pub const HTTP_REQUESTS: Family = family(
    "mcp_http_requests_total",
    Kind::Counter,
    "HTTP requests answered by the Worker, by route (path), method and status.",
);
pub const HTTP_DURATION: Family = family(
    "mcp_http_request_duration_seconds",
    Kind::Histogram,
    "Time from receiving an HTTP request to having its response (headers; a stream's body goes on), by route.",
);
pub const MCP_REQUESTS: Family = family(
    "mcp_requests_total",
    Kind::Counter,
    "JSON-RPC requests the MCP server handled (any lane), by method and protocol revision.",
);
pub const TOOL_CALLS: Family =
    family("mcp_tool_calls_total", Kind::Counter, "tools/call requests, by tool and outcome.");
pub const TOOL_DURATION: Family =
    family("mcp_tool_call_duration_seconds", Kind::Histogram, "Time a tools/call took, by tool.");
pub const AUTH_SUCCESSES: Family = family(
    "mcp_auth_successes_total",
    Kind::Counter,
    "Requests to the MCP endpoints admitted, by how the caller was authenticated.",
);
pub const AUTH_FAILURES: Family = family(
    "mcp_auth_failures_total",
    Kind::Counter,
    "Requests to the MCP endpoints refused by authentication, by reason.",
);
pub const RATE_LIMITED: Family =
    family("mcp_rate_limited_total", Kind::Counter, "Requests denied by a rate limit (429), by policy.");
pub const ACTIVE_SESSIONS: Family = family(
    "mcp_active_sessions",
    Kind::Gauge,
    "Sessions whose Durable Object holds state: created and not yet ended (DELETE) or expired.",
);
pub const OPEN_STREAMS: Family =
    family("mcp_open_streams", Kind::Gauge, "SSE response streams open right now, by kind.");

/// Every family, in the order of the exposition.
pub const FAMILIES: [Family; 10] = [
    HTTP_REQUESTS,
    HTTP_DURATION,
    MCP_REQUESTS,
    TOOL_CALLS,
    TOOL_DURATION,
    AUTH_SUCCESSES,
    AUTH_FAILURES,
    RATE_LIMITED,
    ACTIVE_SESSIONS,
    OPEN_STREAMS,
];

/// Upper bounds (seconds) of the latency histograms' buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// One histogram series: the count of observations per bucket (not cumulative; the last is `+Inf`), their sum
/// and count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        self.buckets.resize(LATENCY_BUCKETS.len() + 1, 0);
        let seconds = if seconds.is_finite() { seconds.max(0.0) } else { 0.0 };
        let i = LATENCY_BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        self.buckets.resize(LATENCY_BUCKETS.len() + 1, 0);
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// Counters, gauges and histograms by series: a batch of deltas or the totals (see the module's doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gauges: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub histograms: BTreeMap<String, Histogram>,
}

/// The key of one series: `name` or `name{a="x",b="y"}`, label values escaped.
pub fn series(family: &Family, labels: &[(&str, &str)]) -> String {
    let mut key = String::with_capacity(family.name.len() + 64);
    key.push_str(family.name);
    if !labels.is_empty() {
        key.push('{');
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            key.push_str(name);
            key.push_str("=\"");
            escape_into(&mut key, value);
            key.push('"');
        }
        key.push('}');
    }
    key
}

/// A label value as the text format needs it: backslash, double quote and line feed escaped.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl Metrics {
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.gauges.is_empty() && self.histograms.is_empty()
    }

    /// How many series it holds: the size of a batch.
    pub fn len(&self) -> usize {
        self.counters.len() + self.gauges.len() + self.histograms.len()
    }

    /// Adds `n` to a counter.
    pub fn count(&mut self, family: &Family, labels: &[(&str, &str)], n: u64) {
        debug_assert_eq!(family.kind, Kind::Counter);
        *self.counters.entry(series(family, labels)).or_default() += n;
    }

    /// Moves a gauge by `delta` (+1 when something opens, -1 when it closes).
    pub fn move_gauge(&mut self, family: &Family, labels: &[(&str, &str)], delta: i64) {
        debug_assert_eq!(family.kind, Kind::Gauge);
        *self.gauges.entry(series(family, labels)).or_default() += delta;
    }

    /// Records one observation of `seconds` in a histogram.
    pub fn observe(&mut self, family: &Family, labels: &[(&str, &str)], seconds: f64) {
        debug_assert_eq!(family.kind, Kind::Histogram);
        self.histograms.entry(series(family, labels)).or_default().observe(seconds);
    }

    /// Adds everything in `batch`.
    pub fn merge(&mut self, batch: &Metrics) {
        for (key, n) in &batch.counters {
            *self.counters.entry(key.clone()).or_default() += n;
        }
        for (key, delta) in &batch.gauges {
            *self.gauges.entry(key.clone()).or_default() += delta;
        }
        for (key, histogram) in &batch.histograms {
            self.histograms.entry(key.clone()).or_default().merge(histogram);
        }
    }

    /// The Prometheus text exposition (0.0.4) of these totals: every family with its `HELP` and `TYPE`
    /// lines, then its series in key order; a gauge without labels and without reports reads 0. Series of a
    /// family this version does not know (left in storage by another version) are not shown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for family in FAMILIES {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
            match family.kind {
                Kind::Counter => {
                    for (key, n) in of_family(&self.counters, &family) {
                        let _ = writeln!(out, "{key} {n}");
                    }
                }
                Kind::Gauge => {
                    let mut any = false;
                    for (key, n) in of_family(&self.gauges, &family) {
                        any = true;
                        let _ = writeln!(out, "{key} {n}");
                    }
                    if !any && family.name == ACTIVE_SESSIONS.name {
                        let _ = writeln!(out, "{} 0", family.name);
                    }
                    if family.name == OPEN_STREAMS.name {
                        // Every kind shows, 0 when none was ever reported.
                        for kind in labels::STREAM_KINDS {
                            let key = series(&OPEN_STREAMS, &[("kind", kind)]);
                            if !self.gauges.contains_key(&key) {
                                let _ = writeln!(out, "{key} 0");
                            }
                        }
                    }
                }
                Kind::Histogram => {
                    for (key, histogram) in of_family(&self.histograms, &family) {
                        render_histogram(&mut out, key, histogram);
                    }
                }
            }
        }
        out
    }
}

/// The series of `family` in `map`: keys that are its name, alone or followed by labels.
fn of_family<'a, V>(
    map: &'a BTreeMap<String, V>,
    family: &Family,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    let name = family.name;
    map.range(name.to_string()..).take_while(move |(k, _)| k.starts_with(name)).filter(move |(k, _)| {
        let rest = &k[name.len()..];
        rest.is_empty() || rest.starts_with('{')
    })
}

/// `_bucket` lines (cumulative, `le` added to the series' labels), `_sum` and `_count`.
fn render_histogram(out: &mut String, key: &str, histogram: &Histogram) {
    let (name, labels) = match key.find('{') {
        Some(i) => (&key[..i], &key[i + 1..key.len() - 1]),
        None => (key, ""),
    };
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (i, n) in histogram.buckets.iter().enumerate() {
        cumulative += n;
        let le = LATENCY_BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}");
    }
    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    let _ = writeln!(out, "{name}_sum{braces} {}", histogram.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", histogram.count);
}

/// Whether an `Authorization` header carries the metrics token (`MCP_METRICS_TOKEN`) as a bearer token.
/// Compared as SHA-256 digests in constant time: neither the token's bytes nor its length show in the timing.
pub fn authorized(authorization: Option<&str>, token: &str) -> bool {
    let given = authorization.and_then(crate::auth::bearer_token).unwrap_or("");
    crate::oauth::constant_time_eq(&crate::oauth::digest(given), &crate::oauth::digest(token))
}

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_metrics_token_reads_metrics() {
        let token = "metrics-token-0001";
        assert!(authorized(Some("Bearer metrics-token-0001"), token));
        assert!(authorized(Some("bearer  metrics-token-0001 "), token));
        assert!(!authorized(Some("Bearer metrics-token-0002"), token));
        assert!(!authorized(Some("Bearer metrics-token-000"), token));
        assert!(!authorized(Some("Basic metrics-token-0001"), token));
        assert!(!authorized(None, token));
    }

    fn sample() -> Metrics {
        let mut m = Metrics::default();
        m.count(&HTTP_REQUESTS, &[("path", "/mcp"), ("method", "POST"), ("status", "200")], 2);
        m.observe(&HTTP_DURATION, &[("path", "/mcp")], 0.004);
        m.observe(&HTTP_DURATION, &[("path", "/mcp")], 7.0);
        m.move_gauge(&ACTIVE_SESSIONS, &[], 1);
        m
    }

    #[test]
    fn merging_adds_counters_gauge_deltas_and_buckets() {
        let mut totals = sample();
        let mut batch = sample();
        batch.move_gauge(&ACTIVE_SESSIONS, &[], -2);
        batch.count(&RATE_LIMITED, &[("policy", "mcp")], 1);
        totals.merge(&batch);
        assert_eq!(totals.counters[r#"mcp_http_requests_total{path="/mcp",method="POST",status="200"}"#], 4);
        assert_eq!(totals.counters[r#"mcp_rate_limited_total{policy="mcp"}"#], 1);
        assert_eq!(totals.gauges["mcp_active_sessions"], 0);
        let h = &totals.histograms[r#"mcp_http_request_duration_seconds{path="/mcp"}"#];
        assert_eq!((h.count, h.buckets.iter().sum::<u64>()), (4, 4));
        assert!((h.sum - 14.008).abs() < 1e-9);
    }

    #[test]
    fn a_batch_survives_its_json_round_trip() {
        let batch = sample();
        let text = serde_json::to_string(&batch).unwrap();
        assert_eq!(serde_json::from_str::<Metrics>(&text).unwrap(), batch);
        assert_eq!(serde_json::from_str::<Metrics>("{}").unwrap(), Metrics::default());
        assert_eq!(batch.len(), 3);
        assert!(Metrics::default().is_empty() && !batch.is_empty());
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut h = Histogram::default();
        for s in [0.001, 0.0011, 30.0, 31.0, f64::NAN, -1.0] {
            h.observe(s);
        }
        assert_eq!(h.buckets[0], 3, "0.001, NaN and -1 (as 0) are ≤ 1 ms");
        assert_eq!(h.buckets[1], 1);
        assert_eq!(h.buckets[LATENCY_BUCKETS.len() - 1], 1, "30 s is in le=30");
        assert_eq!(h.buckets[LATENCY_BUCKETS.len()], 1, "31 s only in +Inf");
        assert_eq!(h.count, 6);
    }

    #[test]
    fn the_exposition_has_help_and_type_for_every_family_and_cumulative_buckets() {
        let text = sample().render();
        for family in FAMILIES {
            assert!(text.contains(&format!("# TYPE {} {}\n", family.name, family.kind.as_str())));
            assert!(text.contains(&format!("# HELP {} ", family.name)));
        }
        assert!(text.contains("mcp_http_requests_total{path=\"/mcp\",method=\"POST\",status=\"200\"} 2\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_bucket{path=\"/mcp\",le=\"0.005\"} 1\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_bucket{path=\"/mcp\",le=\"5\"} 1\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_bucket{path=\"/mcp\",le=\"10\"} 2\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_bucket{path=\"/mcp\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_count{path=\"/mcp\"} 2\n"));
        assert!(text.contains("mcp_http_request_duration_seconds_sum{path=\"/mcp\"} 7.004\n"));
        assert!(text.contains("mcp_active_sessions 1\n"));
        // Every line is a comment or `<series> <number>`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn an_unreported_session_gauge_reads_zero_and_families_do_not_swallow_longer_names() {
        let mut m = Metrics::default();
        m.counters.insert("mcp_requests_total_other{x=\"1\"}".into(), 5);
        let text = m.render();
        assert!(text.contains("\nmcp_active_sessions 0\n"));
        assert!(!text.contains("mcp_requests_total_other"), "an unknown family is not shown");
    }

    #[test]
    fn label_values_are_escaped() {
        let key = series(&TOOL_CALLS, &[("tool", "a\"b\\c\nd"), ("outcome", "ok")]);
        assert_eq!(key, r#"mcp_tool_calls_total{tool="a\"b\\c\nd",outcome="ok"}"#);
    }
}
