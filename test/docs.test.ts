import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCliLines, checkTsBlocks, codeBlocks } from '../scripts/check-docs.js';
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
      "x.md:4: 'irsde denoise' is no command (commands: train, restore, eval, export, info)",
    ]);
  });

  it('catches a TypeScript block that uses an undeclared variable, at its line in the Markdown file', () => {
    const blocks = codeBlocks("# t\n```ts\nimport { MeanRevertingSDE } from 'irsde';\nconst s = new MeanRevertingSDE({ T: 10, maxSigma: 0.1 });\nconsole.log(s.sigmaBar(t));\n```\n", 'x.md');
    const errors = checkTsBlocks(blocks);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^x\.md:5:\d+: error TS2304: Cannot find name 't'/);
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
