// What the Rust side tells `entry.mjs` about traps. Through `worker`'s instance state (`__worker_init_state`), the
// one object both see, which outlives an instance: `entry.mjs` sets `watch` and `trapped` on it
// (src/worker/entry.mjs says why).

/**
 * The value of `boxed`, a promise of work going on in the instance, failing instead of never settling should the
 * instance trap first. It resolves to `[value]`: a value that is itself a promise (a session object's answer,
 * which settles by itself) is adopted only once the work is done, not while the trap could still fail it.
 */
export function watched(boxed) {
  const state = globalThis.__worker_init_state;
  return state?.watch ? state.watch(boxed, true) : boxed.then(([value]) => value);
}

/** `response`, whose body (a stream the instance writes) ends should the instance trap. */
export function endedOnTrap(response) {
  const state = globalThis.__worker_init_state;
  return state?.endOnTrap ? state.endOnTrap(response) : response;
}

/** The instance is about to trap: every watched promise fails, every stream it writes ends. */
export function trapped() {
  globalThis.__worker_init_state?.trapped?.();
}
