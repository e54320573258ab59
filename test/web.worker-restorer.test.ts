// The worker restorer's message protocol, without a browser: the page-side WorkerRestorer and the
// worker-side serveRestorer talk over a MessageChannel (structured clone and transfers as between
// a page and a worker), with a real tiny model on tfjs's cpu backend. The same code runs in a Web
// Worker in headless Chromium in `npm run app:check`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNet, MeanRevertingSDE, Rng, from255, loadRestorer, createImage, saveModel, selectBackend, tfjsEngine, type FloatImage, type RestoredTile } from '../src/index.js';
import { loadWorkerRestorer, serveRestorer, type RestorerPort, type WorkerLike } from '../src/web.js';

let model: Uint8Array;
const channels: MessageChannel[] = [];

beforeAll(async () => {
  await selectBackend('cpu');
  const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
  model = saveModel(net, new MeanRevertingSDE({ T: 40, maxSigma: from255(10) }), { sampling: { sampler: 'posterior', steps: 3 } });
  net.dispose();
});

afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/** A "worker": the page's end of a channel whose other end runs serveRestorer on this thread. */
function fakeWorker(): WorkerLike & { terminate: ReturnType<typeof vi.fn> } {
  const channel = new MessageChannel();
  channels.push(channel);
  serveRestorer(channel.port2 as unknown as RestorerPort, { engine: tfjsEngine });
  const port = channel.port1;
  return {
    postMessage: (m, transfer) => port.postMessage(m, transfer),
    addEventListener: (type, listener) => port.addEventListener(type as 'message', listener as (e: MessageEvent) => void),
    start: () => port.start(),
    terminate: vi.fn(() => port.close()),
  };
}

/** A seeded random RGB image. */
function image(h = 16, w = 16, seed = 1): FloatImage {
  const rng = new Rng(seed);
  return createImage(h, w, 3, Float32Array.from(rng.uniform([h * w * 3])));
}

describe('WorkerRestorer over a MessageChannel', () => {
  it('restores exactly what the in-thread Restorer restores, with progress per step and per network evaluation', async () => {
    const worker = fakeWorker();
    const r = await loadWorkerRestorer(model, { worker });
    expect(r.engine).toBe('tfjs-cpu');
    expect(r.sampling).toEqual({ sampler: 'posterior', steps: 3 });
    expect(r.sde).toEqual({ kind: 'mean-reverting', T: 40, maxSigma: from255(10) });
    const local = await loadRestorer(model);
    const input = image(24, 20);
    const before = Float32Array.from(input.data);
    const steps: [number, number][] = [];
    const evals: [number, number][] = [];
    const got = await r.restore(input, { seed: 3, tile: 16, onProgress: (d, t) => steps.push([d, t]), onEvaluation: (d, tiles) => evals.push([d, tiles]) });
    const want = await local.restore(input, { seed: 3, tile: 16 });
    expect(got.image.data).toEqual(want.image.data);
    expect([got.image.height, got.image.width, got.image.channels]).toEqual([24, 20, 3]);
    expect(got.sampler).toBe('posterior');
    expect(got.steps).toBe(3);
    expect(steps).toEqual([[1, 3], [2, 3], [3, 3]]);
    // 24x20 in 16-pixel tiles overlapping by 4: 2 x 2 tiles per pass, one pass per posterior step.
    expect(evals).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, 4]));
    // Copied by default: the caller's image is untouched; `transfer` hands the buffer over.
    expect(input.data).toEqual(before);
    const png = await r.restore(input, { seed: 3, tile: 16, transfer: true, png: true });
    expect(input.data.length).toBe(0);
    expect(png.image.data).toEqual(want.image.data);
    expect(Array.from(png.png!.subarray(1, 4), (c) => String.fromCharCode(c)).join('')).toBe('PNG');
    await local.dispose();
    await r.dispose();
  });

  it('cancels: the worker stops before its next network evaluation and the call rejects with the signal reason; later calls still run', async () => {
    const worker = fakeWorker();
    const r = await loadWorkerRestorer(model, { worker });
    const controller = new AbortController();
    const reason = new Error('user pressed cancel');
    let evalsAfterAbort = 0;
    let total = 0;
    const run = r.restore(image(), {
      sampler: 'sde',
      steps: 40,
      tile: 8, // 3 x 3 tiles per pass: 360 evaluations in all
      signal: controller.signal,
      onEvaluation: (done, tiles) => {
        total = done;
        expect(tiles).toBe(9);
        if (controller.signal.aborted) evalsAfterAbort++;
        else if (done === 5) controller.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(evalsAfterAbort).toBeLessThanOrEqual(1);
    // An already aborted signal rejects at once; the worker keeps serving other calls.
    await expect(r.restore(image(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const next = await r.restore(image());
    expect(next.image.data.length).toBe(16 * 16 * 3);
    await r.dispose();
  });

  it("rejects with the worker's error: same class and the original message", async () => {
    const r = await loadWorkerRestorer(model, { worker: fakeWorker() });
    const local = await loadRestorer(model);
    const original = await local.restore(image(), { noiseLevel: 0.1 }).catch((e: Error) => e);
    const fromWorker = await r.restore(image(), { noiseLevel: 0.1 }).catch((e: Error) => e);
    expect(original).toBeInstanceOf(RangeError);
    expect(fromWorker).toBeInstanceOf(RangeError);
    expect((fromWorker as Error).message).toBe((original as Error).message);
    expect((fromWorker as Error).message).toMatch(/^Restorer\.restore: noiseLevel applies to DenoisingSDE models only/);
    await expect(r.restore(image(), { sampler: 'nope' as 'ode' })).rejects.toThrow(/^Restorer\.restore: unknown sampler 'nope'; expected one of /);
    await local.dispose();
    await r.dispose();
  });

  it('a model the worker cannot load rejects with its message and terminates the worker', async () => {
    const worker = fakeWorker();
    const bad = Uint8Array.from(model.subarray(0, 2000));
    const local = await loadRestorer(bad).catch((e: Error) => e);
    const remote = await loadWorkerRestorer(bad, { worker }).catch((e: Error) => e);
    expect((local as Error).message).toMatch(/^safetensors: header length field says \d+ bytes but only 1992 follow it/);
    expect((remote as Error).message).toBe((local as Error).message);
    expect((remote as Error).name).toBe('WeightFileError');
    expect(worker.terminate).toHaveBeenCalledTimes(1);
  });

  it('dispose terminates the worker, rejects the pending call and every later one', async () => {
    const worker = fakeWorker();
    const r = await loadWorkerRestorer(model, { worker });
    const pending = r.restore(image(), { sampler: 'sde', steps: 40, tile: 8 });
    await r.dispose();
    await r.dispose(); // idempotent
    expect(worker.terminate).toHaveBeenCalledTimes(1);
    await expect(pending).rejects.toThrow(/^WorkerRestorer: disposed before the restore finished$/);
    await expect(r.restore(image())).rejects.toThrow(/^WorkerRestorer\.restore: the restorer was disposed$/);
  });
});

describe('WorkerRestorer: tiles as they finish, and inpainting', () => {
  it('onTile: the same tiles as the in-thread Restorer, moved (not copied) from the worker; the result is unchanged', async () => {
    const r = await loadWorkerRestorer(model, { worker: fakeWorker() });
    const local = await loadRestorer(model);
    const input = image(24, 20);
    const want: RestoredTile[] = [];
    const wantResult = await local.restore(input, { seed: 3, tile: 16, onTile: (t) => want.push(t) });
    const got: RestoredTile[] = [];
    const order: string[] = [];
    const result = await r.restore(input, { seed: 3, tile: 16, onTile: (t) => (got.push(t), order.push('tile')), onEvaluation: () => order.push('evaluation') });
    expect(result.image.data).toEqual(wantResult.image.data);
    expect((await r.restore(input, { seed: 3, tile: 16 })).image.data).toEqual(wantResult.image.data);
    // 3 posterior steps of 2 x 2 tiles; each tile arrives right after its evaluation.
    expect(got).toHaveLength(12);
    expect(order).toEqual(Array.from({ length: 12 }, () => ['evaluation', 'tile']).flat());
    for (let i = 0; i < 12; i++) {
      const { image: gi, ...g } = got[i];
      const { image: wi, ...w } = want[i];
      expect(g).toEqual(w);
      expect([gi.height, gi.width, gi.channels]).toEqual([wi.height, wi.width, wi.channels]);
      expect(gi.data).toEqual(wi.data);
      expect(gi.data.byteLength).toBe(gi.data.buffer.byteLength); // its own buffer, transferred whole
    }
    // An error in onTile rejects the call and stops the worker's restore; the worker serves the next call.
    const boom = new Error('the page failed to draw');
    await expect(r.restore(input, { tile: 16, onTile: () => { throw boom; } })).rejects.toBe(boom);
    expect((await r.restore(input, { seed: 3, tile: 16 })).image.data).toEqual(wantResult.image.data);
    await local.dispose();
    await r.dispose();
  });

  it('cancel still stops a restore that sends tiles, before the next network evaluation', async () => {
    const r = await loadWorkerRestorer(model, { worker: fakeWorker() });
    const controller = new AbortController();
    const reason = new Error('cancelled while drawing tiles');
    let tilesAfterAbort = 0;
    const run = r.restore(image(), {
      sampler: 'sde',
      steps: 40,
      tile: 8,
      signal: controller.signal,
      onTile: (t) => {
        if (controller.signal.aborted) tilesAfterAbort++;
        else if (t.pass === 1 && t.index === 4) controller.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(tilesAfterAbort).toBeLessThanOrEqual(1);
    await r.dispose();
  });

  it('an inpainting model (a tiny untrained one made here): the mask goes to the worker, pixels outside it come back unchanged, tiles too', async () => {
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const bytes = saveModel(net, new MeanRevertingSDE({ T: 20, maxSigma: from255(10) }), { sampling: { sampler: 'posterior', steps: 2, eta: 0 }, task: { name: 'inpaint', inpaint: { fill: 0 } } });
    net.dispose();
    const r = await loadWorkerRestorer(bytes, { worker: fakeWorker() });
    expect(r.task).toEqual({ name: 'inpaint', inpaint: { fill: 0 } });
    const H = 20;
    const W = 24;
    const photo = image(H, W, 9);
    // A brush stroke: a disc of radius 5 at (10, 12), white = missing.
    const mask = createImage(H, W, 1, Float32Array.from({ length: H * W }, (_, p) => (Math.hypot(Math.floor(p / W) - 10, (p % W) - 12) <= 5 ? 1 : 0)));
    await expect(r.restore(photo)).rejects.toThrow(/needs a mask \(white = missing\) of the image's size, 24x20/);
    const tiles: RestoredTile[] = [];
    const out = await r.restore(photo, { mask, tile: 16, onTile: (t) => tiles.push(t) });
    const local = await loadRestorer(bytes);
    expect(out.image.data).toEqual((await local.restore(photo, { mask, tile: 16 })).image.data);
    await local.dispose();
    let changed = 0;
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < 3; c++) {
        if (mask.data[p] === 0) expect(out.image.data[p * 3 + c]).toBe(photo.data[p * 3 + c]);
        else if (out.image.data[p * 3 + c] !== photo.data[p * 3 + c]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
    expect(tiles).toHaveLength(2 * 4);
    for (const t of tiles) {
      for (let y = 0; y < t.image.height; y++) for (let x = 0; x < t.image.width; x++) {
        const p = (t.y + y) * W + t.x + x;
        if (mask.data[p] === 0) for (let c = 0; c < 3; c++) expect(t.image.data[(y * t.image.width + x) * 3 + c]).toBe(photo.data[p * 3 + c]);
      }
    }
    // The caller's mask stays usable (copied to the worker).
    expect(mask.data.length).toBe(H * W);
    await r.dispose();
  });
});

describe('the built worker entry (after npm run build)', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  it('irsde/worker is dist/restore-worker.js, beside the file that starts it the way bundlers find, and browser-only', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./worker']).toEqual({ import: './dist/restore-worker.js' });
    const worker = readFileSync(resolve(root, 'dist/restore-worker.js'), 'utf8');
    expect(worker).toMatch(/^import "@tensorflow\/tfjs-backend-cpu";$/m);
    expect(worker).not.toMatch(/(from|import\()\s*"(node:|onnxruntime-node)|\brequire\("/);
    expect(readFileSync(resolve(root, 'dist/web.js'), 'utf8') + esmChunks(root)).toContain('new Worker(new URL("./restore-worker.js", import.meta.url), { type: "module" })');
  });
});

/** The ESM chunks beside dist/web.js (the starter may sit in one). */
function esmChunks(root: string): string {
  const dist = resolve(root, 'dist');
  return readdirSync(dist).filter((f) => /^chunk-.*\.js$/.test(f)).map((f) => readFileSync(resolve(dist, f), 'utf8')).join('\n');
}
