import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingLog, plotRun, renderCurvesSvg } from '../src/cli/commands/plot.js';

let dir: string;

/**
 * A synthetic two-session log: steps 1..60 from 10:00 (one a minute, validations at 20 and 40),
 * killed after step 60 with the last checkpoint at 50; resumed at 50 the next day and run to 120
 * (validations at 80 and 120). Steps 51..60 of the first session were run again.
 */
function syntheticLog(): string {
  const lines: object[] = [];
  const at = (day: number, minutes: number) => new Date(Date.UTC(2026, 0, day, 10, minutes)).toISOString();
  lines.push({ time: at(1, 0), event: 'start', step: 0 });
  for (let s = 1; s <= 60; s++) {
    lines.push({ time: at(1, s), event: 'step', step: s, loss: 1 / s, lr: 1e-4, ms: 60000 });
    if (s % 20 === 0) lines.push({ time: at(1, s), event: 'validation', step: s, psnr: 20 + s / 10, ssim: 0.5, inputPsnr: 20.5, inputSsim: 0.4, sampler: 'posterior', steps: 1 });
  }
  lines.push({ time: at(2, 0), event: 'resume', step: 50 });
  for (let s = 51; s <= 120; s++) {
    lines.push({ time: at(2, s - 50), event: 'step', step: s, loss: 2 / s, lr: 1e-4, ms: 60000 });
    if (s % 40 === 0) lines.push({ time: at(2, s - 50), event: 'validation', step: s, psnr: 20 + s / 10, ssim: 0.6, inputPsnr: 20.5, inputSsim: 0.4, sampler: 'posterior', steps: 1 });
  }
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** Checks that every element opens and closes in order (`<a>...</a>` or `<a/>`); returns the element count. */
function checkTags(svg: string): number {
  const stack: string[] = [];
  let n = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) expect(stack.pop(), `</${name}> closes the open element`).toBe(name);
    else if (!self) stack.push(name);
    n++;
  }
  expect(stack).toEqual([]);
  // Nothing that looks like markup was left out of the match above (stray '<').
  expect(svg.replace(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g, '')).not.toMatch(/[<>]/);
  return n;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'irsde-plot-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('irsde plot: the training log', () => {
  it('reads steps, validations and resumes; steps redone after a resume keep their last record; hours leave out the pause', () => {
    const log = parseTrainingLog(syntheticLog(), 'log.jsonl');
    expect(log.steps.map((s) => s.step)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(log.steps[54].loss).toBeCloseTo(2 / 55, 12); // the second session's step 55, not the first's
    expect(log.validations.map((v) => v.step)).toEqual([20, 40, 80, 120]);
    expect(log.validations[0].inputPsnr).toBe(20.5);
    expect(log.resumes).toEqual([50]);
    // 60 minutes in the first session, 70 in the second; the night between is not training.
    expect(log.hours).toBeCloseTo(130 / 60, 9);
    expect(log.steps[119].hours).toBeCloseTo(130 / 60, 9);
    expect(log.steps[49].hours).toBeCloseTo(50 / 60, 9);
    expect(log.steps[50].hours).toBeCloseTo(61 / 60, 9);
  });

  it('refuses an empty, garbled or step-less log in one line', () => {
    expect(() => parseTrainingLog('\n\n', 'a/log.jsonl')).toThrow(/^'a\/log.jsonl' is empty/);
    expect(() => parseTrainingLog('{"event":"step","step":1,"loss":1}\n{"event":"st', 'a/log.jsonl')).toThrow(/^'a\/log.jsonl' line 2 is not JSON/);
    expect(() => parseTrainingLog('[1,2]\n', 'x')).toThrow(/line 1 is not a JSON object/);
    expect(() => parseTrainingLog('{"event":"start","step":0}\n', 'x')).toThrow(/has no training steps/);
  });
});

describe('irsde plot: the SVG', () => {
  it('has both panels, every point, axis labels, hour ticks and a legend, and well-formed markup', () => {
    const svg = renderCurvesSvg(parseTrainingLog(syntheticLog(), 'log.jsonl'), { title: 'run <1> & co', window: 10 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(checkTags(svg)).toBeGreaterThan(50);
    const loss = /class="loss"[^>]*points="([^"]*)"/.exec(svg)![1].trim().split(/\s+/);
    expect(loss).toHaveLength(120);
    expect(/class="psnr"[^>]*points="([^"]*)"/.exec(svg)![1].trim().split(/\s+/)).toHaveLength(4);
    expect(/class="input-psnr"[^>]*points="([^"]*)"/.exec(svg)![1].trim().split(/\s+/)).toHaveLength(4);
    expect(svg.match(/class="psnr-point"/g)).toHaveLength(4);
    expect(svg.match(/class="input-point"/g)).toHaveLength(4);
    // The loss falls (SVG y grows downwards): the running mean's last point is below its first.
    const y = (p: string) => Number(p.split(',')[1]);
    expect(y(loss[loss.length - 1])).toBeGreaterThan(y(loss[0]));
    // x positions increase with the step.
    const xs = loss.map((p) => Number(p.split(',')[0]));
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1])).toBe(true);
    for (const text of ['>step<', '>loss (log scale)<', '>PSNR (dB)<', 'training hours (wall clock, 2.17 h in all)', 'loss, running mean of 10 steps', 'restored (last: 32.00 dB)', 'degraded input, same crops (20.50 dB)', '>resumed<', '>Training loss<', '>Validation PSNR<']) {
      expect(svg).toContain(text);
    }
    // Hour ticks 0, 0.5, 1, 1.5, 2 along the top of both panels; the title escaped.
    for (const h of ['0.5', '1.5', '2']) expect(svg.match(new RegExp(`fill="#555">${h.replace('.', '\\.')}</text>`, 'g'))).toHaveLength(2);
    expect(svg).toContain('run &lt;1&gt; &amp; co');
  });

  it('caps the loss curve at maxPoints (every k-th step and the last)', () => {
    const svg = renderCurvesSvg(parseTrainingLog(syntheticLog(), 'log.jsonl'), { maxPoints: 50 });
    // stride ceil(120 / 50) = 3: steps 1, 4, ..., 118 (40 points), then 120.
    expect(/class="loss"[^>]*points="([^"]*)"/.exec(svg)![1].trim().split(/\s+/)).toHaveLength(41);
  });

  it('plotRun writes RUN_DIR/curves.svg from a run folder or a log path, and fails in one line otherwise', async () => {
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'log.jsonl'), syntheticLog());
    const { out } = await plotRun(run);
    expect(out).toBe(join(run, 'curves.svg'));
    expect(readFileSync(out, 'utf8')).toContain('>run</text>');
    const other = join(dir, 'other.svg');
    expect((await plotRun(join(run, 'log.jsonl'), { out: other })).out).toBe(other);
    expect(readFileSync(other, 'utf8')).toContain('<polyline class="loss"');
    await expect(plotRun(join(dir, 'nope'))).rejects.toThrow(/^not found: '.*nope'/);
    mkdirSync(join(dir, 'empty-run'));
    await expect(plotRun(join(dir, 'empty-run'))).rejects.toThrow(/^no log.jsonl in '.*empty-run'/);
    await expect(plotRun(run, { out: join(dir, 'x.png') })).rejects.toThrow(/--out must name an .svg file/);
  });

  it('the CLI prints one line for a garbled log and exits 1', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"event":"step","step":1,"loss":0.5}\nnot json\n');
    const { runCli } = await import('../src/cli/main.js');
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(' '));
    try {
      expect(await runCli(['plot', bad])).toBe(1);
    } finally {
      console.error = orig;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^irsde: '.*bad.jsonl' line 2 is not JSON: "not json"$/);
  });
});
