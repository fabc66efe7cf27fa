// The `openapi_import` step of `npm run bench`: imports GitHub's REST API spec (npm `@octokit/openapi`, 13 MB,
// 1,223 operations) with the native importer (`npm run openapi:import`) and reports how long it takes and how
// large the index is. It needs no Worker: `BENCH_SCENARIOS=openapi_import npm run bench` runs only this.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const OPENAPI_IMPORT_STEP = 'openapi_import';
const SPEC = join('node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.json');
const RUNS = 3;

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** Builds the importer (the `import` profile, as `npm run openapi:import` does), then imports GitHub's spec RUNS times; the median run is reported. */
export async function measureOpenApiImport(root, log) {
  log('building the OpenAPI importer (cargo build --profile import --bin openapi-import)');
  const { stdout } = await run('cargo', ['build', '--profile', 'import', '--quiet', '--bin', 'openapi-import', '--message-format=json'], root);
  const binary = stdout.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .find((m) => m?.reason === 'compiler-artifact' && m.target?.name === 'openapi-import' && m.executable)?.executable;
  if (!binary) throw new Error('cargo did not report the openapi-import executable');
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-openapi-'));
  try {
    const out = join(dir, 'github.json');
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const started = process.hrtime.bigint();
      await run(binary, [SPEC, '--name', 'github', '--out', out], root);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    times.sort((a, b) => a - b);
    const index = readFileSync(out);
    const operations = JSON.parse(index.toString('utf8')).operations.length;
    const result = {
      spec: SPEC,
      specBytes: statSync(join(root, SPEC)).size,
      operations,
      importMs: Number(times[Math.floor(times.length / 2)].toFixed(0)),
      runsMs: times.map((t) => Number(t.toFixed(0))),
      indexBytes: index.length,
      indexGzipBytes: gzipSync(index, { level: 9 }).length,
    };
    log(`openapi_import: ${operations} operations in ${result.importMs} ms (median of ${RUNS}), index ${result.indexBytes} bytes, ${result.indexGzipBytes} gzipped`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (bytes) => (bytes / 1e6).toFixed(2);

/** One line for the text report, one row for the Markdown. */
export function openApiImportText(r) {
  if (!r) return null;
  if (r.error) return `OpenAPI import of GitHub's spec: not measured: ${r.error.split('\n')[0]}`;
  return `OpenAPI import of GitHub's spec (${mb(r.specBytes)} MB, ${r.operations} operations): ${(r.importMs / 1000).toFixed(2)} s ` +
    `(median of ${r.runsMs.length}, whole process), index ${mb(r.indexBytes)} MB (${(r.indexGzipBytes / 1024).toFixed(0)} KiB gzipped)`;
}
