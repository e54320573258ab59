/**
 * The restoration app (examples/app/): open or drop a photo, pick a task (every model of
 * `models/`), restore it in a Web Worker (`loadWorkerRestorer` of irsde/web) with progress, time
 * left and cancel, compare before / after, download the PNG. Models are fetched from the same
 * server with a progress bar and kept in Cache Storage for the next visit.
 * Build and serve: `npm run app`; headless check: `npm run app:check`.
 *
 * The page's own thread only decodes the photo, posts it and draws what comes back: the network
 * and the sampling run in the worker, so the page stays responsive during a restore. `body`'s
 * `data-*` attributes expose the state (for the headless check and for styling).
 */
import { loadWorkerRestorer, type FloatImage, type WorkerRestorer } from '../../src/web.js';
import type { AppModel } from './build.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>('file');
const sampleButton = $<HTMLButtonElement>('sample');
const photoInfo = $('photo-info');
const taskSelect = $<HTMLSelectElement>('task');
const taskDescription = $('task-description');
const modelProgress = $<HTMLProgressElement>('model-progress');
const modelStatus = $('model-status');
const noiseControls = $<HTMLFieldSetElement>('noise-controls');
const noiseAuto = $<HTMLInputElement>('noise-auto');
const noiseRange = $<HTMLInputElement>('noise');
const noiseValue = $<HTMLOutputElement>('noise-value');
const restoreButton = $<HTMLButtonElement>('restore');
const cancelButton = $<HTMLButtonElement>('cancel');
const progress = $<HTMLProgressElement>('progress');
const statusLine = $('status');
const compare = $('compare');
const split = $<HTMLInputElement>('split');
const download = $<HTMLAnchorElement>('download');
const before = $<HTMLCanvasElement>('before');
const after = $<HTMLCanvasElement>('after');

const CACHE = 'irsde-models-v1';
let models: AppModel[] = [];
let restorer: WorkerRestorer | null = null;
let loadingModel: Promise<WorkerRestorer | null> | null = null;
let photo: { image: FloatImage; name: string } | null = null;
let running: AbortController | null = null;
let cancelPressedAt = 0;
let downloadUrl: string | null = null;

function setState(state: string): void {
  document.body.dataset.state = state;
  restoreButton.disabled = !(photo && restorer && !running);
  cancelButton.disabled = running === null;
}

const seconds = (ms: number): string => (ms < 60_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);
const megabytes = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

/** A model file's bytes: from Cache Storage when a previous visit kept it, else downloaded with progress (and kept). */
async function fetchModel(model: AppModel, onProgress: (received: number, total: number) => void): Promise<{ bytes: Uint8Array; cached: boolean }> {
  const cache = 'caches' in globalThis ? await caches.open(CACHE).catch(() => null) : null;
  const hit = await cache?.match(model.url);
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), cached: true };
  const res = await fetch(model.url);
  if (!res.ok || !res.body) throw new Error(`${model.url} answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length')) || model.bytes;
  const bytes = new Uint8Array(total);
  let received = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes.set(value, received);
    received += value.length;
    onProgress(received, total);
  }
  if (received !== total) throw new Error(`${model.url}: received ${received} bytes, expected ${total}`);
  // Older versions of the same model (another ?v= hash) are dropped.
  for (const key of (await cache?.keys()) ?? []) if (new URL(key.url).pathname === new URL(model.url, location.href).pathname) await cache?.delete(key);
  await cache?.put(model.url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
  return { bytes, cached: false };
}

/** Loads the chosen task's model into a fresh worker (the previous worker is terminated). */
async function selectModel(model: AppModel): Promise<WorkerRestorer | null> {
  running?.abort();
  const old = restorer;
  restorer = null;
  await old?.dispose();
  taskDescription.textContent = model.description;
  setState('loading-model');
  modelProgress.value = 0;
  modelStatus.textContent = `downloading ${megabytes(model.bytes)}…`;
  try {
    const { bytes, cached } = await fetchModel(model, (got, total) => {
      modelProgress.value = got / total;
      modelStatus.textContent = `downloading: ${megabytes(got)} of ${megabytes(total)}`;
    });
    modelProgress.value = 1;
    modelStatus.textContent = `${cached ? 'from the cache' : 'downloaded'}; starting the worker…`;
    const r = await loadWorkerRestorer(bytes, { transferModel: true, wasmPaths: './', onNote: (m) => console.warn(m) });
    if (taskSelect.value !== model.id) {
      await r.dispose(); // the user picked another task meanwhile
      return null;
    }
    restorer = r;
    modelStatus.textContent = `${model.id} ready (${megabytes(model.bytes)}${cached ? ', from the cache' : ''}), running on ${r.engine}${crossOriginIsolated ? '' : ' — page not cross-origin isolated: one thread'}`;
    const denoising = r.sde.kind === 'denoising';
    noiseControls.hidden = !denoising;
    if (denoising) noiseRange.max = String(Math.round(r.sde.maxSigma * 255));
    setState('ready');
    return r;
  } catch (e) {
    modelStatus.textContent = `could not load ${model.id}: ${(e as Error).message}`;
    setState('error');
    return null;
  }
}

/** Draws RGBA pixels on a canvas at their size. */
function drawPixels(canvas: HTMLCanvasElement, pixels: ImageData | ImageBitmap): void {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d')!;
  if (pixels instanceof ImageData) ctx.putImageData(pixels, 0, 0);
  else ctx.drawImage(pixels, 0, 0);
}

/** Opens a photo: decoded by the browser as stored (no colour conversion), grey when all its channels agree. */
async function openPhoto(blob: Blob, name: string): Promise<void> {
  try {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const n = bitmap.width * bitmap.height;
    let grey = true;
    for (let p = 0; p < n && grey; p++) grey = rgba.data[4 * p] === rgba.data[4 * p + 1] && rgba.data[4 * p] === rgba.data[4 * p + 2];
    const channels = grey ? 1 : 3;
    const data = new Float32Array(n * channels);
    for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = rgba.data[4 * p + c] / 255;
    photo = { image: { data, height: bitmap.height, width: bitmap.width, channels }, name: name.replace(/\.[^.]*$/, '') || 'photo' };
    drawPixels(before, rgba);
    drawPixels(after, rgba);
    compare.classList.remove('has-result');
    photoInfo.textContent = `${name}: ${bitmap.width} x ${bitmap.height}, ${grey ? 'grey' : 'colour'}`;
    bitmap.close();
    setDownload(null);
    setState(restorer ? 'ready' : document.body.dataset.state ?? 'ready');
    document.body.dataset.photo = 'loaded';
  } catch (e) {
    photoInfo.textContent = `could not open ${name}: ${(e as Error).message}`;
  }
}

function setDownload(png: Uint8Array | null): void {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = png ? URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' })) : null;
  if (downloadUrl) {
    download.href = downloadUrl;
    download.download = `${photo?.name ?? 'photo'}-${taskSelect.value}.png`;
    download.setAttribute('aria-disabled', 'false');
    download.removeAttribute('tabindex');
  } else {
    download.removeAttribute('href');
    download.setAttribute('aria-disabled', 'true');
  }
}

async function restore(): Promise<void> {
  const r = restorer;
  if (!photo || !r || running) return;
  const controller = new AbortController();
  running = controller;
  setState('restoring');
  const started = performance.now();
  document.body.dataset.restoreStart = String(started);
  progress.value = 0;
  statusLine.textContent = 'starting…';
  // Time left from the evaluations done so far: passes over the image = sampling steps (the
  // model's recommendation until the first step reports its total).
  let totalSteps = r.sampling?.steps ?? 10;
  const report = (fraction: number): void => {
    const elapsed = performance.now() - started;
    progress.value = fraction;
    const left = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
    statusLine.textContent = `restoring: ${Math.round(fraction * 100)}%${Number.isFinite(left) ? `, about ${seconds(left)} left` : ''}`;
  };
  try {
    const noiseLevel = r.sde.kind === 'denoising' && !noiseAuto.checked ? Math.min(Number(noiseRange.value) / 255, r.sde.maxSigma) : undefined;
    const result = await r.restore(photo.image, {
      signal: controller.signal,
      png: true,
      ...(noiseLevel !== undefined ? { noiseLevel } : {}),
      onProgress: (_done, total) => {
        totalSteps = total;
      },
      onEvaluation: (done, tiles, ms) => {
        document.body.dataset.evaluations = String(done);
        document.body.dataset.evaluationMs = String(Math.max(ms, Number(document.body.dataset.evaluationMs ?? 0)));
        report(Math.min(1, done / (tiles * totalSteps)));
      },
    });
    const bitmap = await createImageBitmap(new Blob([result.png! as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    drawPixels(after, bitmap);
    bitmap.close();
    compare.classList.add('has-result');
    setDownload(result.png!);
    progress.value = 1;
    const level = result.noise ? `; noise sigma ${(result.noise.sigma * 255).toFixed(1)} (${result.noise.estimated ? 'estimated' : 'given'})` : '';
    if (result.noise && noiseAuto.checked) {
      noiseRange.value = String(Math.round(result.noise.sigma * 255));
      noiseValue.textContent = `${(result.noise.sigma * 255).toFixed(1)} (estimated)`;
    }
    statusLine.textContent = `done in ${seconds(performance.now() - started)} on ${r.engine}${level}`;
    document.body.dataset.restoreEnd = String(performance.now());
    running = null;
    setState('done');
  } catch (e) {
    running = null;
    if (controller.signal.aborted) {
      const ms = performance.now() - cancelPressedAt;
      document.body.dataset.cancelMs = String(ms);
      statusLine.textContent = `cancelled (the worker stopped ${seconds(ms)} after the click)`;
      progress.value = 0;
      setState(restorer ? 'cancelled' : 'loading-model');
    } else {
      statusLine.textContent = `error: ${(e as Error).message}`;
      setState('error');
    }
  }
}

async function main(): Promise<void> {
  models = (await (await fetch('models/index.json')).json()) as AppModel[];
  for (const m of models) {
    const option = document.createElement('option');
    option.value = m.id;
    option.textContent = `${m.task} (${m.id}, ${megabytes(m.bytes)})`;
    taskSelect.append(option);
  }
  taskSelect.value = (models.find((m) => m.default) ?? models[0]).id;
  taskSelect.onchange = () => void (loadingModel = selectModel(models.find((m) => m.id === taskSelect.value)!));
  fileInput.onchange = () => {
    const f = fileInput.files?.[0];
    if (f) void openPhoto(f, f.name);
  };
  sampleButton.onclick = async () => void openPhoto(await (await fetch('sample-noisy.png')).blob(), 'sample-noisy.png');
  // Drop anywhere on the page.
  addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const f = e.dataTransfer?.files[0];
    if (f) void openPhoto(f, f.name);
  });
  noiseAuto.onchange = () => {
    noiseRange.disabled = noiseAuto.checked;
    noiseValue.textContent = noiseAuto.checked ? 'estimated when restoring' : noiseRange.value;
  };
  noiseRange.oninput = () => (noiseValue.textContent = noiseRange.value);
  noiseValue.textContent = 'estimated when restoring';
  restoreButton.onclick = () => void restore();
  cancelButton.onclick = () => {
    cancelPressedAt = performance.now();
    statusLine.textContent = 'cancelling: the worker stops after the current network evaluation…';
    running?.abort();
  };
  split.oninput = () => compare.style.setProperty('--split', `${split.value}%`);
  for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name=view]'))) {
    radio.onchange = () => {
      compare.classList.toggle('slider', radio.value === 'slider' && radio.checked);
      compare.classList.toggle('side', radio.value === 'side' && radio.checked);
    };
  }
  download.onclick = (e) => {
    if (download.getAttribute('aria-disabled') === 'true') e.preventDefault();
  };
  download.onkeydown = (e) => {
    if (e.key === ' ') {
      e.preventDefault();
      download.click();
    }
  };
  setState('loading-model');
  loadingModel = selectModel(models.find((m) => m.id === taskSelect.value)!);
  await loadingModel;
}

main().catch((e: Error) => {
  statusLine.textContent = `error: ${e.message}`;
  setState('error');
});
