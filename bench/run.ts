/**
 * The benchmark against the PyTorch reference (`../shared/reference/torch_timings.json`, or PyTorch
 * timed in the same run with `--torch`): for the UNet at nf=16/depth=3 and
 * nf=64/depth=4 and the NAFNet of the deraining config at width 32 (enc 1,1,1,4,
 * middle 1, dec 1,1,1,1; forward and training rows only), on every engine available here —
 * tfjs-wasm (one thread), tfjs-wasm training on 2 worker threads, and ONNX Runtime (2 threads;
 * inference through `exportOnnx(..., { conv3x3: 'winograd' })`, or with ONNX Conv as engine
 * `ort-direct`; training through the graph of `exportOnnxTrainingGraph`) —
 * - U-Net forward at 1x128x128x3 and 1x256x256x3,
 * - a training step (forward + ML loss + backward + Adam + EMA) at 4x128x128x3,
 * - a full restoration of 1x128x128x3 with 100 `sde` steps, and with 10 and 20 `posterior` steps,
 * each as the median of several runs in ms, the ratio to PyTorch's median (for the posterior rows:
 * to the reference's 100-step reverse SDE, the sampling they replace), tensors leaked and the
 * process's peak RSS so far.
 *
 *   npx tsx bench/run.ts [--quick] [--json FILE] [--torch] [--models nf16_d3,nf64_d4,nafnet_w32] [--engines tfjs-wasm,tfjs-wasm-2w,ort,ort-direct]
 *
 * `--torch`: runs `../shared/reference/time_torch.py` (the original code) with Debian's
 * `python3-torch` first, for the requested networks, and takes the ratios against that run (the
 * same machine, minutes apart) instead of the stored file; says so and falls back to the file
 * when torch is not installed.
 *
 * `--quick`: one repetition, no warm-up beyond the first call, and skips the slow rows (nf=64
 * training and nf=64 restorations on tfjs-wasm). Not part of `npm test`. Timings are only
 * meaningful on an otherwise idle machine: the load average is printed with the table.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  MeanRevertingSDE,
  createNetwork,
  Rng,
  Trainer,
  exportOnnx,
  from255,
  restore,
  selectBackend,
  type BatchSource,
  microBatchGradients,
  createOrtGradients,
  type GradientComputer,
  type NoiseModel,
  type NetworkConfig,
} from '../src/advanced.js';
import { WorkerGradientPool } from '../src/train/parallel/index.js';
import { nodeOrt } from '../src/nn/onnx/node.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REFERENCE_DIR = resolve(process.env.IRSDE_SHARED ?? resolve(HERE, '../../shared'), 'reference');
const REFERENCE = resolve(REFERENCE_DIR, 'torch_timings.json');

interface Args {
  quick: boolean;
  torch: boolean;
  json?: string;
  models: string[];
  engines: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, torch: false, models: ['nf16_d3', 'nf64_d4', 'nafnet_w32'], engines: ['tfjs-wasm', 'tfjs-wasm-2w', 'ort'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--torch') args.torch = true;
    else if (a === '--json') args.json = value();
    else if (a === '--models') args.models = value().split(',');
    else if (a === '--engines') args.engines = value().split(',');
    else if (a === '--help' || a === '-h') {
      console.log('usage: tsx bench/run.ts [--quick] [--json FILE] [--torch] [--models nf16_d3,nf64_d4,nafnet_w32] [--engines tfjs-wasm,tfjs-wasm-2w,ort,ort-direct]');
      process.exit(0);
    } else throw new Error(`bench: unknown argument '${a}' (see --help)`);
  }
  return args;
}

/** One result row (the JSON output is an array of these). */
interface Row {
  name: string;
  model: string;
  engine: string;
  /** Median wall time, ms (null when skipped or failed). */
  ms: number | null;
  /** PyTorch median (2 threads), ms, or null when the reference has no such row. */
  torchMs: number | null;
  /** ms / torchMs. */
  ratio: number | null;
  /** Which reference row torchMs comes from. */
  torchRef?: string;
  reps: number;
  /** All timings, ms. */
  all?: number[];
  /** tf.memory().numTensors after the runs minus before (0 = no leak). */
  leakedTensors?: number;
  /** Peak resident set size of the process so far, MiB. */
  peakRssMiB: number;
  note?: string;
}

interface TorchTiming {
  name: string;
  model: string;
  input_shape: number[];
  median_s: number;
}

function loadReference(file: string): TorchTiming[] {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { timings: TorchTiming[] }).timings;
  } catch (e) {
    console.warn(`bench: no PyTorch reference at ${file} (${(e as Error).message}); ratios left empty`);
    return [];
  }
}

/**
 * Times the original PyTorch code now (`time_torch.py` with Debian's python3-torch) for the
 * requested networks; returns the JSON file it wrote, or null (with the reason printed) when
 * torch is not installed or the run failed.
 */
function timeTorchNow(models: readonly string[]): string | null {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.warn("bench --torch: PyTorch is not installed (apt-get install -y python3-torch python3-torchvision); using the stored reference file instead");
    return null;
  }
  const unet = models.some((m) => m.startsWith('nf'));
  const naf = models.some((m) => m.startsWith('nafnet'));
  const only = unet && naf ? 'all' : naf ? 'nafnet' : 'unet';
  const out = resolve(mkdtempSync(resolve(tmpdir(), 'irsde-torch-')), 'torch_now.json');
  const argv = [resolve(REFERENCE_DIR, 'time_torch.py'), '--only', only, '--out', out, ...(unet && !models.includes('nf64_d4') ? ['--skip-paper'] : [])];
  console.error(`bench --torch: timing the original PyTorch code (${only}) first: ${python} ${argv.join(' ')}`);
  const run = spawnSync(python, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) {
    console.warn(`bench --torch: time_torch.py failed (exit ${run.status}); using the stored reference file instead`);
    return null;
  }
  return out;
}

function torchMs(ref: TorchTiming[], name: string, model: string, shape: number[]): number | null {
  const hit = ref.find((r) => r.name === name && r.model === model && r.input_shape.join(',') === shape.join(','));
  return hit ? hit.median_s * 1000 : null;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Runs `fn` `warmup` times untimed, then `reps` times timed; counts tensors left behind. */
async function measure(fn: () => Promise<void>, reps: number, warmup: number): Promise<{ all: number[]; leaked: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const before = tf.memory().numTensors;
  const all: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    all.push(performance.now() - t0);
  }
  return { all, leaked: tf.memory().numTensors - before };
}

const MODELS: Record<string, NetworkConfig> = {
  nf16_d3: { inChannels: 3, outChannels: 3, nf: 16, depth: 3 },
  nf64_d4: { inChannels: 3, outChannels: 3, nf: 64, depth: 4 },
  // The deraining config's NAFNet at the width time_torch.py times (its key is nafnet_w32).
  nafnet_w32: { arch: 'nafnet', imgChannels: 3, width: 32, encBlocks: [1, 1, 1, 4], middleBlocks: 1, decBlocks: [1, 1, 1, 1] },
};

/** The reference's denoising SDE (T = 100, sigma 50/255, cosine schedule). */
const SDE_CONFIG = { T: 100, maxSigma: from255(50), schedule: 'cosine', eps: 0.005 } as const;

function image(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(Float32Array.from(new Rng(seed).uniform(shape)), shape, 'float32');
}

/** Random image pairs drawn from the trainer's generator (the data pipeline is not what is timed). */
function syntheticData(B: number, S: number): BatchSource {
  return {
    next(rng) {
      const gt = tf.tensor(Float32Array.from(rng.uniform([B, S, S, 3])), [B, S, S, 3]);
      const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(Float32Array.from(rng.normal([B, S, S, 3])), [B, S, S, 3]), 0.1)));
      return { gt, lq };
    },
  };
}

type Plan = { reps: number; warmup: number } | { skip: string };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const torchNow = args.torch ? timeTorchNow(args.models) : null;
  const referenceFile = torchNow ?? REFERENCE;
  const ref = loadReference(referenceFile);
  const backend = await selectBackend('wasm');
  let ortNode: typeof import('../src/nn/onnx/node.js') | null = null;
  if (args.engines.includes('ort') || args.engines.includes('ort-direct')) {
    try {
      ortNode = await import('../src/nn/onnx/node.js');
    } catch (e) {
      console.warn(`bench: ONNX Runtime unavailable, skipping its rows (${(e as Error).message})`);
    }
  }
  const rows: Row[] = [];
  const started = performance.now();
  const load0 = loadavg()[0];

  const record = (r: Omit<Row, 'ratio' | 'peakRssMiB'>) => {
    const row: Row = { ...r, ratio: r.ms !== null && r.torchMs !== null ? r.ms / r.torchMs : null, peakRssMiB: peakRssMiB() };
    rows.push(row);
    const ms = row.ms === null ? '-' : row.ms.toFixed(0);
    console.error(`  ${row.model} ${row.engine} ${row.name}: ${ms} ms${row.ratio !== null ? ` (x${row.ratio.toFixed(2)} PyTorch)` : ''}${row.note ? ` [${row.note}]` : ''}`);
  };

  const run = async (
    base: { name: string; model: string; engine: string; torchMs: number | null; torchRef?: string },
    plan: Plan,
    fn: () => Promise<void>,
  ): Promise<void> => {
    if ('skip' in plan) {
      record({ ...base, ms: null, reps: 0, note: `skipped: ${plan.skip}` });
      return;
    }
    try {
      const { all, leaked } = await measure(fn, plan.reps, plan.warmup);
      record({ ...base, ms: median(all), reps: all.length, all: all.map((x) => Math.round(x)), leakedTensors: leaked });
    } catch (e) {
      record({ ...base, ms: null, reps: 0, note: `failed: ${(e as Error).message.split('\n')[0].slice(0, 200)}` });
    }
  };

  for (const key of args.models) {
    const config = MODELS[key];
    if (!config) throw new Error(`bench: unknown model '${key}' (known: ${Object.keys(MODELS).join(', ')})`);
    const big = config.arch !== 'nafnet' && config.arch !== 'custom' && config.nf >= 64;
    const nafnet = config.arch === 'nafnet';
    const q = args.quick;
    const sde = new MeanRevertingSDE(SDE_CONFIG);
    const net = createNetwork(config, { seed: 1 });
    const fwdRef = (S: number) => torchMs(ref, 'forward_no_grad', key, [1, 3, S, S]);
    const sdeRef = torchMs(ref, 'reverse_sde_100_steps', key, [1, 3, 128, 128]);
    const restoreRows: Array<{ name: string; sampler: 'sde' | 'posterior'; steps: number; torch: number | null; torchRef?: string }> = [
      { name: 'restore sde 100 steps 1x128x128x3', sampler: 'sde', steps: 100, torch: sdeRef, torchRef: 'reverse_sde_100_steps' },
      { name: 'restore posterior 10 steps 1x128x128x3', sampler: 'posterior', steps: 10, torch: sdeRef, torchRef: 'reverse_sde_100_steps' },
      { name: 'restore posterior 20 steps 1x128x128x3', sampler: 'posterior', steps: 20, torch: sdeRef, torchRef: 'reverse_sde_100_steps' },
    ];

    // Inference engines: tfjs-wasm, then ONNX Runtime.
    const inference: Array<{ engine: string; predict: NoiseModel<tf.Tensor>; dispose: () => Promise<void> }> = [];
    if (args.engines.includes('tfjs-wasm')) inference.push({ engine: `tfjs-${backend}`, predict: net.noiseModel, dispose: async () => undefined });
    // 'ort': the fast export (Winograd 3x3 convolutions); 'ort-direct': ONNX Conv as PyTorch computes it.
    const ortVariants = [
      { flag: 'ort-direct', engine: 'ort-node-2t-direct', conv3x3: 'direct' as const },
      { flag: 'ort', engine: 'ort-node-2t', conv3x3: 'winograd' as const },
    ];
    for (const v of ortVariants) {
      if (!ortNode || !args.engines.includes(v.flag)) continue;
      try {
        const onnx = exportOnnx(config, net.stateDict(), { conv3x3: v.conv3x3 });
        const ortModel = await ortNode.createNodeOrtNoiseModel(onnx, { threads: 2 });
        inference.push({ engine: v.engine, predict: ortModel.noiseModel, dispose: () => ortModel.dispose() });
      } catch (e) {
        console.warn(`bench: could not build the ONNX model for ${key}: ${(e as Error).message}`);
      }
    }
    for (const eng of inference) {
      const isWasm = eng.engine.startsWith('tfjs');
      for (const S of [128, 256]) {
        const xt = image([1, S, S, 3], 1);
        const mu = image([1, S, S, 3], 2);
        const plan: Plan = q ? { reps: 1, warmup: S === 128 ? 1 : 0 } : big && isWasm ? { reps: S === 128 ? 3 : 1, warmup: S === 128 ? 1 : 0 } : { reps: S === 128 ? 5 : 3, warmup: 1 };
        await run({ name: `forward 1x${S}x${S}x3`, model: key, engine: eng.engine, torchMs: fwdRef(S), torchRef: 'forward_no_grad' }, plan, async () => {
          const y = await eng.predict(xt, mu, 50);
          y.dataSync();
          y.dispose();
        });
        tf.dispose([xt, mu]);
      }
      const lq = image([1, 128, 128, 3], 3);
      // The NAFNet rows are the network's own cost (forward, training); restoration is the U-Net's.
      for (const r of nafnet ? [] : restoreRows) {
        let plan: Plan = q ? { reps: 1, warmup: 0 } : { reps: r.steps >= 100 ? 1 : 3, warmup: 0 };
        if (big && isWasm && (q || r.steps > 10)) plan = { skip: `too slow on one wasm thread (about ${r.steps} forwards)` };
        else if (big && isWasm) plan = { reps: 1, warmup: 0 };
        await run({ name: r.name, model: key, engine: eng.engine, torchMs: r.torch, torchRef: r.torchRef }, plan, async () => {
          const x0 = await restore({ sde, model: eng.predict, lq, sampler: r.sampler, steps: r.steps, seed: 1 });
          x0.dataSync();
          x0.dispose();
        });
      }
      lq.dispose();
      await eng.dispose();
    }

    // Training: one wasm thread, then 2 worker threads (each its own wasm backend).
    const trainRef = torchMs(ref, 'train_step_adam', key, [4, 3, 128, 128]);
    // wasm's heap is 4 GiB: a 4x128x128 backward does not fit at once, so each thread
    // differentiates chunks (same gradient up to rounding, see microBatchGradients).
    const chunk = big ? 1 : 2;
    const trainEngines: Array<{ engine: string; gradients: () => GradientComputer; skip?: string }> = [];
    if (args.engines.includes('tfjs-wasm-2w')) {
      trainEngines.push({
        engine: `tfjs-${backend}-2w`,
        gradients: () => new WorkerGradientPool({ workers: 2, backend, microBatch: chunk }),
        // Measured: the worker aborts (heap exhausted) in its first item's backward pass.
        ...(big ? { skip: "one item's backward pass does not fit in a wasm heap (4 GiB) at nf=64" } : {}),
      });
    }
    if (args.engines.includes('tfjs-wasm')) {
      trainEngines.push({
        engine: `tfjs-${backend}`,
        gradients: () => microBatchGradients(chunk),
        // The optimiser state is on the host now, but weights, gradients and one item's backward
        // pass still overflow the 4 GiB heap at nf=64.
        ...(big ? { skip: 'does not fit in one wasm heap (4 GiB) at nf=64' } : {}),
      });
    }
    if (args.engines.includes('ort')) {
      trainEngines.push({
        engine: 'ort',
        gradients: () => createOrtGradients({ ort: nodeOrt }),
      });
    }
    for (const te of trainEngines) {
      // ORT at nf=64: ~11 s a step; the median of 3 after a warm-up (the first step also builds the
      // session and faults in ~8 GB).
      const bigPlan = te.engine === 'ort' ? { reps: 3, warmup: 1 } : { reps: 1, warmup: 1 };
      const plan: Plan = te.skip ? { skip: te.skip } : big && q ? { skip: 'slow (--quick)' } : q ? { reps: 1, warmup: 1 } : big ? bigPlan : { reps: 3, warmup: 1 };
      const pool = 'skip' in plan ? undefined : te.gradients();
      const trainer = new Trainer({ sde, model: net, data: syntheticData(4, 128), config: { seed: 1, lr: 1e-5 }, gradients: pool });
      const base = { name: 'train step 4x128x128x3', model: key, engine: te.engine, torchMs: trainRef, torchRef: 'train_step_adam' };
      await run(base, plan, async () => {
        await trainer.trainStep();
      });
      if (rows[rows.length - 1].ms !== null && te.engine !== 'ort') rows[rows.length - 1].note = `chunks of ${chunk} per thread`;
      trainer.dispose();
      await pool?.dispose?.();
    }
    net.dispose();
  }

  const totalS = (performance.now() - started) / 1000;
  printTable(rows);
  console.log(`\nbackend ${backend}; load average 1 min: ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (2 cores); ` +
    `total ${totalS.toFixed(0)} s; peak RSS ${peakRssMiB()} MiB; ratio = ours / PyTorch (2 threads, ${torchNow !== null ? 'timed in this run' : `from ${referenceFile}`})`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ meta: { date: new Date().toISOString(), quick: args.quick, backend, loadavgStart: load0, loadavgEnd: loadavg()[0], totalS, reference: referenceFile, torchTimedNow: torchNow !== null }, rows }, null, 1));
    console.log(`wrote ${args.json}`);
  }
}

function printTable(rows: Row[]): void {
  const head = ['model', 'engine', 'work', 'ms', 'PyTorch ms', 'ratio', 'leaked', 'peak RSS MiB'];
  const body = rows.map((r) => [
    r.model,
    r.engine,
    r.name,
    r.ms === null ? (r.note ?? '-') : r.ms.toFixed(0),
    r.torchMs === null ? '-' : r.torchMs.toFixed(0),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.leakedTensors === undefined ? '-' : String(r.leakedTensors),
    String(r.peakRssMiB),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const b of body) console.log(line(b));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
