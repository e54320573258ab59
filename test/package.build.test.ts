import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Runs in a child Node process, resolving 'irsde' through package.json's exports map (a package
// may import itself by name), exactly as a user's `import` / `require` would.
function run(code: string, type: 'module' | 'commonjs'): string {
  return execFileSync(process.execPath, ['--input-type=' + type, '-e', code], { cwd: ROOT, encoding: 'utf8' });
}

const PROBE = `
  const sde = new irsde.MeanRevertingSDE({ T: 100, maxSigma: irsde.from255(10), schedule: 'cosine', eps: 0.005 }, irsde.hostBackend);
  const x = irsde.hostBackend.fromArray([0.25, 0.5], [2, 1]);
  const y = sde.muBar(x, x, [1, 100]);
  console.log(JSON.stringify({ sb: sde.sigmaBar(50), y: Array.from(y.data), tfjs: typeof irsde.tfjsBackend.linear }));
`;

describe('the built package', () => {
  it('dist holds ESM, CJS and type declarations', () => {
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(existsSync(resolve(ROOT, f)), `${f} exists (run npm run build)`).toBe(true);
    }
  });

  it('imports with `import` and with `require`, giving the same numbers', () => {
    const esm = JSON.parse(run(`import * as irsde from 'irsde/advanced';${PROBE}`, 'module'));
    const cjs = JSON.parse(run(`const irsde = require('irsde/advanced');${PROBE}`, 'commonjs'));
    expect(esm).toEqual(cjs);
    expect(esm.sb).toBeCloseTo(0.03657391567527279, 12);
    expect(esm.y).toEqual([0.25, 0.5]);
    expect(esm.tfjs).toBe('function');
  });
});

describe('the irsde/web entry', () => {
  const WEB_PROBE = `
    const r = await web.loadOrtWeb();
    const s = await web.selectBrowserEngine();
    console.log(JSON.stringify({ engines: web.BROWSER_ENGINES, same: web.MeanRevertingSDE !== undefined, threads: r.threads, first: s }));
  `;

  it('imports with `import` and `require`; onnxruntime-web is loaded on first use', () => {
    const esm = JSON.parse(run(`import * as web from 'irsde/web';${WEB_PROBE}`, 'module'));
    const cjs = JSON.parse(run(`(async () => { const web = require('irsde/web');${WEB_PROBE} })();`, 'commonjs'));
    expect(esm).toEqual(cjs);
    expect(esm.engines).toContain('ort-web-wasm');
    expect(esm.same).toBe(true);
    expect(esm.threads).toBe(1);
    expect(esm.first).toBe('ort-web-wasm');
  });
});
