/**
 * The browser agreement check (`npm run check:browser`; also run by test/browser.check.test.ts):
 * in headless Chromium, on every engine it offers (onnxruntime-web wasm and WebGPU, tfjs wasm,
 * cpu, webgl and webgpu — the GPU ones on SwiftShader here),
 * 1. the golden U-Net (../shared/goldens/unet_public, NCHW cases incl. a 13x10 input that needs
 *    the reflect padding) against onnxruntime-node's output for the same ONNX export,
 * 2. a restoration of a centre crop of the bundled photo with the shipped model, against the
 *    restorations of ort-web-wasm and tfjs-wasm.
 * Tolerances: {@link BROWSER_CHECK_TOLERANCE}. Exit code 1 when one is exceeded.
 *
 *   npx tsx scripts/browser-check.ts [--crop 64] [--timeout 900]
 */
import { build } from 'esbuild';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportOnnx, readSafetensors, type UNetConfig } from '../src/index.js';
import { createNodeOrtNoiseModel } from '../src/nn/onnx/node.js';
import { chromiumVersion, copyOrtWebFiles, copyTfjsWasmFiles, findChromium, runInChromium, serveFolder } from './headless-chromium.mjs';
import type { BrowserCheckEngine, BrowserCheckInput } from './browser-check-page.js';
import { DEFAULT_MODEL_FILE } from '../src/io/shipped-model.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = process.env.IRSDE_SHARED ?? resolve(ROOT, '../shared');

/**
 * What the check demands.
 * - `golden`: every engine's golden U-Net output within this normalised error
 *   (max |diff| / max |onnxruntime-node|) of onnxruntime-node's, GPU engines on software renderers included.
 * - `restoredMaxAbs`: every engine's restored crop within this of ort-web-wasm's and tfjs-wasm's,
 *   per pixel on the [0, 1] scale (1/255 is one 8-bit level).
 */
export const BROWSER_CHECK_TOLERANCE = { golden: 1e-4, restoredMaxAbs: 1e-4 } as const;

/** The check's outcome. */
export interface BrowserCheckResult {
  /** One entry per engine of BROWSER_ENGINES. */
  results: BrowserCheckEngine[];
  /** Chromium's version string. */
  chromium: string | null;
  crossOriginIsolated: boolean;
  /** One line per exceeded tolerance (empty: passed). */
  failures: string[];
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).flat(Infinity) as number[] : [v as number]);

/** Builds the page, computes onnxruntime-node's outputs, runs Chromium and checks the tolerances. */
export async function runBrowserCheck(options: { crop?: number; timeoutS?: number; log?: (line: string) => void } = {}): Promise<BrowserCheckResult> {
  const log = options.log ?? ((l: string) => console.error(l));
  const chromium = findChromium();
  if (!chromium) throw new Error('browser check: no Chromium found (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)');
  const io = JSON.parse(readFileSync(join(SHARED, 'goldens/unet_public/io.json'), 'utf8'));
  const config: UNetConfig = { inChannels: io.model.in_nc, outChannels: io.model.out_nc, nf: io.model.nf, depth: io.model.depth };
  const weightPath = join(SHARED, 'goldens/unet_public/weights.safetensors');
  const weights = readSafetensors(new Uint8Array(readFileSync(weightPath)));

  // onnxruntime-node's outputs for the export the page will make too.
  const ort = await createNodeOrtNoiseModel(exportOnnx(config, weights));
  const cases: BrowserCheckInput['cases'] = [];
  try {
    for (const c of io.cases as { shape: [number, number, number, number]; time: number[]; xt: unknown; cond: unknown }[]) {
      const xt = Float32Array.from(flat(c.xt));
      const cond = Float32Array.from(flat(c.cond));
      const out = await ort.runNchw(xt, cond, c.time, c.shape);
      cases.push({ shape: c.shape, time: c.time, xt: Array.from(xt), cond: Array.from(cond), nodeOrt: Array.from(out.data) });
    }
  } finally {
    await ort.dispose();
  }

  const dir = mkdtempSync(join(tmpdir(), 'irsde-browser-check-'));
  try {
    await build({ entryPoints: [join(ROOT, 'scripts/browser-check-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dir, 'page.js'), logLevel: 'warning' });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>irsde browser check</title><script type="module" src="./page.js"></script>\n');
    copyOrtWebFiles(dir);
    copyTfjsWasmFiles(dir);
    copyFileSync(weightPath, join(dir, 'weights.safetensors'));
    copyFileSync(join(ROOT, 'models', DEFAULT_MODEL_FILE), join(dir, 'model.safetensors'));
    copyFileSync(join(ROOT, 'examples/data/astronaut-crop.png'), join(dir, 'photo.png'));
    const input: BrowserCheckInput = { config, cases, crop: options.crop ?? 64 };
    writeFileSync(join(dir, 'check.json'), JSON.stringify(input));
    const server = await serveFolder(dir, { onLog: (l) => log(`  ${l}`) });
    let page;
    try {
      page = await runInChromium(`${server.origin}/index.html?report`, { report: server.report, timeoutS: options.timeoutS ?? 900, chromium });
    } finally {
      await server.close();
    }
    if (page.status !== 'done') throw new Error(`browser check: the page did not finish: ${page.status}`);
    const results = page.results as BrowserCheckEngine[];
    const failures: string[] = [];
    for (const r of results) {
      if (!r.available) continue;
      if (r.goldenErr === null) failures.push(`${r.engine}: did not run (${r.note})`);
      else if (!(r.goldenErr <= BROWSER_CHECK_TOLERANCE.golden)) failures.push(`${r.engine}: golden U-Net differs from onnxruntime-node by ${r.goldenErr.toExponential(2)} > ${BROWSER_CHECK_TOLERANCE.golden}`);
      for (const [what, v] of [['ort-web-wasm', r.maxAbsVsOrtWasm], ['tfjs-wasm', r.maxAbsVsTfjsWasm]] as const) {
        if (v === undefined) failures.push(`${r.engine}: no restoration to compare with ${what}'s`);
        else if (!(v <= BROWSER_CHECK_TOLERANCE.restoredMaxAbs)) failures.push(`${r.engine}: restoration differs from ${what}'s by ${v.toExponential(2)} > ${BROWSER_CHECK_TOLERANCE.restoredMaxAbs}`);
      }
    }
    return { results, chromium: chromiumVersion(chromium), crossOriginIsolated: page.crossOriginIsolated, failures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { crop: { type: 'string', default: '64' }, timeout: { type: 'string', default: '900' } } });
  const r = await runBrowserCheck({ crop: Number(values.crop), timeoutS: Number(values.timeout) });
  const e = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toExponential(2));
  console.log(`${r.chromium}, cross-origin isolated: ${r.crossOriginIsolated}`);
  console.log('| engine | golden U-Net vs node ORT | restored crop PSNR | max diff vs ort-web-wasm | vs tfjs-wasm | note |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const x of r.results) {
    console.log(`| ${x.engine}${x.software ? ' (software)' : ''} | ${e(x.goldenErr)} | ${x.psnr === undefined ? '-' : x.psnr.toFixed(3) + ' dB'} | ${e(x.maxAbsVsOrtWasm)} | ${e(x.maxAbsVsTfjsWasm)} | ${x.note ?? ''} |`);
  }
  console.log(`tolerances: golden ${BROWSER_CHECK_TOLERANCE.golden} (normalised), restorations ${BROWSER_CHECK_TOLERANCE.restoredMaxAbs} per pixel`);
  if (r.failures.length > 0) {
    console.log(`FAILED:\n  ${r.failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('passed');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
