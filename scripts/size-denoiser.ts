/**
 * Sizes candidate denoising networks for the shipped-model limits (issue 16: at most 10 MB of
 * float16 weights, at most 5 s per 512x512 image): parameters, float16 MB, GFLOPs per 512x512
 * forward pass, and the measured median forward time of one 512x512 RGB image on ONNX Runtime
 * (Winograd export, as `irsde restore --engine ort`) and optionally on tfjs (`--tfjs wasm`).
 * Random weights (time does not depend on them). Dev script.
 *
 *   npx tsx scripts/size-denoiser.ts [--nets 16x3,16x4,20x3,24x3] [--size 512] [--reps 3] [--tfjs wasm]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { ConditionalUNet, countParameters, exportOnnx, forwardFlops, selectBackend } from '../src/advanced.js';
import { createNodeOrtNoiseModel } from '../src/node.js';

const { values } = parseArgs({ options: { nets: { type: 'string', default: '16x3,16x4,20x3,24x3' }, size: { type: 'string', default: '512' }, reps: { type: 'string', default: '3' }, tfjs: { type: 'string' } } });
const S = Number(values.size);
const reps = Number(values.reps);
await selectBackend((values.tfjs ?? 'cpu') as 'cpu');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`| nf x depth | parameters | float16 MB | GFLOPs / ${S}x${S} | ORT forward s | ${values.tfjs ? `tfjs-${values.tfjs} forward s |` : ''}`);
console.log(`| --- | --- | --- | --- | --- |${values.tfjs ? ' --- |' : ''}`);
for (const spec of values.nets!.split(',')) {
  const [nf, depth] = spec.split('x').map(Number);
  const config = { inChannels: 3, outChannels: 3, nf, depth, prediction: 'residual' as const };
  const params = countParameters(config);
  const net = new ConditionalUNet(config, { seed: 1 });
  const ort = await createNodeOrtNoiseModel(exportOnnx(config, net.stateDict(), { conv3x3: 'winograd' }));
  const x = tf.randomUniform([1, S, S, 3], 0, 1, 'float32', 1);
  const times: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const y = await ort.noiseModel(x, x, 100);
    await y.data();
    y.dispose();
    if (r > 0) times.push((performance.now() - t0) / 1000);
  }
  await ort.dispose();
  let tfjsCell = '';
  if (values.tfjs) {
    const tt: number[] = [];
    for (let r = 0; r <= 1; r++) {
      const t0 = performance.now();
      const y = net.predict(x, x, 100);
      await y.data();
      y.dispose();
      if (r > 0) tt.push((performance.now() - t0) / 1000);
    }
    tfjsCell = ` ${median(tt).toFixed(2)} |`;
  }
  x.dispose();
  net.dispose();
  console.log(`| ${nf} x ${depth} | ${(params / 1e6).toFixed(2)} M | ${((params * 2) / 1e6).toFixed(1)} | ${(forwardFlops(config, S, S) / 1e9).toFixed(1)} | ${median(times).toFixed(2)} |${tfjsCell}`);
}
