/**
 * The restoration app (examples/app/): open or drop a photo, pick a task (every model of
 * `models/`), restore it in a Web Worker (`loadWorkerRestorer` of irsde/web) with progress, time
 * left and cancel, see a large photo's result appear tile by tile, compare before / after,
 * download the PNG; with an inpainting model, paint the mask (what to fill in) with a brush.
 * Models are fetched from the same server with a progress bar and kept in Cache Storage for the
 * next visit.
 * Build and serve: `npm run app`; headless check: `npm run app:check`.
 *
 * The page's own thread only decodes the photo, posts it and draws what comes back: the network
 * and the sampling run in the worker, so the page stays responsive during a restore. `body`'s
 * `data-*` attributes expose the state (for the headless check and for styling).
 */
import { loadWorkerRestorer, type FloatImage, type RestoredTile, type WorkerRestorer } from '../../src/web.js';
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
const maskNote = $('mask-note');
const maskPanel = $<HTMLElement>('mask-panel');
const brush = $<HTMLInputElement>('brush');
const brushValue = $<HTMLOutputElement>('brush-value');
const maskUndo = $<HTMLButtonElement>('mask-undo');
const maskClear = $<HTMLButtonElement>('mask-clear');
const maskPhoto = $<HTMLCanvasElement>('mask-photo');
const maskPaint = $<HTMLCanvasElement>('mask-paint');
const maskInfo = $('mask-info');

const CACHE = 'irsde-models-v1';
let models: AppModel[] = [];
let restorer: WorkerRestorer | null = null;
let loadingModel: Promise<WorkerRestorer | null> | null = null;
let photo: { image: FloatImage; name: string } | null = null;
let running: AbortController | null = null;
let cancelPressedAt = 0;
let downloadUrl: string | null = null;

/** One brush stroke on the mask: its diameter and its path, in the photo's pixels. */
interface Stroke {
  readonly size: number;
  readonly points: { x: number; y: number }[];
}
/** The strokes painted so far (undo drops the last), and the one being painted. */
let strokes: Stroke[] = [];
let stroke: Stroke | null = null;

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
  maskPanel.hidden = true;
  maskNote.textContent = '';
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
    showMaskTools(model);
    if (denoising) noiseRange.max = String(Math.round(r.sde.maxSigma * 255));
    setState('ready');
    return r;
  } catch (e) {
    modelStatus.textContent = `could not load ${model.id}: ${(e as Error).message}`;
    setState('error');
    return null;
  }
}

/** The mask brush: shown for inpainting models only; any other model says it takes no mask. */
function showMaskTools(model: AppModel): void {
  const inpainting = restorer?.task?.inpaint !== undefined;
  maskPanel.hidden = !inpainting;
  document.body.dataset.inpainting = String(inpainting);
  if (inpainting) maskNote.textContent = `${model.id} fills in missing pixels: paint them with the mask brush below before pressing Restore.`;
  else {
    const any = models.filter((m) => m.inpaint).map((m) => m.id);
    maskNote.textContent = `No mask brush for ${model.id}: it restores the whole photo. The brush is for inpainting models${any.length ? ` (${any.join(', ')})` : '; none is installed in models/ yet'}.`;
  }
}

/** The mask canvas position of a pointer event, in the photo's pixels. */
function maskPoint(e: PointerEvent): { x: number; y: number } {
  const r = maskPaint.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * maskPaint.width) / r.width, y: ((e.clientY - r.top) * maskPaint.height) / r.height };
}

/** The mask canvas's context, made for reading back (the mask is read from it). */
const maskContext = (): CanvasRenderingContext2D => maskPaint.getContext('2d', { willReadFrequently: true })!;

/** Paints a stroke (or its last segment) on the mask canvas: opaque red, shown half transparent over the photo. */
function paintStroke(s: Stroke, fromPoint = 0): void {
  const ctx = maskContext();
  ctx.fillStyle = ctx.strokeStyle = '#ff0000';
  ctx.lineWidth = s.size;
  ctx.lineCap = ctx.lineJoin = 'round';
  const p = s.points;
  if (p.length === 1) {
    ctx.beginPath();
    ctx.arc(p[0].x, p[0].y, s.size / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(p[Math.max(0, fromPoint - 1)].x, p[Math.max(0, fromPoint - 1)].y);
  for (let i = Math.max(1, fromPoint); i < p.length; i++) ctx.lineTo(p[i].x, p[i].y);
  ctx.stroke();
}

/** Repaints every stroke (after an undo or a clear) and updates the buttons and the painted area. */
function repaintMask(): void {
  maskContext().clearRect(0, 0, maskPaint.width, maskPaint.height);
  for (const s of strokes) paintStroke(s);
  maskChanged();
}

function maskChanged(): void {
  maskUndo.disabled = maskClear.disabled = strokes.length === 0;
  const painted = strokes.length === 0 ? 0 : maskImage().painted;
  document.body.dataset.maskPixels = String(painted);
  maskInfo.textContent = painted === 0 ? 'No mask painted yet.' : `${painted} pixels to fill in (${((100 * painted) / (maskPaint.width * maskPaint.height)).toFixed(1)}% of the photo), ${strokes.length} stroke${strokes.length === 1 ? '' : 's'}.`;
}

/** The painted mask as the restorer takes it: one channel, 1 (white) where a pixel is to be filled in. */
function maskImage(): { mask: FloatImage; painted: number } {
  const { width, height } = maskPaint;
  const rgba = maskContext().getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height);
  let painted = 0;
  for (let p = 0; p < data.length; p++) {
    if (rgba[4 * p + 3] >= 128) {
      data[p] = 1;
      painted++;
    }
  }
  return { mask: { data, height, width, channels: 1 }, painted };
}

/** Draws a finished tile's preview on the result canvas, where it belongs. */
function drawTile(tile: RestoredTile): void {
  const { data, width, height, channels } = tile.image;
  const rgba = new ImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) rgba.data[4 * p + c] = Math.round(data[p * channels + (channels === 1 ? 0 : c)] * 255);
    rgba.data[4 * p + 3] = 255;
  }
  after.getContext('2d')!.putImageData(rgba, tile.x, tile.y);
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
    drawPixels(maskPhoto, rgba);
    maskPaint.width = bitmap.width;
    maskPaint.height = bitmap.height;
    strokes = [];
    repaintMask();
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
  let mask: FloatImage | undefined;
  if (r.task?.inpaint !== undefined) {
    const painted = maskImage();
    if (painted.painted === 0) {
      statusLine.textContent = 'Paint the parts to fill in first: the mask is empty.';
      return;
    }
    mask = painted.mask;
  }
  const controller = new AbortController();
  running = controller;
  setState('restoring');
  const started = performance.now();
  document.body.dataset.restoreStart = String(started);
  progress.value = 0;
  statusLine.textContent = 'starting…';
  // The result canvas starts as the photo; each tile's preview is drawn on it as the worker finishes it.
  setDownload(null);
  after.width = before.width;
  after.height = before.height;
  after.getContext('2d')!.drawImage(before, 0, 0); // canvas to canvas: no read-back on this thread
  compare.classList.add('has-result');
  let tilesShown = 0;
  let tileLine = '';
  document.body.dataset.tilesShown = '0';
  // Time left from the evaluations done so far: passes over the image = sampling steps (the
  // model's recommendation until the first step reports its total).
  let totalSteps = r.sampling?.steps ?? 10;
  const report = (fraction: number): void => {
    const elapsed = performance.now() - started;
    progress.value = fraction;
    const left = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
    statusLine.textContent = `restoring: ${Math.round(fraction * 100)}%${Number.isFinite(left) ? `, about ${seconds(left)} left` : ''}${tileLine}`;
  };
  try {
    const noiseLevel = r.sde.kind === 'denoising' && !noiseAuto.checked ? Math.min(Number(noiseRange.value) / 255, r.sde.maxSigma) : undefined;
    const result = await r.restore(photo.image, {
      signal: controller.signal,
      png: true,
      ...(noiseLevel !== undefined ? { noiseLevel } : {}),
      ...(mask ? { mask } : {}),
      onTile: (tile) => {
        drawTile(tile);
        document.body.dataset.tilesShown = String(++tilesShown);
        tileLine = `; tile ${tile.index + 1} of ${tile.count} shown${tile.pass > 1 ? ` (pass ${tile.pass})` : ''}`;
        statusLine.textContent = statusLine.textContent.replace(/; tile .*$/, '') + tileLine;
      },
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
    option.textContent = `${m.task}${m.inpaint ? ', with a mask brush' : ''} (${m.id}, ${megabytes(m.bytes)})`;
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
  // The mask brush: pointer strokes (mouse, pen, touch), size, undo (also Ctrl+Z), clear.
  const brushSize = (): number => Number(brush.value);
  brush.oninput = () => (brushValue.textContent = `${brush.value} px`);
  maskPaint.addEventListener('pointerdown', (e) => {
    if (!photo) return;
    e.preventDefault();
    maskPaint.setPointerCapture(e.pointerId);
    stroke = { size: brushSize(), points: [maskPoint(e)] };
    paintStroke(stroke);
  });
  maskPaint.addEventListener('pointermove', (e) => {
    if (!stroke) return;
    stroke.points.push(maskPoint(e));
    paintStroke(stroke, stroke.points.length - 1);
  });
  const endStroke = (): void => {
    if (!stroke) return;
    strokes.push(stroke);
    stroke = null;
    maskChanged();
  };
  maskPaint.addEventListener('pointerup', endStroke);
  maskPaint.addEventListener('pointercancel', endStroke);
  maskUndo.onclick = () => {
    strokes.pop();
    repaintMask();
  };
  maskClear.onclick = () => {
    strokes = [];
    repaintMask();
  };
  addEventListener('keydown', (e) => {
    if (!maskPanel.hidden && (e.ctrlKey || e.metaKey) && e.key === 'z' && strokes.length > 0 && !(e.target instanceof HTMLInputElement && e.target.type !== 'range')) {
      e.preventDefault();
      maskUndo.click();
    }
  });
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
