// A custom network through the built command line: `irsde --import MODULE` imports the user's
// module (which registers the network with registerNetwork from the package's `irsde/advanced`)
// before the command runs, so `info` and `restore --weights` read a model file of that network,
// on tfjs and on ONNX Runtime. Without the module the file is refused in one line.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, irsde } from './helpers/cli.js';
import { readImage, writeImage } from '../src/io/images.js';
import { Rng } from '../src/backend/rng.js';

let dir: string;
let net: string;
let model: string;
let input: string;

beforeAll(async () => {
  expect(existsSync(CLI), 'dist/cli.js exists (npm run build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'irsde-cli-custom-'));
  const advanced = pathToFileURL(join(ROOT, 'dist/advanced.js')).href;
  // What a user writes (importing 'irsde/advanced'; here the same built file by path).
  net = join(dir, 'tiny-net.mjs');
  writeFileSync(
    net,
    `import { Conv2d, NetworkModule, registerNetwork } from '${advanced}';
class TinyNet extends NetworkModule {
  constructor(config) {
    super();
    const c = config.channels;
    this.a = this.child('a', new Conv2d(2 * c, 8, 3));
    this.b = this.child('b', new Conv2d(8, c, 3));
    this.finish();
  }
  forward(ops, xt, cond) {
    return ops.conv(ops.silu(ops.conv(ops.concat([xt, cond]), this.a)), this.b);
  }
}
registerNetwork({ name: 'cli-tiny', build: (config) => new TinyNet(config) });
`,
  );
  model = join(dir, 'tiny.safetensors');
  const make = join(dir, 'make.mjs');
  writeFileSync(
    make,
    `import { writeFileSync } from 'node:fs';
import './tiny-net.mjs';
import { createNetwork, saveModel, selectBackend } from '${advanced}';
await selectBackend('cpu');
const net = createNetwork({ arch: 'custom', name: 'cli-tiny', channels: 3 }, { seed: 1 });
writeFileSync(${JSON.stringify(model)}, saveModel(net, { T: 10, maxSigma: 10 / 255 }, { sampling: { sampler: 'posterior', steps: 1, eta: 0 } }));
`,
  );
  execFileSync(process.execPath, [make], { cwd: dir });
  input = join(dir, 'in.png');
  await writeImage(input, { data: Float32Array.from(new Rng(5).uniform([24 * 20 * 3]), (v) => Math.round(v * 255) / 255), height: 24, width: 20, channels: 3 });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('irsde --import MODULE (a custom network)', () => {
  it('info and restore read a custom network model file once its module is imported (tfjs and ONNX Runtime)', async () => {
    const info = await irsde(['--import', net, 'info', model]);
    expect(info.stderr).toBe('');
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('cli-tiny');
    for (const engine of ['cpu', 'ort']) {
      const out = join(dir, `out-${engine}.png`);
      const r = await irsde(['--import', net, 'restore', '--weights', model, input, out, '--engine', engine, '--quiet']);
      expect(r.stderr, engine).toBe('');
      expect(r.code).toBe(0);
      const img = await readImage(out);
      expect([img.height, img.width]).toEqual([24, 20]);
    }
  }, 120_000);

  it('without the module, or with a module that is missing: one-line errors, nothing written', async () => {
    const out = join(dir, 'none.png');
    const r = await irsde(['restore', '--weights', model, input, out, '--engine', 'cpu', '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/registerNetwork|cli-tiny/);
    expect(r.stderr).toContain('irsde --import'); // the hint, found through the error's cause chain
    expect(existsSync(out)).toBe(false);
    const missing = await irsde(['--import', './no-such-module.mjs', 'info', model]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('--import ./no-such-module.mjs');
  }, 60_000);
});
