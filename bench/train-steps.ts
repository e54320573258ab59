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

/**
 * Trains `steps` steps with the CLI of `dist`; returns, for each step after the 10th, the step's
 * own time (`ms` in the log: the trainer's step) and the wall time since the previous step's
 * record (the log's timestamps: everything between two steps, logging and garbage collection
 * included, which is what steps per hour count).
 */
function run(dist: string, out: string): { ms: number[]; wall: number[] } {
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [join(resolve(dist), 'cli.js'), 'train', '--config', values.config!, '--steps', String(steps), '--val-every', '1000000', '--checkpoint-every', '1000000', '--out', out, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const events = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; step: number; ms: number; time: string });
  const stepEvents = events.filter((e) => e.event === 'step');
  const wall: number[] = [];
  for (let i = 1; i < stepEvents.length; i++) if (stepEvents[i].step > 10) wall.push(Date.parse(stepEvents[i].time) - Date.parse(stepEvents[i - 1].time));
  return { ms: stepEvents.filter((e) => e.step > 10).map((e) => e.ms), wall };
}

const per: { ms: number[]; wall: number[] }[] = [
  { ms: [], wall: [] },
  { ms: [], wall: [] },
];
for (let r = 1; r <= rounds; r++) {
  positionals.forEach((dist, i) => {
    const { ms, wall } = run(dist, join(values.out!, `${i}-${r}`));
    per[i].ms.push(...ms);
    per[i].wall.push(...wall);
    console.log(`round ${r} ${dist}: median ${median(ms).toFixed(0)} ms/step (wall ${median(wall).toFixed(0)} ms between steps) over ${ms.length} steps`);
  });
}
const [a, b] = per.map((p) => median(p.ms));
const [wa, wb] = per.map((p) => median(p.wall));
console.log(`${values.config}: ${positionals[0]} ${a.toFixed(0)} ms/step, ${positionals[1]} ${b.toFixed(0)} ms/step: ${(a / b).toFixed(2)}x the steps per hour`);
console.log(`  wall clock between steps: ${wa.toFixed(0)} -> ${wb.toFixed(0)} ms: ${(wa / wb).toFixed(2)}x`);
