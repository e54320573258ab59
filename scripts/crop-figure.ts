/**
 * The crop comparison picture of the evaluation report: for each photo one row of the same crop
 * from each method's output (written by scripts/eval-denoise.ts), enlarged with nearest-neighbour
 * pixels, separated by white gaps.
 *
 *   npx tsx scripts/crop-figure.ts --dir .bench/eval/sigma25 --out docs/denoise-crops.png \
 *     --crops astronaut:180,60,96,96,camera:200,90,96,96 \
 *     --methods clean,noisy,restored/non-local-means,restored/irsde-posterior-5-steps-eta-0
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertChannels, type FloatImage } from '../src/advanced.js';
import { readImage, writeImage } from '../src/node.js';
import { composeRows } from './compose.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.bench/eval/sigma25' },
    out: { type: 'string', default: 'docs/denoise-crops.png' },
    crops: { type: 'string' },
    methods: { type: 'string' },
    scale: { type: 'string', default: '2' },
  },
});
if (!values.crops || !values.methods) throw new Error('--crops NAME:X,Y,W,H,... and --methods DIR,DIR,... are required');

const scale = Number(values.scale);
const gap = 6;
const crops = values.crops.split(/,(?=[a-z_]+:)/i).map((c) => {
  const [name, box] = c.split(':');
  const [x, y, w, h] = box.split(',').map(Number);
  return { name, x, y, w, h };
});
const methods = values.methods.split(',');

const tiles: FloatImage[][] = [];
for (const c of crops) {
  const row: FloatImage[] = [];
  for (const m of methods) {
    const img = convertChannels(await readImage(join(values.dir!, m, `${c.name}.png`)), 3);
    const out = new Float32Array(c.w * scale * c.h * scale * 3);
    for (let y = 0; y < c.h * scale; y++) {
      for (let x = 0; x < c.w * scale; x++) {
        const src = ((c.y + Math.floor(y / scale)) * img.width + c.x + Math.floor(x / scale)) * 3;
        out.set(img.data.subarray(src, src + 3), (y * c.w * scale + x) * 3);
      }
    }
    row.push({ data: out, height: c.h * scale, width: c.w * scale, channels: 3 });
  }
  tiles.push(row);
}

const canvas = composeRows(tiles, gap);
const { width: W, height: H } = canvas;
await writeImage(values.out!, canvas);
console.log(`wrote ${values.out} (${W}x${H}): rows ${crops.map((c) => c.name).join(', ')}; columns ${methods.join(' | ')}`);
