// Bundles the browser example with esbuild into examples/browser/dist/, copies the page, a
// photo, a model file and tfjs-wasm's binaries, then (with --check) serves it on 127.0.0.1 and
// loads it in headless Chromium (Debian's `chromium`), printing the page's final status.
//   node examples/browser/build.mjs [--model FILE] [--check] [--backend cpu|wasm]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(here, 'dist');
const { values } = parseArgs({ options: { model: { type: 'string' }, check: { type: 'boolean' }, backend: { type: 'string', default: 'wasm' } } });

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
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png' };
  const server = createServer(async (req, res) => {
    try {
      const path = join(dist, new URL(req.url, 'http://x').pathname);
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(await readFile(path));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/index.html?backend=${values.backend}`;
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dist, '.chrome')}`, '--virtual-time-budget=120000'];
  const dom = execFileSync('chromium', [...flags, '--dump-dom', url], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
  execFileSync('chromium', [...flags, '--window-size=900,450', `--screenshot=${join(dist, 'screenshot.png')}`, url], { timeout: 300_000, stdio: 'ignore' });
  server.close();
  const statusText = /<p id="status">([^<]*)<\/p>/.exec(dom)?.[1] ?? '(no status)';
  console.log(`page status: ${statusText}`);
  console.log(`screenshot: ${join(dist, 'screenshot.png')}`);
  if (!statusText.startsWith('done')) process.exit(1);
}
