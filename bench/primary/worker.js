// The bench's primary Worker: first in `wrangler dev`'s list, and never measured. wrangler attaches its DevTools
// inspector to the primary Worker (to print its console output), and a Worker with an inspector attached runs
// slower: in an A/A run with ours as the primary, a second copy of the same build measured 7.6 % faster
// (bench/README.md). Every measured target is a secondary Worker, on equal terms.
export default {
  fetch() {
    return new Response('the benchmark\'s primary Worker: nothing here is measured\n', { status: 404 });
  },
};
