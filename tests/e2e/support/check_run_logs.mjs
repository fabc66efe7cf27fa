// Checks the log lines of a whole end-to-end run (scripts/test.sh runs it after the e2e files): every worker's
// output, saved by support/worker.mjs into MCP_E2E_RUN_DIR. The worker's own lines (JSON objects, one per line)
// must parse, and no line may hold a secret a worker was given, a token a test was issued (recorded through
// `recordSecrets`), or anything shaped like one of our tokens or GitHub's.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? process.env.MCP_E2E_RUN_DIR;
if (!dir) throw new Error('usage: check_run_logs.mjs <run dir>');
const files = readdirSync(dir);
const secrets = new Set();
for (const f of files.filter((f) => f.startsWith('secrets-'))) {
  for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line) secrets.add(JSON.parse(line));
}
// Shapes of tokens: our access tokens (mcp_at.<payload>.<tag>) and GitHub's (gho_, ghu_, ghr_ + 30 characters).
const TOKEN_SHAPES = [/mcp_at\.[A-Za-z0-9_-]{16,}/, /\bgh[our]_[A-Za-z0-9]{20,}/];
// wrangler's own request lines ("[wrangler:info] GET /callback?code=… 302 Found") echo request URLs, which carry
// OAuth codes and states by design: they are the local dev server's access log, not the worker's log.
const WRANGLER_REQUEST = /^\[wrangler:info\] [A-Z]+ \//;

const problems = [];
let workers = 0;
let jsonLines = 0;
for (const f of files.filter((f) => f.startsWith('worker-'))) {
  workers += 1;
  const lines = readFileSync(join(dir, f), 'utf8').split('\n');
  lines.forEach((line, i) => {
    const where = `${f}:${i + 1}`;
    if (line.startsWith('{')) {
      try {
        const value = JSON.parse(line);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) problems.push(`${where}: not a JSON object`);
        jsonLines += 1;
      } catch {
        problems.push(`${where}: a log line that does not parse as JSON: ${line.slice(0, 120)}`);
      }
    }
    if (WRANGLER_REQUEST.test(line)) return;
    for (const secret of secrets) {
      if (line.includes(secret)) problems.push(`${where}: holds a secret or token a test used (${secret.slice(0, 4)}…)`);
    }
    for (const shape of TOKEN_SHAPES) {
      if (shape.test(line)) problems.push(`${where}: holds something shaped like a token (${shape})`);
    }
  });
}
if (workers === 0 || jsonLines === 0) problems.push(`no worker logs were saved in ${dir} (${workers} workers, ${jsonLines} JSON lines)`);
if (problems.length) {
  console.error(`The run's log lines failed the check (${problems.length} problems):\n${problems.slice(0, 50).join('\n')}`);
  process.exit(1);
}
console.log(`log check: ${workers} workers, ${jsonLines} JSON log lines, ${secrets.size} secrets and tokens looked for: none found`);
