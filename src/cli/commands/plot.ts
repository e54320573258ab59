// `irsde plot`: the loss and validation curves of a training run, as a small dependency-free SVG.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { CliError, intOption } from '../errors.js';

/** One training step of a run's log: its loss and the training hours (wall clock) when it ended. */
export interface LoggedStep {
  /** The optimiser step (1-based). */
  readonly step: number;
  /** The step's training loss. */
  readonly loss: number;
  /** Training hours since the run started, pauses between sessions left out (`NaN` without times). */
  readonly hours: number;
}

/** One validation of a run's log (mean scores over the validation crops). */
export interface LoggedValidation {
  /** The step after which it ran. */
  readonly step: number;
  /** PSNR of the restorations, dB. */
  readonly psnr: number;
  /** PSNR of the degraded inputs on the same crops, dB (logs written before it was logged lack it). */
  readonly inputPsnr?: number;
  /** Training hours, as {@link LoggedStep.hours}. */
  readonly hours: number;
}

/** What {@link parseTrainingLog} reads from a run's `log.jsonl`. */
export interface TrainingLog {
  /** The steps, in order of step; steps redone after a resume keep their last record. */
  readonly steps: readonly LoggedStep[];
  /** The validations, in order of step. */
  readonly validations: readonly LoggedValidation[];
  /** The steps at which the run was resumed (each `resume` record after the first segment). */
  readonly resumes: readonly number[];
  /** Training hours in all (sum of the sessions' wall-clock spans; `NaN` without times). */
  readonly hours: number;
}

/**
 * Reads the records of a run's `log.jsonl` (one JSON object a line, as `irsde train` writes it):
 * `step` records (loss), `validation` records (psnr, inputPsnr) and the `start` / `resume` records
 * that open each session. Hours come from each record's `time`: within a session the time since
 * its first record, plus the length of the sessions before it (the pauses between sessions do
 * not count). A resume from a checkpoint at step S drops the records after S of the session
 * before (those steps were run again).
 * @param name - the file's name, for error messages.
 * @throws CliError for an empty log, a line that is not a JSON object, or a log without steps.
 */
export function parseTrainingLog(text: string, name: string): TrainingLog {
  const lines = text.split('\n');
  if (lines.every((l) => l.trim() === '')) throw new CliError(`'${name}' is empty: no training log records`);
  let steps: LoggedStep[] = [];
  let vals: LoggedValidation[] = [];
  const resumes: number[] = [];
  let offset = 0; // hours of the sessions before this one
  let segStart = NaN;
  let last = NaN;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new CliError(`'${name}' line ${i + 1} is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new CliError(`'${name}' line ${i + 1} is not a JSON object`);
    const time = typeof rec.time === 'string' ? Date.parse(rec.time) : NaN;
    const step = typeof rec.step === 'number' ? rec.step : NaN;
    if (rec.event === 'start' || rec.event === 'resume') {
      if (Number.isFinite(last) && Number.isFinite(segStart)) offset += (last - segStart) / 3.6e6;
      segStart = time;
      last = time;
      if (rec.event === 'resume' && Number.isFinite(step)) {
        resumes.push(step);
        steps = steps.filter((s) => s.step <= step);
        vals = vals.filter((v) => v.step <= step);
      }
      return;
    }
    if (!Number.isFinite(segStart)) segStart = time;
    last = time;
    const hours = offset + (time - segStart) / 3.6e6;
    if (rec.event === 'step' && Number.isFinite(step) && typeof rec.loss === 'number' && Number.isFinite(rec.loss)) {
      steps.push({ step, loss: rec.loss, hours });
    } else if (rec.event === 'validation' && Number.isFinite(step) && typeof rec.psnr === 'number' && Number.isFinite(rec.psnr)) {
      vals.push({ step, psnr: rec.psnr, ...(typeof rec.inputPsnr === 'number' && Number.isFinite(rec.inputPsnr) ? { inputPsnr: rec.inputPsnr } : {}), hours });
    }
  });
  if (steps.length === 0) throw new CliError(`'${name}' has no training steps (records with "event": "step" and a loss)`);
  steps.sort((a, b) => a.step - b.step);
  vals.sort((a, b) => a.step - b.step);
  const hours = Number.isFinite(last) && Number.isFinite(segStart) ? offset + (last - segStart) / 3.6e6 : NaN;
  return { steps, validations: vals, resumes, hours };
}

/** Options of {@link renderCurvesSvg}. */
export interface CurvesOptions {
  /** The title above the panels (default none). */
  readonly title?: string;
  /** Steps in the loss's running mean (default 50). */
  readonly window?: number;
  /** At most this many points on the loss curve (default 600; every k-th step of the running mean, and the last). */
  readonly maxPoints?: number;
}

/** A tick label: `1,000`, `0.05`, `2e-4`. */
function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

/** About `n` round ticks (1, 2 or 5 times a power of ten) covering `[lo, hi]`. */
function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks of a log axis over `[lo, hi]`: the powers of ten, with 2 and 5 times them when the range spans less than two decades (3 times them below three). */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mults = Math.log10(hi / lo) < 2 ? [1, 2, 5] : Math.log10(hi / lo) < 3 ? [1, 3] : [1];
  const out: number[] = [];
  for (let e = a; e <= b; e++) for (const m of mults) {
    const v = Number((m * 10 ** e).toPrecision(6));
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  // A narrow range (under about half a decade): round values inside it instead.
  return out.length >= 3 ? out : niceTicks(lo, hi, 4).filter((v) => v > 0);
}

/** Escapes text for SVG content and attributes. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f1 = (v: number): string => v.toFixed(1);

/** The trailing running mean of `xs` over `w` values (fewer at the start). */
function runningMean(xs: readonly number[], w: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i];
    if (i >= w) sum -= xs[i - w];
    out.push(sum / Math.min(i + 1, w));
  }
  return out;
}

/**
 * Draws a run's curves as an SVG document (no dependencies, no scripts, ~50 KB): the training
 * loss's running mean on a log scale (top panel) and the validation PSNR with the degraded
 * input's PSNR as a dashed reference line (bottom panel), both against steps, with the training
 * hours (wall clock, from the log's times) as a second axis along the top of each panel and a
 * dotted line at each resume.
 */
export function renderCurvesSvg(log: TrainingLog, options: CurvesOptions = {}): string {
  const window = options.window ?? 50;
  const maxPoints = options.maxPoints ?? 600;
  const W = 760;
  const left = 78;
  const right = 24;
  const panelH = 230;
  const titleH = options.title ? 34 : 8;
  const top1 = titleH + 62;
  const top2 = top1 + panelH + 110;
  const H = top2 + panelH + 56;
  const pw = W - left - right;
  const firstStep = Math.min(log.steps[0].step, log.validations[0]?.step ?? Infinity);
  const x0 = Math.max(0, firstStep - 1);
  const x1 = Math.max(log.steps[log.steps.length - 1].step, log.validations[log.validations.length - 1]?.step ?? 0, x0 + 1);
  const sx = (s: number): number => left + ((s - x0) / (x1 - x0)) * pw;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  if (options.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`);

  /** Axes, step ticks, hour ticks and the frame of a panel at `top`; returns nothing (appends to out). */
  const frame = (top: number, yTicks: number[], sy: (v: number) => number, yLabel: string, heading: string): void => {
    out.push(`<g class="panel">`);
    out.push(`<text x="${left}" y="${top - 40}" font-size="13" font-weight="bold">${esc(heading)}</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${panelH}" fill="none" stroke="#333"/>`);
    for (const v of yTicks) {
      const y = f1(sy(v));
      out.push(`<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
      out.push(`<line x1="${left - 5}" x2="${left}" y1="${y}" y2="${y}" stroke="#333"/>`);
      out.push(`<text x="${left - 8}" y="${y}" dy="4" text-anchor="end">${label(v)}</text>`);
    }
    for (const s of niceTicks(x0, x1, 8).filter((v) => Number.isInteger(v))) {
      const x = f1(sx(s));
      out.push(`<line x1="${x}" x2="${x}" y1="${top + panelH}" y2="${top + panelH + 5}" stroke="#333"/>`);
      out.push(`<text x="${x}" y="${top + panelH + 18}" text-anchor="middle">${label(s)}</text>`);
    }
    out.push(`<text x="${left + pw / 2}" y="${top + panelH + 36}" text-anchor="middle">step</text>`);
    out.push(`<text transform="translate(${left - 56} ${top + panelH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
    // The hours along the top: a tick where the run had trained h hours (steps vs hours need not be linear).
    const timed = log.steps.filter((p) => Number.isFinite(p.hours));
    if (timed.length > 1) {
      const hMax = timed[timed.length - 1].hours;
      let lastX = -Infinity;
      for (const h of niceTicks(0, hMax, 6)) {
        const at = timed.find((p) => p.hours >= h);
        // Ticks closer than 40 px (hours passing within a few steps) would overprint: keep the first.
        if (at === undefined || sx(at.step) - lastX < 40) continue;
        lastX = sx(at.step);
        const x = f1(lastX);
        out.push(`<line x1="${x}" x2="${x}" y1="${top - 5}" y2="${top}" stroke="#777"/>`);
        out.push(`<text x="${x}" y="${top - 9}" text-anchor="middle" fill="#555">${label(h)}</text>`);
      }
      out.push(`<text x="${left + pw}" y="${top - 22}" text-anchor="end" fill="#555">training hours (wall clock, ${label(Number(log.hours.toFixed(2)))} h in all)</text>`);
    }
    for (const r of log.resumes) {
      const x = f1(sx(r));
      out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + panelH}" stroke="#999" stroke-dasharray="2 3"/>`);
      out.push(`<text x="${x}" y="${top + panelH - 6}" dx="3" fill="#777" font-size="10">resumed</text>`);
    }
    out.push(`</g>`);
  };
  /** The legend of a panel, in one row after its heading (outside the plot area, hiding no curve). */
  const legend = (top: number, items: Array<{ text: string; color: string; dash?: string }>): void => {
    let x = left + 150;
    const y = top - 44;
    out.push(`<g class="legend">`);
    for (const it of items) {
      out.push(`<line x1="${x}" x2="${x + 26}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`);
      out.push(`<text x="${x + 32}" y="${y}" dy="4">${esc(it.text)}</text>`);
      x += 32 + 6.6 * it.text.length + 22;
    }
    out.push(`</g>`);
  };

  // Panel 1: the loss's running mean, log scale.
  const mean = runningMean(log.steps.map((p) => p.loss), window);
  const stride = Math.max(1, Math.ceil(mean.length / maxPoints));
  const idx: number[] = [];
  for (let i = 0; i < mean.length; i += stride) idx.push(i);
  if (idx[idx.length - 1] !== mean.length - 1) idx.push(mean.length - 1);
  const positive = mean.filter((v) => v > 0);
  const lo = positive.length ? Math.min(...positive) : 1e-3;
  const hi = positive.length ? Math.max(...positive) : 1;
  const l0 = Math.log10(lo) - 0.05;
  const l1 = Math.max(Math.log10(hi) + 0.05, l0 + 0.1);
  const sy1 = (v: number): number => top1 + panelH - ((Math.log10(Math.max(v, 10 ** l0)) - l0) / (l1 - l0)) * panelH;
  frame(top1, logTicks(10 ** l0, 10 ** l1), sy1, 'loss (log scale)', 'Training loss');
  const lossPts = idx.map((i) => `${f1(sx(log.steps[i].step))},${f1(sy1(mean[i]))}`).join(' ');
  out.push(`<polyline class="loss" fill="none" stroke="#1f77b4" stroke-width="1.5" points="${lossPts}"/>`);
  legend(top1, [{ text: `loss, running mean of ${window} steps`, color: '#1f77b4' }]);

  // Panel 2: validation PSNR and the input's PSNR.
  const vals = log.validations;
  const ys = vals.flatMap((v) => (v.inputPsnr !== undefined ? [v.psnr, v.inputPsnr] : [v.psnr]));
  const vLo = ys.length ? Math.min(...ys) : 0;
  const vHi = ys.length ? Math.max(...ys) : 1;
  const pad = Math.max((vHi - vLo) * 0.08, 0.5);
  const yTicks = niceTicks(vLo - pad, vHi + pad, 5);
  const y0 = Math.min(yTicks[0], vLo - pad);
  const y1 = Math.max(yTicks[yTicks.length - 1], vHi + pad);
  const sy2 = (v: number): number => top2 + panelH - ((v - y0) / (y1 - y0)) * panelH;
  frame(top2, yTicks, sy2, 'PSNR (dB)', 'Validation PSNR');
  if (vals.length === 0) {
    out.push(`<text x="${left + pw / 2}" y="${top2 + panelH / 2}" text-anchor="middle" fill="#777">no validation in this log (irsde train --val-every N)</text>`);
  } else {
    const pts = vals.map((v) => `${f1(sx(v.step))},${f1(sy2(v.psnr))}`);
    out.push(`<polyline class="psnr" fill="none" stroke="#d62728" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle class="psnr-point" cx="${cx}" cy="${cy}" r="3" fill="#d62728"/>`);
    }
    const withInput = vals.filter((v) => v.inputPsnr !== undefined);
    const lastV = vals[vals.length - 1];
    const items: Array<{ text: string; color: string; dash?: string }> = [{ text: `restored (last: ${lastV.psnr.toFixed(2)} dB)`, color: '#d62728' }];
    if (withInput.length > 0) {
      const ipts = withInput.map((v) => `${f1(sx(v.step))},${f1(sy2(v.inputPsnr!))}`).join(' ');
      out.push(`<polyline class="input-psnr" fill="none" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4" points="${ipts}"/>`);
      for (const p of ipts.split(' ')) {
        const [cx, cy] = p.split(',');
        out.push(`<circle class="input-point" cx="${cx}" cy="${cy}" r="3" fill="white" stroke="#555"/>`);
      }
      const lastIn = withInput[withInput.length - 1].inputPsnr!;
      items.push({ text: `degraded input, same crops (${lastIn.toFixed(2)} dB)`, color: '#555', dash: '6 4' });
    }
    legend(top2, items);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Reads a run's log (`RUN_DIR/log.jsonl`, or a log file's path) and writes its curves as SVG
 * (default `curves.svg` next to the log).
 * @returns the SVG's path and the log read.
 * @throws CliError for a missing, empty or garbled log, or an output that is not `.svg`.
 */
export async function plotRun(run: string, options: CurvesOptions & { readonly out?: string } = {}): Promise<{ out: string; log: TrainingLog }> {
  const info = await stat(run).catch(() => null);
  if (info === null) throw new CliError(`not found: '${run}' (give a run folder holding log.jsonl, or a log.jsonl file)`);
  const file = info.isDirectory() ? join(run, 'log.jsonl') : run;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError(info.isDirectory() ? `no log.jsonl in '${run}' (is it an irsde train --out folder?)` : `cannot read '${file}'`);
  });
  const log = parseTrainingLog(text, file);
  const out = options.out ?? join(dirname(file), 'curves.svg');
  if (!out.toLowerCase().endsWith('.svg')) throw new CliError(`--out must name an .svg file, got '${out}'`);
  const title = options.title ?? (info.isDirectory() ? basename(run.replace(/[/\\]+$/, '')) : basename(dirname(file)));
  await writeFileAtomic(out, renderCurvesSvg(log, { ...options, title }));
  return { out, log };
}

/** `irsde plot`: the loss and validation curves of a training run as an SVG picture. */
export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw a training run\'s loss (running mean, log scale) and validation PSNR (with the input\'s PSNR) against steps and hours, as SVG')
    .argument('<run>', 'a run folder (irsde train --out) holding log.jsonl, or a log.jsonl file')
    .option('-o, --out <file>', 'the SVG to write (default: curves.svg next to the log)')
    .option('--window <n>', 'steps in the running mean of the loss (default: 50)', intOption('--window', 1))
    .option('--title <text>', 'title above the curves (default: the run folder\'s name)')
    .addHelpText('after', '\nExamples:\n  irsde plot runs/denoise\n  irsde plot training/checkpoints/derain-nafnet/log.jsonl --out docs/derain-curves.svg')
    .action(async (run: string, flags: { out?: string; window?: number; title?: string }) => {
      const { out, log } = await plotRun(run, flags);
      const last = log.validations[log.validations.length - 1];
      const hours = Number.isFinite(log.hours) ? `, ${log.hours.toFixed(2)} h` : '';
      console.log(`wrote ${out}: ${log.steps.length} steps${hours}, ${log.validations.length} validations${last ? ` (last ${last.psnr.toFixed(2)} dB at step ${last.step})` : ''}`);
    });
}
