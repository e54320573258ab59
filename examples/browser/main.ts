/**
 * irsde in a web page: fetch a model file and a photo, add sigma-25 noise, restore it with the
 * model's recommended sampling on the chosen engine — onnxruntime-web (WebGPU, or wasm on every
 * core when the page is cross-origin isolated) or tfjs (webgpu, webgl, wasm, cpu); `auto` takes
 * the fastest available — and draw noisy | restored | clean, with progress per sampling step.
 * Query parameters: model (URL of an `irsde train` model file), image, steps, engine, and
 * `report` (used by the headless check: post progress and the final result back to the serving
 * script, since a headless browser has no one to read the page).
 * Build, serve and check: `npm run example:browser` (examples/browser/build.mjs).
 */
// irsde's core imports no tfjs backend itself (the app chooses): cpu and wasm here, webgl and webgpu below.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { decodeImage, psnr, type FloatImage } from '../../src/index.js';
import { BROWSER_ENGINES, detectBrowserEngines, type BrowserEngineName } from '../../src/web.js';
import { postLog, postReport } from '../../scripts/browser-page.js';
import { restorePhoto } from './restore-photo.js';

const params = new URLSearchParams(location.search);
const select = document.getElementById('engine') as HTMLSelectElement;
const button = document.getElementById('run') as HTMLButtonElement;
const status = (text: string): void => {
  document.getElementById('status')!.textContent = text;
  document.title = text;
};

function draw(id: string, img: FloatImage): void {
  const canvas = document.getElementById(id) as HTMLCanvasElement;
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = img.data[p * img.channels + (img.channels === 3 ? c : 0)];
      out.data[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    out.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}

const notes: string[] = [];
const note = (m: string): void => {
  console.warn(m);
  notes.push(m);
  void postLog(m);
};

async function run(engine: 'auto' | BrowserEngineName): Promise<string> {
  button.disabled = true;
  try {
    status(`loading the model and the photo…`);
    const [model, photo] = await Promise.all(
      [params.get('model') ?? 'model.safetensors', params.get('image') ?? 'photo.png'].map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())),
    );
    const clean = decodeImage(photo);
    draw('clean', clean);
    const steps = params.has('steps') ? Number(params.get('steps')) : undefined;
    const r = await restorePhoto(model, clean, {
      engine,
      steps,
      onNote: note,
      onStep: (done, total, net) => {
        const s = net.stats();
        const line = `restoring on ${net.engine}: step ${done} of ${total}, ${s.lastMs.toFixed(0)} ms per network evaluation`;
        status(line);
        void postLog(line);
      },
    });
    draw('noisy', r.noisy);
    draw('restored', r.restored);
    for (const s of r.skipped) void postLog(`skipped ${s.engine}: ${s.reason}`);
    const threads = r.engine.endsWith('wasm') ? `, ${r.threads} thread${r.threads === 1 ? '' : 's'}` : '';
    const level = r.noise ? `, noise sigma ${(r.noise.sigma * 255).toFixed(1)} (${r.noise.estimated ? 'estimated' : 'given'})` : '';
    return `done: PSNR noisy ${psnr(r.noisy, clean).toFixed(2)} dB, restored ${psnr(r.restored, clean).toFixed(2)} dB${level}, ${r.steps} steps in ${r.seconds.toFixed(1)} s on ${r.engine}${threads}, ${r.msPerEval.toFixed(0)} ms per network evaluation (${r.evals})`;
  } finally {
    button.disabled = false;
  }
}

async function main(): Promise<void> {
  const report = await detectBrowserEngines({ onNote: note });
  const offered = report.engines.filter((e) => e.available).map((e) => e.name + (e.software ? ' (software)' : ''));
  document.getElementById('engines')!.textContent = `available: ${offered.join(', ')}${report.crossOriginIsolated ? '' : ' — not cross-origin isolated: wasm on 1 thread'}`;
  const wanted = params.get('engine') ?? 'auto';
  if (wanted !== 'auto' && !BROWSER_ENGINES.includes(wanted as BrowserEngineName)) throw new Error(`unknown engine '${wanted}'`);
  select.value = wanted;
  button.onclick = () => {
    void run(select.value as 'auto' | BrowserEngineName).then(status, (e: Error) => status(`error: ${e.message}`));
  };
  // Restore once on load (the headless check reads this result).
  const text = await run(wanted as 'auto' | BrowserEngineName);
  status(text);
  const canvas = document.getElementById('restored') as HTMLCanvasElement;
  await postReport({ status: text, png: canvas.toDataURL('image/png'), notes });
}

main().catch(async (e: Error) => {
  status(`error: ${e.message}`);
  await postReport({ status: `error: ${e.message}` });
});
