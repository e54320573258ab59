/** A training run's validation: the EMA weights restored over each validation set and scored. */
import type * as tf from '@tensorflow/tfjs-core';
import { sdeConfigOf } from '../sde/factory.js';
import type { TfjsNetwork } from '../nn/tfjs/network.js';
import type { SamplerName } from '../sampling/samplers.js';
import type { Trainer } from '../train/trainer.js';
import type { DegradationSpec } from '../data/degradation.js';
import { Restorer, tfjsEngine } from '../pipeline/restorer.js';
import { validateRestoration } from '../pipeline/validation.js';
import { ortNodeEngine } from '../io/restorer-files.js';
import { degradationOfRun, taskOfRun, valSamplerOf, type TrainRunConfig } from './config.js';
import type { ValidationSets } from './data.js';

/** The sampling a validation used (the restorer's choice when the config leaves it open). */
export interface ValidationSampling {
  /** The sampler. */
  readonly sampler: string;
  /** Its steps (absent for a sampler without steps). */
  readonly steps?: number;
}

/** Copies named tensors into a network's variables (for evaluating with EMA weights). */
export function loadInto(net: TfjsNetwork, weights: Record<string, tf.Tensor>): void {
  for (const [name, v] of net.variables) {
    const w = weights[name];
    if (w) v.assign(w);
  }
}

/**
 * The validation of a run, for `Trainer.fit`'s `validate`: loads the trainer's evaluation
 * weights into `evalNet`, restores every validation set with it (on ONNX Runtime when the run's
 * gradients are there, else tfjs) and returns `psnr`, `ssim`, `inputPsnr`, `inputSsim` (means
 * over the sets; the gain is `psnr - inputPsnr`) and, with several sets, each set's scores under
 * `psnr:<label>` etc. `used` receives the sampling each set used.
 */
export function runValidation(cfg: TrainRunConfig, val: ValidationSets, evalNet: TfjsNetwork, gradients: 'tfjs' | 'ort', used: (s: ValidationSampling) => void): (t: Trainer) => Promise<Record<string, number>> {
  // A DenoisingSDE's validation restorer is told the noise level of fixed-sigma noise (else it estimates it).
  const valNoiseOf = (spec: string | DegradationSpec | undefined): number | undefined => {
    if (cfg.sde !== 'denoising' || spec === undefined) return undefined;
    const d = degradationOfRun(spec) as { kind: string; sigma?: unknown };
    return d.kind === 'noise' && typeof d.sigma === 'number' ? d.sigma / 255 : undefined;
  };
  return async (t: Trainer) => {
    loadInto(evalNet, t.evalWeights());
    // With ONNX Runtime gradients the validation network runs there too (several times
    // faster than tfjs-wasm); the weights are the same EMA weights either way.
    // A network with the mask as an input channel restores as an inpainting model (with the val masks).
    const task = taskOfRun(cfg);
    const restorer = await Restorer.create(evalNet, sdeConfigOf(t.sde), { engine: gradients === 'ort' ? ortNodeEngine({ conv3x3: cfg.conv3x3 ?? 'winograd' }) : tfjsEngine, ...(task ? { task } : {}) });
    const out: Record<string, number> = {};
    let p = 0;
    let s = 0;
    let pIn = 0;
    let sIn = 0;
    try {
      for (const v of val) {
        const noiseLevel = valNoiseOf(v.label || cfg.degradation);
        const scores = await validateRestoration(restorer, v.data, {
          sampler: valSamplerOf(cfg, t.sde.kind) as SamplerName,
          steps: cfg.valSteps,
          cropSize: cfg.valCrop,
          seed: cfg.seed,
          ...(noiseLevel !== undefined ? { noiseLevel } : {}),
        });
        p += scores.psnr / val.length;
        s += scores.ssim / val.length;
        pIn += scores.inputPsnr / val.length;
        sIn += scores.inputSsim / val.length;
        used({ sampler: scores.sampler, ...(scores.steps !== undefined ? { steps: scores.steps } : {}) });
        if (v.label) Object.assign(out, { [`psnr:${v.label}`]: scores.psnr, [`ssim:${v.label}`]: scores.ssim, [`inputPsnr:${v.label}`]: scores.inputPsnr, [`inputSsim:${v.label}`]: scores.inputSsim });
      }
    } finally {
      await restorer.dispose();
    }
    return { psnr: p, ssim: s, inputPsnr: pIn, inputSsim: sIn, ...out };
  };
}
