// A stand-in for a web browser, for clients that "open the browser" on an authorization URL (mcp-remote through
// `$BROWSER`): `node oauth_browser.mjs <url>` follows every redirect, approves the consent form, and ends on the
// client's own callback page. Each step is appended to `$OAUTH_BROWSER_LOG` when set (URLs only, with the values
// of code, state and token-like parameters cut, so the log holds no secret).
import { appendFileSync } from 'node:fs';
import { browse } from './oauth_flow.mjs';

const logFile = process.env.OAUTH_BROWSER_LOG;
const redact = (u) => String(u).replace(/([?&](?:code|state|code_challenge|iss)=)[^&]*/g, '$1…');
const log = (line) => { if (logFile) appendFileSync(logFile, `${line}\n`); };

const url = process.argv[2];
if (!url) {
  console.error('usage: oauth_browser.mjs <url>');
  process.exit(2);
}
log(`open ${redact(url)}`);
try {
  const { visited, answer } = await browse(url, {
    approve: process.env.OAUTH_BROWSER_DENY !== '1',
    log: (l) => log(redact(l)),
  });
  log(`done after ${visited.length} pages: ${answer?.status} ${redact(visited.at(-1))}`);
} catch (e) {
  log(`failed: ${redact(e?.message ?? e)}`);
  process.exit(1);
}
