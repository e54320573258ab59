/**
 * The restoration pipeline's engine for browsers: a {@link Restorer} runs its network on the
 * fastest browser engine through {@link loadBrowserNetwork} (onnxruntime-web from the network's
 * ONNX export, else tfjs).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { exportOnnx } from '../nn/onnx/export.js';
import type { Conv3x3 } from '../nn/onnx/winograd.js';
import type { EngineFactory } from '../pipeline/restorer.js';
import { loadBrowserNetwork, type BrowserNetwork, type LoadBrowserNetworkOptions } from './engine.js';

/** Options of {@link browserEngine}. */
export interface BrowserRestorerEngineOptions extends LoadBrowserNetworkOptions {
  /** 3x3 convolutions of the ONNX export with 128+ channels: `'winograd'` (default) or `'direct'`. */
  readonly conv3x3?: Conv3x3;
  /**
   * Called once with the loaded network (its engine, threads, skipped engines and timing stats);
   * the restorer owns it and frees it in `dispose()`.
   */
  readonly onLoad?: (network: BrowserNetwork) => void;
}

/**
 * An engine factory for {@link loadRestorer} / `Restorer.create` in a browser: the network runs on
 * the engine `options.engine` names (`'auto'` by default: the fastest that works here; see
 * {@link loadBrowserNetwork}). The ONNX graph is exported from the network's weights only when an
 * ONNX Runtime engine is tried; the tfjs engines run the network itself.
 * @param options - engine choice, where runtime files are served, threads, `onLoad`.
 * @returns the factory; the engine it makes reports its name as `ort-web-wasm (2 threads)`, `tfjs-webgl`, ...
 */
export function browserEngine(options: BrowserRestorerEngineOptions = {}): EngineFactory {
  return async (network) => {
    const net = await loadBrowserNetwork(
      {
        onnx: () => exportOnnx(network.config, network.stateDict(), { conv3x3: options.conv3x3 ?? 'winograd' }),
        tfjs: (xt, cond, t) => network.predict(xt, cond, t),
      },
      options,
    );
    options.onLoad?.(net);
    const threads = net.engine.endsWith('wasm') ? ` (${net.threads} thread${net.threads === 1 ? '' : 's'})` : '';
    return {
      name: `${net.engine}${threads}`,
      // Unconditional networks take no condition: ONNX Runtime ignores it, tfjs's predict accepts null.
      predict: (xt, cond, t) => net.predict(xt, cond as tf.Tensor, t),
      dispose: () => net.dispose(),
    };
  };
}
