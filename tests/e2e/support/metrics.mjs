// Reading one series of a worker's /metrics (Prometheus text) in end-to-end tests. Metrics reach /metrics in
// batches (within about 100 ms), so a test that expects a count polls for it.
import assert from 'node:assert/strict';

/** The value of `series` (e.g. `mcp_rate_limited_total{policy="tool"}`) on the worker at `url`; 0 before the first. */
export async function readSeries(url, token, series) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Polls `series` until it reaches `count` (10 s at most); returns the value last read. */
export async function awaitSeries(url, token, series, count) {
  const deadline = Date.now() + 10_000;
  let seen = await readSeries(url, token, series);
  while (seen < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    seen = await readSeries(url, token, series);
  }
  return seen;
}
