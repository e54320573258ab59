/**
 * irsde in a web page: fetch a model file and a photo, add sigma-25 noise, restore it with the
 * posterior sampler on tfjs (cpu, wasm or webgl), and draw noisy | restored | clean.
 * Query parameters: model (URL of a `irsde train` model file), image, steps, backend, and `report`
 * (used by the headless check: POST the final status and the restored image back to the page's
 * server, since a headless browser has no one to read the page).
 * Build and check headless: `npm run example:browser` (examples/browser/build.mjs).
 */
// irsde imports no tfjs backend: a browser app imports the ones it wants (here cpu and wasm).
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import {
  HostTensor,
  MeanRevertingSDE,
  Rng,
  decodeImage,
  gaussianNoise,
  loadModelFromUrl,
  psnr,
  restore,
  selectBackend,
  tfjsBackend,
  tiledNoiseModel,
  type FloatImage,
  type SamplerName,
  imageChannels,
} from '../../src/index.js';

const params = new URLSearchParams(location.search);
const status = (text: string): void => {
  document.getElementById('status')!.textContent = text;
  document.title = text;
};

/** With `?report`: sends the final status and the restored canvas (PNG) to the serving script. */
async function report(text: string): Promise<void> {
  if (!params.has('report')) return;
  const canvas = document.getElementById('restored') as HTMLCanvasElement;
  const png = canvas.width > 0 ? canvas.toDataURL('image/png') : '';
  await fetch('report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: text, png }) });
}

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

async function main(): Promise<void> {
  const backend = await selectBackend(params.get('backend') ?? 'cpu', { wasm, wasmPaths: './' });
  status(`loading the model (${backend})…`);
  const { unet, sdeConfig, info } = await loadModelFromUrl(params.get('model') ?? 'model.safetensors');
  const bytes = new Uint8Array(await (await fetch(params.get('image') ?? 'photo.png')).arrayBuffer());
  const clean = decodeImage(bytes, { channels: imageChannels(unet.config).input as 1 | 3 });
  const noisy = gaussianNoise(clean, { sigma: 25, clip: true }, new Rng(0));
  draw('noisy', noisy);
  draw('clean', clean);
  // The model file's recommended sampling, unless the URL asks for a step count.
  const steps = Number(params.get('steps') ?? info.sampling?.steps ?? 5);
  const sampler = (info.sampling?.sampler ?? 'posterior') as SamplerName;
  const sde = new MeanRevertingSDE<HostTensor>(sdeConfig, 'float32');
  const started = performance.now();
  const out = await restore({
    sde,
    model: tiledNoiseModel(unet.noiseModelFor(new MeanRevertingSDE(sdeConfig)), tfjsBackend, { tile: 256 }),
    lq: new HostTensor(noisy.data, [1, noisy.height, noisy.width, noisy.channels]),
    sampler,
    eta: info.sampling?.eta ?? 0,
    steps,
    seed: 0,
    onProgress: (done, total) => status(`restoring: step ${done} of ${total}`),
  });
  const restored: FloatImage = { ...clean, data: out.data.map((v) => Math.min(1, Math.max(0, v))) };
  draw('restored', restored);
  unet.dispose();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const text = `done: PSNR noisy ${psnr(noisy, clean).toFixed(2)} dB, restored ${psnr(restored, clean).toFixed(2)} dB, ${steps} steps in ${seconds} s on ${backend}`;
  status(text);
  await report(text);
}

main().catch(async (e: Error) => {
  status(`error: ${e.message}`);
  await report(`error: ${e.message}`);
});
