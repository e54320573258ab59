/**
 * Sizes candidate denoising networks for the shipped-model limits (issue 16: at most 10 MB of
 * float16 weights, at most 5 s per 512x512 image): parameters, float16 MB, GFLOPs per forward
 * pass, and the measured forward time of one RGB image on ONNX Runtime (Winograd export, as
 * `irsde restore --engine ort`): the first call (what a one-image `irsde restore` pays: session
 * warm-up and first allocations at that size) and the median of the next ones; optionally on tfjs
 * (`--tfjs wasm`). Random weights (time does not depend on them). Dev script.
 *
 *   npx tsx scripts/size-denoiser.ts [--nets unet:20x3:u,nafnet:32:1-1-1-4:1:1-1-1-1:u] [--size 512] [--reps 3] [--tfjs wasm]
 *
 * A net spec: `unet:NFxDEPTH[:u]` or `nafnet:WIDTH:ENC:MIDDLE:DEC[:u]` (block counts joined by
 * '-'); `:u` makes it unconditional (the DenoisingSDE form), else conditional (IR-SDE form).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { countParameters, createNetwork, exportOnnx, forwardFlops, selectBackend, type NetworkConfig } from '../src/advanced.js';
import { createNodeOrtNoiseModel } from '../src/node.js';

const { values } = parseArgs({ options: { nets: { type: 'string', default: 'unet:16x3,unet:20x3,unet:20x3:u' }, size: { type: 'string', default: '512' }, reps: { type: 'string', default: '3' }, tfjs: { type: 'string' } } });
const S = Number(values.size);
const reps = Number(values.reps);
await selectBackend((values.tfjs ?? 'cpu') as 'cpu');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** A network config from a spec (see the header). */
function parseNet(spec: string): NetworkConfig {
  const parts = spec.split(':');
  const conditional = parts[parts.length - 1] !== 'u';
  const blocks = (s: string) => s.split('-').map(Number);
  if (parts[0] === 'unet') {
    const [nf, depth] = parts[1].split('x').map(Number);
    return { inChannels: 3, outChannels: 3, nf, depth, prediction: 'residual', conditional };
  }
  if (parts[0] === 'nafnet') {
    return { arch: 'nafnet', imgChannels: 3, width: Number(parts[1]), encBlocks: blocks(parts[2]), middleBlocks: Number(parts[3]), decBlocks: blocks(parts[4]), prediction: 'residual', conditional };
  }
  throw new Error(`unknown net spec '${spec}'`);
}

console.log(`| net | parameters | float16 MB | GFLOPs / ${S}x${S} | ORT first call s | ORT forward s |${values.tfjs ? ` tfjs-${values.tfjs} forward s |` : ''}`);
console.log(`| --- | --- | --- | --- | --- | --- |${values.tfjs ? ' --- |' : ''}`);
for (const spec of values.nets!.split(',')) {
  const config = parseNet(spec);
  const conditional = config.conditional !== false;
  const params = countParameters(config);
  const net = createNetwork(config, { seed: 1 });
  const ort = await createNodeOrtNoiseModel(exportOnnx(config, net.stateDict(), { conv3x3: 'winograd' }));
  const x = tf.randomUniform([1, S, S, 3], 0, 1, 'float32', 1);
  const times: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const y = await ort.noiseModel(x, conditional ? x : null, 10);
    await y.data();
    y.dispose();
    times.push((performance.now() - t0) / 1000);
  }
  await ort.dispose();
  let tfjsCell = '';
  if (values.tfjs) {
    const tt: number[] = [];
    for (let r = 0; r <= 1; r++) {
      const t0 = performance.now();
      const y = net.predict(x, conditional ? x : null, 10);
      await y.data();
      y.dispose();
      if (r > 0) tt.push((performance.now() - t0) / 1000);
    }
    tfjsCell = ` ${median(tt).toFixed(2)} |`;
  }
  x.dispose();
  net.dispose();
  console.log(`| ${spec} | ${(params / 1e6).toFixed(2)} M | ${((params * 2) / 1e6).toFixed(1)} | ${(forwardFlops(config, S, S) / 1e9).toFixed(1)} | ${times[0].toFixed(2)} | ${median(times.slice(1)).toFixed(2)} |${tfjsCell}`);
}
