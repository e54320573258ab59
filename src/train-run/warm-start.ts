/**
 * Warm start (`initWeights`): a new run takes a model file's weights. The file's network must be
 * the run's, except that a run with the inpainting mask as an input channel may start from the
 * same network without it: the extra input channels' weights of the first convolution start at
 * zero and every other weight is copied, so the warm-started network computes exactly what the
 * unmasked one does until training moves those weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsNetwork } from '../nn/tfjs/network.js';
import { extraCondChannels, type NetworkConfig } from '../nn/nets/network.js';
import { loadModelFile } from '../io/model-files.js';
import { isFile } from '../io/paths.js';
import { TrainingRunError } from './config.js';
import { loadInto } from './validation.js';

/** The first convolution's weight of a built-in network (the one that sees the condition). */
function inputConvName(config: NetworkConfig): string | null {
  if (config.arch === 'custom') return null;
  return config.arch === 'nafnet' ? 'intro.weight' : 'init_conv.weight';
}

/**
 * `weight` (tfjs layout `[kh, kw, in, out]`) with `extra` zero input channels appended: the
 * first convolution of the same network without extra condition channels, widened.
 * @returns a new tensor owned by the caller.
 */
export function widenInputConv(weight: tf.Tensor, extra: number): tf.Tensor {
  const [kh, kw, , cout] = weight.shape;
  return tf.tidy(() => tf.concat([weight, tf.zeros([kh, kw, extra, cout])], 2));
}

/**
 * Copies the weights of the model file `path` into `net` (the run's network, config `network`).
 * @returns a one-line note for the log when the mask channel was added to an unmasked network's
 *   weights (zero-initialised), else `undefined`.
 * @throws TrainingRunError when the file is missing or its network differs from the run's
 *   (beyond the extra condition channels).
 */
export async function warmStart(net: TfjsNetwork, path: string, network: NetworkConfig): Promise<string | undefined> {
  if (!(await isFile(path))) throw new TrainingRunError(`--init-weights: model file not found: '${path}'`);
  const extra = extraCondChannels(network);
  // A masked run may start from the same network without the mask: compare everything else.
  const { extraCondChannels: _k, ...unmasked } = network as NetworkConfig & { extraCondChannels?: number };
  let loaded;
  try {
    loaded = await loadModelFile(path, { network: unmasked as Record<string, unknown> });
  } catch (e) {
    throw new TrainingRunError(`--init-weights '${path}': ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const fileExtra = extraCondChannels(loaded.network.config);
    const added = extra - fileExtra;
    const inputConv = inputConvName(network);
    if (added < 0 || (added > 0 && (fileExtra !== 0 || inputConv === null))) {
      throw new TrainingRunError(`--init-weights '${path}': its network takes ${fileExtra} extra condition channels, the run's ${extra}; a run can only add the mask channel to a network without one`);
    }
    const weights: Record<string, tf.Tensor> = Object.fromEntries(loaded.network.variables);
    const widened = added > 0 && inputConv !== null && weights[inputConv] !== undefined ? widenInputConv(weights[inputConv], added) : null;
    if (widened !== null) weights[inputConv as string] = widened;
    try {
      const missing = [...net.variables.keys()].filter((k) => !(k in weights) || weights[k].shape.join('x') !== net.variables.get(k)!.shape.join('x'));
      if (missing.length > 0) throw new TrainingRunError(`--init-weights '${path}': its network differs from the run's (${missing.length} weights missing or of another shape, e.g. '${missing[0]}')`);
      loadInto(net, weights);
    } finally {
      widened?.dispose();
    }
    return added > 0 ? `warm start from '${path}', a network without the mask channel: ${inputConv} gets ${added} zero-initialised input channel${added > 1 ? 's' : ''} for the mask, every other weight copied (same outputs as the unmasked network at the start)` : undefined;
  } finally {
    loaded.network.dispose();
  }
}
