// The worker restorer bundled by Vite and webpack from the packed tarball (`npm run check:bundlers`;
// `.ci/run` runs it after the consumer test, which covers esbuild):
//  1. `npm pack` this repo (build it first: `npm run build`) and install the tarball into an empty
//     temporary app with tfjs-core and tfjs-backend-cpu (the peers the worker needs) and webpack 5;
//     Vite is this repo's own (vitest's), else installed there too;
//  2. a one-file app (`src/main.js`) loads a tiny model made here with `loadWorkerRestorer` and
//     irsde's default worker (no `worker` option: the bundler must find `irsde/worker` itself),
//     restores a 24x20 image with `onTile`, and reports;
//  3. bundles it with `vite build` (no configuration), serves it with the Vite dev server (the
//     README's `optimizeDeps` line) and bundles it with webpack 5 (no configuration); the optional
//     peers the app does not install (onnxruntime-web, tfjs-backend-wasm, imported lazily by the
//     worker) are marked external / aliased to nothing;
//  4. with Debian's `chromium`, each build runs headless: the result must equal Node's restore of
//     the same image (tfjs-cpu on both sides) and every tile must arrive (2 steps x 4 tiles).
// Prints each step with its time; exits non-zero on the first failure. Options: --keep (leave the
// app folder), --no-webpack (skip the webpack install and build).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findChromium, runInChromium, runPageInChromium } from './headless-chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const withWebpack = !process.argv.includes('--no-webpack');
const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const step = (msg) => console.log(`bundler-check [${since()}] ${msg}`);
function fail(msg) {
  console.error(`bundler-check FAILED: ${msg}`);
  process.exit(1);
}
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) fail(`${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

if (!existsSync(join(ROOT, 'dist/restore-worker.js'))) fail('no dist/restore-worker.js: run `npm run build` first');
const work = mkdtempSync(join(tmpdir(), 'irsde-bundlers-'));
const app = join(work, 'app');
mkdirSync(join(app, 'src'), { recursive: true });
mkdirSync(join(app, 'public'));

// --- 1. the tarball in a fresh app ------------------------------------------------------------
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT))[0];
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'irsde-bundler-app', private: true, type: 'module' }, null, 2));
const tfjs = JSON.parse(run('npm', ['pkg', 'get', 'devDependencies.@tensorflow/tfjs-core'], ROOT));
let vitePath;
try {
  vitePath = createRequire(join(ROOT, 'node_modules/vitest/package.json')).resolve('vite');
} catch {
  vitePath = undefined;
}
const installs = [join(work, packed.filename), `@tensorflow/tfjs-core@${tfjs}`, `@tensorflow/tfjs-backend-cpu@${tfjs}`, ...(withWebpack ? ['webpack@5'] : []), ...(vitePath ? [] : ['vite'])];
run('npm', ['install', '--no-audit', '--no-fund', ...installs], app);
if (!vitePath) vitePath = createRequire(join(app, 'package.json')).resolve('vite');
const vite = await import(pathToFileURL(vitePath).href);
step(`installed ${packed.filename} with ${installs.slice(1).join(', ')}; Vite ${vite.version}${vitePath.startsWith(ROOT) ? " (this repo's)" : ''}`);

// --- 2. the app and its expected result ---------------------------------------------------------
run(process.execPath, ['--input-type=module', '-e', `
import { writeFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import { UNet, MeanRevertingSDE, Rng, from255, loadRestorer, saveModel, selectBackend } from 'irsde';
await selectBackend('cpu');
const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
const bytes = saveModel(net, new MeanRevertingSDE({ T: 20, maxSigma: from255(10) }), { sampling: { sampler: 'posterior', steps: 2, eta: 0 } });
net.dispose();
const image = { data: Float32Array.from(new Rng(1).uniform([24 * 20 * 3])), height: 24, width: 20, channels: 3 };
const r = await loadRestorer(bytes);
const out = await r.restore(image, { seed: 3, tile: 16 });
writeFileSync('public/tiny.safetensors', bytes);
writeFileSync('public/expected.json', JSON.stringify({ input: Array.from(image.data), output: Array.from(out.image.data) }));
`], app);
writeFileSync(join(app, 'src/main.js'), `import { loadWorkerRestorer } from 'irsde/web';
let result;
try {
  const { input, output } = await (await fetch('./expected.json')).json();
  // irsde's default worker: the bundler finds it from irsde's own new Worker(new URL(...)).
  const restorer = await loadWorkerRestorer('./tiny.safetensors', { engine: 'tfjs-cpu', onNote: () => undefined });
  let tiles = 0;
  const got = await restorer.restore({ data: Float32Array.from(input), height: 24, width: 20, channels: 3 }, { seed: 3, tile: 16, onTile: () => tiles++ });
  let maxDiff = 0;
  for (let i = 0; i < output.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.image.data[i] - output[i]));
  result = { status: 'done', engine: restorer.engine, maxDiff, tiles };
  await restorer.dispose();
} catch (e) {
  result = { status: 'error: ' + ((e && e.stack) || e) };
}
await fetch('report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) });
`);
writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>irsde bundler check</title><script type="module" src="./src/main.js"></script>\n');
const chromium = findChromium();
if (!chromium) step('no chromium: the bundles are built but not run (apt-get install -y chromium)');

/** Checks what a page reported. */
function checkPage(name, page) {
  if (page.status !== 'done') fail(`${name}: ${page.status}`);
  if (!(page.maxDiff <= 1e-6) || page.tiles !== 8) fail(`${name}: max |page - node| ${page.maxDiff}, ${page.tiles} tiles (expected 8)`);
  step(`${name} ran in headless Chromium: ${page.engine} in the worker, result equal to Node's (max diff ${page.maxDiff}), ${page.tiles} tiles`);
}
// Not installed here; the worker imports them lazily, only for the engines that need them.
const optionalPeers = ['onnxruntime-web', '@tensorflow/tfjs-backend-wasm'];

// --- 3, 4. Vite: build, then the dev server ------------------------------------------------------
let t = Date.now();
await vite.build({
  root: app,
  configFile: false,
  logLevel: 'error',
  build: { outDir: 'dist-vite', emptyOutDir: true, rollupOptions: { external: optionalPeers } },
  worker: { rollupOptions: { external: optionalPeers } },
});
step(`vite build: ${((Date.now() - t) / 1000).toFixed(1)} s`);
if (chromium) checkPage('vite build', await runPageInChromium({ root: join(app, 'dist-vite'), page: 'index.html', timeoutS: 120 }));
if (chromium) {
  t = Date.now();
  let report;
  const reported = new Promise((r) => (report = r));
  const server = await vite.createServer({
    root: app,
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0 },
    // The README's line: leave irsde itself unbundled (so its worker file is found beside it) and pre-bundle its CommonJS dependencies.
    optimizeDeps: { exclude: ['irsde'], include: ['irsde > jpeg-js', 'irsde > fft.js', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'] },
    plugins: [{ name: 'report', configureServer: (s) => void s.middlewares.use('/report', (req, res) => { let body = ''; req.on('data', (c) => (body += c)); req.on('end', () => { res.end('ok'); report(JSON.parse(body)); }); }) }],
  });
  await server.listen();
  try {
    checkPage('vite dev server', await runInChromium(`${server.resolvedUrls.local[0]}index.html`, { report: reported, timeoutS: 120, gpu: 'off' }));
  } finally {
    await server.close();
  }
  step(`vite dev server: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// --- 3, 4. webpack 5 -------------------------------------------------------------------------------
if (withWebpack) {
  t = Date.now();
  const webpack = (await import(pathToFileURL(createRequire(join(app, 'package.json')).resolve('webpack')).href)).default;
  const out = join(app, 'dist-webpack');
  const stats = await new Promise((ok, no) =>
    webpack(
      {
        mode: 'production',
        context: app,
        entry: './src/main.js',
        output: { path: out, filename: 'main.js' },
        resolve: { alias: Object.fromEntries(optionalPeers.map((p) => [p, false])) },
        optimization: { minimize: false },
        performance: { hints: false },
      },
      (err, s) => (err ? no(err) : ok(s)),
    ),
  );
  if (stats.hasErrors()) fail(`webpack:\n${stats.toString('errors-only')}`);
  writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><title>irsde bundler check</title><script src="./main.js"></script>\n');
  for (const f of ['tiny.safetensors', 'expected.json']) copyFileSync(join(app, 'public', f), join(out, f));
  step(`webpack ${webpack.version} build: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  if (chromium) checkPage('webpack build', await runPageInChromium({ root: out, page: 'index.html', timeoutS: 120 }));
}

if (keep) console.log(`bundler-check: app kept in ${app}`);
else rmSync(work, { recursive: true, force: true });
console.log(`bundler-check: passed in ${since()}`);
