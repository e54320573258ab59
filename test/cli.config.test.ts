import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTrainConfig, trainConfigOfFlags, TRAIN_CONFIG_KEYS } from '../src/cli/commands/train.js';
import { resolveTrainConfig, runTraining } from '../src/train-run/index.js';
import { selectBackend } from '../src/engine/backend.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('irsde train --config files', () => {
  it('accepts the shipped training configs', () => {
    // photos.json is the photo list (licences, splits), not a run config.
    const files = readdirSync(join(ROOT, 'training')).filter((f) => f.endsWith('.json') && f !== 'photos.json');
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => checkTrainConfig(JSON.parse(readFileSync(join(ROOT, 'training', f), 'utf8')), f)).not.toThrow();
  });

  it('refuses an unknown key, naming it and the key that was meant', () => {
    expect(() => checkTrainConfig({ nf: 16, maxSigma: 25 }, 'run.json')).toThrow(/--config 'run.json': unknown key 'maxSigma' \(did you mean 'maxSigma255'\?\)/);
    expect(() => checkTrainConfig({ 'val-every': 5 }, 'run.json')).toThrow(/unknown key 'val-every' \(did you mean 'valEvery'\?\)/);
    expect(() => checkTrainConfig({ learningRate: 1e-4 }, 'run.json')).toThrow(/unknown key 'learningRate'; the keys are gt, lq,/);
    expect(() => checkTrainConfig([1, 2], 'run.json')).toThrow(/must hold a JSON object/);
  });

  it('lists every option of the command as a key (the flag --max-sigma as maxSigma255, the repeatable --val-degradation as valDegradations)', async () => {
    const { buildProgram } = await import('../src/cli/main.js');
    const train = buildProgram().commands.find((c) => c.name() === 'train')!;
    const fromFlags = train.options.map((o) => o.attributeName()).filter((k) => !['config', 'resume'].includes(k)).map((k) => (k === 'maxSigma' ? 'maxSigma255' : k === 'valDegradation' ? 'valDegradations' : k));
    expect([...fromFlags].sort()).toEqual([...TRAIN_CONFIG_KEYS].sort());
  });
});

describe('the README on --config', () => {
  it('lists exactly the keys a config file may hold', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const listed = /`gt`, `lq`, [^.]*`quiet`/.exec(readme)?.[0].match(/`(\w+)`/g)?.map((k) => k.slice(1, -1));
    expect(listed).toEqual([...TRAIN_CONFIG_KEYS]);
  });
});

describe('irsde train: the defaults --help states and the resolved config.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'irsde-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help gives a default for every option, and each stated value is the one the run applies', async () => {
    const { buildProgram } = await import('../src/cli/main.js');
    const train = buildProgram().commands.find((c) => c.name() === 'train')!;
    const resolved = resolveTrainConfig((await trainConfigOfFlags({ gt: 'photos', out: 'runs/x', degradation: 'noise:25' })).cfg) as unknown as Record<string, unknown>;
    let checked = 0;
    for (const o of train.options) {
      expect(o.description, o.flags).toMatch(/default: |\(required/);
      const stated = /default: ([\w.:-]+(?:,[\w.:-]+)*)/.exec(o.description)?.[1];
      const key = o.attributeName() === 'maxSigma' ? 'maxSigma255' : o.attributeName();
      if (stated === undefined || resolved[key] === undefined || ['none', 'the', 'no', 'progress', 'auto', 'ort'].includes(stated)) continue;
      const value = resolved[key];
      expect(Array.isArray(value) ? value.join(',') : String(value), o.flags).toBe(stated.replace(/:T$/, `:${String(resolved.T)}`));
      checked++;
    }
    // Every value-like default is checked: channels, T, steps, lr, ..., nf, depth, prediction, objective, norm, eps, timesteps.
    expect(checked).toBeGreaterThanOrEqual(20);
    // The --sde denoising defaults the help text names: eps 0.04, maxSigma the top noise level, ode validation, noise:25.
    const dn = resolveTrainConfig((await trainConfigOfFlags({ gt: 'photos', out: 'runs/x', sde: 'denoising' })).cfg);
    expect(dn).toMatchObject({ eps: 0.04, maxSigma255: 50, noiseLevels: '0:50', valSampler: 'ode', degradation: 'noise:25' });
    expect(dn.timesteps).toBeUndefined();
  });

  it('config.json is the whole resolved configuration: --config of it resolves to the same', async () => {
    const cases: Array<Record<string, unknown>> = [
      { gt: 'photos', out: 'runs/a', degradation: 'noise:25' },
      { gt: 'photos', out: 'runs/b', sde: 'denoising', arch: 'nafnet', width: 8, noiseLevels: '0:30:clip', lrMilestones: [10, 20], greyFraction: 0.1 },
      { gt: 'photos', out: 'runs/c', degradation: 'rain', maxSigma: 20, timesteps: '60:100', prediction: 'residual', objective: 'x0', norm: 'l2', gradients: 'tfjs', ema: false, lrSchedule: 'cosine' },
    ];
    for (const [i, flags] of cases.entries()) {
      const first = resolveTrainConfig((await trainConfigOfFlags(flags)).cfg);
      for (const k of ['sde', 'T', 'maxSigma255', 'schedule', 'eps', 'arch', 'prediction', 'objective', 'norm', 'lr', 'lrSchedule', 'batch', 'patch', 'seed', 'steps', 'gradients', 'valSampler', 'ema'] as const) {
        expect(first[k], `${k} of case ${i}`).toBeDefined();
      }
      const file = join(dir, `config-${i}.json`);
      writeFileSync(file, JSON.stringify(first, null, 2));
      const again = resolveTrainConfig((await trainConfigOfFlags({ config: file })).cfg);
      expect(again).toEqual(first);
    }
    expect(resolveTrainConfig((await trainConfigOfFlags(cases[2])).cfg)).toMatchObject({ maxSigma255: 20, eps: 0.005, timesteps: '60:100', prediction: 'residual', objective: 'x0', ema: false, arch: 'unet', nf: 16, depth: 3 });
  });

  it('a run writes that config.json (re-run with --config gives the same configuration) and logs validation with the input PSNR and the sampling used', async () => {
    await selectBackend('cpu');
    const gt = join(dir, 'gt');
    mkdirSync(gt);
    for (const name of ['camera', 'coffee', 'astronaut']) copyFileSync(join(ROOT, 'test/fixtures/metrics', `${name}_gt.png`), join(gt, `${name}.png`));
    const out = join(dir, 'run');
    const { cfg } = await trainConfigOfFlags({ gt, out, degradation: 'noise:25', nf: 4, depth: 2, T: 10, maxSigma: 50, batch: 1, patch: 32, steps: 2, valCount: 1, valEvery: 2, valSteps: 1, valCrop: 32, gradients: 'tfjs', engine: 'cpu', quiet: true });
    await runTraining(cfg);
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(written).toMatchObject({ engine: 'cpu', gradients: 'tfjs', maxSigma255: 50, eps: 0.005, T: 10, prediction: 'residual', objective: 'x0', norm: 'l1', valSampler: 'posterior', timesteps: '1:10' });
    const again = resolveTrainConfig((await trainConfigOfFlags({ config: join(out, 'config.json') })).cfg);
    expect(again).toEqual(written);
    const val = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.event === 'validation');
    expect(val).toHaveLength(1);
    expect(val[0]).toMatchObject({ step: 2, sampler: 'posterior', steps: 1 });
    // Sigma-25 noise on a crop: the input's PSNR is about 20 dB (clipping raises it a little).
    expect(val[0].inputPsnr).toBeGreaterThan(19);
    expect(val[0].inputPsnr).toBeLessThan(23);
    expect(val[0].inputSsim).toBeGreaterThan(0);
    expect(val[0].inputSsim).toBeLessThan(1);
    expect(Number.isFinite(val[0].psnr)).toBe(true);
  });
});
