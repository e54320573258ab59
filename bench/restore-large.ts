/**
 * `irsde restore` on a 4000x3000 photo: the default engine (ONNX Runtime on every core when
 * onnxruntime-node is installed) against `--engine wasm` (tfjs-wasm, one thread), in the same run,
 * as separate processes of the built CLI. Prints wall time, the ratio and each process's peak RSS.
 *
 *   npm run build && npx tsx bench/restore-large.ts [--photo FILE] [--skip-wasm] [--json FILE]
 *
 * The 4000x3000 input is made here (not committed): a photo of ../shared/data/images (default
 * astronaut.png) mirrored and tiled to 4000x3000, plus clipped sigma-25 noise (seed 0), written to
 * .bench/large/noisy-4000x3000.png. The wasm run takes ~15-20 minutes on 2 cores.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createImage, Rng, type FloatImage } from '../src/index.js';
import { gaussianNoise } from '../src/advanced.js';
import { readImage, writeImage } from '../src/node.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = process.env.IRSDE_SHARED ?? resolve(ROOT, '..', 'shared');
const OUT = join(ROOT, '.bench', 'large');
const { values } = parseArgs({
  options: {
    photo: { type: 'string', default: join(SHARED, 'data/images/astronaut.png') },
    'skip-wasm': { type: 'boolean', default: false },
    json: { type: 'string' },
    size: { type: 'string', default: '4000x3000' },
  },
});

/** `img` mirrored and tiled to `height` x `width` (reflection keeps the seams smooth). */
function tileTo(img: FloatImage, height: number, width: number): FloatImage {
  const out = createImage(height, width, img.channels);
  const mirror = (i: number, n: number) => {
    const p = i % (2 * n);
    return p < n ? p : 2 * n - 1 - p;
  };
  for (let y = 0; y < height; y++) {
    const sy = mirror(y, img.height);
    for (let x = 0; x < width; x++) {
      const sx = mirror(x, img.width);
      for (let c = 0; c < img.channels; c++) out.data[(y * width + x) * img.channels + c] = img.data[(sy * img.width + sx) * img.channels + c];
    }
  }
  return out;
}

const [width, height] = values.size.split('x').map(Number);
if (!(width >= 8 && height >= 8)) throw new Error(`--size must be WIDTHxHEIGHT, got '${values.size}'`);
mkdirSync(OUT, { recursive: true });
const input = join(OUT, `noisy-${width}x${height}.png`);
const photo = await readImage(values.photo, { channels: 3 });
await writeImage(input, gaussianNoise(tileTo(photo, height, width), { sigma: 25, clip: true }, new Rng(0)));
console.log(`input: ${input} (${width}x${height} RGB, from ${values.photo} mirrored and tiled, sigma-25 noise)`);

// Each CLI process reports its own peak RSS on exit (portable; no /usr/bin/time needed).
const rssHook = join(OUT, 'peak-rss.cjs');
writeFileSync(rssHook, "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write(`peak-rss-kb ${u.maxRSS} cpu-us ${u.userCPUTime + u.systemCPUTime}\\n`); });\n");

interface Run { engine: string; seconds: number; cpuSeconds: number; peakRssMB: number; summary: string }

async function restoreWith(label: string, extra: string[]): Promise<Run> {
  const output = join(OUT, `restored-${label}.png`);
  const started = performance.now();
  const child = spawn(process.execPath, ['-r', rssHook, join(ROOT, 'dist/cli.js'), 'restore', input, output, ...extra], { stdio: ['ignore', 'inherit', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`irsde restore ${extra.join(' ')} failed (${code}):\n${err}`);
  const summary = err.split('\n').find((l) => l.includes(' -> ')) ?? '';
  const engine = /, ([^,]*(?:, \d+ threads)?), [\d.]+ s\)$/.exec(summary)?.[1] ?? '?';
  const rss = Number(/peak-rss-kb (\d+)/.exec(err)?.[1] ?? NaN) / 1024;
  const cpuSeconds = Number(/cpu-us (\d+)/.exec(err)?.[1] ?? NaN) / 1e6;
  const run = { engine, seconds, cpuSeconds, peakRssMB: rss, summary };
  console.log(`${label.padEnd(8)} ${seconds.toFixed(1).padStart(7)} s wall, ${cpuSeconds.toFixed(1)} s CPU, peak RSS ${rss.toFixed(0)} MB  (${summary.trim()})`);
  return run;
}

const runs: Record<string, Run> = {};
// Not --quiet: the summary line names the engine (no progress bar: stderr is not a terminal).
runs.default = await restoreWith('default', []);
if (!values['skip-wasm']) runs.wasm = await restoreWith('wasm', ['--engine', 'wasm']);
if (runs.wasm) console.log(`default (${runs.default.engine}) is ${(runs.wasm.seconds / runs.default.seconds).toFixed(1)}x faster than --engine wasm (wall time; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), runs }, null, 2));
