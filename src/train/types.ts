// The types the trainer's parts share (the model being trained and one batch), in a file of their
// own so that gradients.ts need not import trainer.ts, which imports them.
import type * as tf from '@tensorflow/tfjs-core';
import type { PredictingModel } from '../loss/objective.js';

/**
 * What the trainer needs from a network: the loss's {@link PredictingModel} (a differentiable
 * prediction; the condition is `null` under a DenoisingSDE) plus its variables by (stable,
 * PyTorch-style) name. `UNet`, `NAFNet`, a `CustomNetwork` (your own module
 * tree, see `registerNetwork`) and a `LayersNetwork` (a tfjs-layers model, see `fromLayersModel`)
 * satisfy it; so does any object with these two members.
 */
export interface TrainableNoiseModel extends PredictingModel<tf.Tensor> {
  /** The trainable variables by (PyTorch-style) name (borrowed; the model owns them). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
}

/** One training batch: degraded `lq` (the SDE's `mu`) and clean `gt` (`x0`), both `[B, H, W, C]`. */
export interface Batch {
  /** Degraded images. */
  readonly lq: tf.Tensor;
  /** Clean images. */
  readonly gt: tf.Tensor;
  /**
   * Per item (length B, optional): true when the item is a grey image copied into every channel.
   * Under a DenoisingSDE the trainer then gives it grey noise (one draw per pixel, the same in
   * every channel), since the noise a DenoisingSDE learns is the photo's own and a grey photo's
   * noise is grey. Omitted: every item is treated as colour.
   */
  readonly grey?: readonly boolean[];
  /**
   * Optional: per-pixel extra condition channels `[B, H, W, k]` for a network with
   * `extraCondChannels: k` (appended to `lq` in the network's condition, never in the SDE's
   * maths), e.g. the inpainting mask (1 = missing) an `ImageDataset` with an `inpaint` degradation
   * provides. Ignored by networks without extra channels. Disposed with the batch.
   */
  readonly extraCond?: tf.Tensor;
}
