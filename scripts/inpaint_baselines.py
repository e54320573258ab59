#!/usr/bin/env python3
"""Inpainting inputs made outside irsde, by the inpainting task's recipe, and the classical baselines.

For each photo (a centre crop of at most --crop pixels, as scripts/eval-photos.ts crops it; 0 = whole):
  1. a mask (255 = missing): a target coverage drawn uniformly in [0.10, 0.40], then with
     probability 1/2 free-form brush strokes, else axis-aligned rectangles, added one at a time
     until the coverage (missing pixels / all pixels) reaches the target. A shape that would push
     the coverage above 0.40 is drawn again (a new random shape); the first one that reaches the
     target ends the mask, so the coverage lies in [target, 0.40].
     - stroke: a random walk of 2-5 vertices (start uniform in the image, each segment at an angle
       uniform in [0, 360) degrees and of length uniform in [0.1, 0.3] x the shorter side, vertices
       clamped to the image), drawn with cv2.line of one width (integer, uniform in 10..40 px) and a
       filled cv2.circle of that diameter at every vertex (round joints and ends);
     - rectangle: height and width uniform in [0.1, 0.5] x the image's, placed uniformly inside it;
  2. the damaged input: the clean crop with its missing pixels set to 0 (black, as irsde's
     training degradation fills them), 8-bit RGB;
  3. the baselines on the damaged input and the mask: scikit-image's
     restoration.inpaint_biharmonic (channel_axis=-1; float in [0, 1], clipped, stored as 8-bit)
     and OpenCV's cv2.inpaint with cv2.INPAINT_TELEA, radius 5 (8-bit BGR in and out).
     Both keep the known pixels.

Scores (of the stored 8-bit images against the clean crop, data range 1): PSNR and SSIM over the
whole image (SSIM with Gaussian weights, sigma 1.5, population covariance: irsde's `ssim`
defaults) and the masked PSNR: 10 log10(1 / MSE) with the MSE over the missing pixels x channels.

Writes OUT/damaged/<name>.png, OUT/masks/<name>.png (8-bit grey, 255 = missing), OUT/clean/<name>.png,
OUT/biharmonic/<name>.png, OUT/telea/<name>.png and OUT/baselines.json (per photo: the mask's kind,
shape count and coverage; `input`, `biharmonic` and `telea` each {psnr, ssim, maskedPsnr}, the
baselines also their seconds; and the means). Seeded by --seed and the photo's name (sha256), so a
photo's mask does not depend on the other photos. inpaint_biharmonic is the slower one: 0.4-1.8 s
per 512x512 photo (14-40% missing; Telea 0.04-0.3 s), 17 s for the 10 test photos on 2 cores.

  /usr/bin/python3 scripts/inpaint_baselines.py --photos data/photos/test --out .scratch/inpaint-test [--crop 512] [--seed 26]
  npx tsx scripts/eval-degradation.ts --weights models/inpaint.safetensors --inputs .scratch/inpaint-test/damaged \\
    --references .scratch/inpaint-test/clean --masks .scratch/inpaint-test/masks --baselines .scratch/inpaint-test/baselines.json

Needs Debian's python3-numpy, python3-opencv, python3-skimage and python3-pil.
"""
import argparse
import hashlib
import json
import math
import os
import time

import cv2
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity
from skimage.restoration import inpaint_biharmonic

COVERAGE = (0.10, 0.40)
MAX_TRIES = 10000


def random_stroke(rng, h, w):
    """One brush stroke on an empty h x w mask (uint8, 255 = drawn)."""
    m = np.zeros((h, w), np.uint8)
    width = int(rng.integers(10, 41))
    y, x = rng.uniform(0, h - 1), rng.uniform(0, w - 1)
    pts = [(x, y)]
    for _ in range(int(rng.integers(1, 5))):  # 1-4 segments: 2-5 vertices
        angle = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(0.1, 0.3) * min(h, w)
        x = float(np.clip(x + length * math.cos(angle), 0, w - 1))
        y = float(np.clip(y + length * math.sin(angle), 0, h - 1))
        pts.append((x, y))
    pts = [(int(round(px)), int(round(py))) for px, py in pts]
    for a, b in zip(pts, pts[1:]):
        cv2.line(m, a, b, 255, thickness=width, lineType=cv2.LINE_8)
    for p in pts:
        cv2.circle(m, p, int(round(width / 2)), 255, thickness=-1, lineType=cv2.LINE_8)
    return m


def random_rectangle(rng, h, w):
    """One axis-aligned rectangle on an empty h x w mask (uint8, 255 = drawn)."""
    m = np.zeros((h, w), np.uint8)
    bh = max(1, int(round(rng.uniform(0.1, 0.5) * h)))
    bw = max(1, int(round(rng.uniform(0.1, 0.5) * w)))
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    m[top:top + bh, left:left + bw] = 255
    return m


def make_mask(rng, h, w):
    """The recipe's mask: (uint8 mask, kind, number of shapes, target coverage)."""
    kind = 'strokes' if rng.uniform() < 0.5 else 'rectangles'
    shape = random_stroke if kind == 'strokes' else random_rectangle
    target = float(rng.uniform(*COVERAGE))
    mask = np.zeros((h, w), np.uint8)
    shapes = 0
    for _ in range(MAX_TRIES):
        trial = np.maximum(mask, shape(rng, h, w))
        coverage = np.count_nonzero(trial) / trial.size
        if coverage > COVERAGE[1]:
            continue  # overshoot: draw this shape again
        mask, shapes = trial, shapes + 1
        if coverage >= target:
            return mask, kind, shapes, target
    raise RuntimeError(f'no {kind} mask reached coverage {target:.3f} in {MAX_TRIES} tries ({h}x{w})')


def scores(x, clean, missing):
    """PSNR / SSIM of x (float in [0, 1]) over the whole image and PSNR over the missing pixels."""
    d2 = (x.astype(np.float64) - clean) ** 2
    to_db = lambda mse: float('inf') if mse == 0 else 10 * math.log10(1 / mse)
    ssim = structural_similarity(x, clean, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, channel_axis=-1)
    return {'psnr': to_db(float(d2.mean())), 'ssim': float(ssim), 'maskedPsnr': to_db(float(d2[missing].mean()))}


def main():
    ap = argparse.ArgumentParser(description='inpainting masks and classical baselines (see the docstring)')
    ap.add_argument('--photos', default='data/photos/test')
    ap.add_argument('--out', required=True)
    ap.add_argument('--crop', type=int, default=512)
    ap.add_argument('--seed', type=int, default=26)
    args = ap.parse_args()
    subs = ('damaged', 'masks', 'clean', 'biharmonic', 'telea')
    for sub in subs:
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    names = sorted(f for f in os.listdir(args.photos) if f.endswith('.png'))
    report = []
    for f in names:
        name = f[:-4]
        img = np.asarray(Image.open(os.path.join(args.photos, f)).convert('RGB'))
        h = min(args.crop, img.shape[0]) if args.crop > 0 else img.shape[0]
        w = min(args.crop, img.shape[1]) if args.crop > 0 else img.shape[1]
        y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        clean8 = np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])
        seed = int.from_bytes(hashlib.sha256(f'{args.seed}:{name}'.encode()).digest()[:8], 'little')
        mask, kind, shapes, target = make_mask(np.random.default_rng(seed), h, w)
        missing = mask > 0
        damaged8 = clean8.copy()
        damaged8[missing] = 0

        started = time.perf_counter()
        bh = inpaint_biharmonic(damaged8.astype(np.float64) / 255, missing, channel_axis=-1)
        bh8 = np.round(np.clip(bh, 0, 1) * 255).astype(np.uint8)
        bh_s = time.perf_counter() - started
        started = time.perf_counter()
        te8 = cv2.inpaint(np.ascontiguousarray(damaged8[..., ::-1]), mask, 5, cv2.INPAINT_TELEA)[..., ::-1]
        te_s = time.perf_counter() - started

        images = {'damaged': damaged8, 'masks': mask, 'clean': clean8, 'biharmonic': bh8, 'telea': te8}
        for sub in subs:
            Image.fromarray(np.ascontiguousarray(images[sub])).save(os.path.join(args.out, sub, f'{name}.png'))
        clean = clean8.astype(np.float64) / 255
        sc = lambda x8: scores(x8.astype(np.float64) / 255, clean, missing)
        row = {'name': name, 'mask': {'kind': kind, 'shapes': shapes, 'target': target, 'coverage': float(missing.mean())},
               'input': sc(damaged8), 'biharmonic': {**sc(bh8), 'seconds': bh_s}, 'telea': {**sc(te8), 'seconds': te_s}}
        report.append(row)
        fmt = lambda r: f"{r['psnr']:.2f} / {r['ssim']:.3f} / {r['maskedPsnr']:.2f}"
        print(f"{name:28s} {kind:10s} {row['mask']['coverage']:.3f}  biharmonic {fmt(row['biharmonic'])} ({bh_s:.1f} s)  "
              f"telea {fmt(row['telea'])} ({te_s:.2f} s)", flush=True)
    keys = ('psnr', 'ssim', 'maskedPsnr', 'seconds')
    mean = {m: {k: float(np.mean([r[m][k] for r in report])) for k in keys if k in report[0][m]} for m in ('input', 'biharmonic', 'telea')}
    mean['coverage'] = float(np.mean([r['mask']['coverage'] for r in report]))
    with open(os.path.join(args.out, 'baselines.json'), 'w') as fh:
        json.dump({'recipe': 'see scripts/inpaint_baselines.py', 'crop': args.crop, 'seed': args.seed, 'photos': report, 'mean': mean}, fh, indent=2)
    print('mean', json.dumps(mean))


if __name__ == '__main__':
    main()
