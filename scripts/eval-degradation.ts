/**
 * Evaluation of a model trained on a synthetic degradation (rain, blur, ...): degrades the held-out
 * photos (centre crops, seeded by photo name, so a photo's degradation does not depend on which
 * other photos are evaluated), restores them with the one restoration pipeline (what
 * `irsde restore` runs), and prints a Markdown table of mean PSNR / SSIM, the gain over the
 * degraded input, and seconds per image. `--figure` also writes a picture at 100% zoom with a row
 * per photo: degraded | restored | clean (centre crops of --figure-crop pixels).
 *
 *   npx tsx scripts/eval-degradation.ts --weights models/derain.safetensors --degradation rain
 *     [--photos data/photos/test | a.png,b.png] [--crop 512] [--configs model,posterior:2:0]
 *     [--engine ort|wasm|cpu] [--per-photo] [--json report.json]
 *     [--figure docs/derain.png --figure-photos a,b --figure-crop 256]
 */
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { convertChannels, createDegradation, psnr, Rng, ssim, type FloatImage, type SamplerName } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage, type NodeEngineName } from '../src/node.js';
import { parseDegradation } from '../src/data/index.js';
import { composeRows } from './compose.js';
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
  },
});
if (!values.weights) throw new Error('--weights FILE is required');
const crop = Number(values.crop);
if (!Number.isInteger(crop) || crop < 0) throw new Error(`--crop: expected an integer >= 0, got '${values.crop}'`);
const figureCrop = Number(values['figure-crop']);
if (!Number.isInteger(figureCrop) || figureCrop < 0) throw new Error(`--figure-crop: expected an integer >= 0, got '${values['figure-crop']}'`);
const spec = parseDegradation(values.degradation!);
const degrade = createDegradation(spec);

/** One score: a method on one photo. */
interface Row {
  name: string;
  method: string;
  psnr: number;
  ssim: number;
  seconds: number;
}

const photos: Array<{ name: string; clean: FloatImage; bad: FloatImage; restored: Map<string, FloatImage> }> = [];
for (const file of photoFiles(values.photos!)) {
  const name = basename(file, extname(file));
  const clean = centreCrop(await readImage(file), crop);
  photos.push({ name, clean, bad: degrade(clean, new Rng(seedOf(`${name}:${values.degradation}`))), restored: new Map() });
}
const figureNames = values['figure-photos']?.split(',') ?? photos.slice(0, 2).map((p) => p.name);
for (const n of figureNames) if (!photos.some((p) => p.name === n)) throw new Error(`--figure-photos: '${n}' is not among the evaluated photos`);

const rows: Row[] = photos.map((p) => ({ name: p.name, method: 'degraded input', psnr: psnr(p.bad, p.clean), ssim: ssim(p.bad, p.clean), seconds: 0 }));
const restorer = await loadRestorerFile(values.weights, { engine: values.engine as NodeEngineName });
const rec = restorer.sampling ?? { sampler: 'posterior', steps: 1, eta: 0 };
const labels: string[] = [];
for (const cfg of values.configs!.split(',')) {
  const [sampler, steps, eta] = cfg === 'model' ? [rec.sampler, String(rec.steps), String(rec.eta ?? 0)] : cfg.split(':');
  const label = `irsde ${sampler} ${steps} steps${sampler === 'posterior' ? ` eta=${eta}` : ''}${cfg === 'model' ? ' (model default)' : ''}`;
  labels.push(label);
  for (const p of photos) {
    const out = await restorer.restore(p.bad, { sampler: sampler as SamplerName, steps: Number(steps), eta: Number(eta ?? 0), seed: 0 });
    p.restored.set(label, out.image);
    const row: Row = { name: p.name, method: label, psnr: psnr(out.image, p.clean), ssim: ssim(out.image, p.clean), seconds: out.ms / 1000 };
    rows.push(row);
    console.error(`${label} | ${p.name}: ${rows[photos.indexOf(p)].psnr.toFixed(2)} -> ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(3)}, ${row.seconds.toFixed(2)} s`);
  }
}
const engine = restorer.engine;
await restorer.dispose();

const names = photos.map((p) => p.name);
const meanOf = (rs: Row[], k: 'psnr' | 'ssim' | 'seconds') => rs.reduce((s, r) => s + r[k], 0) / rs.length;
const of = (m: string) => rows.filter((r) => r.method === m);
const input = meanOf(of('degraded input'), 'psnr');
console.log(`${values.photos === TEST_PHOTOS ? 'Held-out test photos' : `Photos (${values.photos})`}: ${names.length} (${names.join(', ')}), ${crop > 0 ? `centre ${crop}x${crop} crops` : 'whole images'}; degradation ${values.degradation} seeded by photo name; model on ${engine}; mean over photos.\n`);
console.log('| method | PSNR / SSIM | PSNR gain over the input | s / image |');
console.log('| --- | --- | --- | --- |');
for (const m of ['degraded input', ...labels]) {
  const gain = meanOf(of(m), 'psnr') - input;
  console.log(`| ${m} | ${meanOf(of(m), 'psnr').toFixed(2)} / ${meanOf(of(m), 'ssim').toFixed(3)} | ${m === 'degraded input' ? '' : `${gain >= 0 ? '+' : ''}${gain.toFixed(2)}`} | ${m === 'degraded input' ? '' : meanOf(of(m), 'seconds').toFixed(2)} |`);
}
if (values['per-photo']) {
  console.log(`\nPSNR / SSIM per photo:\n`);
  console.log(`| method | ${names.join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
  for (const m of ['degraded input', ...labels]) {
    console.log(`| ${m} | ${names.map((n) => { const r = rows.find((x) => x.method === m && x.name === n)!; return `${r.psnr.toFixed(2)} / ${r.ssim.toFixed(3)}`; }).join(' | ')} |`);
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
if (values.figure) {
  const figureRows = figureNames.map((n) => {
    const p = photos.find((x) => x.name === n)!;
    return [p.bad, p.restored.get(labels[0])!, p.clean].map((im) => convertChannels(centreCrop(im, figureCrop), 3));
  });
  await writeImage(values.figure, composeRows(figureRows, 6));
  console.log(`\nwrote ${values.figure} (100% zoom; rows: ${figureNames.join(', ')}; columns: degraded | restored (${labels[0]}) | clean)`);
}
