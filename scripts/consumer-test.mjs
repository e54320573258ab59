// The published package, tried as a new user would (`npm run test:consumer`; `.ci/run` runs it):
//  1. `npm pack` this repo (build it first: `npm run build`);
//  2. `npm install <tarball>` into an empty temporary app, with only the npm registry and no
//     environment variables: it must succeed, stay under the install budget, install one
//     @tensorflow/tfjs-core and none of the optional peers (onnxruntime-node, tfjs backends);
//  3. ESM `import` and CommonJS `require` of 'irsde' and 'irsde/node' compute the same SDE
//     numbers, print nothing (no tfjs banner), and `irsde/node` names onnxruntime-node when it is
//     missing; `selectBackend()` names the tfjs backend to install; the CLI starts; after `npm install @tensorflow/tfjs-backend-cpu`, `selectBackend()` runs the SDE
//     on tfjs tensors, on the app's own (single) tfjs-core, still without a banner;
//  4. TypeScript type-checks a small app against the package's declarations, with
//     moduleResolution node16 (ESM and CommonJS files) and bundler, without Node's types;
//  5. esbuild bundles `import ... from 'irsde'` for browsers (--platform=browser); the bundle's
//     metafile must show no Node built-in or Node-only package reached from irsde (checked again
//     on a copy of the package whose main entry imports 'node:fs', which must be caught);
//  6. headless Chromium (Debian's `chromium`) loads the bundle and computes SDE quantities, which
//     must equal Node's.
//  7. examples/custom-network.ts and examples/layers-network.ts (your own network) run in the app
//     against the installed package, with tfjs-layers and onnxruntime-node added.
// Prints each step; exits non-zero on the first failure. Options: --keep (leave the app folder).
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPageInChromium as runInChromium } from './headless-chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The install budget of a plain `npm install irsde` (node_modules, bytes on disk). */
const BUDGET_BYTES = 60e6;
const keep = process.argv.includes('--keep');
const started = Date.now();

function step(msg) {
  console.log(`consumer-test [${((Date.now() - started) / 1000).toFixed(0)} s] ${msg}`);
}

function fail(msg) {
  console.error(`consumer-test FAILED: ${msg}`);
  process.exit(1);
}

/** Runs a command; returns stdout (stderr must be empty unless allowStderr). */
function run(cmd, args, { cwd, env, allowStderr = false, input } = {}) {
  const r = spawnSync(cmd, args, { cwd, env: env ?? process.env, encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  if (!allowStderr && r.stderr.trim() !== '') fail(`${cmd} ${args.join(' ')} printed to stderr:\n${r.stderr}`);
  return r.stdout;
}

/** The environment of a plain install: no ONNXRUNTIME_NODE_INSTALL, no npm_config_* from a parent npm. */
function plainEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'ONNXRUNTIME_NODE_INSTALL' || k.toLowerCase().startsWith('npm_')) continue;
    env[k] = v;
  }
  return env;
}

/** Disk usage of a folder in bytes (512-byte blocks as allocated, like `du`), and apparent bytes. */
function usage(dir) {
  let disk = 0;
  let apparent = 0;
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p, { throwIfNoEntry: false });
      if (s === undefined) continue;
      if (s.isDirectory()) walk(p);
      else {
        disk += s.blocks * 512;
        apparent += s.size;
      }
    }
  };
  walk(dir);
  return { disk, apparent };
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

// --- 1. pack ---------------------------------------------------------------------------------
for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/node.js', 'dist/cli.js', 'dist/index.d.ts']) {
  if (!existsSync(join(ROOT, f))) fail(`${f} is missing: run npm run build first`);
}
const work = mkdtempSync(join(tmpdir(), 'irsde-consumer-'));
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, allowStderr: true }))[0];
const tarball = join(work, packed.filename);
step(`packed ${packed.filename}: ${packed.entryCount} files, ${mb(packed.size)} packed, ${mb(packed.unpackedSize)} unpacked`);
const stray = packed.files.map((f) => f.path).filter((p) => !/^(dist\/|models\/|README\.md$|LICENSE|package\.json$)/.test(p));
if (stray.length > 0) fail(`the tarball holds files a user does not need: ${stray.join(', ')}`);

// --- 2. plain install ------------------------------------------------------------------------
const app = join(work, 'app');
mkdirSync(app);
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'irsde-consumer', version: '1.0.0', private: true }, null, 2));
run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env: plainEnv(), allowStderr: true });
const size = usage(join(app, 'node_modules'));
step(`npm install <tarball> (no environment variables): node_modules ${mb(size.disk)} on disk (${mb(size.apparent)} of file contents); budget ${mb(BUDGET_BYTES)}`);
if (size.disk >= BUDGET_BYTES || size.apparent >= BUDGET_BYTES) fail(`the install takes ${mb(Math.max(size.disk, size.apparent))}, over the ${mb(BUDGET_BYTES)} budget`);
const installed = (name) => existsSync(join(app, 'node_modules', name, 'package.json'));
for (const optional of ['onnxruntime-node', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu']) {
  if (installed(optional)) fail(`${optional} was installed, although it is an optional peer dependency`);
}
if (!installed('@tensorflow/tfjs-core')) fail('@tensorflow/tfjs-core (a peer dependency) was not installed next to irsde');
const cores = run('find', [join(app, 'node_modules'), '-path', '*/@tensorflow/tfjs-core/package.json']).trim().split('\n').filter(Boolean);
if (cores.length !== 1) fail(`expected one @tensorflow/tfjs-core in the app, found ${cores.length}: ${cores.join(', ')}`);

// --- 3. ESM import, CommonJS require ---------------------------------------------------------
const PROBE = `
  const sde = new irsde.MeanRevertingSDE({ T: 100, maxSigma: irsde.from255(10), schedule: 'cosine', eps: 0.005 }, adv.hostBackend);
  const x = adv.hostBackend.fromArray([0.25, 0.5], [2, 1]);
  const mu = adv.hostBackend.fromArray([0.75, 0.5], [2, 1]);
  let ort;
  try { node.loadNodeOrt(); ort = 'loaded'; } catch (e) { ort = e.message; }
  console.log(JSON.stringify({ sigmaBar50: sde.sigmaBar(50), muBar: Array.from(sde.muBar(x, mu, [10, 90]).data), ort, sameApi: node.MeanRevertingSDE === irsde.MeanRevertingSDE && adv.MeanRevertingSDE === irsde.MeanRevertingSDE, advanced: typeof adv.sdeJump === 'function' && typeof adv.Adam === 'function' && !('sdeJump' in irsde) }));
`;
const esm = JSON.parse(run(process.execPath, ['--input-type=module', '-e', `import * as irsde from 'irsde'; import * as node from 'irsde/node'; import * as adv from 'irsde/advanced';${PROBE}`], { cwd: app }));
const cjs = JSON.parse(run(process.execPath, ['--input-type=commonjs', '-e', `const irsde = require('irsde'); const node = require('irsde/node'); const adv = require('irsde/advanced');${PROBE}`], { cwd: app }));
if (JSON.stringify(esm) !== JSON.stringify(cjs)) fail(`import and require disagree: ${JSON.stringify(esm)} vs ${JSON.stringify(cjs)}`);
if (!esm.sameApi) fail("'irsde/node' or 'irsde/advanced' does not re-export the same classes as 'irsde'");
if (!esm.advanced) fail("'irsde/advanced' lacks its building blocks (sdeJump, Adam), or 'irsde' exports them");
if (!/onnxruntime-node/.test(esm.ort) || !/npm install onnxruntime-node/.test(esm.ort)) fail(`loadNodeOrt() without onnxruntime-node should name the package and how to install it, said: ${esm.ort}`);
step(`ESM import and CommonJS require agree (sigmaBar(50) = ${esm.sigmaBar50}); no output on import; without ORT: "${esm.ort}"`);

const noBackend = JSON.parse(run(process.execPath, ['--input-type=module', '-e', "import { selectBackend } from 'irsde'; selectBackend().then(() => console.log('{}'), (e) => console.log(JSON.stringify({ error: e.message })));"], { cwd: app }));
if (!/no tfjs backend is installed; npm install @tensorflow\/tfjs-backend-wasm/.test(noBackend.error ?? '')) fail(`selectBackend() with no tfjs backend installed should say what to install, said: ${JSON.stringify(noBackend)}`);
const help = run(process.execPath, [join(app, 'node_modules/irsde/dist/cli.js'), '--help'], { cwd: app });
if (!/restore/.test(help)) fail(`irsde --help printed no command list:\n${help}`);
step(`without a tfjs backend: selectBackend() says "${noBackend.error}"; the irsde CLI starts (--help)`);

run('npm', ['install', '--no-audit', '--no-fund', '@tensorflow/tfjs-backend-cpu@^4.22.0'], { cwd: app, env: plainEnv(), allowStderr: true });
const TENSORS = `
  const backend = await irsde.selectBackend();
  const sde = new irsde.MeanRevertingSDE({ T: 100, maxSigma: irsde.from255(10), schedule: 'cosine', eps: 0.005 });
  const x0 = tf.fill([1, 4, 4, 3], 0.25);
  const mu = tf.fill([1, 4, 4, 3], 0.75);
  const m = sde.muBar(x0, mu, 10);
  console.log(JSON.stringify({ backend, active: tf.getBackend(), muBar: m.dataSync()[0], tensors: tf.memory().numTensors }));
`;
const tensors = JSON.parse(run(process.execPath, ['--input-type=module', '-e', `import * as tf from '@tensorflow/tfjs-core'; import * as irsde from 'irsde';${TENSORS}`], { cwd: app }));
if (tensors.backend !== 'cpu' || tensors.active !== 'cpu') fail(`selectBackend() with only tfjs-backend-cpu installed gave ${tensors.backend} (tf.getBackend() ${tensors.active})`);
if (Math.abs(tensors.muBar - esm.muBar[0]) > 1e-6) fail(`muBar on tfjs (${tensors.muBar}) differs from the host backend (${esm.muBar[0]})`);
const coresAfter = run('find', [join(app, 'node_modules'), '-path', '*/@tensorflow/tfjs-core/package.json']).trim().split('\n').filter(Boolean);
if (coresAfter.length !== 1) fail(`after adding tfjs-backend-cpu, ${coresAfter.length} copies of tfjs-core are installed`);
step(`with @tensorflow/tfjs-backend-cpu added: selectBackend() -> '${tensors.backend}', tfjs tensors on the app's one tfjs-core agree with the host backend, no banner`);

// The main job as a user runs it: `irsde restore` with the shipped model (no --weights), on a
// held-out noisy crop (scikit-image's noise, sigma 25), on the tfjs backend the app installed.
copyFileSync(join(ROOT, 'test/fixtures/metrics/camera_s25.png'), join(app, 'noisy.png'));
copyFileSync(join(ROOT, 'test/fixtures/metrics/camera_gt.png'), join(app, 'clean.png'));
const restoreLog = run(process.execPath, [join(app, 'node_modules/irsde/dist/cli.js'), 'restore', 'noisy.png', 'restored.png'], { cwd: app, allowStderr: true });
/** PSNR of a degraded and a restored image against the clean one, computed in the app with irsde. */
const scoresOf = (degraded, restored, clean) => JSON.parse(run(process.execPath, ['--input-type=module', '-e',
  `import { psnr } from 'irsde'; import { readImage } from 'irsde/node'; const [n, r, c] = await Promise.all(${JSON.stringify([degraded, restored, clean])}.map((f) => readImage(f + '.png'))); console.log(JSON.stringify({ degraded: psnr(n, c), restored: psnr(r, c) }));`], { cwd: app }));
const scores = scoresOf('noisy', 'restored', 'clean');
if (!(scores.restored > scores.degraded + 3)) fail(`irsde restore with the shipped model: ${scores.degraded.toFixed(2)} -> ${scores.restored.toFixed(2)} dB (expected a gain above 3 dB); it said:\n${restoreLog}`);
step(`irsde restore with the shipped model (no --weights, tfjs-backend-cpu): ${scores.degraded.toFixed(2)} -> ${scores.restored.toFixed(2)} dB on a held-out noisy crop`);

// The README's three-line pipeline, as written (its first ts block after the heading), run in the
// app: loadRestorerFile() with no path finds the shipped model inside node_modules/irsde/models/.
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const three = /## Restoring a photo in three lines[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
if (three === undefined || !/loadRestorerFile\(\)/.test(three)) fail("README.md: no three-line pipeline block calling loadRestorerFile() under '## Restoring a photo in three lines'");
rmSync(join(app, 'restored.png'), { force: true });
writeFileSync(join(app, 'three-lines.mjs'), three);
run(process.execPath, ['three-lines.mjs'], { cwd: app, allowStderr: true });
const shipped = run(process.execPath, ['--input-type=module', '-e', "import { shippedModelPath } from 'irsde/node'; console.log(shippedModelPath());"], { cwd: app }).trim();
if (realpathSync(shipped) !== realpathSync(join(app, 'node_modules/irsde/models/denoise-blind.safetensors'))) fail(`shippedModelPath() from the installed package gave ${shipped}, not node_modules/irsde/models/denoise-blind.safetensors`);
const threeScores = scoresOf('noisy', 'restored', 'clean');
if (!(threeScores.restored > threeScores.degraded + 3)) fail(`the README's three lines: ${threeScores.degraded.toFixed(2)} -> ${threeScores.restored.toFixed(2)} dB (expected a gain above 3 dB)`);
step(`the README's three lines run as written in the app (loadRestorerFile() finds ${relative(app, shipped)}): ${threeScores.degraded.toFixed(2)} -> ${threeScores.restored.toFixed(2)} dB`);

// Deraining with the shipped model (`--task derain`) on a held-out photo crop, rain made in the app.
const RAIN = "import { Rng, cropImage, rainStreaks } from 'irsde/advanced'; import { readImage, writeImage } from 'irsde/node'; const p = await readImage('photo.png'); const c = cropImage(p, (p.height - 128) >> 1, (p.width - 128) >> 1, 128, 128); await writeImage('dry.png', c); await writeImage('rainy.png', rainStreaks(c, {}, new Rng(5)));";
copyFileSync(join(process.env.IRSDE_SHARED ?? join(ROOT, '../shared'), 'data/images/astronaut.png'), join(app, 'photo.png'));
run(process.execPath, ['--input-type=module', '-e', RAIN], { cwd: app });
// The npm package carries the denoiser only: --task derain says where the model is; --weights
// with the repository's file derains.
const taskRun = spawnSync(process.execPath, [join(app, 'node_modules/irsde/dist/cli.js'), 'restore', 'rainy.png', 'derained.png', '--task', 'derain'], { cwd: app, encoding: 'utf8' });
const noTask = taskRun.stderr;
if (taskRun.status === 0 || !/this install has no derain model .*pass --weights FILE/.test(noTask) || noTask.trim().split('\n').length !== 1) fail(`irsde restore --task derain from the npm package should fail in one line naming --weights, said: ${noTask}`);
const derainLog = run(process.execPath, [join(app, 'node_modules/irsde/dist/cli.js'), 'restore', 'rainy.png', 'derained.png', '--weights', join(ROOT, 'models/derain.safetensors')], { cwd: app, allowStderr: true });
const rain = scoresOf('rainy', 'derained', 'dry');
if (!(rain.restored > rain.degraded + 5)) fail(`irsde restore --weights models/derain.safetensors: ${rain.degraded.toFixed(2)} -> ${rain.restored.toFixed(2)} dB (expected a gain above 5 dB); it said:\n${derainLog}`);
step(`irsde restore --weights <repo>/models/derain.safetensors (tfjs-backend-cpu): ${rain.degraded.toFixed(2)} -> ${rain.restored.toFixed(2)} dB on a held-out rainy crop; --task derain from the package says to pass --weights`);

// --- 4. TypeScript ---------------------------------------------------------------------------
const TS_CORE = `
import { MeanRevertingSDE, from255, type MeanRevertingSDEConfig } from 'irsde';
import { hostBackend, type HostTensor } from 'irsde/advanced';
const config: MeanRevertingSDEConfig = { T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 };
const sde = new MeanRevertingSDE<HostTensor>(config, hostBackend);
const s: number = sde.sigmaBar(50);
const many: Float64Array = sde.sigmaBar([1, 2]);
export const out = [s, many];
`;
const TS_NODE = `
import { loadNodeOrt, readImage, type OrtModuleLike } from 'irsde/node';
import { sdeJump, type NoiseModel } from 'irsde/advanced';
export const ort: () => OrtModuleLike = loadNodeOrt;
export const read = readImage;
export const jump = sdeJump;
export type Model = NoiseModel;
`;
const tsDir = join(app, 'ts');
mkdirSync(tsDir);
writeFileSync(join(tsDir, 'core.mts'), TS_CORE);
writeFileSync(join(tsDir, 'node.mts'), TS_NODE);
writeFileSync(join(tsDir, 'core.cts'), TS_CORE.replace(/^import /m, 'import ').replace(/export const out/, 'export const outCjs'));
writeFileSync(join(tsDir, 'node.cts'), TS_NODE);
writeFileSync(join(tsDir, 'bundler.ts'), `${TS_CORE}\n${TS_NODE.replace(/export const (\w+)/g, 'export const $1B')}`);
const common = { strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['ES2022', 'DOM'], target: 'ES2022' };
writeFileSync(join(tsDir, 'tsconfig.node16.json'), JSON.stringify({ compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' }, files: ['core.mts', 'node.mts', 'core.cts', 'node.cts'] }));
writeFileSync(join(tsDir, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' }, files: ['bundler.ts'] }));
const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
for (const config of ['tsconfig.node16.json', 'tsconfig.bundler.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(tsDir, config)], { cwd: tsDir, encoding: 'utf8' });
  // Errors inside tfjs-core's own declarations are not ours to fix: only ours must be clean.
  const ours = (r.stdout + r.stderr).split('\n').filter((l) => /error TS/.test(l) && !/node_modules\/@tensorflow\//.test(l) && !/node_modules\/@webgpu\//.test(l));
  if (ours.length > 0) fail(`tsc -p ${config}:\n${ours.join('\n')}`);
}
step('TypeScript: a small app type-checks against the declarations (node16 ESM + CommonJS, bundler; no Node types, skipLibCheck off)');

// --- 5. browser bundle -----------------------------------------------------------------------
const esbuild = join(ROOT, 'node_modules/.bin/esbuild');
const web = join(app, 'web');
mkdirSync(web);
writeFileSync(join(web, 'main.js'), `
import { MeanRevertingSDE, from255 } from 'irsde';
import { hostBackend } from 'irsde/advanced';
let result;
try {
  const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 }, hostBackend);
  const x = hostBackend.fromArray([0.25, 0.5], [2, 1]);
  const mu = hostBackend.fromArray([0.75, 0.5], [2, 1]);
  result = { status: 'done', sigmaBar50: sde.sigmaBar(50), muBar: Array.from(sde.muBar(x, mu, [10, 90]).data) };
} catch (e) {
  result = { status: 'error: ' + (e && e.stack || e) };
}
await fetch('report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) });
`);
writeFileSync(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><title>irsde consumer</title><script type="module" src="bundle.js"></script>\n');

/**
 * Bundles `entry` for browsers; returns the problems: esbuild's errors, or an input of the irsde
 * package that imports a Node built-in or a Node-only package (per the metafile).
 */
function browserBundle(entry, outfile, extra = []) {
  const meta = `${outfile}.meta.json`;
  const r = spawnSync(esbuild, [entry, '--bundle', '--platform=browser', '--format=esm', '--target=es2022', `--outfile=${outfile}`, `--metafile=${meta}`, '--log-level=error', ...extra], { cwd: app, encoding: 'utf8' });
  const problems = [];
  if (r.status !== 0) problems.push(`esbuild failed: ${r.stderr.trim()}`);
  if (!existsSync(meta)) return problems;
  const builtins = new Set(builtinModules);
  const inputs = JSON.parse(readFileSync(meta, 'utf8')).inputs;
  for (const [path, input] of Object.entries(inputs)) {
    if (!/node_modules\/irsde\//.test(path)) continue;
    for (const imp of input.imports) {
      const spec = imp.original ?? imp.path;
      const bare = spec.replace(/^\(disabled\):/, '');
      if (bare.startsWith('node:') || builtins.has(bare.split('/')[0]) || /^onnxruntime-node/.test(bare) || imp.path.startsWith('(disabled):')) {
        problems.push(`${path} imports '${spec}', a Node-only module`);
      }
    }
  }
  return problems;
}

const problems = browserBundle(join(web, 'main.js'), join(web, 'bundle.js'));
if (problems.length > 0) fail(`the main entry does not bundle for browsers:\n${problems.join('\n')}`);
const bundleSize = statSync(join(web, 'bundle.js')).size;
writeFileSync(join(web, 'advanced.js'), "import * as adv from 'irsde/advanced';\nconsole.log(Object.keys(adv).length);\n");
const advancedProblems = browserBundle(join(web, 'advanced.js'), join(web, 'advanced-bundle.js'));
if (advancedProblems.length > 0) fail(`'irsde/advanced' does not bundle for browsers:\n${advancedProblems.join('\n')}`);
// A page that restores off its main thread: the worker restorer of 'irsde/web' and the worker
// script 'irsde/worker', bundled as the README says (the worker as an entry point of its own).
writeFileSync(join(web, 'worker-app.js'), "import { loadWorkerRestorer } from 'irsde/web';\nexport const load = (url) => loadWorkerRestorer(url, { worker: () => new Worker(new URL('./restore-worker.js', import.meta.url), { type: 'module' }) });\n");
writeFileSync(join(web, 'restore-worker.js'), "import 'irsde/worker';\n");
// The engines are optional peers this app did not install (a page restoring with them would):
// left to the app's own install, the rest of irsde must bundle.
const peers = ['--external:onnxruntime-web', '--external:@tensorflow/tfjs-backend-wasm'];
const workerProblems = [...browserBundle(join(web, 'worker-app.js'), join(web, 'worker-app-bundle.js'), peers), ...browserBundle(join(web, 'restore-worker.js'), join(web, 'restore-worker-bundle.js'), peers)];
if (workerProblems.length > 0) fail(`an app with the worker restorer does not bundle for browsers:\n${workerProblems.join('\n')}`);
const workerSize = statSync(join(web, 'restore-worker-bundle.js')).size;
// The check itself must catch a Node built-in in the main entry: try it on a tampered copy.
const tampered = join(work, 'tampered');
cpSync(join(app, 'node_modules'), join(tampered, 'node_modules'), { recursive: true });
const indexJs = join(tampered, 'node_modules/irsde/dist/index.js');
writeFileSync(indexJs, `import { readFileSync as __probe } from 'node:fs';\nexport const __probeRead = __probe;\n${readFileSync(indexJs, 'utf8')}`);
writeFileSync(join(tampered, 'main.js'), "import { MeanRevertingSDE } from 'irsde';\nconsole.log(MeanRevertingSDE);\n");
const caught = browserBundle(join(tampered, 'main.js'), join(tampered, 'bundle.js'));
if (caught.length === 0) fail("the browser-bundle check missed a 'node:fs' import planted in irsde's main entry");
rmSync(tampered, { recursive: true, force: true });
step(`esbuild --platform=browser bundles 'irsde' (${(bundleSize / 1e3).toFixed(0)} kB), 'irsde/advanced', and an app with the worker restorer ('irsde/web' + the 'irsde/worker' script, ${(workerSize / 1e3).toFixed(0)} kB) with no Node built-in reached; the same check catches 'node:fs' planted in dist/index.js (${caught[0].split('\n')[0].slice(0, 120)})`);

// --- 6. headless Chromium --------------------------------------------------------------------
const page = await runInChromium({ root: web, page: 'index.html', timeoutS: 120 });
if (page.status !== 'done') fail(`headless Chromium: ${page.status}`);
if (page.sigmaBar50 !== esm.sigmaBar50 || JSON.stringify(page.muBar) !== JSON.stringify(esm.muBar)) {
  fail(`Chromium computed ${JSON.stringify(page)}, Node ${JSON.stringify(esm)}`);
}
step(`headless Chromium ran the bundle: sigmaBar(50) = ${page.sigmaBar50} and muBar as in Node`);

// --- 7. your own network: the two examples, run against the installed package ----------------
// examples/custom-network.ts (a module/ops network: tfjs and ONNX Runtime training, model file,
// ONNX export, Restorer) and examples/layers-network.ts (a tfjs-layers model), copied into the app
// as a user's own files and run with tsx, importing 'irsde' from node_modules. Last, so that the
// optional peers they need do not change the checks above: @tensorflow/tfjs-layers and
// @tensorflow/tfjs-backend-wasm (training on tfjs-backend-cpu alone is ~20x slower) from the
// registry (neither has install scripts), onnxruntime-node linked from this repository (its
// 290 MB download skipped; it depends on no tfjs).
run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '@tensorflow/tfjs-layers@^4.22.0', '@tensorflow/tfjs-backend-wasm@^4.22.0'], { cwd: app, env: plainEnv(), allowStderr: true });
const coresLayers = run('find', [join(app, 'node_modules'), '-path', '*/@tensorflow/tfjs-core/package.json']).trim().split('\n').filter(Boolean);
if (coresLayers.length !== 1) fail(`after adding tfjs-layers and tfjs-backend-wasm, ${coresLayers.length} copies of tfjs-core are installed`);
symlinkSync(join(ROOT, 'node_modules/onnxruntime-node'), join(app, 'node_modules/onnxruntime-node'), 'dir');
const examplesDir = join(app, 'examples');
mkdirSync(examplesDir);
writeFileSync(join(examplesDir, 'package.json'), JSON.stringify({ type: 'module' }));
const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
for (const name of ['custom-network', 'layers-network']) {
  const source = readFileSync(join(ROOT, `examples/${name}.ts`), 'utf8');
  if (/from '\.\.?\//.test(source)) fail(`examples/${name}.ts imports a relative path: an example must use the public API only`);
  writeFileSync(join(examplesDir, `${name}.ts`), source);
  const t0 = Date.now();
  const out = run(process.execPath, [tsx, `${name}.ts`], { cwd: examplesDir, env: { ...process.env, IRSDE_REQUIRE_ORT: '1' }, allowStderr: true });
  if (!new RegExp(`${name} example: done`).test(out)) fail(`examples/${name}.ts did not finish:\n${out}`);
  const oks = out.split('\n').filter((l) => l.startsWith('ok: '));
  step(`examples/${name}.ts ran against the installed package in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${oks.length} checks (${oks.map((l) => l.slice(4).split(':')[0]).join('; ')})`);
}

if (keep) console.log(`consumer-test: app kept in ${app}`);
else rmSync(work, { recursive: true, force: true });
console.log(`consumer-test: passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
