import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkTrainConfig, TRAIN_CONFIG_KEYS } from '../src/cli/commands/train.js';

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
