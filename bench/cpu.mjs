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

/** Every process: its parent, its name and the CPU ticks it has used (user + system, all threads). */
function processTable() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      procs.set(Number(name), { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

/** The CPU ticks of `root` and its descendants, or only of those named `name`. */
function treeTicks(procs, root, name) {
  const children = new Map();
  for (const [pid, p] of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    const p = procs.get(pid);
    if (p && (!name || p.comm === name)) ticks += p.ticks;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/**
 * The machine's ticks, this process tree's (`own`: the load generator, wrangler, workerd) and, when `devPid` is
 * given, those of the workerd processes under it (`workerd`: the Workers' own CPU time).
 */
export function cpuSample(devPid) {
  if (!HAS_PROC) return null;
  try {
    const procs = processTable();
    return { ...machineTicks(), own: treeTicks(procs, process.pid), workerd: devPid ? treeTicks(procs, devPid, 'workerd') : null };
  } catch {
    return null;
  }
}

/** workerd's ticks between two samples, or null when either lacks them. */
export function workerdTicks(a, b) {
  return a?.workerd != null && b?.workerd != null ? b.workerd - a.workerd : null;
}

/**
 * workerd's CPU time per iteration in microseconds, from its `ticks` over `iterations`: what one iteration costs
 * the Workers (with the runtime), read from the kernel's accounting rather than from a rate, so that the load
 * generator's share of the two CPUs does not move it. Resolution: one tick (10 ms) over the whole measurement.
 */
export function workerdMicros(ticks, iterations) {
  if (ticks == null || !iterations) return null;
  const hz = 100; // USER_HZ, 100 on Linux
  return Number(((ticks / hz) * 1e6 / iterations).toFixed(1));
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
