/**
 * Where a 512x512 tile's time goes when the shipped denoiser (or any model file) runs on ONNX
 * Runtime as `irsde restore` runs it (`exportOnnx(..., { conv3x3: 'winograd' })`, 2 threads,
 * optimisation level 'all'): the median forward time, the effective GFLOP/s (FLOPs as
 * `forwardFlops` counts them: the convolutions' and products' multiply-adds, x2) and, with
 * `--ort-profile`, ONNX Runtime's per-operator profile. `--torch` first times the same network
 * (random weights) in the original PyTorch code (`bench/torch_forward.py`, Debian's python3-torch,
 * same threads) and prints the same-run ratio. NAFNet model files only for `--torch`.
 *
 *   npm run bench:infer -- [--model models/denoise-blind.safetensors] [--size 512] [--runs 6] [--threads 2] [--level all|extended|basic|disabled] [--torch] [--ort-profile] [--top 30]
 *
 * Not part of `npm test`; run it on an idle machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { exportOnnx, forwardFlops, readSafetensors, readModelInfo, isConditional } from '../src/advanced.js';
import { nodeOrt } from '../src/nn/onnx/node.js';
import { findProfile, summariseProfile } from './ort-profile.js';

const PROFILE_PREFIX = '/tmp/irsde-infer-profile';
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/denoise-blind.safetensors' },
    size: { type: 'string', default: '512' },
    runs: { type: 'string', default: '6' },
    threads: { type: 'string', default: '2' },
    level: { type: 'string', default: 'all' },
    'ort-profile': { type: 'boolean', default: false },
    torch: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
  },
});
const S = Number(values.size);
const runs = Number(values.runs);
const bytes = new Uint8Array(readFileSync(values.model));
const info = readModelInfo(bytes);
const config = info.network;
let torchMs: number | null = null;
if (values.torch) {
  if (config.arch !== 'nafnet') throw new Error('--torch: only NAFNet model files (the original code has no unconditional U-Net config of this form)');
  const r = spawnSync('/usr/bin/python3', ['bench/torch_forward.py', JSON.stringify(config), String(S), values.threads, values.runs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/torch_forward.py failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  torchMs = (JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { median_ms: number }).median_ms;
  console.log(`PyTorch (original code, ${values.threads} threads) ${S}x${S}: median ${torchMs.toFixed(0)} ms`);
}
const onnx = exportOnnx(config, readSafetensors(bytes), { conv3x3: 'winograd' });
const profile = values['ort-profile'];
const session = await nodeOrt.InferenceSession.create(onnx, {
  intraOpNumThreads: Number(values.threads),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: values.level as 'all',
  ...(profile ? { enableProfiling: true, profileFilePrefix: PROFILE_PREFIX } : {}),
});
const C = 3;
const x = new Float32Array(C * S * S).map((_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
const feeds: Record<string, unknown> = { xt: new nodeOrt.Tensor('float32', x, [1, C, S, S]), time: new nodeOrt.Tensor('float32', Float32Array.of(1), [1]) };
if (isConditional(config)) feeds.cond = new nodeOrt.Tensor('float32', x, [1, C, S, S]);
const times: number[] = [];
for (let i = 0; i < runs + 1; i++) {
  const t0 = performance.now();
  await session.run(feeds as never);
  if (i > 0) times.push(performance.now() - t0);
}
const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
const gflop = forwardFlops(config, S, S) / 1e9;
console.log(`${values.model} ${S}x${S}: median ${med.toFixed(0)} ms over ${runs} (min ${Math.min(...times).toFixed(0)}), ${gflop.toFixed(1)} GFLOP -> ${(gflop / (med / 1000)).toFixed(1)} GFLOP/s; level ${values.level}, ${values.threads} threads, ${onnx.length} bytes (load ${loadavg()[0].toFixed(2)})`);
if (torchMs !== null) console.log(`ONNX Runtime / PyTorch, same run: ${(med / torchMs).toFixed(2)}x the time (${(gflop / (torchMs / 1000)).toFixed(1)} GFLOP/s in PyTorch)`);
await session.release();
if (profile) {
  const file = findProfile(PROFILE_PREFIX);
  if (file) summariseProfile(file, runs + 1, Number(values.top));
}
