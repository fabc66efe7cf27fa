// The bench's primary Worker: first in `wrangler dev`'s list, and never measured. wrangler attaches its DevTools
// inspector to one Worker (whichever bundle finished last, not necessarily the first config), and an inspected
// Worker pays for every console call; bench/direct-sockets.cjs pins the inspector to this Worker
// (`BENCH_INSPECTED`), so every measured target runs without one, on equal terms (bench/README.md).
export default {
  fetch() {
    return new Response('the benchmark\'s primary Worker: nothing here is measured\n', { status: 404 });
  },
};
