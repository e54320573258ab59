/**
 * The denoising evaluation report: PSNR / SSIM and seconds per image on the held-out photos, at
 * several noise levels, for a trained model (its recommended sampling and any other samplers and
 * step counts) against scikit-image's classical denoisers given the true sigma (non-local means,
 * TV, wavelet: scripts/classical_baselines.py with Debian's python3-skimage, or the committed
 * numbers of training/eval/classical-test.json). Prints Markdown tables: mean PSNR / SSIM per
 * sigma, the model's margin over non-local means, and per-photo scores with --per-photo.
 *
 *   npx tsx scripts/eval-denoise.ts --weights models/denoise-sigma25.safetensors
 *     [--photos data/photos/test | a.png,b.png] [--sigmas 15,25,50] [--crop 512]
 *     [--configs model,posterior:2:0,sde:20:1] [--engine ort|wasm|cpu] [--blind]
 *     [--baselines training/eval/classical-test.json | --baselines run | --baselines none] [--write-baselines FILE]
 *     [--out .bench/eval] [--json report.json] [--per-photo] [--tile 512] [--classical all|nlm]
 *     [--camera data/heldout/camera] [--local-stats 96]
 *
 * --photos also takes a comma-separated list of folders and files, e.g. the extended held-out set
 * of issue 32: data/photos/test,data/heldout/skimage,data/heldout/defocused (written by
 * scripts/fetch-photos.sh and scripts/heldout_images.py).
 *
 * --camera DIR: camera-noise evaluation on inputs made outside irsde by
 * scripts/camera_noise_fixtures.py (DIR/clean/<name>.png, DIR/noisy/<name>.jpg): the model is
 * blind (the pipeline estimates the level), non-local means gets scikit-image's estimate_sigma of
 * each noisy image (`classical_baselines.py ... estimate`); --sigmas and --crop do not apply.
 *
 * Every margin table gives the mean margin over non-local means and the worst image's (and which
 * image), and lists the images where the model is below non-local means. --tile N restores in
 * N x N tiles (default the pipeline's 512). --classical nlm runs non-local means alone (faster).
 *
 * Noisy images: each photo is centre-cropped to at most --crop x --crop (0: whole image), gets
 * clipped Gaussian noise of each sigma (0-255 scale; seeded by photo name and sigma, so a photo's
 * noise does not depend on which other photos are evaluated), grey noise on grey photos, and is
 * stored as a 16-bit PNG that both irsde and the Python baselines read back. Photos: by default
 * the held-out test split written by scripts/fetch-photos.sh (training/photos.json).
 *
 * --local-stats N: a NAFNet model's channel attention averages over N x N input-pixel windows
 * (test-time local statistics, `NAFNetConfig.localStatistics`) in place of the model file's
 * setting; 0 or off: the global mean.
 *
 * --blind: a DenoisingSDE model is not told the noise level: the pipeline estimates it from the
 * noisy image (`Restorer.restore` without `noiseLevel`). Baselines are always given the true sigma.
 *
 * `--baselines run` (default when no committed file matches) runs the Python script;
 * `--write-baselines FILE` stores its rows with the settings they were made with, for later runs
 * to compare against without Python. A committed file is used only when its photos, sigmas and
 * crop match this run and its noisy-input PSNRs equal ours (same noisy images).
 * `--configs none` evaluates the baselines alone (no --weights needed); `--baselines none` the
 * model alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { from255, gaussianNoise, psnr, Rng, ssim, type FloatImage, type SamplerName } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage, type NodeEngineName } from '../src/node.js';
import { centreCrop, photoFiles, seedOf, TEST_PHOTOS } from './eval-photos.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    photos: { type: 'string', default: TEST_PHOTOS },
    sigmas: { type: 'string', default: '15,25,50' },
    sigma: { type: 'string' },
    crop: { type: 'string', default: '512' },
    configs: { type: 'string', default: 'model' },
    engine: { type: 'string', default: 'ort' },
    blind: { type: 'boolean', default: false },
    baselines: { type: 'string' },
    'write-baselines': { type: 'string' },
    out: { type: 'string', default: '.bench/eval' },
    json: { type: 'string' },
    'per-photo': { type: 'boolean', default: false },
    tile: { type: 'string' },
    classical: { type: 'string', default: 'all' },
    camera: { type: 'string' },
    'local-stats': { type: 'string' },
  },
});

const COMMITTED_BASELINES = 'training/eval/classical-test.json';
const camera = values.camera;
/** Camera mode has one noise "level", 0 internally, named `camera noise` in the tables. */
const sigmas = camera !== undefined ? [0] : (values.sigma ?? values.sigmas!).split(',').map(Number);
const levelName = (sigma: number): string => (camera !== undefined ? 'camera noise' : `sigma ${sigma}`);
const tile = values.tile === undefined ? undefined : Number(values.tile);
if (tile !== undefined && !(Number.isInteger(tile) && tile >= 16)) throw new Error(`--tile: expected an integer >= 16, got '${values.tile}'`);
if (values.classical !== 'all' && values.classical !== 'nlm') throw new Error(`--classical: expected all or nlm, got '${values.classical}'`);
if (!sigmas.every((s) => Number.isFinite(s) && s >= 0)) throw new Error(`--sigmas: expected comma-separated numbers >= 0, got '${values.sigmas}'`);
const crop = Number(values.crop);
if (!Number.isInteger(crop) || crop < 0) throw new Error(`--crop: expected an integer >= 0, got '${values.crop}'`);
const localStats = values['local-stats'] === undefined ? undefined : values['local-stats'] === 'off' ? 0 : Number(values['local-stats']);
if (localStats !== undefined && !(Number.isInteger(localStats) && localStats >= 0)) throw new Error(`--local-stats: expected a window side in pixels (an integer >= 1), or 0 / off, got '${values['local-stats']}'`);
const configs = values.configs === 'none' ? [] : values.configs!.split(',');
if (configs.length > 0 && !values.weights) throw new Error('--weights FILE is required (or --configs none for the baselines alone)');

/** One score: a method on one photo at one noise level. */
interface Row {
  name: string;
  sigma: number;
  method: string;
  psnr: number;
  ssim: number;
  seconds: number;
  /** The noise level the method was given (0-255), when it differs from `sigma` (blind runs). */
  sigmaGiven?: number;
}

/** A folder name for a method (same rule as classical_baselines.py). */
function slug(method: string): string {
  return method.toLowerCase().replace(/[^a-z0-9]/g, '-').replace(/^-+|-+$/g, '');
}

// 1. The noisy images (written once per photo and sigma, read back as the baselines read them).
const photos: Array<{ name: string; clean: FloatImage; noisy: Map<number, FloatImage> }> = [];
const levelDir = (sigma: number): string => join(values.out!, camera !== undefined ? 'camera' : `sigma${sigma}`);
const dirs = (sigma: number) => (camera !== undefined ? { clean: join(camera, 'clean'), noisy: join(camera, 'noisy') } : { clean: join(levelDir(sigma), 'clean'), noisy: join(levelDir(sigma), 'noisy') });
if (camera !== undefined) {
  // Inputs made outside irsde (scripts/camera_noise_fixtures.py): read as they are.
  for (const file of photoFiles(join(camera, 'clean'))) {
    const name = basename(file, extname(file));
    const clean = await readImage(file);
    const noisyFile = [join(camera, 'noisy', `${name}.jpg`), join(camera, 'noisy', `${name}.png`)].find((f) => existsSync(f));
    if (noisyFile === undefined) throw new Error(`--camera: no noisy input for '${name}' in ${join(camera, 'noisy')}`);
    photos.push({ name, clean, noisy: new Map([[0, await readImage(noisyFile, { channels: clean.channels })]]) });
  }
}
for (const file of camera !== undefined ? [] : photoFiles(values.photos!)) {
  const name = basename(file, extname(file));
  const clean = centreCrop(await readImage(file), crop);
  const noisy = new Map<number, FloatImage>();
  for (const sigma of sigmas) {
    const d = dirs(sigma);
    mkdirSync(d.clean, { recursive: true });
    mkdirSync(d.noisy, { recursive: true });
    await writeImage(join(d.clean, `${name}.png`), clean, { bitDepth: 16 });
    await writeImage(join(d.noisy, `${name}.png`), gaussianNoise(clean, { sigma, clip: true }, new Rng(seedOf(`${name}:${sigma}`))), { bitDepth: 16 });
    noisy.set(sigma, await readImage(join(d.noisy, `${name}.png`), { channels: clean.channels }));
  }
  photos.push({ name, clean, noisy });
}
const rows: Row[] = [];
for (const p of photos) for (const sigma of sigmas) rows.push({ name: p.name, sigma, method: 'noisy input', psnr: psnr(p.noisy.get(sigma)!, p.clean), ssim: ssim(p.noisy.get(sigma)!, p.clean), seconds: 0 });

// 2. The model, once per sampling config.
if (configs.length > 0) {
  // The one restoration pipeline (what `irsde restore` runs), on the requested engine.
  const restorer = await loadRestorerFile(values.weights!, { engine: values.engine as NodeEngineName, ...(localStats !== undefined ? { localStatistics: localStats } : {}) });
  const denoising = restorer.sde.kind === 'denoising';
  const rec = restorer.sampling ?? { sampler: denoising ? 'ode' : 'posterior', steps: denoising ? 10 : 1, eta: 0 };
  for (const cfg of configs) {
    const [sampler, steps, eta] = cfg === 'model' ? [rec.sampler, String(rec.steps), String(rec.eta ?? 0)] : cfg.split(':');
    const blind = values.blind || camera !== undefined;
    const label = `irsde ${sampler} ${steps} steps${sampler === 'posterior' ? ` eta=${eta}` : ''}${cfg === 'model' ? ' (model default)' : ''}${blind ? ', blind' : ''}${tile !== undefined ? `, tile ${tile}` : ''}${localStats !== undefined ? `, local stats ${localStats || 'off'}` : ''}`;
    for (const p of photos) {
      for (const sigma of sigmas) {
        const noisyQ = p.noisy.get(sigma)!;
        // An IR-SDE network takes no noise level (it is blind by construction: the noisy image is
        // its condition); a DenoisingSDE network starts at the level's timestep: the true sigma,
        // or with --blind the pipeline's own estimate (as `irsde restore` without --noise-level).
        const out = await restorer.restore(noisyQ, {
          sampler: sampler as SamplerName,
          steps: Number(steps),
          eta: Number(eta),
          seed: 0,
          ...(denoising && !blind ? { noiseLevel: Math.min(from255(sigma), restorer.sde.maxSigma) } : {}),
          ...(tile !== undefined ? { tile } : {}),
        });
        const seconds = out.ms / 1000;
        const img = out.image;
        const row: Row = { name: p.name, sigma, method: label, psnr: psnr(img, p.clean), ssim: ssim(img, p.clean), seconds };
        if (blind && out.noise) row.sigmaGiven = out.noise.sigma * 255;
        rows.push(row);
        await writeImage(join(levelDir(sigma), 'restored', slug(label), `${p.name}.png`), img);
        console.error(`${label} | ${p.name} ${levelName(sigma)}: ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(3)}, ${seconds.toFixed(2)} s${row.sigmaGiven !== undefined ? `, level ${row.sigmaGiven.toFixed(2)}` : ''}`);
      }
    }
  }
  await restorer.dispose();
}

// 3. Classical baselines given the true sigma: committed numbers when they were made on these
// very noisy images, else scikit-image now.
interface BaselineFile {
  about: string;
  skimage: string;
  crop: number;
  sigmas: number[];
  photos: string[];
  rows: Row[];
}
const names = photos.map((p) => p.name);
const noisyRows = rows.filter((r) => r.method === 'noisy input');
function usable(file: string): BaselineFile | string {
  if (!existsSync(file)) return `${file} not found`;
  const b = JSON.parse(readFileSync(file, 'utf8')) as BaselineFile;
  if (b.crop !== crop) return `${file} was made with --crop ${b.crop}`;
  const missing = names.filter((n) => !b.photos.includes(n)).concat(sigmas.filter((s) => !b.sigmas.includes(s)).map((s) => `sigma ${s}`));
  if (missing.length) return `${file} lacks ${missing.join(', ')}`;
  for (const r of noisyRows) {
    const theirs = b.rows.find((x) => x.method === 'noisy input' && x.name === r.name && x.sigma === r.sigma);
    if (!theirs || Math.abs(theirs.psnr - r.psnr) > 1e-3) return `${file}: the noisy ${r.name} (sigma ${r.sigma}) differs from this run's`;
  }
  return b;
}
function runPython(): Row[] {
  const out: Row[] = [];
  for (const sigma of sigmas) {
    const d = dirs(sigma);
    const args = ['scripts/classical_baselines.py', d.clean, d.noisy, camera !== undefined ? 'estimate' : String(sigma), join(levelDir(sigma), 'restored'), ...(values.classical === 'nlm' ? ['--only', 'nlm'] : [])];
    const py = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    for (const r of JSON.parse(py) as Array<Omit<Row, 'sigma'> & { sigma_estimated?: number }>) {
      if (!names.includes(r.name) || r.method === 'noisy input') continue;
      const { sigma_estimated: est, ...rest } = r;
      out.push({ ...rest, sigma, ...(est !== undefined ? { sigmaGiven: est } : {}) });
    }
  }
  return out;
}
let classical: Row[] = [];
let classicalFrom = '';
const wanted = values.baselines ?? (values['write-baselines'] || camera !== undefined ? 'run' : COMMITTED_BASELINES);
const committed = wanted === 'run' ? 'asked to run scikit-image' : wanted === 'none' ? 'none' : usable(wanted);
if (committed === 'none') {
  // --baselines none: the model alone.
} else if (typeof committed !== 'string') {
  classical = committed.rows.filter((r) => r.method !== 'noisy input' && names.includes(r.name) && sigmas.includes(r.sigma));
  classicalFrom = `${wanted} (scikit-image ${committed.skimage})`;
} else {
  if (wanted !== 'run') console.error(`baselines: not using ${committed}; running scikit-image`);
  try {
    classical = runPython();
    const version = execFileSync('/usr/bin/python3', ['-c', 'import skimage; print(skimage.__version__)'], { encoding: 'utf8' }).trim();
    classicalFrom = `scikit-image ${version}, run now`;
    if (values['write-baselines']) {
      const file: BaselineFile = {
        about: 'scikit-image denoisers given the true sigma on the held-out photos (scripts/eval-denoise.ts --write-baselines): centre crops, clipped noise seeded by photo name and sigma, 16-bit PNGs; seconds on this 2-core machine',
        skimage: version,
        crop,
        sigmas,
        photos: names,
        rows: [...noisyRows, ...classical].map((r) => ({ ...r, psnr: Number(r.psnr.toFixed(4)), ssim: Number(r.ssim.toFixed(5)), seconds: Number(r.seconds.toFixed(3)) })),
      };
      mkdirSync(join(values['write-baselines'], '..'), { recursive: true });
      const { rows: fileRows, ...head } = file;
      const text = JSON.stringify(head, null, 1).replace(/\n}$/, `,\n "rows": [\n  ${fileRows.map((r) => JSON.stringify(r)).join(',\n  ')}\n ]\n}\n`);
      writeFileSync(values['write-baselines'], text);
      console.error(`wrote ${values['write-baselines']}`);
    }
  } catch (e) {
    console.error(`classical baselines skipped (need Debian's python3-skimage): ${(e as Error).message.split('\n')[0]}`);
  }
}
rows.push(...classical);

// 4. Tables.
const methods = [...new Set(rows.map((r) => r.method))];
const meanOf = (rs: Row[], k: 'psnr' | 'ssim' | 'seconds') => rs.reduce((s, r) => s + r[k], 0) / rs.length;
const cell = (m: string, sigma: number) => rows.filter((r) => r.method === m && r.sigma === sigma);
if (camera !== undefined) {
  console.log(`Camera noise (${camera}, made by scripts/camera_noise_fixtures.py): ${names.length} images (${names.join(', ')}); mean over images.`);
  console.log(`Model on ${values.engine}, blind${tile !== undefined ? `, tile ${tile}` : ''}; baselines given scikit-image's estimate_sigma of each noisy image: ${classicalFrom || 'none'}.\n`);
} else {
  console.log(`${values.photos === TEST_PHOTOS ? 'Held-out test photos' : `Photos (${values.photos})`}: ${names.length} (${names.join(', ')}), ${crop > 0 ? `centre ${crop}x${crop} crops` : 'whole images'}; clipped Gaussian noise; mean over photos.`);
  console.log(`Model on ${values.engine}${values.blind ? ', blind' : ''}${tile !== undefined ? `, tile ${tile}` : ''}; baselines given the true sigma: ${classicalFrom || 'none'}.\n`);
}
console.log(`| method | ${sigmas.map((s) => `${levelName(s)}: PSNR / SSIM`).join(' | ')} | s / image |`);
console.log(`| --- | ${sigmas.map(() => '---').join(' | ')} | --- |`);
for (const m of methods) {
  const all = rows.filter((r) => r.method === m);
  const secs = m === 'noisy input' ? '' : meanOf(all, 'seconds').toFixed(2);
  console.log(`| ${m} | ${sigmas.map((s) => (cell(m, s).length ? `${meanOf(cell(m, s), 'psnr').toFixed(2)} / ${meanOf(cell(m, s), 'ssim').toFixed(3)}` : '')).join(' | ')} | ${secs} |`);
}
const nlm = 'non-local means';
if (methods.includes(nlm)) {
  const signed = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
  /** Per image: the model's PSNR minus non-local means' (images both scored). */
  const margins = (m: string, s: number) =>
    cell(m, s).flatMap((r) => {
      const b = cell(nlm, s).find((x) => x.name === r.name);
      return b ? [{ name: r.name, d: r.psnr - b.psnr, est: r.sigmaGiven, nlmEst: b.sigmaGiven }] : [];
    });
  console.log(`\nMargin over non-local means (PSNR, dB): mean over images / worst image (which):\n`);
  console.log(`| method | ${sigmas.map((s) => levelName(s)).join(' | ')} |`);
  console.log(`| --- | ${sigmas.map(() => '---').join(' | ')} |`);
  const irsdeMethods = methods.filter((x) => x.startsWith('irsde'));
  for (const m of irsdeMethods) {
    console.log(`| ${m} | ${sigmas.map((s) => {
      const ds = margins(m, s);
      if (ds.length === 0) return '';
      const worst = ds.reduce((a, b) => (b.d < a.d ? b : a));
      return `${signed(ds.reduce((t, x) => t + x.d, 0) / ds.length)} / ${signed(worst.d)} (${worst.name})`;
    }).join(' | ')} |`);
  }
  for (const m of irsdeMethods) {
    for (const s of sigmas) {
      const lose = margins(m, s).filter((x) => x.d < 0).sort((a, b) => a.d - b.d);
      if (lose.length === 0) continue;
      const est = (x: { est?: number; nlmEst?: number }) => (x.est !== undefined ? `, level ${x.est.toFixed(1)}${x.nlmEst !== undefined ? ` (NLM's ${x.nlmEst.toFixed(1)})` : ''}` : '');
      console.log(`\n${m}, ${levelName(s)}: below non-local means on ${lose.length} of ${margins(m, s).length}: ${lose.map((x) => `${x.name} ${signed(x.d)}${est(x)}`).join('; ')}`);
    }
  }
}
if (values['per-photo']) {
  for (const sigma of sigmas) {
    console.log(`\n${levelName(sigma)}, PSNR / SSIM per photo:\n`);
    console.log(`| method | ${names.join(' | ')} |`);
    console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
    for (const m of methods) {
      const rs = names.map((n) => rows.find((r) => r.method === m && r.name === n && r.sigma === sigma));
      if (rs.every((r) => r === undefined)) continue;
      console.log(`| ${m} | ${rs.map((r) => (r ? `${r.psnr.toFixed(2)} / ${r.ssim.toFixed(3)}` : '')).join(' | ')} |`);
    }
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
