import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, importsOf, RINGS } from '../scripts/check-layers.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const tmp = mkdtempSync(join(tmpdir(), 'irsde-layers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of src/ with `edits` applied (path -> new text, or a function of the old text). */
function variant(name: string, edits: Record<string, string | ((old: string) => string)>): string {
  const dir = join(tmp, name);
  cpSync(SRC, dir, { recursive: true });
  for (const [rel, edit] of Object.entries(edits)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    const old = (() => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return '';
      }
    })();
    writeFileSync(p, typeof edit === 'string' ? edit : edit(old));
  }
  return dir;
}

const rules = (dir: string) => checkLayers(dir).map((v) => v.rule);

describe('the layering check (scripts/check-layers.ts)', () => {
  it('passes on src/ as it is', () => {
    expect(checkLayers(SRC)).toEqual([]);
  });

  it('sees every kind of import', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from './b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "const e = await import('./e.js');",
      "type F = import('./f.js').F;",
      "import './g.js';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
  });

  it('catches an upward import (the maths importing the trainer), also type-only', () => {
    const dir = variant('upward', { 'sde/schedules.ts': (s) => `import type { Trainer } from '../train/trainer.js';\n${s}` });
    const found = checkLayers(dir);
    expect(found.map((v) => v.rule)).toContain('upward');
    expect(found.find((v) => v.rule === 'upward')!.message).toMatch(/src\/sde\/schedules\.ts \(ring 'sde'\) imports src\/train\/trainer\.ts \(ring 'train'\)/);
  });

  it('catches a Node built-in or onnxruntime-node in browser-safe code, and browser code importing Node-only files', () => {
    expect(rules(variant('builtin', { 'sampling/tiled.ts': (s) => `import { cpus } from 'node:os';\n${s}` }))).toContain('node-only');
    expect(rules(variant('bare-builtin', { 'nn/io/zip.ts': (s) => `import { inflateRawSync } from 'zlib';\n${s}` }))).toContain('node-only');
    expect(rules(variant('ort', { 'nn/onnx/export.ts': (s) => `import * as ort from 'onnxruntime-node';\n${s}` }))).toContain('node-only');
    expect(rules(variant('pool', { 'train/index.ts': (s) => `${s}\nexport * from './parallel/index.js';\n` }))).toContain('node-only');
    // ...while Node-only files may use them.
    expect(rules(variant('io-fs', { 'io/folder.ts': (s) => `import { cpus } from 'node:os';\n${s}` }))).toEqual([]);
  });

  it('catches a cycle between files of one ring, and between sibling folders', () => {
    const files = checkLayers(variant('file-cycle', { 'train/clip.ts': (s) => `import type { Trainer } from './trainer.js';\n${s}` }));
    expect(files.map((v) => v.rule)).toEqual(['file-cycle']);
    expect(files[0].message).toMatch(/src\/train\/clip\.ts/);
    const folders = checkLayers(variant('folder-cycle', { 'nn/io/types.ts': (s) => `import type { UNetConfig } from '../nets/unet.js';\n${s}` }));
    expect(folders.map((v) => v.rule)).toContain('folder-cycle');
    expect(folders.find((v) => v.rule === 'folder-cycle')!.message).toMatch(/src\/nn\/io -> src\/nn\/nets -> src\/nn\/io/);
  });

  it('refuses a folder with no ring', () => {
    expect(() => checkLayers(variant('no-ring', { 'extras/x.ts': 'export const x = 1;\n' }))).toThrow(/folder 'extras', which has no ring/);
  });

  it('orders the rings as the README says', () => {
    const readme = readFileSync(resolve(SRC, '..', 'README.md'), 'utf8');
    const order = RINGS.filter((r) => r !== 'entry').join(' < ');
    expect(readme).toContain(order);
  });
});
