/**
 * Where one training step's time goes, on ONNX Runtime: wall-clock spans of the trainer's step
 * (batch, training state and loss set-up in tfjs, weights out of tfjs, ORT's run, gradients back,
 * Adam, EMA) and, with `--ort-profile`, ONNX Runtime's own per-operator profile of the run
 * (summed by operator type, the top nodes listed).
 *
 *   npm run bench:train-profile -- [--model nafnet_w32|nafnet_denoise|nf16_d3] [--batch 4] [--crop 128] [--steps 8] [--ort-profile] [--top 30]
 *
 * `nafnet_w32` is the bench's conditional NAFNet (enc 1,1,1,4); `nafnet_denoise` the shipped
 * denoiser's unconditional one (enc 2,2,4, middle 4; train it with `--batch 8 --crop 64`).
 * `ORTOPTS='{"enableMemPattern":true}'` passes further ORT session options, to compare them.
 *
 * Not part of `npm test`; run it on an idle machine.
 */
import { findProfile, summariseProfile } from './ort-profile.js';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { MeanRevertingSDE, Rng, Trainer, createNetwork, createOrtGradients, from255, selectBackend, type BatchSource, type GradientComputer, type NetworkConfig } from '../src/advanced.js';
import { nodeOrt } from '../src/nn/onnx/node.js';

const PROFILE_PREFIX = '/tmp/irsde-ort-profile';

const MODELS: Record<string, NetworkConfig> = {
  nf16_d3: { inChannels: 3, outChannels: 3, nf: 16, depth: 3 },
  nafnet_w32: { arch: 'nafnet', imgChannels: 3, width: 32, encBlocks: [1, 1, 1, 4], middleBlocks: 1, decBlocks: [1, 1, 1, 1] },
  nafnet_denoise: { arch: 'nafnet', imgChannels: 3, width: 32, encBlocks: [2, 2, 4], middleBlocks: 4, decBlocks: [2, 2, 2], conditional: false },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

function data(B: number, S: number): BatchSource {
  return {
    next(rng: Rng) {
      const gt = tf.tensor(Float32Array.from(rng.uniform([B, S, S, 3])), [B, S, S, 3]);
      const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(Float32Array.from(rng.normal([B, S, S, 3])), [B, S, S, 3]), 0.1)));
      return { gt, lq };
    },
  };
}

async function main(): Promise<void> {
  const key = arg('--model', 'nafnet_w32');
  const B = Number(arg('--batch', '4'));
  const S = Number(arg('--crop', '128'));
  const steps = Number(arg('--steps', '8'));
  const ortProfile = process.argv.includes('--ort-profile');
  const config = MODELS[key];
  if (!config) throw new Error(`unknown model ${key}`);
  await selectBackend('wasm');
  const ort = nodeOrt;
  const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(50), schedule: 'cosine', eps: 0.005 });
  const net = createNetwork(config, { seed: 1 });
  const spans = new Map<string, number[]>();
  const span = (name: string, ms: number) => (spans.get(name) ?? spans.set(name, []).get(name))!.push(ms);
  const inner = createOrtGradients({
    ort, threads: Number(process.env.THREADS ?? 2), onTiming: (phase, ms) => span(`ort ${phase}`, ms),
    ...(process.env.ORTOPTS ? { sessionOptions: JSON.parse(process.env.ORTOPTS) } : {}),
    ...(ortProfile ? { sessionOptions: { enableProfiling: true, profileFilePrefix: PROFILE_PREFIX } } : {}),
  });
  const gradients: GradientComputer = {
    async compute(task) {
      const t0 = performance.now();
      const r = await inner.compute(task);
      span('gradients.compute (total)', performance.now() - t0);
      return r;
    },
  };
  const trainer = new Trainer({ sde, model: net, data: data(B, S), config: { seed: 1, lr: 1e-5 }, gradients });
  // Patch spans around the optimiser and EMA (the trainer's own step is timed whole).
  const adamStep = trainer.optimizer.step.bind(trainer.optimizer);
  trainer.optimizer.step = (v, g, s) => {
    const t0 = performance.now();
    adamStep(v, g, s);
    span('adam', performance.now() - t0);
  };
  if (trainer.ema) {
    const emaUpdate = trainer.ema.update.bind(trainer.ema);
    trainer.ema.update = (w) => {
      const t0 = performance.now();
      emaUpdate(w);
      span('ema', performance.now() - t0);
    };
  }
  const totals: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const r = await trainer.trainStep();
    if (i >= 2) totals.push(r.ms);
    else spans.clear();
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`${key} train step ${B}x${S}x${S}: median ${med(totals).toFixed(0)} ms over ${totals.length} (load ${loadavg()[0].toFixed(2)})`);
  for (const [k, v] of spans) console.log(`  ${k}: median ${med(v).toFixed(1)} ms`);
  trainer.dispose();
  await inner.dispose();
  if (ortProfile) {
    const file = findProfile(PROFILE_PREFIX);
    if (file) summariseProfile(file, steps + 2, Number(arg('--top', '30')));
    else console.log('no ORT profile file written');
  }
}

await main();
