/**
 * `npm run app:check`: the restoration app end to end in headless Chromium (Debian's `chromium`),
 * driven through its UI over the DevTools Protocol, as a person would use it:
 *  1. builds the app and serves it cross-origin isolated on 127.0.0.1;
 *  2. restores the sample noisy photo (1024x768, sigma 25, seeded) in Node through the library
 *     (`loadRestorerFile`, the default denoiser) for the reference PSNR;
 *  3. in the page: waits for the default denoiser to download, opens the photo with the file
 *     input, presses "Restore" (mouse events), records every main-thread long task
 *     (PerformanceObserver 'longtask') from the press to the result on screen, downloads the PNG
 *     with the download link and computes its PSNR against the clean photo (must equal Node's to
 *     0.01 dB; the longest task must stay under 100 ms);
 *  4. restores again and presses "Cancel" during a network evaluation: the time from the press
 *     to the worker stopping (the restore promise rejecting);
 *  5. picks a tiny untrained inpainting model made here (the app offers it beside `models/`),
 *     paints a mask stroke with the mouse, restores, and checks that every pixel outside the
 *     painted mask is unchanged and that the brush is shown for it only (the denoiser says it
 *     takes no mask);
 *  6. checks that a 360 px wide window needs no horizontal scrolling, and writes the screenshots
 *     docs/app-before.png and docs/app-after.png.
 * During the first restore every tile must be drawn as it finishes (the page counts them).
 * Prints progress, then as its last line one JSON object
 * `{ "psnr", "nodePsnr", "longestTaskMs", "cancelMs", ... }`; exit code 1 when a bound is missed.
 *
 *   npm run app:check [-- --timeout 900]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UNet, MeanRevertingSDE, decodeImage, encodeImage, from255, psnr, saveModel, selectBackend } from '../../src/index.js';
import { loadRestorerFile } from '../../src/node.js';
import { shippedModelPath } from '../../src/io/shipped-model.js';
import { chromiumVersion, findChromium, runInChromium, serveFolder, type DevToolsPage } from '../../scripts/headless-chromium.mjs';
import { APP_DIST, buildApp, makeSample } from './build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** What the check demands. */
const BOUNDS = { psnrDiffDb: 0.01, longestTaskMs: 100 } as const;

const { values } = parseArgs({ options: { timeout: { type: 'string', default: '900' } } });
const log = (line: string): void => console.log(line);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const since = (): string => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

/** Evaluates an expression in the page and returns its value (awaiting promises). */
async function evaluate<T>(page: DevToolsPage, expression: string): Promise<T> {
  const r = await page.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
  return r.result.value as T;
}

/** Waits until `document.body.dataset.state` is one of `states` (failing on 'error'). */
async function waitForState(page: DevToolsPage, states: string[], timeoutS: number): Promise<string> {
  const end = performance.now() + timeoutS * 1000;
  for (;;) {
    const state = await evaluate<string>(page, 'document.body ? document.body.dataset.state : undefined');
    if (states.includes(state)) return state;
    if (state === 'error') throw new Error(`the app reports an error: ${await evaluate<string>(page, "document.getElementById('status').textContent + ' / ' + document.getElementById('model-status').textContent")}`);
    if (performance.now() > end) throw new Error(`the app stayed in state '${state}' for ${timeoutS} s (waiting for ${states.join(' or ')})`);
    await sleep(250);
  }
}

/** Presses an element with the mouse, at its centre (scrolled into view first). */
async function click(page: DevToolsPage, selector: string): Promise<void> {
  const box = await evaluate<{ x: number; y: number }>(
    page,
    `(() => { const e = document.querySelector(${JSON.stringify(selector)}); e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`,
  );
  for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
    await page.send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
  }
}

async function screenshot(page: DevToolsPage, file: string): Promise<void> {
  await evaluate(page, 'window.scrollTo(0, 0)');
  const { data } = await page.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(file, Buffer.from(data, 'base64'));
  log(`  wrote ${file}`);
}

async function main(): Promise<void> {
  const chromium = findChromium();
  if (!chromium) throw new Error('app check: no Chromium found (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)');
  // A tiny untrained inpainting model: what the mask brush's wiring is checked with (no inpainting model ships yet).
  await selectBackend('cpu'); // for its weights (Node's restore below runs on ONNX Runtime, or on this backend)
  const inpaintNet = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
  const inpaintModel = saveModel(inpaintNet, new MeanRevertingSDE({ T: 20, maxSigma: from255(10) }), {
    sampling: { sampler: 'posterior', steps: 1, eta: 0 },
    task: { name: 'inpaint', inpaint: { fill: 0 } },
  });
  inpaintNet.dispose();
  await buildApp(log, { extraModels: [{ file: 'check-inpaint.safetensors', bytes: inpaintModel }] });
  const sample = await makeSample();
  const samplePng = join(APP_DIST, 'sample-noisy.png');
  const noisy = decodeImage(readFileSync(samplePng));
  const clean = decodeImage(encodeImage(sample.clean, 'png')); // the clean photo at 8 bits, as the result is compared

  // Node's restoration of the same input, through the library, written and read back as a PNG as the app's download is.
  const modelPath = shippedModelPath()!;
  const nodeRestorer = await loadRestorerFile(modelPath);
  const nodeResult = await nodeRestorer.restore(noisy);
  await nodeRestorer.dispose();
  const nodePsnr = psnr(decodeImage(encodeImage(nodeResult.image, 'png')), clean);
  log(`[${since()}] node: ${nodeRestorer.engine}, ${(nodeResult.ms / 1000).toFixed(1)} s, PSNR noisy ${psnr(noisy, clean).toFixed(2)} dB, restored ${nodePsnr.toFixed(2)} dB`);

  const downloads = mkdtempSync(join(tmpdir(), 'irsde-app-downloads-'));
  const server = await serveFolder(APP_DIST, { onLog: () => undefined });
  try {
    const result = await runInChromium(`${server.origin}/index.html`, {
      chromium,
      timeoutS: Number(values.timeout),
      devtools: async (page) => {
        await page.send('Page.enable');
        await page.send('Runtime.enable');
        await page.send('Emulation.setDeviceMetricsOverride', { width: 1200, height: 1000, deviceScaleFactor: 1, mobile: false });
        const messages: string[] = [];
        page.on('Runtime.consoleAPICalled', (p) => messages.push(p.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(' ')));
        await waitForState(page, ['ready'], 300);
        const engine = await evaluate<string>(page, "document.getElementById('model-status').textContent");
        log(`[${since()}] page: ${engine}; cross-origin isolated: ${await evaluate<boolean>(page, 'crossOriginIsolated')}`);

        // Open the photo through the file input, as a person picking a file.
        const { root: doc } = await page.send('DOM.getDocument');
        const { nodeId } = await page.send('DOM.querySelector', { nodeId: doc.nodeId, selector: '#file' });
        await page.send('DOM.setFileInputFiles', { nodeId, files: [samplePng] });
        for (let i = 0; i < 200 && (await evaluate<string | undefined>(page, 'document.body ? document.body.dataset.photo : undefined')) !== 'loaded'; i++) await sleep(100);
        log(`[${since()}] page: ${await evaluate<string>(page, "document.getElementById('photo-info').textContent")}`);
        await screenshot(page, join(root, 'docs/app-before.png'));

        // Restore, recording the main thread's long tasks.
        await evaluate(page, `window.__longTasks = []; new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration }); }).observe({ type: 'longtask' }); true`);
        // The observer must see a task it should: a deliberate 80 ms one, before the restore.
        await evaluate(page, 'setTimeout(() => { const end = performance.now() + 80; while (performance.now() < end); }, 0); new Promise((r) => setTimeout(r, 300))');
        const probe = await evaluate<number>(page, 'Math.max(0, ...window.__longTasks.map((t) => t.ms))');
        if (!(probe >= 75)) throw new Error(`the long-task observer missed a deliberate 80 ms task (saw ${probe} ms)`);
        await click(page, '#restore');
        await waitForState(page, ['restoring', 'done'], 30);
        let shown = '';
        for (;;) {
          const state = await waitForState(page, ['restoring', 'done'], 30);
          const line = await evaluate<string>(page, "document.getElementById('status').textContent");
          if (line !== shown && /\d+%/.test(line)) log(`[${since()}] page: ${(shown = line)}`);
          if (state === 'done') break;
          await sleep(1000);
        }
        const status = await evaluate<string>(page, "document.getElementById('status').textContent");
        log(`[${since()}] page: ${status}`);
        const tilesShown = Number(await evaluate<string>(page, 'document.body.dataset.tilesShown'));
        const maskNote = await evaluate<string>(page, "document.getElementById('mask-note').textContent");
        const brushHidden = await evaluate<boolean>(page, "document.getElementById('mask-panel').hidden");
        log(`[${since()}] page: ${tilesShown} tiles drawn as they finished; mask brush ${brushHidden ? 'hidden' : 'SHOWN'}: ${maskNote}`);
        const timing = await evaluate<{ start: number; end: number; tasks: { start: number; ms: number }[] }>(
          page,
          '({ start: Number(document.body.dataset.restoreStart), end: Number(document.body.dataset.restoreEnd), tasks: window.__longTasks })',
        );
        const during = timing.tasks.filter((t) => t.start + t.ms >= timing.start && t.start <= timing.end);
        const longestTaskMs = Math.max(0, ...during.map((t) => t.ms));
        log(`[${since()}] page: ${during.length} long tasks (> 50 ms) during the restore (${((timing.end - timing.start) / 1000).toFixed(1)} s), longest ${longestTaskMs.toFixed(0)} ms${during.length ? ` (at ${during.map((t) => `+${((t.start - timing.start) / 1000).toFixed(2)} s: ${t.ms.toFixed(0)} ms`).join(', ')})` : ''}`);

        // Download the result with the link, as a person would.
        await page.browser('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
        await click(page, '#download');
        let file: string | undefined;
        for (let i = 0; i < 300 && !file; i++) {
          file = readdirSync(downloads).find((f) => f.endsWith('.png'));
          if (!file) await sleep(100);
        }
        if (!file) throw new Error('the download link gave no PNG file');
        await sleep(300); // let Chromium finish writing it
        const downloaded = decodeImage(readFileSync(join(downloads, file)));
        const browserPsnr = psnr(downloaded, clean);
        log(`[${since()}] downloaded ${file}: ${downloaded.width}x${downloaded.height}, PSNR ${browserPsnr.toFixed(2)} dB (node ${nodePsnr.toFixed(2)} dB)`);
        await evaluate(page, "document.querySelector('input[name=view][value=slider]').focus(); document.getElementById('split').value = '50'; document.getElementById('split').dispatchEvent(new Event('input')); true");
        await screenshot(page, join(root, 'docs/app-after.png'));

        // Restore again and cancel during a network evaluation.
        await evaluate(page, 'document.body.dataset.evaluations = "0"; true');
        await click(page, '#restore');
        for (let i = 0; i < 600 && Number(await evaluate<string | undefined>(page, 'document.body.dataset.evaluations ?? 0')) < 1; i++) await sleep(100);
        await sleep(500); // inside the second tile's evaluation
        await click(page, '#cancel');
        await waitForState(page, ['cancelled'], 120);
        const cancelMs = Number(await evaluate<string>(page, 'document.body.dataset.cancelMs'));
        const evaluationMs = Number(await evaluate<string>(page, 'document.body.dataset.evaluationMs'));
        log(`[${since()}] cancel: ${await evaluate<string>(page, "document.getElementById('status').textContent")}`);

        // Inpainting: pick the tiny model, paint a stroke with the mouse, restore; pixels outside the mask must not change.
        await evaluate(page, "const s = document.getElementById('task'); s.value = 'check-inpaint'; s.dispatchEvent(new Event('change')); true");
        await waitForState(page, ['ready'], 120);
        const brushShown = !(await evaluate<boolean>(page, "document.getElementById('mask-panel').hidden"));
        await evaluate(page, "document.getElementById('brush').value = '40'; document.getElementById('brush').dispatchEvent(new Event('input')); true");
        const box = await evaluate<{ x: number; y: number; w: number; h: number }>(
          page,
          "(() => { const e = document.getElementById('mask-paint'); e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; })()",
        );
        const at = (fx: number, fy: number): { x: number; y: number } => ({ x: box.x + fx * box.w, y: box.y + fy * box.h });
        await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...at(0.3, 0.4), button: 'none' });
        await page.send('Input.dispatchMouseEvent', { type: 'mousePressed', ...at(0.3, 0.4), button: 'left', buttons: 1, clickCount: 1 });
        for (let i = 1; i <= 10; i++) await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...at(0.3 + 0.04 * i, 0.4 + 0.02 * i), button: 'left', buttons: 1 });
        await page.send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...at(0.7, 0.6), button: 'left', buttons: 0, clickCount: 1 });
        const maskPixels = Number(await evaluate<string>(page, 'document.body.dataset.maskPixels'));
        log(`[${since()}] inpainting: brush ${brushShown ? 'shown' : 'HIDDEN'}; painted ${maskPixels} pixels: ${await evaluate<string>(page, "document.getElementById('mask-info').textContent")}`);
        await click(page, '#restore');
        await waitForState(page, ['restoring', 'done'], 30);
        await waitForState(page, ['done'], 300);
        // Compare the photo (before) and the result (after) in the page, against the painted mask.
        const inpaint = await evaluate<{ outsideChanged: number; insideChanged: number; masked: number }>(
          page,
          `(() => {
            const px = (id) => { const c = document.getElementById(id); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; };
            const a = px('before'), b = px('after'), m = px('mask-paint');
            let outsideChanged = 0, insideChanged = 0, masked = 0;
            for (let p = 0; p < m.length / 4; p++) {
              const diff = a[4 * p] !== b[4 * p] || a[4 * p + 1] !== b[4 * p + 1] || a[4 * p + 2] !== b[4 * p + 2];
              if (m[4 * p + 3] >= 128) { masked++; if (diff) insideChanged++; } else if (diff) outsideChanged++;
            }
            return { outsideChanged, insideChanged, masked };
          })()`,
        );
        log(`[${since()}] inpainting: ${await evaluate<string>(page, "document.getElementById('status').textContent")}; ${inpaint.insideChanged} of ${inpaint.masked} masked pixels changed, ${inpaint.outsideChanged} outside the mask`);

        // Phone width: nothing may need horizontal scrolling.
        await page.send('Emulation.setDeviceMetricsOverride', { width: 360, height: 740, deviceScaleFactor: 2, mobile: true });
        await sleep(300);
        const overflow = await evaluate<number>(page, 'document.documentElement.scrollWidth - document.documentElement.clientWidth');
        log(`[${since()}] at 360 px wide the page is ${overflow} px wider than the window`);
        for (const m of messages.filter((x) => /irsde|error/i.test(x))) log(`  console: ${m}`);
        return { browserPsnr, longestTaskMs, cancelMs, evaluationMs, overflow, engine, longTasks: during.length, restoreS: (timing.end - timing.start) / 1000, tilesShown, brushHidden, brushShown, maskPixels, inpaint };
      },
    });
    if (typeof result.browserPsnr !== 'number') throw new Error(`the page did not finish: ${result.status}`);
    const failures: string[] = [];
    const diff = Math.abs(result.browserPsnr - nodePsnr);
    if (!(diff <= BOUNDS.psnrDiffDb)) failures.push(`PSNR differs from Node's by ${diff.toFixed(3)} dB > ${BOUNDS.psnrDiffDb}`);
    if (!(result.longestTaskMs < BOUNDS.longestTaskMs)) failures.push(`a main-thread task took ${result.longestTaskMs.toFixed(0)} ms >= ${BOUNDS.longestTaskMs}`);
    // The worker stops before its next network evaluation: at most the rest of the one running (timed under load: 1.5x the longest seen).
    if (!(result.cancelMs > 0 && result.cancelMs <= 1.5 * result.evaluationMs)) failures.push(`cancel took ${result.cancelMs.toFixed(0)} ms, more than one network evaluation (${result.evaluationMs.toFixed(0)} ms)`);
    if (result.overflow > 0) failures.push(`at 360 px wide the page scrolls sideways by ${result.overflow} px`);
    // Tiles: 1024x768 in the denoiser's 512-pixel tiles is 3 x 2, one pass (one posterior step).
    if (!(result.tilesShown >= 1 && result.tilesShown % 6 === 0)) failures.push(`the page drew ${result.tilesShown} tiles as they finished; expected 6 per pass`);
    if (!result.brushHidden || !result.brushShown) failures.push(`the mask brush must show for the inpainting model only (denoiser: ${result.brushHidden ? 'hidden' : 'shown'}, inpainting: ${result.brushShown ? 'shown' : 'hidden'})`);
    if (!(result.maskPixels > 0 && result.inpaint.masked === result.maskPixels)) failures.push(`the mouse stroke painted ${result.maskPixels} pixels (mask in the page: ${result.inpaint.masked})`);
    if (result.inpaint.outsideChanged !== 0) failures.push(`inpainting changed ${result.inpaint.outsideChanged} pixels outside the mask`);
    if (!(result.inpaint.insideChanged > 0)) failures.push('inpainting changed no pixel inside the mask');
    log(`${chromiumVersion(chromium)}; ${failures.length === 0 ? 'passed' : `FAILED:\n  ${failures.join('\n  ')}`} in ${since()}`);
    const round = (v: number, d: number): number => Number(v.toFixed(d));
    console.log(
      JSON.stringify({
        psnr: round(result.browserPsnr, 4),
        nodePsnr: round(nodePsnr, 4),
        longestTaskMs: round(result.longestTaskMs, 1),
        cancelMs: round(result.cancelMs, 1),
        evaluationMs: round(result.evaluationMs, 0),
        restoreS: round(result.restoreS, 1),
        longTasks: result.longTasks,
        tilesShown: result.tilesShown,
        inpaintOutsideChanged: result.inpaint.outsideChanged,
        engine: result.engine.replace(/^.*running on /, ''),
      }),
    );
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    await server.close();
    rmSync(downloads, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`app check: ${e.message}`);
  process.exit(1);
});
