/**
 * Evaluation of a model trained on a synthetic degradation (rain, blur, ...): degrades the held-out
 * photos (centre crops, seeded by photo name, so a photo's degradation does not depend on which
 * other photos are evaluated), restores them with the one restoration pipeline (what
 * `irsde restore` runs), and prints a Markdown table of mean PSNR / SSIM, the gain over the
 * degraded input, and seconds per image. `--figure` also writes a picture at 100% zoom with a row
 * per photo: degraded | restored | clean (centre crops of --figure-crop pixels).
 *
 *   npx tsx scripts/eval-degradation.ts --weights models/derain.safetensors --degradation rain
 *     [--photos data/photos/test | a.png,b.png] [--crop 512] [--configs model,posterior:2:0,posterior:1:0:8]
 *     [--engine ort|wasm|cpu] [--per-photo] [--json report.json]
 *     [--figure docs/derain.png --figure-photos a,b --figure-crop 256]
 *   (--configs: `model`, the model file's recommended sampling, or sampler:steps:eta[:ensemble])
 *
 * Inputs made outside irsde (e.g. by scripts/deblur_baselines.py): `--inputs DIR --references DIR`
 * pairs the degraded and clean PNGs by file name instead of degrading here (no crop), and
 * `--baselines FILE` (that script's baselines.json) adds its classical methods' rows.
 *
 * Deblurring: `--denoiser FILE` (a DenoisingSDE model, e.g. models/denoise-blind.safetensors) adds
 * the row of `deblurImage`: the --weights network's output, a kernel estimated from it, then the
 * input deconvolved with that kernel and the denoiser as the prior (first in the figure).
 *
 * Inpainting (inputs and masks from scripts/inpaint_baselines.py): `--masks DIR` pairs a mask PNG
 * (white = missing) with each input by file name and passes it to the restorer; every row gains
 * the PSNR over the masked pixels alone ("masked PSNR"), the baselines file's biharmonic and Telea
 * entries become rows, and the figure gains a column: damaged | restored | clean | best baseline
 * (the baseline with the higher mean masked PSNR, read from its folder next to the baselines file),
 * and a row scores the model's own fill of the missing pixels alone (the network's input).
 *
 *   npx tsx scripts/eval-degradation.ts --weights models/inpaint.safetensors --inputs OUT/damaged
 *     --references OUT/clean --masks OUT/masks --baselines OUT/baselines.json [--figure docs/inpaint.png]
 *
 * Super-resolution (inputs from scripts/sr_baselines.py): when the inputs are smaller than their
 * references by one integer scale s (every pair the same s; the model must be an xs model), the
 * scores are the SR literature's: PSNR / SSIM on the luma Y (ITU-R BT.601, irsde's `psnrY` /
 * `ssimY`) with s pixels shaved from every border, for every row. The first row is then the
 * input upscaled by irsde's bicubic `imresize` (what the network is given) and the gains are over
 * it; the baselines file's bicubic and Lanczos entries become rows (their images, next to the
 * file, scored here), and the figure's columns are: the input enlarged by nearest neighbour (its
 * pixels at the output's size) | restored | clean | bicubic (Pillow's, else irsde's).
 *
 *   npx tsx scripts/eval-degradation.ts --weights models/sr4.safetensors --inputs OUT/lr
 *     --references OUT/clean --baselines OUT/baselines.json [--figure docs/sr4.png]
 *
 * Besides PSNR / SSIM, each method gets a sharpness ratio: the restored image's gradient energy
 * over the reference's (sum of squared forward differences; 1 = as much fine detail as the
 * reference, below 1 = smoother, above 1 = detail or noise the reference lacks); with masks,
 * over the differences that touch a missing pixel only (the filled-in part), and the baselines'
 * images (next to their baselines file) are scored here the same way.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyMask, convertChannels, createDegradation, deblurImage, imresize, psnr, psnrY, Rng, ssim, ssimY, type EnsembleSize, type FloatImage, type InpaintFill, type SamplerName } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage, type NodeEngineName } from '../src/node.js';
import { parseDegradation } from '../src/data/index.js';
import { maskedPixels } from '../src/image/index.js';
import { composeRows, upscaleNearest } from './compose.js';
import { centreCrop, photoFiles, seedOf, TEST_PHOTOS } from './eval-photos.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    degradation: { type: 'string', default: 'rain' },
    photos: { type: 'string', default: TEST_PHOTOS },
    crop: { type: 'string', default: '512' },
    configs: { type: 'string', default: 'model' },
    engine: { type: 'string', default: 'ort' },
    'per-photo': { type: 'boolean', default: false },
    json: { type: 'string' },
    figure: { type: 'string' },
    'figure-photos': { type: 'string' },
    'figure-crop': { type: 'string', default: '256' },
    inputs: { type: 'string' },
    references: { type: 'string' },
    baselines: { type: 'string' },
    masks: { type: 'string' },
    denoiser: { type: 'string' },
  },
});
if (!values.weights) throw new Error('--weights FILE is required');
const crop = Number(values.crop);
if (!Number.isInteger(crop) || crop < 0) throw new Error(`--crop: expected an integer >= 0, got '${values.crop}'`);
const figureCrop = Number(values['figure-crop']);
if (!Number.isInteger(figureCrop) || figureCrop < 0) throw new Error(`--figure-crop: expected an integer >= 0, got '${values['figure-crop']}'`);

/** One score: a method on one photo. */
interface Row {
  name: string;
  method: string;
  psnr: number;
  ssim: number;
  /** PSNR over the mask's missing pixels alone (inpainting; NaN without masks). */
  masked: number;
  sharpness: number;
  seconds: number;
}

/**
 * Sum of squared horizontal and vertical forward differences over all channels; with a mask
 * (inpainting), only the differences that touch a missing pixel (what was filled in).
 */
function gradientEnergy(img: FloatImage, mask?: FloatImage): number {
  const { height: H, width: W, channels: C, data } = img;
  const marked = mask === undefined ? null : maskedPixels(mask);
  const missing = (p: number) => marked === null || marked[p] === 1;
  let e = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const right = x + 1 < W && (missing(p) || missing(p + 1));
      const down = y + 1 < H && (missing(p) || missing(p + W));
      for (let c = 0; c < C; c++) {
        const v = data[p * C + c];
        if (right) e += (data[(p + 1) * C + c] - v) ** 2;
        if (down) e += (data[(p + W) * C + c] - v) ** 2;
      }
    }
  }
  return e;
}
/** The super-resolution scale (inputs this many times smaller than their references), 1 otherwise. */
let scale = 1;
const score = (img: FloatImage, clean: FloatImage, mask: FloatImage | undefined) => ({
  psnr: scale > 1 ? psnrY(img, clean, { crop: scale }) : psnr(img, clean),
  ssim: scale > 1 ? ssimY(img, clean, { crop: scale }) : ssim(img, clean),
  masked: mask ? psnr(img, clean, { mask }) : NaN,
  sharpness: gradientEnergy(img, mask) / gradientEnergy(clean, mask),
});

const photos: Array<{ name: string; clean: FloatImage; bad: FloatImage; mask?: FloatImage; restored: Map<string, FloatImage> }> = [];
const inpainting = values.masks !== undefined;
if (inpainting && !values.inputs) throw new Error('--masks goes with --inputs and --references (damaged, mask and clean PNGs, paired by file name)');
if (values.inputs !== undefined || values.references !== undefined) {
  if (!values.inputs || !values.references) throw new Error('--inputs and --references go together (degraded and clean PNGs, paired by file name)');
  for (const file of photoFiles(values.inputs)) {
    const name = basename(file, extname(file));
    const maskFile = inpainting ? join(values.masks!, basename(file)) : undefined;
    if (maskFile && !existsSync(maskFile)) throw new Error(`--masks: no mask ${maskFile} for the input ${file}`);
    const mask = maskFile ? await readImage(maskFile) : undefined;
    const bad = await readImage(file);
    if (mask && (mask.width !== bad.width || mask.height !== bad.height)) throw new Error(`--masks: ${maskFile} is ${mask.width}x${mask.height} but ${file} is ${bad.width}x${bad.height}`);
    const refFile = join(values.references, basename(file));
    if (!existsSync(refFile)) throw new Error(`--references: no reference ${refFile} for the input ${file}`);
    const clean = await readImage(refFile);
    const s = clean.width / bad.width;
    if (!Number.isInteger(s) || clean.height !== bad.height * s || (photos.length > 0 && s !== scale)) {
      throw new Error(`${file} is ${bad.width}x${bad.height} and ${refFile} ${clean.width}x${clean.height}: every reference must be the input's size, or larger by one integer scale for all (super-resolution${photos.length > 0 ? `, x${scale} so far` : ''})`);
    }
    scale = s;
    photos.push({ name, clean, bad, ...(mask ? { mask } : {}), restored: new Map() });
  }
  if (inpainting && scale > 1) throw new Error('--masks: the inputs are smaller than their references (super-resolution); inpainting inputs are full size');
} else {
  const degrade = createDegradation(parseDegradation(values.degradation!));
  for (const file of photoFiles(values.photos!)) {
    const name = basename(file, extname(file));
    const clean = centreCrop(await readImage(file), crop);
    photos.push({ name, clean, bad: degrade(clean, new Rng(seedOf(`${name}:${values.degradation}`))), restored: new Map() });
  }
}
const figureNames = values['figure-photos']?.split(',') ?? photos.slice(0, 2).map((p) => p.name);
for (const n of figureNames) if (!photos.some((p) => p.name === n)) throw new Error(`--figure-photos: '${n}' is not among the evaluated photos`);

// Super-resolution: the input as the network is given it (irsde's bicubic upscale), scored like every row.
const INPUT = scale > 1 ? `input, bicubic x${scale} (irsde imresize, the network's input)` : 'degraded input';
const asInput = (p: (typeof photos)[number]) => (scale > 1 ? imresize(p.bad, { height: p.clean.height, width: p.clean.width }) : p.bad);
const rows: Row[] = photos.map((p) => ({ name: p.name, method: INPUT, ...score(asInput(p), p.clean, p.mask), seconds: 0 }));
// Classical methods scored outside irsde: a number per photo (deblurring: PSNR only) or
// {psnr, ssim, maskedPsnr} (inpainting, super-resolution); what a file does not give is '-'.
// Where a method's images lie next to the file (inpainting, super-resolution), they are scored
// here instead, like the model (one metric code for every row, sharpness included).
const BASELINES = [
  ['wiener', 'Wiener (true kernel, tuned per image)'],
  ['richardsonLucy', 'Richardson-Lucy (true kernel, tuned per image)'],
  ['biharmonic', 'scikit-image biharmonic'],
  ['telea', 'OpenCV Telea (radius 5)'],
  ['bicubic', 'Pillow bicubic'],
  ['lanczos', 'Pillow Lanczos'],
] as const;
const baselineLabels: string[] = [];
const baselineKeys = new Map<string, string>(); // label -> key (its images' folder next to the file)
if (values.baselines) {
  const b = JSON.parse(readFileSync(values.baselines, 'utf8')) as { photos: Array<Record<string, unknown> & { name: string }> };
  const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
  for (const [key, label] of BASELINES) {
    const per = photos.map((p) => b.photos.find((q) => q.name === p.name)?.[key]);
    const scores = per.map((v) => (typeof v === 'number' ? { psnr: v } : (v ?? {}) as Record<string, unknown>));
    if (scores.some((v) => typeof v.psnr !== 'number')) continue;
    baselineLabels.push(label);
    baselineKeys.set(label, key);
    const folder = join(dirname(values.baselines), key);
    for (const [i, p] of photos.entries()) {
      const file = join(folder, `${p.name}.png`);
      if (existsSync(file)) rows.push({ name: p.name, method: label, ...score(await readImage(file), p.clean, p.mask), seconds: NaN });
      else rows.push({ name: p.name, method: label, psnr: num(scores[i].psnr), ssim: num(scores[i].ssim), masked: num(scores[i].maskedPsnr), sharpness: NaN, seconds: NaN });
    }
  }
}
const restorer = await loadRestorerFile(values.weights, { engine: values.engine as NodeEngineName });
if ((restorer.task?.inpaint !== undefined) !== inpainting) {
  await restorer.dispose();
  throw new Error(inpainting ? `--masks: this model (${restorer.task?.name ?? 'no task'}) is not an inpainting model` : `this model (${restorer.task?.name}) fills missing pixels: give --inputs, --references and --masks DIR`);
}
if ((restorer.task?.scale ?? 1) !== scale) {
  await restorer.dispose();
  throw new Error(restorer.task?.scale
    ? `this model (${restorer.task.name}) upscales x${restorer.task.scale}: give --inputs DIR of small images and --references DIR of ${restorer.task.scale}x larger ones`
    : `the references are ${scale}x the inputs' size, but this model (${restorer.task?.name ?? 'no task'}) does not upscale`);
}
// Inpainting: the model's own fill of the missing pixels alone (what the network is given), so
// the table shows what the network adds to it.
const fillLabels: string[] = [];
if (inpainting) {
  const fill = (restorer.task!.inpaint as { fill: InpaintFill }).fill;
  const label = `the model's ${typeof fill === 'number' ? `fill with ${fill}` : `${fill} fill`} alone (the network's input)`;
  fillLabels.push(label);
  for (const p of photos) {
    const t0 = performance.now();
    const filled = applyMask(convertChannels(p.bad, p.clean.channels), maskedPixels(p.mask!), fill);
    rows.push({ name: p.name, method: label, ...score(filled, p.clean, p.mask), seconds: (performance.now() - t0) / 1000 });
  }
}
const rec = restorer.sampling ?? { sampler: 'posterior', steps: 1, eta: 0 };
const labels: string[] = [];
/** Scores one restoration as a row of `label` and logs it against the input (`note`: extra detail). */
function record(label: string, p: (typeof photos)[number], image: FloatImage, ms: number, note = ''): void {
  p.restored.set(label, image);
  const row: Row = { name: p.name, method: label, ...score(image, p.clean, p.mask), seconds: ms / 1000 };
  rows.push(row);
  const input = rows[photos.indexOf(p)];
  const masked = inpainting ? `, masked ${input.masked.toFixed(2)} -> ${row.masked.toFixed(2)} dB` : '';
  console.error(`${label} | ${p.name}: ${input.psnr.toFixed(2)} -> ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(3)}${masked}${note}, ${row.seconds.toFixed(2)} s`);
}
for (const cfg of values.configs!.split(',')) {
  const [sampler, steps, eta, ens] = cfg === 'model' ? [rec.sampler, String(rec.steps), String(rec.eta ?? 0), String(rec.ensemble ?? 1)] : cfg.split(':');
  const ensemble = Number(ens ?? 1) as EnsembleSize;
  const label = `irsde ${sampler} ${steps} steps${sampler === 'posterior' ? ` eta=${eta}` : ''}${ensemble > 1 ? ` x${ensemble} ensemble` : ''}${cfg === 'model' ? ' (model default)' : ''}`;
  labels.push(label);
  for (const p of photos) {
    const out = await restorer.restore(p.bad, { sampler: sampler as SamplerName, steps: Number(steps), eta: Number(eta ?? 0), ensemble, seed: 0, ...(p.mask ? { mask: p.mask } : {}) });
    record(label, p, out.image, out.ms);
  }
}
// Deblurring: the blind network + an estimated kernel + deconvolution with a denoiser prior
// (deblurImage, what `irsde restore --task deblur` runs), as the first row of the restorations.
if (values.denoiser) {
  const denoiser = await loadRestorerFile(values.denoiser, { engine: values.engine as NodeEngineName });
  const label = 'irsde deblur: network, estimated kernel, deconvolution with the denoiser prior';
  labels.unshift(label);
  for (const p of photos) {
    const out = await deblurImage(p.bad, { network: restorer, denoiser });
    record(label, p, out.image, out.ms, `, ${out.kernel === null ? 'no confident kernel: the network\'s output' : JSON.stringify(out.kernel)}`);
  }
  await denoiser.dispose();
}
const engine = restorer.engine;
await restorer.dispose();

const names = photos.map((p) => p.name);
const meanOf = (rs: Row[], k: 'psnr' | 'ssim' | 'masked' | 'sharpness' | 'seconds') => rs.reduce((s, r) => s + r[k], 0) / rs.length;
const fmt = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const of = (m: string) => rows.filter((r) => r.method === m);
const input = meanOf(of(INPUT), 'psnr');
const source = values.inputs ? `inputs ${values.inputs} against ${values.references} (made outside irsde)` : `${values.photos === TEST_PHOTOS ? 'held-out test photos' : `photos (${values.photos})`}, ${crop > 0 ? `centre ${crop}x${crop} crops` : 'whole images'}; degradation ${values.degradation} seeded by photo name`;
const metric = scale > 1 ? `; x${scale} super-resolution, PSNR / SSIM on Y (BT.601), ${scale} px shaved` : '';
console.log(`${names.length} images (${names.join(', ')}): ${source}${metric}; model on ${engine}; mean over images.\n`);
const maskedHead = inpainting ? ' masked PSNR |' : '';
console.log(`| method | PSNR / SSIM |${maskedHead} PSNR gain over the input${scale > 1 ? ' (bicubic)' : ''} | sharpness (gradient energy / reference) | s / image |`);
console.log(`| --- | --- |${inpainting ? ' --- |' : ''} --- | --- | --- |`);
for (const m of [INPUT, ...baselineLabels, ...fillLabels, ...labels]) {
  const gain = meanOf(of(m), 'psnr') - input;
  const first = m === INPUT;
  const masked = inpainting ? ` ${fmt(meanOf(of(m), 'masked'), 2)} |` : '';
  console.log(`| ${m} | ${fmt(meanOf(of(m), 'psnr'), 2)} / ${fmt(meanOf(of(m), 'ssim'), 3)} |${masked} ${first ? '' : `${gain >= 0 ? '+' : ''}${gain.toFixed(2)}`} | ${fmt(meanOf(of(m), 'sharpness'), 2)} | ${first ? '' : fmt(meanOf(of(m), 'seconds'), 2)} |`);
}
if (values['per-photo']) {
  console.log(`\nPSNR / SSIM${inpainting ? ' / masked PSNR' : ''} per photo:\n`);
  console.log(`| method | ${names.join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
  for (const m of [INPUT, ...baselineLabels, ...fillLabels, ...labels]) {
    const cell = (r: Row) => `${r.psnr.toFixed(2)} / ${fmt(r.ssim, 3)}${inpainting ? ` / ${fmt(r.masked, 2)}` : ''}`;
    console.log(`| ${m} | ${names.map((n) => cell(rows.find((x) => x.method === m && x.name === n)!)).join(' | ')} |`);
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
if (values.figure) {
  // Inpainting: the baseline with the higher mean masked PSNR, its images next to the baselines file.
  const candidates = baselineLabels.filter((l) => inpainting && Number.isFinite(meanOf(of(l), 'masked')));
  const best = candidates.sort((a, b) => meanOf(of(b), 'masked') - meanOf(of(a), 'masked'))[0];
  const bestImage = (name: string) => readImage(join(dirname(values.baselines!), baselineKeys.get(best!)!, `${name}.png`));
  // Super-resolution: the input's pixels enlarged to the output's size, and Pillow's bicubic when its images are there.
  const pillowBicubic = (name: string) => join(dirname(values.baselines ?? ''), 'bicubic', `${name}.png`);
  const pillow = values.baselines !== undefined && figureNames.every((n) => existsSync(pillowBicubic(n)));
  const bicubic = async (p: (typeof photos)[number]) => (pillow ? readImage(pillowBicubic(p.name)) : asInput(p));
  const figureRows = await Promise.all(figureNames.map(async (n) => {
    const p = photos.find((x) => x.name === n)!;
    const first = scale > 1 ? upscaleNearest(p.bad, scale) : p.bad;
    const last = scale > 1 ? [await bicubic(p)] : best ? [await bestImage(n)] : [];
    return [first, p.restored.get(labels[0])!, p.clean, ...last].map((im) => convertChannels(centreCrop(im, figureCrop), 3));
  }));
  await writeImage(values.figure, composeRows(figureRows, 6));
  const lastColumn = scale > 1 ? ` | bicubic (${pillow ? 'Pillow' : 'irsde imresize'})` : best ? ` | best baseline (${best})` : '';
  const columns = `${scale > 1 ? `input (nearest neighbour x${scale})` : inpainting ? 'damaged' : 'degraded'} | restored (${labels[0]}) | clean${lastColumn}`;
  console.log(`\nwrote ${values.figure} (100% zoom; rows: ${figureNames.join(', ')}; columns: ${columns})`);
}
