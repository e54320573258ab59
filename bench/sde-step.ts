/**
 * Per-step cost of the SDE maths itself (no network) on a 1x256x256x3 float32 tensor, for each
 * tensor backend, so it can be set against a network's cost per step.
 *
 *   npx tsx bench/sde-step.ts            (not part of npm test)
 *
 * Measured per backend (median of several runs, milliseconds):
 * - noise draw: `backend.randomNormal` (Philox on the host, then upload);
 * - reverseSdeStep: one Euler–Maruyama step of the paper's sampler (score from noise + step,
 *   noise drawn inside), i.e. what the `sde` sampler adds to each model call;
 * - posterior step: one `posteriorJump` (x0_hat, exact posterior mean, noise), what the
 *   `posterior` sampler adds to each model call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MeanRevertingSDE, Rng, from255, hostBackend, posteriorJump, tfjsBackend, type TensorBackend, selectBackend } from '../src/advanced.js';

const SHAPE = [1, 256, 256, 3];
const N = SHAPE.reduce((a, b) => a * b, 1);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs `fn` (which must finish its work synchronously, downloads included) and returns ms. */
function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function bench<X>(label: string, backend: TensorBackend<X>): void {
  const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 }, backend);
  const r = new Rng(1);
  const x = backend.fromArray(r.normal(SHAPE), SHAPE);
  const mu = backend.fromArray(r.uniform(SHAPE), SHAPE);
  const eps = backend.fromArray(r.normal(SHAPE), SHAPE);
  const rows: Array<[string, () => void]> = [
    ['noise draw', () => {
      const z = backend.randomNormal(SHAPE, r);
      backend.toArray(z).length;
      backend.dispose(z);
    }],
    ['reverseSdeStep', () => {
      const score = sde.scoreFromNoise(eps, 50);
      const out = sde.reverseSdeStep(x, mu, score, 50, r);
      backend.toArray(out).length; // forces the computation on async backends
      backend.dispose([score, out]);
    }],
    ['posterior step', () => {
      const { x: out, x0Hat } = posteriorJump(sde, x, mu, eps, 50, 49, 1, r);
      backend.toArray(out).length;
      backend.dispose([out, x0Hat]);
    }],
  ];
  const res: string[] = [];
  for (const [name, fn] of rows) {
    fn(); // warm-up
    const ts = Array.from({ length: REPEATS }, () => time(fn));
    res.push(`${name} ${median(ts).toFixed(2)} ms`);
  }
  // toArray (a full download) is included in every row; report it separately for reference.
  const dl = median(Array.from({ length: REPEATS }, () => time(() => backend.toArray(x).length)));
  console.log(`${label.padEnd(12)} ${res.join(' | ')} | (toArray alone ${dl.toFixed(2)} ms)`);
  backend.dispose([x, mu, eps]);
}

console.log(`SDE maths per step on [${SHAPE}] (${N} values), median of ${REPEATS}:`);
bench('float32', hostBackend);
await selectBackend('cpu');
bench('tfjs cpu', tfjsBackend);
try {
  await import('@tensorflow/tfjs-backend-wasm');
  const ok = await Promise.race([tf.setBackend('wasm'), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('setBackend("wasm") failed');
  bench('tfjs wasm', tfjsBackend);
} catch (e) {
  console.log(`tfjs wasm    not available in this Node process: ${(e as Error).message}`);
}
