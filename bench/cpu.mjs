// How busy the machine was during a measurement, and how much of that was not us: on a shared machine (builds,
// tests) other processes take CPU from workerd and the load generator and the numbers drop. Linux only (/proc);
// elsewhere the samples are null.
import { existsSync, readFileSync, readdirSync } from 'node:fs';

const HAS_PROC = existsSync('/proc/stat');

function machineTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { total, busy: total - fields[3] - fields[4] }; // minus idle and iowait
}

/** CPU ticks used so far by this process and its descendants (wrangler, workerd). */
function ownTicks() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited meanwhile
    }
  }
  const children = new Map();
  for (const [pid, p] of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop();
    ticks += procs.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

export function cpuSample() {
  if (!HAS_PROC) return null;
  try {
    return { ...machineTicks(), own: ownTicks() };
  } catch {
    return null;
  }
}

/** Shares of the machine's total CPU capacity between two samples, in percent: busy, ours, others. */
export function cpuUsage(a, b) {
  if (!a || !b || b.total <= a.total) return null;
  const total = b.total - a.total;
  const busy = b.busy - a.busy;
  const own = Math.min(busy, b.own - a.own);
  const pct = (x) => Number(((100 * x) / total).toFixed(1));
  return { busyPercent: pct(busy), oursPercent: pct(own), othersPercent: pct(Math.max(0, busy - own)) };
}
