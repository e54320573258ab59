/** A training run's data: the training set and its validation sets, from the run's folders. */
import { ImageDataset } from '../data/dataset.js';
import type { DegradationSpec } from '../data/degradation.js';
import { joinSources, type ImageSource } from '../data/source.js';
import { folderSource } from '../io/folder.js';
import { isDir } from '../io/paths.js';
import { contrastOf, defocusOf, degradationOfRun, TrainingRunError, type TrainRunConfig } from './config.js';

/** The images of one folder or several (`--gt a --gt b`) as one source; `flag` names the option in errors. */
async function foldersSource(dirs: string | readonly string[], flag: string): Promise<ImageSource> {
  const list = typeof dirs === 'string' ? [dirs] : dirs;
  if (!Array.isArray(list) || list.length === 0 || list.some((d) => typeof d !== 'string')) throw new TrainingRunError(`${flag}: expected a folder or a list of folders, got ${JSON.stringify(dirs)}`);
  const sources: ImageSource[] = [];
  for (const dir of list) {
    if (!(await isDir(dir))) throw new TrainingRunError(`${flag} folder not found: '${dir}'`);
    sources.push(await folderSource(dir));
  }
  try {
    return joinSources(sources);
  } catch (e) {
    throw new TrainingRunError(`${flag}: ${(e as Error).message.replace(/^joinSources: /, '')}`);
  }
}

/** A subset of a source (for the train / validation split). */
function subset(src: ImageSource, names: readonly string[]): ImageSource {
  return { ...src, names: [...names] };
}

/** Validation sets: one per validation degradation (label `''` when there is only the training one). */
export type ValidationSets = Array<{ label: string; data: ImageDataset }>;

/**
 * The training set and the validation sets of a run: paired (`lq`) or synthetic (`degradation`)
 * data from `gt`, split by `valCount` / `valNames`, or validated on `valGt` (and `valLq`).
 * @throws TrainingRunError for missing folders, unknown names or a split that leaves nothing to train on.
 */
export async function buildRunData(cfg: TrainRunConfig): Promise<{ train: ImageDataset; val: ValidationSets }> {
  const gt = await foldersSource(cfg.gt, '--gt');
  const lq = cfg.lq === undefined ? null : await folderSource(cfg.lq).catch((e: Error) => { throw new TrainingRunError(`--lq: ${e.message}`); });
  if (lq === null && cfg.degradation === undefined) throw new TrainingRunError('give --lq DIR (paired data) or --degradation SPEC (synthetic data from --gt only)');
  const common = { channels: cfg.channels, cropSize: cfg.patch, batchSize: cfg.batch };
  const make = (gtSrc: ImageSource, lqSrc: ImageSource | null, which: readonly string[], opts: object, degradation: string | DegradationSpec | undefined = cfg.degradation) =>
    lqSrc === null
      ? ImageDataset.synthetic({ ...common, ...opts, gt: subset(gtSrc, which), degradation: degradationOfRun(degradation!) })
      : ImageDataset.paired({ ...common, ...opts, gt: subset(gtSrc, which), lq: subset(lqSrc, which) });
  const valOpts = { flip: false, rotate: false };
  const defocus = defocusOf(cfg);
  if (defocus !== undefined && lq !== null) throw new TrainingRunError('--defocus applies to synthetic data (--degradation), not to paired --lq data');
  const contrast = contrastOf(cfg);
  if (contrast !== undefined && lq !== null) throw new TrainingRunError('--contrast applies to synthetic data (--degradation), not to paired --lq data');
  const trainOpts = { ...(cfg.greyFraction ? { greyFraction: cfg.greyFraction } : {}), ...(defocus !== undefined ? { defocus } : {}), ...(contrast !== undefined ? { contrast } : {}) };
  if (cfg.valDegradations !== undefined && (!Array.isArray(cfg.valDegradations) || cfg.valDegradations.length === 0)) throw new TrainingRunError('valDegradations must be a non-empty list of degradations');
  if (cfg.valDegradations && lq !== null) throw new TrainingRunError('--val-degradation applies to synthetic data (--degradation), not to paired --lq data');
  const makeVal = (gtSrc: ImageSource, lqSrc: ImageSource | null, which: readonly string[]): ValidationSets =>
    which.length === 0
      ? []
      : cfg.valDegradations
        ? cfg.valDegradations.map((d) => ({ label: typeof d === 'string' ? d.trim() : JSON.stringify(d), data: make(gtSrc, lqSrc, which, valOpts, d) }))
        : [{ label: '', data: make(gtSrc, lqSrc, which, valOpts) }];
  const names = [...gt.names];
  if (cfg.valGt !== undefined) {
    if (cfg.valNames?.length || cfg.valCount > 0) throw new TrainingRunError('--val-gt replaces --val-names / --val-count: give one of them');
    if ((lq === null) !== (cfg.valLq === undefined)) throw new TrainingRunError(lq === null ? '--val-lq needs --lq (paired data)' : 'paired data (--lq) with --val-gt needs --val-lq too');
    const valGt = await foldersSource(cfg.valGt, '--val-gt');
    const valLq = cfg.valLq === undefined ? null : await folderSource(cfg.valLq).catch((e: Error) => { throw new TrainingRunError(`--val-lq: ${e.message}`); });
    const shared = valGt.names.filter((n) => names.includes(n));
    if (shared.length) throw new TrainingRunError(`--val-gt: ${shared.join(', ')} also in --gt '${[cfg.gt].flat().join("', '")}' (validation images must not be trained on)`);
    return { train: make(gt, lq, names, trainOpts), val: makeVal(valGt, valLq, valGt.names) };
  }
  let trainNames: string[];
  let valNames: string[];
  if (cfg.valNames?.length) {
    const unknown = cfg.valNames.filter((n) => !names.includes(n));
    if (unknown.length) throw new TrainingRunError(`--val-names: not in '${[cfg.gt].flat().join("', '")}': ${unknown.join(', ')}`);
    valNames = names.filter((n) => cfg.valNames!.includes(n));
    trainNames = names.filter((n) => !cfg.valNames!.includes(n));
    if (!trainNames.length) throw new TrainingRunError('--val-names leaves no training images');
  } else {
    if (cfg.valCount >= names.length) throw new TrainingRunError(`--val-count ${cfg.valCount} leaves no training images (found ${names.length} in '${[cfg.gt].flat().join("', '")}')`);
    trainNames = names.slice(0, names.length - cfg.valCount);
    valNames = names.slice(names.length - cfg.valCount);
  }
  return { train: make(gt, lq, trainNames, trainOpts), val: makeVal(gt, lq, valNames) };
}
