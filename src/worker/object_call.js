// The Worker's request to a Durable Object, made in one call from the wasm: through wasm-bindgen, the same request
// took nine calls out (the headers, the init and its three fields, the `Request`, the stub, its `fetch`) on every
// request a session sends (src/worker/object_call.rs).
export function fetchObject(namespace, id, url, header, value, body) {
  return namespace.get(id).fetch(url, { method: 'POST', headers: { [header]: value }, body });
}
