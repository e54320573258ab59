/**
 * `npm run bench:browser`: the U-Net forward pass (1xSxSx3, default 256) in headless Chromium on
 * each browser engine — onnxruntime-web's wasm (threads + SIMD, cross-origin isolated page) and
 * WebGPU providers, tfjs-wasm, tfjs-webgl and tfjs-webgpu — for the nf16/depth3 U-Net and the
 * paper's nf64/depth4 (random weights, seed 1), against onnxruntime-node on the same cores,
 * measured in the same run just before and just after the browser. Median ms per engine;
 * ratio = ms / nodeOrtMs, where nodeOrtMs is the mean of those two medians of onnxruntime-node's
 * faster export (direct or Winograd 3x3 convolutions).
 * ONNX Runtime rows are the faster of the export forms listed in --conv3x3 (both by default).
 *
 *   npx tsx bench/browser/run.ts [--json FILE] [--models nf16_d3,nf64_d4] [--engines ort-web-wasm,...]
 *     [--size 256] [--reps 5] [--threads N] [--conv3x3 direct,winograd] [--fixed-shape]
 *     [--session-options JSON] [--software-models nf16_d3] [--tiering optimized|default]
 *     [--timeout 1800] [--quick]
 *
 * Needs Debian's `chromium` (apt-get install -y chromium). GPU engines run on Chromium's software
 * paths here (SwiftShader), far slower than wasm; they run only the models in --software-models
 * (default none: their rows say they were skipped; nf16_d3 takes tens of minutes there). Engines Chromium does not offer are rows with `ms: null` saying so. Timings are only
 * meaningful on an otherwise idle machine: the load average is printed.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UNet, Rng, exportOnnx, selectBackend, type UNetConfig } from '../../src/index.js';
import { BROWSER_ENGINES, type BrowserEngineName } from '../../src/web.js';
import { createNodeOrtNoiseModel } from '../../src/nn/onnx/node.js';
import { chromiumVersion, copyOrtWebFiles, copyTfjsWasmFiles, findChromium, runInChromium, serveFolder } from '../../scripts/headless-chromium.mjs';
import type { BrowserBenchPlan, BrowserBenchTiming } from './page.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const OUT = join(ROOT, '.bench/browser');

const MODELS: Record<string, UNetConfig> = {
  nf16_d3: { inChannels: 3, outChannels: 3, nf: 16, depth: 3 },
  nf64_d4: { inChannels: 3, outChannels: 3, nf: 64, depth: 4 },
};
const ENGINES: BrowserEngineName[] = ['ort-web-wasm', 'ort-web-webgpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu'];

/** One row of the JSON output. */
interface Row {
  name: string;
  model: string;
  engine: BrowserEngineName;
  /** Median ms in Chromium, or null (engine not offered, skipped, failed: see note). */
  ms: number | null;
  /** onnxruntime-node's median ms on the same input, same run. */
  nodeOrtMs: number | null;
  /** ms / nodeOrtMs. */
  ratio: number | null;
  /** onnxruntime-node's medians before and after the browser run (nodeOrtMs is their mean). */
  nodeOrtRuns?: number[];
  all?: number[];
  conv3x3?: string;
  /** The first call (compilation included), ms. */
  firstMs?: number;
  variants?: Record<string, number | null>;
  threads?: number;
  note?: string;
}

function parseArgs(argv: string[]) {
  const args = {
    json: undefined as string | undefined,
    models: Object.keys(MODELS),
    engines: ENGINES as BrowserEngineName[],
    size: 256,
    reps: 5,
    threads: undefined as number | undefined,
    conv3x3: ['direct', 'winograd'] as ('direct' | 'winograd')[],
    fixedShape: false,
    sessionOptions: undefined as Record<string, unknown> | undefined,
    softwareModels: [] as string[],
    timeout: 3600,
    quick: false,
    tiering: 'optimized' as 'optimized' | 'default',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench:browser: ${a} needs a value`);
      return v;
    };
    const list = () => value().split(',').filter(Boolean);
    if (a === '--json') args.json = value();
    else if (a === '--models') args.models = list();
    else if (a === '--engines') args.engines = list() as BrowserEngineName[];
    else if (a === '--size') args.size = Number(value());
    else if (a === '--reps') args.reps = Number(value());
    else if (a === '--threads') args.threads = Number(value());
    else if (a === '--conv3x3') args.conv3x3 = list() as ('direct' | 'winograd')[];
    else if (a === '--fixed-shape') args.fixedShape = true;
    else if (a === '--session-options') args.sessionOptions = JSON.parse(value()) as Record<string, unknown>;
    else if (a === '--software-models') args.softwareModels = list();
    else if (a === '--timeout') args.timeout = Number(value());
    else if (a === '--quick') args.quick = true;
    else if (a === '--tiering') {
      const v = value();
      if (v !== 'optimized' && v !== 'default') throw new Error(`bench:browser: --tiering takes optimized or default, got '${v}'`);
      args.tiering = v;
    }
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:browser -- [--json FILE] [--models nf16_d3,nf64_d4] [--engines ' + ENGINES.join(',') + '] [--size 256] [--reps 5] [--threads N] [--conv3x3 direct,winograd] [--fixed-shape] [--software-models nf16_d3] [--timeout S] [--quick]');
      process.exit(0);
    } else throw new Error(`bench:browser: unknown argument '${a}' (see --help)`);
  }
  for (const m of args.models) if (!MODELS[m]) throw new Error(`bench:browser: unknown model '${m}' (known: ${Object.keys(MODELS).join(', ')})`);
  for (const e of args.engines) if (!BROWSER_ENGINES.includes(e)) throw new Error(`bench:browser: unknown engine '${e}' (known: ${BROWSER_ENGINES.join(', ')})`);
  for (const c of args.conv3x3) if (c !== 'direct' && c !== 'winograd') throw new Error(`bench:browser: --conv3x3 takes direct and/or winograd, got '${c}'`);
  if (!Number.isInteger(args.size) || args.size < 16 || !Number.isInteger(args.reps) || args.reps < 1) throw new Error('bench:browser: --size must be an integer >= 16 and --reps >= 1');
  if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1)) throw new Error('bench:browser: --threads must be an integer >= 1');
  return args;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** onnxruntime-node on the same input, every core: median ms per export form. */
async function nodeOrt(config: UNetConfig, S: number, forms: ('direct' | 'winograd')[], threads: number, reps: number): Promise<Record<string, number>> {
  const unet = new UNet(config, { seed: 1 });
  const shape = [1, S, S, 3];
  const xt = tf.tensor(Float32Array.from(new Rng(1).uniform(shape)), shape, 'float32');
  const mu = tf.tensor(Float32Array.from(new Rng(2).uniform(shape)), shape, 'float32');
  const out: Record<string, number> = {};
  try {
    for (const conv3x3 of forms) {
      const model = await createNodeOrtNoiseModel(exportOnnx(config, unet.stateDict(), { conv3x3 }), { threads });
      try {
        const once = async () => {
          const t0 = performance.now();
          (await model.predict(xt, mu, 50)).dispose();
          return performance.now() - t0;
        };
        await once();
        const all: number[] = [];
        for (let i = 0; i < reps; i++) all.push(await once());
        out[conv3x3] = median(all);
        console.error(`  node ORT ${config.nf === 16 ? 'nf16_d3' : 'nf64_d4'} ${conv3x3}: ${out[conv3x3].toFixed(0)} ms [${all.map((x) => x.toFixed(0)).join(', ')}] (${threads} threads)`);
      } finally {
        await model.dispose();
      }
    }
  } finally {
    tf.dispose([xt, mu]);
    unet.dispose();
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chromium = findChromium();
  if (!chromium) throw new Error('bench:browser: no Chromium found (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)');
  const cores = args.threads ?? availableParallelism();
  const started = performance.now();
  const load0 = loadavg()[0];
  await selectBackend('cpu');

  // 1. onnxruntime-node, same cores, same inputs; again after the browser (step 3), since the
  // machine's load drifts during a long run: nodeOrtMs is the mean of the two.
  const nodeRuns: Record<string, number[]> = {};
  const timeNode = async (when: string) => {
    console.error(`onnxruntime-node (${cores} threads), ${when}:`);
    for (const key of args.models) {
      const reps = args.quick ? 1 : MODELS[key].nf >= 64 ? 3 : args.reps;
      const forms = await nodeOrt(MODELS[key], args.size, args.conv3x3, cores, reps);
      (nodeRuns[key] ??= []).push(Math.min(...Object.values(forms)));
    }
  };
  await timeNode('before the browser');

  // 2. The page, served cross-origin isolated, in headless Chromium.
  mkdirSync(OUT, { recursive: true });
  await build({ entryPoints: [join(HERE, 'page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(OUT, 'page.js'), logLevel: 'warning' });
  writeFileSync(join(OUT, 'index.html'), '<!doctype html><meta charset="utf-8"><title>irsde browser bench</title><script type="module" src="./page.js"></script>\n');
  copyOrtWebFiles(OUT);
  copyTfjsWasmFiles(OUT);
  const plan: BrowserBenchPlan = {
    models: args.models.map((key) => ({ key, config: MODELS[key] })),
    engines: args.engines,
    size: args.size,
    reps: args.quick ? 1 : args.reps,
    warmup: args.quick ? 1 : 2,
    slowS: 10,
    softwareModels: args.softwareModels,
    conv3x3: args.conv3x3,
    fixedShape: args.fixedShape,
    sessionOptions: args.sessionOptions,
    threads: args.threads,
  };
  const server = await serveFolder(OUT, { onLog: (line) => console.error(`  ${line}`), files: { 'plan.json': new TextEncoder().encode(JSON.stringify(plan)) } });
  console.error(`${chromiumVersion(chromium)}, headless:`);
  // V8 first runs wasm from its baseline compiler (Liftoff) and recompiles hot functions with its
  // optimising compiler (TurboFan) on background threads at low priority; on a busy machine those
  // threads starve and hot code stays in Liftoff for minutes (4x slower). `optimized` compiles
  // everything with TurboFan up front: the state an idle machine reaches after warm-up.
  const extraFlags = args.tiering === 'optimized' ? ['--js-flags=--no-liftoff'] : [];
  const result = await runInChromium(`${server.origin}/index.html?report`, { report: server.report, timeoutS: args.timeout, chromium, extraFlags });
  await server.close();
  if (result.status !== 'done') throw new Error(`bench:browser: the page did not finish: ${result.status}`);
  if (!args.quick) await timeNode('after the browser');
  const nodeMs: Record<string, number> = {};
  for (const [key, v] of Object.entries(nodeRuns)) nodeMs[key] = v.reduce((a, b) => a + b, 0) / v.length;

  const name = `forward 1x${args.size}x${args.size}x3`;
  const rows: Row[] = (result.timings as BrowserBenchTiming[]).map((t) => {
    const node = nodeMs[t.model] ?? null;
    return { name, ...t, nodeOrtMs: node, ratio: t.ms !== null && node !== null ? t.ms / node : null, nodeOrtRuns: nodeRuns[t.model] };
  });
  const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  console.log(`\n${name}, median ms (ratio to onnxruntime-node, ${cores} threads, same run)`);
  console.log('| model | engine | ms | node ORT ms | ratio | note |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const note = [r.conv3x3 ? `${r.conv3x3} 3x3 conv` : '', r.threads ? `${r.threads} threads` : '', r.note ?? ''].filter(Boolean).join('; ');
    console.log(`| ${r.model} | ${r.engine} | ${fmt(r.ms)} | ${fmt(r.nodeOrtMs)} | ${r.ratio === null ? '-' : r.ratio.toFixed(2) + 'x'} | ${note} |`);
  }
  for (const key of args.models) {
    const ort = rows.find((r) => r.model === key && r.engine === 'ort-web-wasm')?.ms;
    const tfw = rows.find((r) => r.model === key && r.engine === 'tfjs-wasm')?.ms;
    if (ort && tfw) console.log(`${key}: ort-web-wasm is ${(tfw / ort).toFixed(1)}x faster than tfjs-wasm`);
  }
  console.log(`wasm tiering: ${args.tiering === 'optimized' ? 'TurboFan up front (--js-flags=--no-liftoff)' : "Chromium's default"}`);
  console.log(`load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end; ${((performance.now() - started) / 1000).toFixed(0)} s; ${result.environment?.userAgent ?? ''}`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
