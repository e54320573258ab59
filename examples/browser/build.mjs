// Bundles the browser example with esbuild into examples/browser/dist/, copies the page, a
// photo, a model file and tfjs-wasm's binaries, then (with --check) serves it on 127.0.0.1 and
// loads it in headless Chromium (Debian's `chromium`), printing the page's final status and
// saving the restored image as dist/restored.png.
//   node examples/browser/build.mjs [--model FILE] [--check] [--backend cpu|wasm] [--timeout SECONDS]
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runInChromium } from '../../scripts/headless-chromium.mjs';

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
  const result = await runInChromium({ root: dist, page: `index.html?backend=${values.backend}&report`, timeoutS: Number(values.timeout) });
  console.log(`page status: ${result.status}`);
  if (result.png) {
    writeFileSync(join(dist, 'restored.png'), Buffer.from(result.png.replace(/^data:image\/png;base64,/, ''), 'base64'));
    console.log(`restored image: ${join(dist, 'restored.png')}`);
  }
  if (!result.status.startsWith('done')) process.exit(1);
}
