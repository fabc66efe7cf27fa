// Preloaded (`node --require`) into `wrangler dev` by bench/run.mjs. It gives each Worker named in
// BENCH_DIRECT_SOCKETS (comma-separated) a socket of its own in workerd, and writes where those sockets listen to
// the JSON file BENCH_DIRECT_SOCKETS_FILE, so that the benchmark reaches every Worker straight at workerd.
//
// Why: `wrangler dev` serves its port through a proxy of its own (a Durable Object in a second workerd process,
// which caps any Worker at about 760 requests/s on a 2-CPU machine), and behind it workerd's single "entry" socket
// dispatches to the Workers through Miniflare's entry Worker, another JavaScript hop. Miniflare can also bind a
// socket straight to a Worker (the `unsafeDirectSockets` Worker option; wrangler uses it for its own inspector
// proxy), but `wrangler dev` has no setting for it. So this file wraps the `miniflare` module that wrangler loads:
//   - convertV4MiniflareOptions(), through which wrangler passes every Miniflare configuration, adds
//     `unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }]` to the named Workers (port 0: the system picks one);
//   - Miniflare, after each start or reload, asks the instance for those sockets' URLs
//     (`unsafeGetDirectURL(name)`) and for its entry URL, and writes them to the file.
// With BENCH_INSPECTED set to a Worker's name, it also pins wrangler's DevTools inspector to that Worker.
// `wrangler dev` attaches its inspector (`Runtime.enable`, to print console output) to whichever Worker's bundle
// finished last, not to the first config: in full benchmark runs that was McpAgent, in runs of ours and its
// production copy either of them (an inspected Worker pays for every console call: the production copy's audit log
// ran at half its rate). So Miniflare#getInspectorURL() hands wrangler a local relay that connects every
// `/core:user:<name>` it is asked for to `/core:user:<BENCH_INSPECTED>` on workerd's inspector socket.
// Everything else about `wrangler dev` (bundling, configuration, bindings, --var, storage) is left as it is.
//
// It does nothing unless both variables are set, and only in wrangler's own CLI process (bin/wrangler.js, which
// passes its Node flags on to that process, loads it too). If a later wrangler or Miniflare lacks what it uses, the
// file says why (`error`), with the entry socket when that is still known; bench/run.mjs then falls back to the
// entry socket, or stops.
'use strict';

const { renameSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const { dirname } = require('node:path');

const names = (process.env.BENCH_DIRECT_SOCKETS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const file = process.env.BENCH_DIRECT_SOCKETS_FILE;
const inspected = process.env.BENCH_INSPECTED ?? '';
const isCli = /wrangler-dist[\\/]cli\.js$/.test(process.argv[1] ?? '');

function write(report) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, at: new Date().toISOString(), ...report }, null, 2)}\n`);
  renameSync(tmp, file);
}

function patch() {
  const id = require.resolve('miniflare', { paths: [dirname(process.argv[1])] }); // as wrangler's CLI resolves it
  const original = require(id);
  if (typeof original.Miniflare !== 'function') {
    write({ error: 'this miniflare module exports no Miniflare class' });
    return;
  }
  // Without either of these there are no direct sockets, but the entry socket is still reported.
  const missing = [
    typeof original.convertV4MiniflareOptions !== 'function' && 'convertV4MiniflareOptions',
    typeof original.Miniflare.prototype.unsafeGetDirectURL !== 'function' && 'Miniflare#unsafeGetDirectURL',
  ].filter(Boolean);

  const withSockets = (options) => {
    if (!options || !Array.isArray(options.workers)) return options;
    return {
      ...options,
      workers: options.workers.map((w) => (w && names.includes(w.name) && !w.unsafeDirectSockets
        ? { ...w, unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] }
        : w)),
    };
  };

  class Miniflare extends original.Miniflare {
    constructor(options, ...rest) {
      super(options, ...rest);
      this.benchReport();
    }

    async getInspectorURL(...rest) {
      const url = await super.getInspectorURL(...rest);
      if (!inspected) return url;
      // One relay per inspector address (a reload may move workerd's inspector socket).
      if (this.benchRelayTarget !== url.href) {
        this.benchRelayTarget = url.href;
        this.benchRelay = inspectorRelay(url);
      }
      return this.benchRelay;
    }

    async setOptions(options, ...rest) {
      const result = await super.setOptions(options, ...rest);
      this.benchReport();
      return result;
    }

    /** Writes the entry URL and each named Worker's direct URL, once this instance is ready. */
    benchReport() {
      (async () => {
        const entry = (await this.ready).href;
        const sockets = {};
        let ours = false; // whether this instance runs the named Workers (wrangler's proxy has a Miniflare of its own)
        for (const name of names) {
          try {
            if (missing.length) {
              await this.getWorker(name);
              ours = true;
            } else {
              sockets[name] = (await this.unsafeGetDirectURL(name)).href;
              ours = true;
            }
          } catch {
            // not a Worker of this instance
          }
        }
        if (ours) write({ entry, sockets, ...(missing.length ? { error: `this Miniflare has no ${missing.join(' or ')}` } : {}) });
      })().catch((err) => {
        try { write({ error: `direct sockets: ${err?.message ?? err}` }); } catch {}
      });
    }
  }

  /**
   * A local socket relaying to workerd's inspector socket at `target`, the path of each connection's request line
   * rewritten from `/core:user:<any Worker>` to `/core:user:<inspected>`. Resolves to its ws:// URL.
   */
  function inspectorRelay(target) {
    const server = net.createServer((client) => {
      let head = Buffer.alloc(0);
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const eol = head.indexOf('\r\n');
        if (eol < 0 && head.length < 8192) return;
        client.off('data', onData);
        client.pause();
        const line = head.subarray(0, Math.max(eol, 0)).toString('latin1')
          .replace(/^(\S+ \/core:user:)[^ ?]+/, (_, start) => start + encodeURIComponent(inspected));
        const upstream = net.connect(Number(target.port), target.hostname, () => {
          upstream.write(Buffer.concat([Buffer.from(line, 'latin1'), head.subarray(Math.max(eol, 0))]));
          client.pipe(upstream).pipe(client);
          client.resume();
        });
        const close = () => { client.destroy(); upstream.destroy(); };
        upstream.on('error', close).on('close', close);
        client.on('error', close).on('close', close);
      };
      client.on('data', onData);
      client.on('error', () => client.destroy());
    });
    server.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(new URL(`ws://127.0.0.1:${server.address().port}`)));
    });
  }

  // A copy of the module's exports (its own are read-only getters) with the two wrapped; wrangler's
  // `require("miniflare")` then gets this copy from the module cache.
  const exportsCopy = { ...original, Miniflare };
  if (typeof original.convertV4MiniflareOptions === 'function') {
    exportsCopy.convertV4MiniflareOptions = (options, ...rest) => original.convertV4MiniflareOptions(withSockets(options), ...rest);
  }
  require.cache[id].exports = exportsCopy;
}

if (names.length && file && isCli) {
  try {
    patch();
  } catch (err) {
    try { write({ error: `direct sockets: ${err?.message ?? err}` }); } catch {}
  }
}
