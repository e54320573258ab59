/**
 * Steps per hour of `irsde train` for two builds, measured in one run: each build's CLI trains the
 * same config for `--steps` steps (no validation, no checkpoint), alternating builds for
 * `--rounds` rounds, and the median ms per step after the first 10 steps is read from each run's
 * log. Prints each run, each build's median and the ratio (how many more steps per hour the
 * second build trains than the first).
 *
 *   npm run build && git worktree add /tmp/base <rev> && (cd /tmp/base && npm ci && npm run build)
 *   npx tsx bench/train-steps.ts --config training/denoise-blind-nafnet.json /tmp/base/dist dist
 *     [--steps 50] [--rounds 2] [--out /tmp/irsde-train-steps]
 *
 * Not part of `npm test`; run it on an idle machine (it trains on both cores).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'training/denoise-blind-nafnet.json' },
    steps: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    out: { type: 'string', default: '/tmp/irsde-train-steps' },
  },
});
if (positionals.length !== 2) throw new Error('give two dist folders: the base build, then the build to compare');
const steps = Number(values.steps);
const rounds = Number(values.rounds);
if (!Number.isInteger(steps) || steps < 20) throw new Error(`--steps: an integer >= 20, got ${values.steps}`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: an integer >= 1, got ${values.rounds}`);

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];

/** Trains `steps` steps with the CLI of `dist`; returns the ms of each step after the 10th. */
function run(dist: string, out: string): number[] {
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [join(resolve(dist), 'cli.js'), 'train', '--config', values.config!, '--steps', String(steps), '--val-every', '1000000', '--checkpoint-every', '1000000', '--out', out, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const events = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; step: number; ms: number });
  return events.filter((e) => e.event === 'step' && e.step > 10).map((e) => e.ms);
}

const per: number[][] = [[], []];
for (let r = 1; r <= rounds; r++) {
  positionals.forEach((dist, i) => {
    const ms = run(dist, join(values.out!, `${i}-${r}`));
    per[i].push(...ms);
    console.log(`round ${r} ${dist}: median ${median(ms).toFixed(0)} ms/step over ${ms.length} steps`);
  });
}
const [a, b] = per.map(median);
console.log(`${values.config}: ${positionals[0]} ${a.toFixed(0)} ms/step, ${positionals[1]} ${b.toFixed(0)} ms/step: ${(a / b).toFixed(2)}x the steps per hour`);
