/**
 * The slice of the ONNX Runtime JavaScript API (`onnxruntime-common`, shared by onnxruntime-node
 * and onnxruntime-web) that the noise model uses, declared structurally so that the core neither
 * imports nor type-depends on a runtime package: pass the `ort` module you loaded.
 */

/** An ORT tensor (what `new ort.Tensor(type, data, dims)` returns). */
export interface OrtTensorLike {
  /** Element type. */
  readonly type: string;
  /** Shape. */
  readonly dims: readonly number[];
  /** Values (a typed array for numeric types). */
  readonly data: unknown;
  /** Frees native/GPU memory where supported (onnxruntime >= 1.17). */
  dispose?(): void;
}

/** Input metadata of a session (onnxruntime >= 1.22 `session.inputMetadata`). */
export interface OrtValueMetadataLike {
  /** Input name. */
  readonly name: string;
  /** Whether the input is a tensor. */
  readonly isTensor: boolean;
  /** Element type, for tensors. */
  readonly type?: string;
  /** Shape: numbers are fixed, strings symbolic; empty when unknown. */
  readonly shape?: ReadonlyArray<number | string>;
}

/** An ORT inference session. */
export interface OrtSessionLike {
  /** Input names in model order. */
  readonly inputNames: readonly string[];
  /** Output names in model order. */
  readonly outputNames: readonly string[];
  /** Input metadata (absent in onnxruntime < 1.22). */
  readonly inputMetadata?: readonly OrtValueMetadataLike[];
  /** Runs the model. */
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * Session options passed through to `InferenceSession.create` (a subset; any other
 * `InferenceSession.SessionOptions` field is passed on unchanged).
 */
export interface OrtSessionOptions {
  /** Threads inside one operator (onnxruntime-node; onnxruntime-web uses `ort.env.wasm.numThreads`). */
  intraOpNumThreads?: number;
  /** Threads across operators (only for `executionMode: 'parallel'`). */
  interOpNumThreads?: number;
  /** Graph optimisation level (default `'all'`). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** Sequential (default) or parallel execution of independent nodes. */
  executionMode?: 'sequential' | 'parallel';
  /** Execution providers, e.g. `['cpu']` or `['wasm']`. */
  executionProviders?: readonly unknown[];
  /** Any other ORT session option. */
  [key: string]: unknown;
}

/** `ort.InferenceSession` (its static factory). */
export interface OrtSessionFactoryLike {
  /**
   * Creates a session from model bytes or a path/URL.
   * @param model - ONNX bytes, or a path (onnxruntime-node) / URL (onnxruntime-web).
   * @param options - ORT session options.
   */
  create(model: Uint8Array | string, options?: any): Promise<OrtSessionLike>;
}

/** `ort.Tensor` (its constructor). */
export interface OrtTensorConstructorLike {
  /**
   * @param type - element type, e.g. `'float32'`.
   * @param data - a typed array matching `type`.
   * @param dims - the shape.
   */
  new (type: any, data: any, dims?: readonly number[]): OrtTensorLike;
}

/** The ORT module (`import * as ort from 'onnxruntime-node'` or `'onnxruntime-web'`). */
export interface OrtModuleLike {
  /** Session factory. */
  readonly InferenceSession: OrtSessionFactoryLike;
  /** Tensor constructor. */
  readonly Tensor: OrtTensorConstructorLike;
}
