/**
 * Several completions of an inpainting mask: for each photo, the recommended restoration and
 * `--samples` completions drawn by a stochastic sampler (`irsde restore --samples N`, the same
 * `Restorer.restore({ samples })`), their per-pixel standard deviation (the uncertainty map) and
 * the clean photo, side by side at 100%; prints the masked PSNR of each completion, of their mean
 * and of the one-step restoration, and the mean standard deviation inside and outside the mask.
 *
 *   npx tsx scripts/inpaint-samples.ts --weights models/inpaint.safetensors --inputs OUT/damaged \
 *     --masks OUT/masks --references OUT/clean --photos astronaut,camera [--samples 3]
 *     [--sampler sde --steps 100 --eta 1] [--std-gain 4] [--figure docs/inpaint-samples.png]
 *
 * Inputs, masks and references as scripts/inpaint_baselines.py writes them (paired by file name).
 * Columns: damaged | restored (the model file's sampler) | completion 1..N | uncertainty (standard
 * deviation times `--std-gain`, grey) | clean.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertChannels, psnr, type FloatImage, type SamplerName } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage } from '../src/node.js';
import { composeRows } from './compose.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    inputs: { type: 'string' },
    masks: { type: 'string' },
    references: { type: 'string' },
    photos: { type: 'string', default: 'astronaut,camera' },
    samples: { type: 'string', default: '3' },
    sampler: { type: 'string', default: 'sde' },
    steps: { type: 'string', default: '100' },
    eta: { type: 'string', default: '1' },
    'std-gain': { type: 'string', default: '4' },
    figure: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
if (!values.weights || !values.inputs || !values.masks || !values.references) throw new Error('--weights, --inputs, --masks and --references are required');
const samples = Number(values.samples);
const gain = Number(values['std-gain']);
if (!Number.isInteger(samples) || samples < 2) throw new Error(`--samples: an integer >= 2, got ${values.samples}`);

const grey = (img: FloatImage, k: number): FloatImage => {
  const out = new Float32Array(img.height * img.width * 3);
  for (let p = 0; p < img.height * img.width; p++) {
    let s = 0;
    for (let c = 0; c < img.channels; c++) s += img.data[p * img.channels + c];
    out.fill(Math.min(1, (k * s) / img.channels), p * 3, p * 3 + 3);
  }
  return { data: out, height: img.height, width: img.width, channels: 3 };
};

const restorer = await loadRestorerFile(values.weights, { engine: 'ort' });
const rows: FloatImage[][] = [];
try {
  for (const name of values.photos!.split(',')) {
    const [bad, mask, clean] = await Promise.all([values.inputs!, values.masks!, values.references!].map((d) => readImage(join(d, `${name}.png`))));
    const m = convertChannels(mask, 1);
    const t0 = performance.now();
    const one = await restorer.restore(bad, { mask: m, seed: 0 });
    const t1 = performance.now();
    const many = await restorer.restore(bad, { mask: m, samples, sampler: values.sampler as SamplerName, steps: Number(values.steps), eta: Number(values.eta), seed: Number(values.seed) });
    const t2 = performance.now();
    const each = many.samples!.map((s) => psnr(s, clean, { mask: m }).toFixed(2));
    let inside = 0;
    let outside = 0;
    let nIn = 0;
    const u = many.uncertainty!;
    for (let p = 0; p < u.height * u.width; p++) {
      let s = 0;
      for (let c = 0; c < u.channels; c++) s += u.data[p * u.channels + c];
      if (m.data[p] > 0.5) {
        inside += s / u.channels;
        nIn++;
      } else outside += s / u.channels;
    }
    console.log(`${name}: masked PSNR restored ${psnr(one.image, clean, { mask: m }).toFixed(2)} dB (${((t1 - t0) / 1000).toFixed(1)} s); ${samples} completions (${values.sampler} ${values.steps} steps, eta ${values.eta}) ${each.join(' / ')}, their mean ${psnr(many.image, clean, { mask: m }).toFixed(2)} (${((t2 - t1) / 1000).toFixed(1)} s); mean std inside the mask ${(inside / Math.max(1, nIn)).toFixed(4)}, outside ${(outside / Math.max(1, u.height * u.width - nIn)).toFixed(4)}`);
    rows.push([convertChannels(bad, 3), convertChannels(one.image, 3), ...many.samples!.map((s) => convertChannels(s, 3)), grey(u, gain), convertChannels(clean, 3)]);
  }
} finally {
  await restorer.dispose();
}
if (values.figure) {
  await writeImage(values.figure, composeRows(rows, 6));
  console.log(`wrote ${values.figure} (100% zoom; columns: damaged | restored | completion 1..${samples} | uncertainty x${gain} | clean)`);
}
