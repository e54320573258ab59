// Serving a folder to headless Chromium and collecting what the page reports: shared by the
// browser example's check (examples/browser/build.mjs), the browser benchmark
// (bench/browser/run.ts) and the browser agreement check (test/browser.check.test.ts).
//
// The server sends the headers that make a page cross-origin isolated (COOP: same-origin,
// COEP: require-corp), which WebAssembly threads need (SharedArrayBuffer). Pages talk back by
// POSTing JSON: `/log` (a line to print, e.g. progress) and `/report` (the final result).
// Everything stays on 127.0.0.1; Chromium is started with its background networking off.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The headers under which a page is cross-origin isolated (`self.crossOriginIsolated`). */
export const ISOLATION_HEADERS = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
});

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

/**
 * The Chromium executable: $CHROMIUM, else `chromium` / `chromium-browser` on PATH; null if none.
 * @returns {string | null}
 */
export function findChromium() {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser'].filter(Boolean);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return c;
  }
  return null;
}

/** `chromium --version`, or null. */
export function chromiumVersion(bin = findChromium()) {
  if (!bin) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Copies onnxruntime-web's runtime files (the JSEP build: wasm + WebGPU, which the package's
 * default import loads) into `dest`, so the page serves them itself (ort.env.wasm.wasmPaths).
 * @returns {string[]} the copied file names
 */
export function copyOrtWebFiles(dest) {
  const dir = join(ROOT, 'node_modules/onnxruntime-web/dist');
  if (!existsSync(dir)) throw new Error("onnxruntime-web is not installed (npm install onnxruntime-web)");
  const files = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
  mkdirSync(dest, { recursive: true });
  for (const f of files) copyFileSync(join(dir, f), join(dest, f));
  return files;
}

/**
 * Copies tfjs-backend-wasm's binaries into `dest` (its setWasmPaths prefix).
 * @returns {string[]} the copied file names
 */
export function copyTfjsWasmFiles(dest) {
  const dir = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const files = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  mkdirSync(dest, { recursive: true });
  for (const f of files) copyFileSync(join(dir, f), join(dest, f));
  return files;
}

/**
 * Serves `dir` on 127.0.0.1 (`port`, default a free one) with the cross-origin isolation headers (unless
 * `isolate: false`). Extra routes: POST /log (JSON `{ line }`, passed to `onLog`), POST /report
 * (JSON, resolves `report`), GET paths in `files` (name -> Uint8Array, served from memory).
 * @param {string} dir
 * @param {{ isolate?: boolean, port?: number, onLog?: (line: string) => void, files?: Record<string, Uint8Array> }} [options]
 * @returns {Promise<{ origin: string, report: Promise<any>, close: () => Promise<void> }>}
 */
export async function serveFolder(dir, options = {}) {
  const isolate = options.isolate ?? true;
  const onLog = options.onLog ?? ((line) => console.log(line));
  let resolveReport;
  const report = new Promise((r) => (resolveReport = r));
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const headers = isolate ? { ...ISOLATION_HEADERS } : {};
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'POST') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      res.writeHead(204, headers).end();
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = { status: '(the page sent a report that is not JSON)' };
      }
      if (path.endsWith('/log')) onLog(String(body.line));
      else if (path.endsWith('/report')) resolveReport(body);
      return;
    }
    const name = decodeURIComponent(path).replace(/^\/+/, '') || 'index.html';
    const mem = options.files?.[name];
    const file = normalize(join(base, name));
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    if (mem) {
      res.writeHead(200, { ...headers, 'content-type': type }).end(mem);
      return;
    }
    if (!file.startsWith(base + sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  await new Promise((r, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', r);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    report,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * Chromium's flags for a headless run on this machine: no network beyond the page, a fresh
 * profile, and (with `gpu: 'software'`) the software paths for WebGL (ANGLE on SwiftShader) and
 * WebGPU (Dawn on SwiftShader's Vulkan).
 * @param {string} profile - a fresh --user-data-dir
 * @param {{ gpu?: 'software' | 'off', extraFlags?: string[] }} [options]
 */
export function chromiumFlags(profile, options = {}) {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--mute-audio',
    `--user-data-dir=${profile}`,
    // Keeps headless Chromium running until we close it.
    '--remote-debugging-port=0',
  ];
  if ((options.gpu ?? 'software') === 'software') {
    flags.push('--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--ignore-gpu-blocklist');
  } else flags.push('--disable-gpu');
  flags.push(...(options.extraFlags ?? []));
  // Extra flags for experiments, e.g. IRSDE_CHROMIUM_FLAGS='--js-flags=--no-liftoff'.
  const extra = process.env.IRSDE_CHROMIUM_FLAGS?.trim();
  if (extra) flags.push(...extra.split(/\s+/));
  return flags;
}

/**
 * A Chrome DevTools Protocol connection over Chromium's `--remote-debugging-pipe` (file
 * descriptors 3 and 4, NUL-separated JSON): no WebSocket, no port.
 * @param {import('node:stream').Writable} out - Chromium's fd 3 (commands)
 * @param {import('node:stream').Readable} input - Chromium's fd 4 (answers and events)
 */
function devToolsPipe(out, input) {
  let next = 0;
  let buffered = '';
  const waiting = new Map();
  const listeners = new Map();
  input.setEncoding('utf8');
  input.on('data', (chunk) => {
    buffered += chunk;
    let end;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if (msg.id !== undefined) {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) w?.reject(new Error(`DevTools ${w.method}: ${msg.error.message}`));
        else w?.resolve(msg.result);
      } else for (const l of listeners.get(msg.method) ?? []) l(msg.params, msg.sessionId);
    }
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject, method });
      out.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  const on = (method, listener) => listeners.set(method, [...(listeners.get(method) ?? []), listener]);
  return { send, on };
}

/**
 * Loads `url` in headless Chromium and waits for the page's report (see {@link serveFolder}).
 * Chromium runs in its own process group, which is stopped (and waited for) before its fresh
 * profile is removed.
 *
 * With `devtools`, the run is driven from Node instead: Chromium is started with
 * `--remote-debugging-pipe`, and `devtools(page)` gets a DevTools Protocol session attached to the
 * page (`page.send(method, params)` for the page's domains, `page.browser(method, params)` for the
 * browser's, `page.on(event, listener)`); what it returns (or throws) is the result.
 * @param {string} url
 * @param {{ report?: Promise<any>, devtools?: (page: import('./headless-chromium.d.mts').DevToolsPage) => Promise<any>, timeoutS?: number, gpu?: 'software' | 'off', extraFlags?: string[], chromium?: string }} options
 * @returns {Promise<any>} the report (or devtools' result), or `{ status: '(...)' }` when Chromium exited or timed out first
 */
export async function runInChromium(url, options) {
  const bin = options.chromium ?? findChromium();
  if (!bin) throw new Error('no Chromium found (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)');
  // A fresh profile each run: a stale profile lock from a killed run makes Chromium hand the URL
  // to a browser that no longer exists and exit at once.
  const profile = mkdtempSync(join(tmpdir(), 'irsde-chromium-'));
  let flags = chromiumFlags(profile, options);
  if (options.devtools) flags = [...flags.filter((f) => !f.startsWith('--remote-debugging-port')), '--remote-debugging-pipe'];
  const chrome = spawn(bin, [...flags, url], { stdio: options.devtools ? ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] : 'ignore', detached: true });
  const exited = new Promise((r) => (chrome.exitCode !== null ? r() : chrome.once('exit', r)));
  const timeoutS = options.timeoutS ?? 300;
  let driven;
  if (options.devtools) {
    const cdp = devToolsPipe(chrome.stdio[3], chrome.stdio[4]);
    driven = (async () => {
      let target;
      for (let i = 0; i < 100 && !target; i++) {
        target = (await cdp.send('Target.getTargets')).targetInfos.find((t) => t.type === 'page');
        if (!target) await new Promise((r) => setTimeout(r, 100));
      }
      if (!target) throw new Error('DevTools: Chromium opened no page');
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
      return options.devtools({
        send: (method, params) => cdp.send(method, params, sessionId),
        browser: (method, params) => cdp.send(method, params),
        on: (method, listener) => cdp.on(method, listener),
      });
    })();
  }
  let timer;
  let failure; // devtools' error, thrown once Chromium is stopped
  const result = await Promise.race([
    driven ? driven.catch((e) => void (failure = e)) : options.report,
    exited.then(() => ({ status: `(chromium exited with code ${chrome.exitCode} before the page reported)` })),
    new Promise((r) => (timer = setTimeout(() => r({ status: `(no report within ${timeoutS} s)` }), timeoutS * 1000))),
  ]);
  clearTimeout(timer);
  try {
    process.kill(-chrome.pid, 'SIGTERM');
  } catch {
    chrome.kill();
  }
  // Let Chromium exit (it writes to its profile while closing) before removing the profile.
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (e) {
    console.warn(`could not remove ${profile}: ${e.message}`);
  }
  if (failure) throw failure;
  return result;
}

/**
 * Serves `root` (without cross-origin isolation headers) and loads `page` under it in headless
 * Chromium, returning what the page POSTs to `report` (the consumer test's simple form of
 * {@link serveFolder} + {@link runInChromium}).
 * @param {{ root: string, page: string, timeoutS?: number }} options
 * @returns {Promise<Record<string, unknown>>}
 */
export async function runPageInChromium({ root, page, timeoutS = 120 }) {
  const server = await serveFolder(root, { isolate: false, onLog: () => undefined });
  try {
    return await runInChromium(`${server.origin}/${page}`, { report: server.report, timeoutS, gpu: 'off' });
  } finally {
    await server.close();
  }
}
