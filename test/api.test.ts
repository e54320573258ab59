// The curated public API: `irsde` (src/index.ts) is an explicit list of fewer than 120 documented
// symbols, the README's API section names exactly those, and `irsde/advanced` holds all of them
// plus the building blocks (but not the internals the issue named).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INDEX = resolve(ROOT, 'src/index.ts');
const ADVANCED = resolve(ROOT, 'src/advanced.ts');

const program = ts.createProgram([INDEX, ADVANCED], {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  noEmit: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

interface Exported {
  readonly name: string;
  readonly documented: boolean;
}

function exportsOf(file: string): Exported[] {
  const sf = program.getSourceFile(file)!;
  const moduleSymbol = checker.getSymbolAtLocation(sf)!;
  return checker.getExportsOfModule(moduleSymbol).map((e) => {
    const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const docs = target.getDocumentationComment(checker).map((d) => d.text).join('').trim();
    return { name: e.name, documented: docs.length > 0 };
  });
}

const main = exportsOf(INDEX);
const advanced = exportsOf(ADVANCED);

/** The symbol names listed in the README's "The API" section (inline code in its bullet list). */
function readmeApiNames(): string[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('The curated `irsde`');
  expect(start, "README has the API section's list").toBeGreaterThan(0);
  const end = readme.indexOf('\n\n', readme.indexOf('\n- ', start));
  const bullets = readme.slice(start, end).split('\n').filter((l) => l.startsWith('- '));
  return bullets.flatMap((l) => [...l.slice(l.indexOf(':') + 1).matchAll(/`([A-Za-z0-9_]+)`/g)].map((m) => m[1]));
}

describe('the public API', () => {
  it('src/index.ts is explicit export lists (no export *), fewer than 120 symbols', () => {
    const text = readFileSync(INDEX, 'utf8');
    expect(text).not.toMatch(/export \*/);
    expect(main.length).toBeGreaterThan(50);
    expect(main.length).toBeLessThan(120);
  });

  it('every symbol of irsde and irsde/advanced is documented', () => {
    expect(main.filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
    expect(advanced.filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
  });

  it("the README's API section names exactly the symbols of src/index.ts and states their number", () => {
    const listed = readmeApiNames();
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(main.map((e) => e.name).sort());
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`the curated API below (${main.length} symbols)`);
  });

  it('irsde/advanced re-exports all of irsde plus the building blocks, and no internals', () => {
    const adv = new Set(advanced.map((e) => e.name));
    expect(main.filter((e) => !adv.has(e.name)).map((e) => e.name)).toEqual([]);
    for (const name of ['sdeJump', 'posteriorJump', 'Module', 'buildModules', 'exportOnnxTrainingGraph', 'ONNX_IO', 'ONNX_TRAIN_IO', 'Adam', 'EMA', 'createLRSchedule', 'augmentPair', 'motionBlur']) {
      expect(adv.has(name), name).toBe(true);
    }
    for (const name of ['readPickle', 'readZip', 'ALLOWED_GLOBALS', 'WINOGRAD_MIN_CHANNELS', 'tfjsToTorch', 'torchToTfjs', 'IRSDE_METADATA_KEY']) {
      expect(adv.has(name), name).toBe(false);
    }
  });

  it('the runtime modules export the same values as their declarations', async () => {
    const m = await import('../src/index.js');
    const a = await import('../src/advanced.js');
    const valueNames = (list: Exported[], mod: Record<string, unknown>) => list.map((e) => e.name).filter((n) => n in mod);
    // Every runtime export is declared (types have no runtime value, so compare one way).
    expect(Object.keys(m).every((k) => main.some((e) => e.name === k))).toBe(true);
    expect(Object.keys(a).every((k) => advanced.some((e) => e.name === k))).toBe(true);
    expect(valueNames(main, m).every((n) => (a as Record<string, unknown>)[n] === (m as Record<string, unknown>)[n])).toBe(true);
  });
});
