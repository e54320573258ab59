// The browser engines in headless Chromium (scripts/browser-check.ts): onnxruntime-web (wasm,
// WebGPU) and tfjs (wasm, cpu, webgl, webgpu; GPU ones on SwiftShader) against onnxruntime-node
// on the golden U-Net, and the same photo restoration on every engine. Needs Debian's chromium
// (apt-get install -y chromium; .ci/run installs it); skipped with a message without it.
import { describe, expect, it } from 'vitest';
import { findChromium } from '../scripts/headless-chromium.mjs';
import { BROWSER_CHECK_TOLERANCE, runBrowserCheck } from '../scripts/browser-check.js';

const chromium = findChromium();
if (!chromium) console.warn('test/browser.check.test.ts: skipped: no Chromium (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)');

describe.skipIf(!chromium)('browser engines in headless Chromium', () => {
  it('agree with onnxruntime-node on the golden U-Net and restore the photo identically', { timeout: 1_200_000 }, async () => {
    const r = await runBrowserCheck({ crop: 64, timeoutS: 1100, log: () => undefined });
    expect(r.crossOriginIsolated).toBe(true);
    const byName = new Map(r.results.map((x) => [x.engine, x]));
    // The engines this Chromium offers here (the GPU ones on its software renderers).
    for (const e of ['ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu'] as const) expect(byName.get(e)?.available, e).toBe(true);
    // The GPU engines run on Chromium's software renderers here (SwiftShader), which can fail or
    // time out on a loaded machine: they are checked when they produce a result, and reported
    // otherwise; the CPU engines must always work.
    const gpu = (name: string): boolean => /webgpu|webgl/.test(name);
    for (const x of r.results.filter((x) => x.available)) {
      if (gpu(x.engine) && x.goldenErr === null) {
        console.warn(`test/browser.check.test.ts: ${x.engine} gave no result on the software renderer; not checked`);
        continue;
      }
      expect(x.goldenErr, x.engine).not.toBeNull();
      expect(x.goldenErr!, x.engine).toBeLessThanOrEqual(BROWSER_CHECK_TOLERANCE.golden);
      expect(x.maxAbsVsOrtWasm!, x.engine).toBeLessThanOrEqual(BROWSER_CHECK_TOLERANCE.restoredMaxAbs);
      expect(x.maxAbsVsTfjsWasm!, x.engine).toBeLessThanOrEqual(BROWSER_CHECK_TOLERANCE.restoredMaxAbs);
      // A restoration, not a copy of the input: well above the noisy crop's ~21 dB.
      expect(x.psnr!, x.engine).toBeGreaterThan(25);
    }
    expect(r.failures.filter((f) => !gpu(JSON.stringify(f)))).toEqual([]);
  });
});
