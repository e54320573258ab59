// Loads a page in headless Chromium (Debian's `chromium`) and returns what the page reports.
// The folder `root` is served on 127.0.0.1; the page POSTs one JSON object to `report` (relative
// to itself) when it is done, and that object is the result. Used by examples/browser/build.mjs
// and scripts/consumer-test.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png', '.json': 'application/json' };

/**
 * @param {{ root: string, page: string, timeoutS?: number }} options - the folder to serve, the
 *   page's path and query under it (e.g. 'index.html?report'), and how long to wait.
 * @returns {Promise<Record<string, unknown>>} the page's report, or `{ status: '(...)' }` saying
 *   why there was none (Chromium exited, or the time ran out).
 */
export async function runInChromium({ root, page, timeoutS = 120 }) {
  // The page POSTs its result; we wait for that rather than for a DOM dump, because headless
  // Chromium's virtual-time budget never settles while wasm compute keeps the page busy.
  let reported;
  const done = new Promise((r) => (reported = r));
  const server = createServer(async (req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    if (req.method === 'POST' && pathname.endsWith('/report')) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      res.writeHead(204).end();
      reported(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      return;
    }
    try {
      const path = join(root, normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/${page}`;
  // A fresh profile each run: a stale profile lock from a killed run makes Chromium hand the URL
  // to a browser that no longer exists and exit at once.
  const profile = mkdtempSync(join(tmpdir(), 'irsde-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-port=0'];
  // --remote-debugging-port keeps headless Chromium running until we close it. Its own process
  // group, so that closing it also stops its helper processes.
  const chrome = spawn('chromium', [...flags, url], { stdio: 'ignore', detached: true });
  chrome.on('error', (e) => reported({ status: `(cannot start chromium: ${e.message}; apt-get install -y chromium)` }));
  chrome.on('exit', (code) => reported({ status: `(chromium exited with code ${code} before the page reported)` }));
  const timer = setTimeout(() => reported({ status: `(no report within ${timeoutS} s)` }), timeoutS * 1000);
  const result = await done;
  clearTimeout(timer);
  // Let Chromium exit (it writes to its profile while closing) before removing the profile.
  const exited = new Promise((r) => (chrome.exitCode !== null || chrome.pid === undefined ? r() : chrome.once('exit', r)));
  try {
    process.kill(-chrome.pid, 'SIGTERM');
  } catch {
    chrome.kill();
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  server.close();
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (e) {
    console.warn(`could not remove ${profile}: ${e.message}`);
  }
  return result;
}
