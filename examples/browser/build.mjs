// Bundles the browser example with esbuild into examples/browser/dist/, copies the page, a
// photo, a model file and tfjs-wasm's binaries, then (with --check) serves it on 127.0.0.1 and
// loads it in headless Chromium (Debian's `chromium`), printing the page's final status and
// saving the restored image as dist/restored.png.
//   node examples/browser/build.mjs [--model FILE] [--check] [--backend cpu|wasm] [--timeout SECONDS]
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(here, 'dist');
const { values } = parseArgs({ options: { model: { type: 'string' }, check: { type: 'boolean' }, backend: { type: 'string', default: 'wasm' }, timeout: { type: 'string', default: '300' } } });

mkdirSync(dist, { recursive: true });
await build({ entryPoints: [join(here, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dist, 'main.js'), logLevel: 'warning' });
copyFileSync(join(here, 'index.html'), join(dist, 'index.html'));
copyFileSync(join(root, 'examples/data/astronaut-crop.png'), join(dist, 'photo.png'));
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(dist, f));
const model = values.model ?? join(root, 'models/denoise-sigma25.safetensors');
if (!existsSync(model)) throw new Error(`no model file at ${model}; pass --model FILE (from irsde train)`);
copyFileSync(model, join(dist, 'model.safetensors'));
console.log(`built ${dist}`);

if (values.check) {
  // The page POSTs its final status (and the restored image) to /report; we wait for that rather
  // than for a DOM dump, because headless Chromium's virtual-time budget never settles while wasm
  // compute keeps the page busy.
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png' };
  let reported;
  const done = new Promise((r) => (reported = r));
  const server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url.endsWith('/report')) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      res.writeHead(204).end();
      reported(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      return;
    }
    try {
      const path = join(dist, new URL(req.url, 'http://x').pathname);
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/index.html?backend=${values.backend}&report`;
  // A fresh profile each run: a stale profile lock from a killed run makes Chromium hand the URL
  // to a browser that no longer exists and exit at once.
  const profile = mkdtempSync(join(tmpdir(), 'irsde-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-port=0'];
  // --remote-debugging-port keeps headless Chromium running until we close it.
  // Its own process group, so that closing it also stops its helper processes.
  const chrome = spawn('chromium', [...flags, url], { stdio: 'ignore', detached: true });
  chrome.on('exit', (code) => reported({ status: `(chromium exited with code ${code} before the page reported)` }));
  const timeoutS = Number(values.timeout);
  const timer = setTimeout(() => reported({ status: `(no report within ${timeoutS} s)` }), timeoutS * 1000);
  const result = await done;
  clearTimeout(timer);
  // Let Chromium exit (it writes to its profile while closing) before removing the profile.
  const exited = new Promise((r) => (chrome.exitCode !== null ? r() : chrome.once('exit', r)));
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
  console.log(`page status: ${result.status}`);
  if (result.png) {
    writeFileSync(join(dist, 'restored.png'), Buffer.from(result.png.replace(/^data:image\/png;base64,/, ''), 'base64'));
    console.log(`restored image: ${join(dist, 'restored.png')}`);
  }
  if (!result.status.startsWith('done')) process.exit(1);
}
