/**
 * Builds the restoration app (examples/app/) into examples/app/dist/: the page, its script, the
 * worker (`src/restore-worker.ts`, as `restore-worker.js` beside `app.js`, where
 * `loadWorkerRestorer` looks for it), onnxruntime-web's runtime files, every model of `models/`
 * with an index (`models/index.json`: name, size, description) and a sample noisy photo.
 *
 *   npm run app                      # build, then serve at http://127.0.0.1:8090/ (COOP/COEP) until Ctrl-C
 *   npx tsx examples/app/build.ts    # build only
 *   npx tsx examples/app/build.ts --serve --port 8091
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng, cropImage, encodeImage, gaussianNoise, readModelInfo, countParameters, type FloatImage, type SavedModelInfo } from '../../src/advanced.js';
import { readSafetensorsMetadata } from '../../src/advanced.js';
import { readImage } from '../../src/node.js';
import { DEFAULT_MODEL_FILE } from '../../src/io/shipped-model.js';
import { copyOrtWebFiles, serveFolder } from '../../scripts/headless-chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
/** Where the app is built. */
export const APP_DIST = join(here, 'dist');
const SHARED = process.env.IRSDE_SHARED ?? resolve(root, '../shared');

/**
 * The sample photo: the centre 1024x768 of a real photograph from ../shared/data (scikit-image's
 * retina, CC0), with clipped sigma-25 Gaussian noise drawn from seed 0 (the app offers it as
 * "sample noisy photo"; `npm run app:check` restores it). Without ../shared, the bundled
 * astronaut crop (256x256).
 */
export const SAMPLE = { photo: join(SHARED, 'data/images/retina.jpg'), fallback: join(root, 'examples/data/astronaut-crop.png'), width: 1024, height: 768, sigma: 25, seed: 0 } as const;

/** The sample's clean and noisy images. */
export async function makeSample(): Promise<{ clean: FloatImage; noisy: FloatImage; source: string }> {
  const source = existsSync(SAMPLE.photo) ? SAMPLE.photo : SAMPLE.fallback;
  const photo = await readImage(source);
  const h = Math.min(SAMPLE.height, photo.height);
  const w = Math.min(SAMPLE.width, photo.width);
  const clean = cropImage(photo, Math.floor((photo.height - h) / 2), Math.floor((photo.width - w) / 2), h, w);
  const noisy = gaussianNoise(clean, { sigma: SAMPLE.sigma, clip: true }, new Rng(SAMPLE.seed));
  return { clean, noisy, source };
}

/** One entry of models/index.json: what the task picker shows. */
export interface AppModel {
  /** File name without `.safetensors`, e.g. `denoise-blind`. */
  readonly id: string;
  /** The task's name, e.g. `denoise`. */
  readonly task: string;
  /** URL of the file, relative to the page, with a content hash (the cache key). */
  readonly url: string;
  /** File size, bytes (the download bar's total). */
  readonly bytes: number;
  /** What the model does: the file's `description` metadata when it has one, else a summary of its metadata. */
  readonly description: string;
  /** Whether the app picks it first. */
  readonly default: boolean;
  /** Whether it is an inpainting model (its file's `task.inpaint`): the app then shows the mask brush. */
  readonly inpaint: boolean;
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** More model files to offer besides `models/` (e.g. the check's tiny inpainting model): file name and bytes. */
  readonly extraModels?: readonly { readonly file: string; readonly bytes: Uint8Array }[];
}

/** What the model file says it is, in a sentence. */
function describe(id: string, info: SavedModelInfo, meta: Record<string, string>): string {
  if (meta.description) return meta.description;
  const params = (countParameters(info.network) / 1e6).toFixed(2);
  const net = `${info.network.arch === 'nafnet' ? 'NAFNet' : 'U-Net'}, ${params} M parameters`;
  const sampling = info.sampling ? `; ${info.sampling.sampler}, ${info.sampling.steps} step${info.sampling.steps === 1 ? '' : 's'}` : '';
  if (info.sde.kind === 'denoising') {
    return `Removes Gaussian noise of any level up to sigma ${Math.round(info.sde.maxSigma * 255)} (0–255 scale), estimated from the photo or set below (blind DenoisingSDE, ${net}${sampling}).`;
  }
  const task = info.task?.name ?? id.split('-')[0];
  const what: Record<string, string> = { derain: 'Removes rain streaks (trained on synthetic rain)', deblur: 'Removes blur', inpaint: 'Fills in missing pixels' };
  return `${what[task] ?? `Restores '${task}' degradations`} (IR-SDE, ${net}${sampling}).`;
}

/** Builds the app into {@link APP_DIST}; returns the models it found. */
export async function buildApp(log: (line: string) => void = console.log, options: BuildAppOptions = {}): Promise<AppModel[]> {
  rmSync(APP_DIST, { recursive: true, force: true });
  mkdirSync(join(APP_DIST, 'models'), { recursive: true });
  await build({
    entryPoints: { app: join(here, 'app.ts'), 'restore-worker': join(root, 'src/restore-worker.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: APP_DIST,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(APP_DIST, f));
  copyOrtWebFiles(APP_DIST);
  const models: AppModel[] = [];
  const files = readdirSync(join(root, 'models'))
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((file) => ({ file, bytes: new Uint8Array(readFileSync(join(root, 'models', file))) }));
  for (const { file, bytes } of [...files, ...(options.extraModels ?? [])]) {
    const info = readModelInfo(bytes);
    const id = file.replace(/\.safetensors$/, '');
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    writeFileSync(join(APP_DIST, 'models', file), bytes);
    models.push({
      id,
      task: info.task?.name ?? (info.sde.kind === 'denoising' ? 'denoise' : id.split('-')[0]),
      url: `models/${file}?v=${hash}`,
      bytes: bytes.length,
      description: describe(id, info, readSafetensorsMetadata(bytes)),
      default: file === DEFAULT_MODEL_FILE,
      inpaint: info.task?.inpaint !== undefined,
    });
  }
  writeFileSync(join(APP_DIST, 'models/index.json'), JSON.stringify(models, null, 2));
  const sample = await makeSample();
  writeFileSync(join(APP_DIST, 'sample-noisy.png'), encodeImage(sample.noisy, 'png'));
  log(`built ${APP_DIST}: ${models.length} models (${models.map((m) => m.id).join(', ')}), sample ${sample.noisy.width}x${sample.noisy.height} from ${sample.source}`);
  return models;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { serve: { type: 'boolean' }, port: { type: 'string', default: '8090' } } });
  await buildApp();
  if (values.serve) {
    const server = await serveFolder(APP_DIST, { port: Number(values.port), onLog: () => undefined });
    console.log(`serving the app cross-origin isolated at ${server.origin}/ (Ctrl-C to stop)`);
    await new Promise(() => {});
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
