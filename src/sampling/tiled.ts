import { HostTensor } from '../backend/host.js';
import type { TensorBackend } from '../backend/types.js';
import type { NoiseModel } from './model.js';

/** Options of {@link tiledNoiseModel}. */
export interface TileOptions {
  /** Tile height and width in pixels (integer >= 8). */
  readonly tile: number;
  /** Overlap between neighbouring tiles in pixels (< tile; default {@link defaultTileOverlap}: 32, or `tile / 4` for small tiles). */
  readonly overlap?: number;
  /**
   * Called after each tile's network evaluation (awaited when it returns a promise) with the
   * part of the image whose blended prediction that tile completed (see {@link TileDone}). The
   * regions of one call of the model (one pass over the image) partition the image. It only
   * reads: the model's result is the same with or without it.
   */
  readonly onTile?: (tile: TileDone) => void | Promise<void>;
  /**
   * Per-pixel extra condition channels of the network, `[B, H, W, k]` over the whole image (e.g.
   * an inpainting mask, 1 = missing, for a network with `extraCondChannels`): cropped like the
   * state for each tile and passed to the model as its fourth argument (on the model's backend,
   * disposed after the call). Default none (the model gets `null`).
   */
  readonly extraCond?: HostTensor;
}

/**
 * What {@link tiledNoiseModel} runs per tile: a {@link NoiseModel} on the model's backend that also
 * receives the tile's crop of {@link TileOptions.extraCond} (`null` when there is none). A plain
 * noise model fits (it ignores the fourth argument). Same ownership rules as a NoiseModel.
 */
export type TileModel<X, C = X | null> = (xt: X, cond: C, t: number, extraCond: X | null) => X | Promise<X>;

/**
 * What {@link TileOptions.onTile} receives after tile `index` of a pass: the region
 * `[y, y + height) x [x, x + width)` of the image, whose blended noise prediction is final for
 * this pass (every tile that overlaps it is done), so a preview of it can be drawn at once. Tiles
 * run in rows (top to bottom, left to right in a row); a region is the part of its tile that no
 * later tile covers. The tensors are new `[B, height, width, C]` crops owned by the callee (host
 * memory, nothing to dispose).
 */
export interface TileDone {
  /** Tile number in this pass, `0..count-1`. */
  readonly index: number;
  /** Tiles per pass over the image. */
  readonly count: number;
  /** Top row of the region, pixels. */
  readonly y: number;
  /** Left column of the region, pixels. */
  readonly x: number;
  /** Region height, pixels. */
  readonly height: number;
  /** Region width, pixels. */
  readonly width: number;
  /** The time the model was evaluated at (as passed to the model). */
  readonly t: number;
  /** The state `x_t` in the region. */
  readonly xt: HostTensor;
  /** The condition in the region (`null` when the model got `null`). */
  readonly mu: HostTensor | null;
  /** The blended noise prediction in the region: exactly the values the model returns there. */
  readonly eps: HostTensor;
}

/**
 * The tile overlap used when none is given: 32 px (a quarter of the tile for tiles under 128 px).
 * The seam a tile edge leaves is a property of the network's border handling, not of the tile
 * size, and the raised-cosine blend over 32 px hides it: on a 4000x3000 photo restored by the
 * shipped denoiser the PSNR differs by 0.02 dB from an overlap of 128 px, with 63 tiles of 512 px
 * instead of 88. Tiles are spread evenly, so the actual overlaps are usually larger.
 * @param tile - the tile size in pixels.
 * @returns the overlap in pixels.
 */
export function defaultTileOverlap(tile: number): number {
  return Math.min(32, Math.round(tile / 4));
}

/**
 * Start offsets of tiles of length `tile` covering `0..size-1` with at least `overlap` pixels
 * shared between neighbours; the last tile ends exactly at `size`. One tile when it fits.
 */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const stride = tile - overlap;
  const n = Math.ceil((size - tile) / stride) + 1;
  // Spread the n tiles evenly so every overlap is >= the requested one.
  return Array.from({ length: n }, (_, i) => Math.round((i * (size - tile)) / (n - 1)));
}

/**
 * Blending weights along one axis of a tile: 1 inside, a raised-cosine ramp over `overlap`
 * pixels at each edge that touches a neighbouring tile (never 0, so every pixel is covered).
 */
function axisWeights(len: number, overlap: number, rampStart: boolean, rampEnd: boolean): Float32Array {
  const w = new Float32Array(len).fill(1);
  for (let i = 0; i < Math.min(overlap, len); i++) {
    const r = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / overlap);
    if (rampStart) w[i] = Math.min(w[i], r);
    if (rampEnd) w[len - 1 - i] = Math.min(w[len - 1 - i], r);
  }
  return w;
}

/**
 * Wraps a noise model so that it runs on overlapping tiles of an NHWC image held in host memory,
 * blending the per-tile predictions with smooth weights. Use it with a sampler on the `float32`
 * backend (`HostTensor` state) to restore images of any size: the model's backend only ever holds
 * one tile (`[B, tile, tile, C]`) at a time, and the sampler's noise is drawn for the whole image
 * per global pixel, so no seams come from the noise. When the image fits in one tile the model is
 * called once on the whole image and its output is returned unchanged.
 *
 * Either SDE: the condition `mu` is cropped like the state for a MeanRevertingSDE; under a
 * DenoisingSDE it is `null` and passed on as `null`.
 *
 * @param model - a noise model on `backend` taking `[B, h, w, C]` tiles (e.g. a UNet's
 *   `predict`), and the tile's extra condition channels as a fourth argument when
 *   `options.extraCond` is given (see {@link TileModel}); its outputs are disposed here.
 * @param backend - the model's tensor backend (tiles are uploaded to it and read back).
 * @returns a noise model over `HostTensor` `[B, H, W, C]` inputs.
 */
export function tiledNoiseModel<X>(model: TileModel<X, X | null>, backend: TensorBackend<X>, options: TileOptions): NoiseModel<HostTensor, HostTensor | null>;
export function tiledNoiseModel<X>(model: TileModel<X, null>, backend: TensorBackend<X>, options: TileOptions): NoiseModel<HostTensor, null>;
export function tiledNoiseModel<X>(model: TileModel<X, X>, backend: TensorBackend<X>, options: TileOptions): NoiseModel<HostTensor>;
export function tiledNoiseModel<X>(model: TileModel<X, X | null>, backend: TensorBackend<X>, options: TileOptions): NoiseModel<HostTensor, HostTensor | null> {
  const tile = options.tile;
  if (!Number.isInteger(tile) || tile < 8) throw new RangeError(`tiledNoiseModel: tile must be an integer >= 8, got ${String(tile)}`);
  const overlap = options.overlap ?? defaultTileOverlap(tile);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tile) {
    throw new RangeError(`tiledNoiseModel: overlap must be an integer in 0..${tile - 1}, got ${String(overlap)}`);
  }
  const onTile = options.onTile;
  const extra = options.extraCond ?? null;
  return async (xt: HostTensor, mu: HostTensor | null, t: number): Promise<HostTensor> => {
    if (xt.shape.length !== 4) throw new RangeError(`tiledNoiseModel: expects NHWC [B, H, W, C] images, got shape [${xt.shape}]`);
    const [B, H, W, C] = xt.shape;
    if (extra !== null && (extra.shape.length !== 4 || !extra.shape.slice(0, 3).every((d, i) => d === xt.shape[i]))) {
      throw new RangeError(`tiledNoiseModel: extraCond [${extra.shape}] must be [B, H, W, k] with the state's B, H, W [${xt.shape}]`);
    }
    const run = async (a: HostTensor, m: HostTensor | null, e: HostTensor | null): Promise<Float32Array> => {
      const ta = backend.fromArray(a.data, a.shape);
      const tm = m === null ? null : backend.fromArray(m.data, m.shape);
      const te = e === null ? null : backend.fromArray(e.data, e.shape);
      try {
        const out = await model(ta, tm, t, te);
        try {
          return backend.toArray(out);
        } finally {
          backend.dispose(out);
        }
      } finally {
        backend.dispose([ta, ...(tm === null ? [] : [tm]), ...(te === null ? [] : [te])]);
      }
    };
    const ys = tileStarts(H, tile, overlap);
    const xs = tileStarts(W, tile, overlap);
    if (ys.length === 1 && xs.length === 1) {
      const whole = new HostTensor(await run(xt, mu, extra), [B, H, W, C]);
      if (onTile) {
        const copy = (a: HostTensor): HostTensor => new HostTensor(Float32Array.from(a.data), [B, H, W, C]);
        await onTile({ index: 0, count: 1, y: 0, x: 0, height: H, width: W, t, xt: copy(xt), mu: mu === null ? null : copy(mu), eps: copy(whole) });
      }
      return whole;
    }
    const th = Math.min(tile, H);
    const tw = Math.min(tile, W);
    const acc = new Float32Array(B * H * W * C);
    const norm = new Float32Array(H * W);
    // `n` channels per pixel (the state's C, or the extra condition's k).
    const crop = (src: Float32Array, y0: number, x0: number, h = th, w = tw, n = C): Float32Array => {
      const out = new Float32Array(B * h * w * n);
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < h; y++) {
          const from = ((b * H + y0 + y) * W + x0) * n;
          out.set(src.subarray(from, from + w * n), (b * h + y) * w * n);
        }
      }
      return out;
    };
    // The region tile (iy, ix) completes: up to where the next tile in its row / column starts.
    const report = async (iy: number, ix: number): Promise<void> => {
      if (!onTile) return;
      const y0 = ys[iy];
      const x0 = xs[ix];
      const h = (iy + 1 < ys.length ? ys[iy + 1] : H) - y0;
      const w = (ix + 1 < xs.length ? xs[ix + 1] : W) - x0;
      const eps = crop(acc, y0, x0, h, w);
      // Normalised as the final pass below does (the same float32 operations: the same values).
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const inv = 1 / norm[(y0 + y) * W + x0 + x];
            for (let c = 0; c < C; c++) eps[((b * h + y) * w + x) * C + c] *= inv;
          }
        }
      }
      const shape = [B, h, w, C];
      await onTile({
        index: iy * xs.length + ix,
        count: ys.length * xs.length,
        y: y0,
        x: x0,
        height: h,
        width: w,
        t,
        xt: new HostTensor(crop(xt.data, y0, x0, h, w), shape),
        mu: mu === null ? null : new HostTensor(crop(mu.data, y0, x0, h, w), shape),
        eps: new HostTensor(eps, shape),
      });
    };
    for (let iy = 0; iy < ys.length; iy++) {
      const wy = axisWeights(th, overlap, iy > 0, iy < ys.length - 1);
      for (let ix = 0; ix < xs.length; ix++) {
        const wx = axisWeights(tw, overlap, ix > 0, ix < xs.length - 1);
        const y0 = ys[iy];
        const x0 = xs[ix];
        const k = extra === null ? 0 : extra.shape[3];
        const eps = await run(
          new HostTensor(crop(xt.data, y0, x0), [B, th, tw, C]),
          mu === null ? null : new HostTensor(crop(mu.data, y0, x0), [B, th, tw, C]),
          extra === null ? null : new HostTensor(crop(extra.data, y0, x0, th, tw, k), [B, th, tw, k]),
        );
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) {
            const w = wy[y] * wx[x];
            norm[(y0 + y) * W + x0 + x] += w;
            for (let b = 0; b < B; b++) {
              const dst = ((b * H + y0 + y) * W + x0 + x) * C;
              const src = ((b * th + y) * tw + x) * C;
              for (let c = 0; c < C; c++) acc[dst + c] += w * eps[src + c];
            }
          }
        }
        await report(iy, ix);
      }
    }
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < H * W; p++) {
        const inv = 1 / norm[p];
        for (let c = 0; c < C; c++) acc[(b * H * W + p) * C + c] *= inv;
      }
    }
    return new HostTensor(acc, [B, H, W, C]);
  };
}
