/**
 * Your own network, written once in irsde's module/ops language, trained and sampled exactly as
 * the built-in U-Net and NAFNet are: tfjs training with the library `Trainer`, ONNX Runtime
 * training gradients, a model file (`saveModel` / `loadModel`), ONNX export and the `Restorer`.
 * It uses the public API only ('irsde', 'irsde/advanced', 'irsde/node').
 *
 *   npx tsx examples/custom-network.ts
 *
 * The toy task: undo a contrast loss with a little noise (`lq = 0.5 gt + 0.25 + noise`) on small
 * synthetic images. The example asserts that the loss falls, that the restoration beats its
 * input, that the reloaded and ONNX-exported networks give the tfjs network's outputs, and that
 * ORT gradients train it too (onnxruntime-node is an optional peer: without it that part is
 * skipped, unless IRSDE_REQUIRE_ORT=1). About 10 s on 2 cores.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ImageDataset,
  MeanRevertingSDE,
  Restorer,
  Rng,
  Trainer,
  createNetwork,
  exportOnnx,
  from255,
  loadModel,
  createImage,
  memorySource,
  psnr,
  saveModel,
  selectBackend,
  type FloatImage,
} from 'irsde';
import { createOrtGradients, Conv2d, LayerNorm, Linear, NetworkModule, registerNetwork, type CustomNetworkConfig, type Ops } from 'irsde/advanced';
import { createNodeOrtNoiseModel, loadNodeOrt, ortNodeEngine, type OrtModuleLike } from 'irsde/node';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`custom-network example: ${what}`);
  console.log(`ok: ${what}`);
}

// --- 1. The network: a module tree (parameters under PyTorch-style names) and one forward pass ---
// Input concat(x_t - mu, mu); a sinusoidal time embedding through a linear layer, added to the
// features; a half-resolution branch (stride-2 conv, LayerNorm, nearest upsampling) added back;
// a 3x3 output convolution. `multiple = 2`: forward pads to even sizes and crops back.
class TinyNet extends NetworkModule {
  override readonly multiple = 2;
  readonly time: Linear;
  readonly head: Conv2d;
  readonly mid: Conv2d;
  readonly down: Conv2d;
  readonly norm: LayerNorm;
  readonly tail: Conv2d;

  constructor(readonly config: CustomNetworkConfig) {
    super();
    const c = config.channels;
    const width = Number(config.options?.width ?? 16);
    this.time = this.child('time', new Linear(width, width));
    this.head = this.child('head', new Conv2d(2 * c, width, 3));
    this.mid = this.child('mid', new Conv2d(width, width, 3));
    this.down = this.child('down', new Conv2d(width, width, 2, { stride: 2, pad: 0 }));
    this.norm = this.child('norm', new LayerNorm(width));
    this.tail = this.child('tail', new Conv2d(width, c, 3));
    this.finish();
  }

  forward<V>(ops: Ops<V>, xt: V, cond: V | null): V {
    const mu = cond as V; // a conditional network (the config's default): cond is the degraded image
    const x = ops.padToMultiple(ops.concat([ops.sub(xt, mu), mu]), this.multiple, 'zero');
    const t = ops.vectorToImage(ops.silu(ops.linear(ops.timeEmbedding(this.head.cout), this.time)));
    const h = ops.silu(ops.add(ops.conv(x, this.head), t));
    const low = ops.layerNorm(ops.conv(h, this.down), this.norm);
    const y = ops.silu(ops.conv(ops.add(h, ops.upsample2(low)), this.mid));
    return ops.cropLike(ops.conv(y, this.tail), xt);
  }
}

// Registered once per process (and before loadModel reads a file holding this network).
registerNetwork({ name: 'example-tiny-net', build: (config) => new TinyNet(config) });

// --- 2. The toy task ----------------------------------------------------------------------------
await selectBackend();
const rng = new Rng(7);
/** A smooth synthetic picture: colour ramps and a soft disc. */
function picture(seed: number, size = 24): FloatImage {
  const r = new Rng(seed);
  const [a, b, c, cx, cy] = Array.from(r.uniform([5]));
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const disc = Math.hypot(x / size - cx, y / size - cy) < 0.3 ? 0.35 : 0;
      const i = (y * size + x) * 3;
      data[i] = 0.2 + 0.5 * a * (x / size) + disc;
      data[i + 1] = 0.2 + 0.5 * b * (y / size) + disc;
      data[i + 2] = 0.2 + 0.4 * c;
    }
  }
  return createImage(size, size, 3, data);
}
/** The degradation: half the contrast, plus noise of std 0.02 (drawn from the dataset's generator). */
function degrade(gt: FloatImage, r: Rng): FloatImage {
  const z = r.normal([gt.data.length]);
  return createImage(gt.height, gt.width, gt.channels as 1 | 3, Float32Array.from(gt.data, (v, i) => 0.5 * v + 0.25 + 0.02 * z[i]));
}
const images = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`img${i}`, picture(100 + i)]));
const data = ImageDataset.synthetic({ gt: memorySource(images), degradation: degrade, cropSize: 16, batchSize: 4 });

const sde = new MeanRevertingSDE({ T: 20, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 });
const config: CustomNetworkConfig = { arch: 'custom', name: 'example-tiny-net', channels: 3, prediction: 'residual', options: { width: 16 } };

// --- 3. Train with the library Trainer (tfjs gradients) ---------------------------------------
const net = createNetwork(config, { seed: 0 });
console.log(`TinyNet: ${net.countParameters()} parameters: ${net.paramSpecs.map((s) => s.name).join(', ')}`);
const trainer = new Trainer({ sde, model: net, data, config: { lr: 2e-3, seed: 0, ema: false } });
const losses: number[] = [];
await trainer.fit({ steps: 150, onStep: (r) => void losses.push(r.loss) });
trainer.dispose();
const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
check(last < 0.5 * first, `tfjs training: the loss fell from ${first.toFixed(4)} to ${last.toFixed(4)} in ${losses.length} steps`);

// --- 4. Restore a held-out picture through the Restorer (a 3-step posterior sampler) -----------
const clean = picture(999);
const degraded = degrade(clean, rng);
const restorer = await Restorer.create(net, sde.config, { sampling: { sampler: 'posterior', steps: 3 } });
const restored = (await restorer.restore(degraded, { seed: 0 })).image;
restorer.dispose();
const before = psnr(degraded, clean);
const after = psnr(restored, clean);
check(restored.height === clean.height && restored.width === clean.width && restored.data.every(Number.isFinite), 'the restoration is finite and of the input\'s size');
check(after > before + 3, `the restoration beats its input: ${before.toFixed(2)} dB -> ${after.toFixed(2)} dB`);

// --- 5. A model file and ONNX: the same network, the same outputs -------------------------------
const file = saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 3 } });
const loaded = loadModel(file, { sde });
const xt = tf.randomUniform([1, 12, 14, 3], 0, 1, 'float32', 1);
const mu = tf.randomUniform([1, 12, 14, 3], 0, 1, 'float32', 2);
const want = net.predict(xt, mu, 5);
const again = loaded.network.predict(xt, mu, 5);
check(tf.max(tf.abs(tf.sub(again, want))).dataSync()[0] === 0, `loadModel rebuilds the network from the file (${(file.length / 1024).toFixed(1)} KiB) bit for bit`);

let ort: OrtModuleLike | null = null;
try {
  ort = loadNodeOrt();
} catch (e) {
  if (process.env.IRSDE_REQUIRE_ORT) throw e;
  console.log(`skipped: the ONNX Runtime part (${(e as Error).message.split('\n')[0]})`);
}
if (ort !== null) {
  const onnx = exportOnnx(loaded.network.config, loaded.network.stateDict());
  const session = await createNodeOrtNoiseModel(onnx, { threads: 1 });
  const got = await session.predict(xt, mu, 5);
  const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
  await session.dispose();
  check(diff < 1e-4, `exportOnnx: ONNX Runtime gives the tfjs outputs (max difference ${diff.toExponential(1)})`);

  // The Restorer on ONNX Runtime, from the reloaded network.
  const ortRestorer = await Restorer.create(loaded.network, loaded.sdeConfig, { engine: ortNodeEngine({ threads: 1 }), sampling: loaded.info.sampling });
  const viaOrt = psnr((await ortRestorer.restore(degraded, { seed: 0 })).image, clean);
  ortRestorer.dispose();
  check(Math.abs(viaOrt - after) < 0.05, `the Restorer on ONNX Runtime restores as on tfjs (${viaOrt.toFixed(2)} dB)`);

  // Training on ONNX Runtime: the forward and backward pass of TinyNet's description in one graph.
  const fresh = createNetwork(config, { seed: 0 });
  const gradients = createOrtGradients({ ort, threads: 1 });
  const ortTrainer = new Trainer({ sde, model: fresh, data, gradients, config: { lr: 2e-3, seed: 0, ema: false } });
  const ortLosses: number[] = [];
  await ortTrainer.fit({ steps: 40, onStep: (r) => void ortLosses.push(r.loss) });
  ortTrainer.dispose();
  await gradients.dispose();
  check(ortLosses.slice(0, 40).every((l, i) => Math.abs(l - losses[i]) <= 1e-3 * losses[i]), 'ONNX Runtime gradients train it as tfjs does (the same losses, step for step, to 1e-3)');
  fresh.dispose();
}
tf.dispose([xt, mu, want, again]);
loaded.network.dispose();
net.dispose();
console.log('custom-network example: done');
