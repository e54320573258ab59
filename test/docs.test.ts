import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCliLines, checkFileRefs, checkTsBlocks, codeBlocks, commentsOf, repositoryTargets, type RefTargets } from '../scripts/check-docs.js';
import { buildProgram } from '../src/cli/main.js';
import { MeanRevertingSDE, from255 } from '../src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');

describe('the documentation check (scripts/check-docs.ts)', () => {
  it('finds fenced blocks with their language and line', () => {
    const md = 'intro\n```ts\nconst a = 1;\n```\ntext\n```bash\nirsde info m.safetensors\n```\n';
    expect(codeBlocks(md, 'x.md')).toEqual([
      { file: 'x.md', lang: 'ts', line: 3, text: 'const a = 1;' },
      { file: 'x.md', lang: 'bash', line: 7, text: 'irsde info m.safetensors' },
    ]);
  });

  it('catches an unknown command or option in a shell block, across continued lines', () => {
    const blocks = codeBlocks('```bash\nirsde restore a.png b.png --steps 2   # ok\nirsde restore a.png b.png \\\n  --stpes 2\nirsde denoise a.png\nnode dist/cli.js train --max-sigma 25 --gradients ort\n```\n', 'x.md');
    expect(checkCliLines(blocks, buildProgram())).toEqual([
      "x.md:3: 'irsde restore' has no option --stpes",
      "x.md:4: 'irsde denoise' is no command (commands: train, restore, eval, export, info, plot)",
    ]);
  });

  it('catches a TypeScript block that uses an undeclared variable, at its line in the Markdown file', () => {
    const blocks = codeBlocks("# t\n```ts\nimport { MeanRevertingSDE } from 'irsde';\nconst s = new MeanRevertingSDE({ T: 10, maxSigma: 0.1 });\nconsole.log(s.sigmaBar(t));\n```\n", 'x.md');
    const errors = checkTsBlocks(blocks);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^x\.md:5:\d+: error TS2304: Cannot find name 't'/);
  });
});

describe('the reference check (scripts/check-docs.ts): no file named leads nowhere', () => {
  const files = new Set(['README.md', 'docs/numerics.md', 'docs/derain.png', 'src/nn/arch/ops.ts', 'src/loss/diffs.ts', 'training/derain.json']);
  const targets: RefTargets = {
    exists: (rel) => files.has(rel),
    hasName: (name) => [...files].some((f) => f.endsWith(`/${name}`) || f === name),
    generated: (rel) => rel.startsWith('runs/'),
    dependency: (rel) => rel === 'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs',
  };

  it('flags paths outside the repository, missing files, bare names of no file and "the notes at the top of this file"', () => {
    const text = [
      'The maths is in `../shared/docs/MATH.md` and the network in `UNET.md`;',
      'see [numerics](docs/numerics.md), [gone](docs/gone.md), [web](https://example.com/x.md), `./diffs.ts`.',
      'Architecture: `nn/arch/ops.ts`, `training/derain.json`, writes `runs/x/model.json`, `RUN_DIR/curves.svg`, TensorFlow.js, `config.json`.',
      'Tested in `test/sampling.oracle.test.ts`; see the notes at the top of this file; `onnxruntime-web/dist/ort-wasm-simd-threaded.mjs`.',
      '![plot](docs/derain.png) and [`codes/utils/sde_utils.py`](https://github.com/Algolzw/image-restoration-sde)',
      "Vite: `optimizeDeps: { include: ['irsde > fft.js'] }` names a package; a bare `fft.js` names a file.",
    ].join('\n');
    expect(checkFileRefs(text, 'README.md', targets)).toEqual([
      "README.md:1: '../shared/docs/MATH.md' is outside the repository and the package",
      "README.md:1: 'UNET.md' is no file of the repository or the package",
      "README.md:2: 'docs/gone.md' is no file of the repository or the package",
      "README.md:2: './diffs.ts' is no file of the repository or the package",
      "README.md:4: 'test/sampling.oracle.test.ts' is no file of the repository or the package",
      "README.md:6: 'fft.js' is no file of the repository or the package",
      'README.md:4: "notes at the top of this file" points at notes the reader does not have; say it here or name a README section',
    ]);
    // `./diffs.ts` is relative to the file naming it: from src/loss/ it exists.
    expect(checkFileRefs('`./diffs.ts`', 'src/loss/objective.ts', targets)).toEqual([]);
    expect(checkFileRefs('see [the maths](../README.md#the-maths)', 'docs/numerics.md', targets)).toEqual([]);
  });

  it('reads the comments of a declaration file only, keeping their line numbers', () => {
    const dts = "import { a } from './chunk-x.js';\n/**\n * See `UNET.md`.\n */\ndeclare const b: string; // from `x/y.ts`\nconst s = '// not a comment';";
    const c = commentsOf(dts).split('\n');
    expect(c).toHaveLength(6);
    expect(c[0]).toBe('');
    expect(c[2]).toContain('`UNET.md`');
    expect(c[4]).toContain('`x/y.ts`');
    expect(c[5]).toBe('');
    expect(checkFileRefs(commentsOf(dts), 'dist/index.d.ts', targets)).toEqual([
      "dist/index.d.ts:3: 'UNET.md' is no file of the repository or the package",
      "dist/index.d.ts:5: 'x/y.ts' is no file of the repository or the package",
    ]);
  });

  it('the repository targets hold its files, not node_modules, and git-ignored folders as outputs', () => {
    const repo = repositoryTargets(ROOT);
    expect(repo.exists('src/index.ts')).toBe(true);
    expect(repo.exists('README.md')).toBe(true);
    expect(repo.exists('src/nope.ts')).toBe(false);
    expect(repo.hasName('check-docs.ts')).toBe(true);
    expect(repo.generated('runs/denoise/model.safetensors')).toBe(true);
    expect(repo.generated('examples/out/demo.png')).toBe(true);
    expect(repo.generated('src/index.ts')).toBe(false);
    expect(repo.dependency('onnxruntime-web/package.json')).toBe(true);
    expect(repo.dependency('left-pad/index.js')).toBe(false);
  });
});

describe("the README's numbers", () => {
  it("quotes the shipped schedule's exp(-thetaBar_t) and sigmaBar_t as the SDE computes them", () => {
    const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(25), schedule: 'cosine', eps: 0.005 });
    const decay = (t: number) => Math.exp(-sde.thetasCumsum[t] * sde.dt);
    const text = `falls from 1 at\nt = 0 to ${decay(50).toFixed(2)} at t = 50, ${decay(70).toPrecision(2)} at t = 70, ${decay(90).toPrecision(2)} at t = 90 and eps = ${decay(100).toFixed(3)} at t = T`;
    expect(README.replace(/\s+/g, ' ')).toContain(text.replace(/\s+/g, ' '));
    expect(README).toContain(`\`sigmaBar_t\` is ${(sde.sigmaBar(50) / sde.maxSigma).toFixed(2)} lambda at t = 50`);
    expect(README).toContain('above 0.995 lambda from t = 70 on');
    for (let t = 70; t <= 100; t++) expect(sde.sigmaBar(t) / sde.maxSigma).toBeGreaterThan(0.995);
  });
});
