// Headless Chromium (Debian's `chromium` package, installed by scripts/setup.sh where apt allows), driven over the
// DevTools protocol with Node's own WebSocket: no browser automation package needed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The chromium binary, or undefined. */
export function findChromium() {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {}
  }
  return undefined;
}

/**
 * Loads `url` in headless Chromium (DevTools protocol over its WebSocket) and reports what the page shows:
 * {text (innerText), pwned (data-pwned on <html>), injected (elements a client name could have created),
 * forms}.
 */
export async function renderInChromium(chromium, url) {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-consent-'));
  const child = spawn(chromium, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    const wsUrl = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${stderr}`)), 30_000);
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}):\n${stderr}`)); });
    });
    const { port } = new URL(wsUrl);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const target = targets.find((x) => x.type === 'page');
    if (!target) throw new Error(`no page target: ${JSON.stringify(targets)}`);
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    let id = 0;
    const pending = new Map();
    const events = [];
    ws.onmessage = (msg) => {
      const m = JSON.parse(msg.data);
      if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } else events.push(m);
    };
    const send = (method, params = {}) => new Promise((resolve) => { const i = ++id; pending.set(i, resolve); ws.send(JSON.stringify({ id: i, method, params })); });
    await send('Page.enable');
    await send('Page.navigate', { url });
    const deadline = Date.now() + 20_000;
    while (!events.some((e) => e.method === 'Page.loadEventFired')) {
      if (Date.now() > deadline) throw new Error('the consent page did not load in 20 s');
      await sleep(50);
    }
    await sleep(300); // any onerror handler would have run by now
    const expression = `JSON.stringify({
      text: document.body ? document.body.innerText : '',
      pwned: document.documentElement.getAttribute('data-pwned'),
      injected: document.querySelectorAll('script, img, iframe, object, embed').length
        + [...document.querySelectorAll('b')].filter((b) => b.textContent === 'bold').length,
      forms: document.forms.length,
    })`;
    const answer = await send('Runtime.evaluate', { expression, returnByValue: true });
    ws.close();
    return JSON.parse(answer.result.result.value);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    rmSync(profile, { recursive: true, force: true });
  }
}
