// The Worker's JavaScript entry module: what the runtime calls, handed straight to the Rust exports that
// wasm-bindgen generated (`./index.js`, next to this file once scripts/build.sh has staged it).
//
// worker-build's own entry wraps the entry class and every Durable Object class in `Proxy`s, and each method it
// hands out in an `async` function: every request constructs an entry class and two proxies, and an answer the
// Rust side returns at once (src/worker/eager.rs) still waits a microtask turn. Without them, stateful
// `tools/call` measured 0 to 5 % faster (runs move by ±5 %; bench/README.md). This module keeps what those wrappers
// were for, recovery after a trap, and adds a fixed 500 for a request that a trap left without an answer (theirs
// was the runtime's error page, with the stack).
//
// Recovery: a trap (a Rust panic or abort) marks the WebAssembly instance terminated; wasm-bindgen's glue then
// replaces the instance at its next call (`--experimental-reset-state-function`, `--force-enable-abort-handler`),
// and `worker`'s start function counts instances in `globalThis.__worker_init_state.instanceId`. The Worker's
// `fetch` needs nothing more. A Durable Object's Rust half lived in the old instance, so each Durable Object
// below remakes its Rust half once the instance changed, from the arguments the runtime constructed it with
// (its state lives in storage; what it kept in memory is lost, as after an eviction). This costs one call into
// WebAssembly per Durable Object call.
import * as rust from './index.js';

export default {
  fetch(request, env, ctx) {
    if (!readsBodyFirst(request)) return handle(request, env, ctx, null, Date.now());
    // The latency the Worker logs and counts starts before the read.
    const started = Date.now();
    return request.text().then(
      (body) => handle(request, env, ctx, body, started),
      (error) => handle(request, env, ctx, unreadable(error), started),
    );
  },
};

/**
 * Why a body could not be read (a client gone mid-upload), as the Rust side tells it from a body: an `Error`.
 *
 * Bodies are read as text, not bytes: in workerd `arrayBuffer()` costs about 12 µs more per request than `text()`
 * (a bare Worker: 112 against 98 µs of CPU; bench/README.md). Text is decoded as `Request.text()` and
 * `Request.json()` decode it, invalid UTF-8 becoming U+FFFD; the Rust side reads every other body the same way.
 */
function unreadable(error) {
  return error instanceof Error ? error : new Error(String(error));
}

/** The largest declared body read before calling in (any MCP request but one with a large tool argument). */
const BODY_FIRST_MAX = 64 * 1024;
/** The Worker's `MCP_PATH` and `SESSION_HEADER` (src/worker/mod.rs, src/transport/streamable_http.rs). */
const MCP_PATH = '/mcp';
const SESSION_HEADER = 'mcp-session-id';

/**
 * Whether the body is read here before calling in: a POST to /mcp without a session and of small declared length,
 * which the Worker answers from its body (stateless, or `initialize`). Reading it here, and handing it in with the
 * request, spares the wasm a promise of its own and a call back in (measured: 2 % of a stateless `tools/call`, and
 * 3 to 6 % of a session's, whose object reads every body this way; bench/README.md). Only a matter of speed: the
 * Rust side checks the limits either way, and reads a body not read here itself.
 */
function readsBodyFirst(request) {
  if (request.method !== 'POST' || request.headers.has(SESSION_HEADER)) return false;
  const length = request.headers.get('content-length');
  if (length === null || !/^\s*\d+\s*$/.test(length) || Number(length) > BODY_FIRST_MAX) return false;
  return pathOf(request.url) === MCP_PATH;
}

/**
 * The path of a URL as the runtime serializes a request's (`scheme://authority/path?query`, dot segments
 * resolved), read without a `URL` object: a parse and an object per request cost about 2 µs.
 */
function pathOf(url) {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.indexOf('?', start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/** The Rust side's answer to `request` (with its `body`, when read here), as the runtime takes it. */
function handle(request, env, ctx, body, started) {
  let answer;
  try {
    answer = rust.fetch(request, env, ctx, body, started);
  } catch (error) {
    return failed(error, body);
  }
  // An answer ready at once (src/worker/eager.rs) is a Response. A promise rejects, or settles on something else,
  // only when the instance trapped on the way (a reset drops the work that was waiting in it).
  if (answer instanceof Response) return answer;
  if (!(answer instanceof Promise)) return answered(answer, body);
  // No body read here (a session's request, passed on): no id to name, and no closures made per request.
  if (body === null) return answer.then(answered, failed);
  return answer.then((settled) => answered(settled, body), (error) => failed(error, body));
}

function answered(answer, body = null) {
  return answer instanceof Response ? answer : failed(new Error(`the fetch handler answered ${answer}`), body);
}

/** How each answer still being worked on fails, should the instance trap first. */
const pending = new Set();

/**
 * `promise`, failing instead of never settling if the instance traps before it settles. A trap ends every task of
 * the instance, and the work of each pending answer with it (a session's first request, say, which waited for
 * storage): its promise would stay pending, and its client would wait until its connection gave up. Watched: every
 * promise a Durable Object's Rust half returns (below), and the Worker's promises of work in the instance
 * (src/worker/eager.rs, through src/worker/traps.js), not a session object's answer the Worker passes on, which
 * settles by itself (with the fixed 500 that object's wrapper made): the Rust side's promises resolve to
 * `[value]` (`boxed`), so that such an answer is adopted only once the work is done. The Rust side's panic hook
 * (src/worker/mod.rs) calls `trapped` below, just before the trap.
 */
function watched(promise, boxed = false) {
  return new Promise((resolve, reject) => {
    pending.add(reject);
    promise.then(
      (value) => {
        pending.delete(reject);
        resolve(boxed ? value[0] : value);
      },
      (error) => {
        pending.delete(reject);
        reject(error);
      },
    );
  });
}

/**
 * The 500 of a request that got no answer: `HttpError::Internal`'s fixed message and a reference (src/error.rs),
 * the detail logged under the reference as src/worker/http.rs logs it, and the id of the request in `body` (its
 * text, when it was read here). Written here, not asked of the Rust side: the instance may still be the one that
 * trapped (an export taking a string allocates before its guard resets).
 */
function failed(error, body) {
  const reference = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
  console.error(`internal error [${reference}]: ${error?.stack ?? error}`);
  const answer = {
    jsonrpc: '2.0',
    id: requestIdOf(body),
    error: {
      code: -32603,
      message: 'Internal error: the server could not answer this request; try again, and if it persists report the reference',
      data: { reference },
    },
  };
  return Response.json(answer, { status: 500 });
}

/**
 * The id of the request `body` holds (a batch's first request's), as `first_request_id` reads it
 * (src/transport/streamable_http.rs); `null` when there is none, or no body read here.
 */
function requestIdOf(body) {
  if (typeof body !== 'string') return null;
  let message;
  try {
    message = JSON.parse(body);
  } catch {
    return null;
  }
  const messages = Array.isArray(message) ? message : [message];
  const request = messages.find((m) => typeof m?.method === 'string' && 'id' in m);
  const id = request?.id;
  return typeof id === 'string' || Number.isSafeInteger(id) ? id : null;
}

/** The instance counter of `worker` (shared by every instance: a JavaScript object, not WebAssembly memory). */
const instances = rust.__worker_init_state();
/** How each stream the instance writes ends, should the instance trap first. */
const streams = new Set();

/**
 * `response` with its body relayed, so that a trap can end it: the instance writes it (an SSE stream), and after a
 * trap nothing would write again, not even a keepalive, and the client would wait on it for good. Ended, it is
 * resumed the usual way (a new GET with `Last-Event-ID`, or a new `/sse` session).
 */
function endedOnTrap(response) {
  let relayed;
  // A transformer of its own (not the runtime's identity stream), whose end a trap can call.
  const relay = new TransformStream({ start: (controller) => (relayed = controller) });
  streams.add(relayed);
  response.body
    .pipeTo(relay.writable)
    .catch(() => {})
    .finally(() => streams.delete(relayed));
  return new Response(relay.readable, response);
}

instances.watch = watched;
instances.endOnTrap = endedOnTrap;
instances.trapped = () => {
  const error = new Error('the WebAssembly instance trapped (a Rust panic or abort) before this answer was ready');
  for (const fail of pending) fail(error);
  pending.clear();
  for (const relayed of streams) relayed.terminate();
  streams.clear();
};

/** `Rust`, a Durable Object class exported by the wasm, as the runtime's class: remade after a reset. */
function durableObject(Rust, { readsBody = false } = {}) {
  class DurableObject {
    constructor(state, env) {
      this.state = state;
      this.env = env;
      this.rust = new Rust(state, env);
      this.instance = instances.instanceId;
    }
  }
  for (const name of Object.getOwnPropertyNames(Rust.prototype)) {
    if (name === 'constructor' || name === 'free' || name.startsWith('__')) continue;
    // Up to four arguments: the most any Durable Object handler takes (`webSocketClose`).
    DurableObject.prototype[name] = function (a, b, c, d) {
      // Any call runs the glue's guard, which replaces a terminated instance before anything else runs in it;
      // this one also arms the instance's panic hook (src/worker/mod.rs), which calls `trapped` above.
      rust.armPanicHook();
      if (this.instance !== instances.instanceId) {
        this.rust = new Rust(this.state, this.env);
        this.instance = instances.instanceId;
      }
      const answer = this.rust[name](a, b, c, d);
      return answer instanceof Promise ? watched(answer) : answer;
    };
  }
  if (readsBody) {
    // The request's body read here first, and handed in with the request: one call into the wasm per request.
    // A trap is answered here, where the body is known, so that the fixed 500 names the request's id.
    const call = DurableObject.prototype.fetch;
    DurableObject.prototype.fetch = async function (request) {
      let body = null;
      if (request.body) {
        try {
          body = await request.text();
        } catch (error) {
          body = unreadable(error);
        }
      }
      let answer;
      try {
        answer = call.call(this, request, body);
      } catch (error) {
        return failed(error, body);
      }
      return answer instanceof Promise ? answer.catch((error) => failed(error, body)) : answer;
    };
  }
  Object.defineProperty(DurableObject, 'name', { value: Rust.name });
  return DurableObject;
}

// Every Durable Object class of wrangler.toml; a class missing here fails `wrangler dev` and deploy at start.
export const McpSession = durableObject(rust.McpSession, { readsBody: true });
export const ListenHub = durableObject(rust.ListenHub);
export const OAuthGrant = durableObject(rust.OAuthGrant);
export const MetricsHub = durableObject(rust.MetricsHub);
export const CallerLedger = durableObject(rust.CallerLedger);
