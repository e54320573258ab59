#!/usr/bin/env python3
"""Blurred inputs made outside irsde, by the deblurring task's recipe, and the classical baselines.

For each photo (a centre crop of at most --crop pixels, as scripts/eval-photos.ts crops it):
  1. a kernel: with probability 1/2 an isotropic Gaussian of sigma uniform in [0.8, 3.0] px
     (radius ceil(3 sigma)), else a linear motion kernel: an anti-aliased line segment of length
     uniform in [5, 21] px at an angle uniform in [0, 180) degrees (each cell weighted by
     max(0, 1 - distance from its centre to the segment)), normalised to sum 1;
  2. the clean image convolved with it (scipy.ndimage, mode 'reflect': half-sample symmetric, d c b a | a b c d,
     as irsde's filters pad; both kernels are point-symmetric), plus Gaussian noise of sigma 2/255, clipped to [0, 1], stored as
     8-bit PNG;
  3. scikit-image's restoration.wiener (balance) and restoration.richardson_lucy (num_iter), each
     given the true kernel and its parameter chosen per image for the best PSNR against the clean
     image (an oracle no user has: the baselines' best case), on the input padded by half-sample
     reflection (then cropped back), so that their FFT / zero borders do not ring into the photo.

Writes OUT/blurred/<name>.png (the input), OUT/clean/<name>.png (the reference crop),
OUT/kernels/<name>.json and OUT/baselines.json
(per photo: kernel, PSNR of the input, of Wiener and Richardson-Lucy with the parameters chosen).
Seeded by --seed and the photo's name, so each photo's kernel and noise do not depend on the others.

  /usr/bin/python3 scripts/deblur_baselines.py --photos data/photos/test --out .scratch/deblur-test [--crop 512]
  node dist/cli.js restore .scratch/deblur-test/blurred .scratch/deblur-test/restored --task deblur
  node dist/cli.js eval .scratch/deblur-test/restored .scratch/deblur-test/clean

Needs Debian's python3-numpy, python3-scipy, python3-skimage and python3-pil.
"""
import argparse
import hashlib
import json
import math
import os

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import restoration


def line_kernel(length, angle_deg):
    half = (length - 1) / 2
    r = int(math.ceil(half + 1.5))
    rad = math.radians(angle_deg)
    dx, dy = math.cos(rad), -math.sin(rad)  # rows grow downwards
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    t = np.clip(xs * dx + ys * dy, -half, half)
    d = np.hypot(xs - t * dx, ys - t * dy)
    k = np.maximum(0.0, 1.0 - d)
    return k / k.sum()


def gaussian_kernel(sigma):
    r = int(math.ceil(3 * sigma))
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    k = np.exp(-(xs ** 2 + ys ** 2) / (2 * sigma ** 2))
    return k / k.sum()


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float('inf') if mse == 0 else 10 * math.log10(1 / mse)


def per_channel(img, f):
    return np.stack([f(img[..., c]) for c in range(img.shape[2])], axis=2)


def padded(f, pad):
    """f on a copy padded by half-sample reflection (as the blur saw the borders), cropped back:
    scikit-image deconvolves with periodic (Wiener) or zero (Richardson-Lucy) borders otherwise."""
    return lambda ch: f(np.pad(ch, pad, mode='symmetric'))[pad:-pad, pad:-pad]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--photos', default='data/photos/test')
    ap.add_argument('--out', required=True)
    ap.add_argument('--crop', type=int, default=512)
    ap.add_argument('--seed', type=int, default=26)
    args = ap.parse_args()
    for sub in ('blurred', 'clean', 'kernels'):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    names = sorted(f for f in os.listdir(args.photos) if f.endswith('.png'))
    report = []
    for f in names:
        name = f[:-4]
        img = np.asarray(Image.open(os.path.join(args.photos, f)).convert('RGB'), dtype=np.float64) / 255
        h, w = min(args.crop, img.shape[0]), min(args.crop, img.shape[1])
        y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        clean = img[y0:y0 + h, x0:x0 + w]
        seed = int.from_bytes(hashlib.sha256(f'{args.seed}:{name}'.encode()).digest()[:8], 'little')
        rng = np.random.default_rng(seed)
        if rng.uniform() < 0.5:
            sigma = float(rng.uniform(0.8, 3.0))
            kernel, kdesc = gaussian_kernel(sigma), {'kind': 'gaussian', 'sigma': sigma}
        else:
            length, angle = float(rng.uniform(5, 21)), float(rng.uniform(0, 180))
            kernel, kdesc = line_kernel(length, angle), {'kind': 'motion', 'length': length, 'angle': angle}
        blurred = per_channel(clean, lambda ch: ndimage.convolve(ch, kernel, mode='reflect'))
        noisy = np.clip(blurred + rng.normal(0, 2 / 255, blurred.shape), 0, 1)
        stored = np.round(noisy * 255).astype(np.uint8)
        Image.fromarray(stored).save(os.path.join(args.out, 'blurred', f'{name}.png'))
        Image.fromarray(np.round(clean * 255).astype(np.uint8)).save(os.path.join(args.out, 'clean', f'{name}.png'))
        with open(os.path.join(args.out, 'kernels', f'{name}.json'), 'w') as fh:
            json.dump({**kdesc, 'size': kernel.shape[0], 'data': kernel.ravel().tolist()}, fh)
        x = stored.astype(np.float64) / 255
        pad = 2 * kernel.shape[0]
        best_w = max(((psnr(np.clip(per_channel(x, padded(lambda ch: restoration.wiener(ch, kernel, b), pad)), 0, 1), clean), b)
                      for b in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3)), key=lambda p: p[0])
        best_rl = max(((psnr(per_channel(x, padded(lambda ch: restoration.richardson_lucy(ch, kernel, num_iter=n, clip=True), pad)), clean), n)
                       for n in (2, 5, 10, 20, 30, 50, 80, 120)), key=lambda p: p[0])
        row = {'name': name, 'kernel': kdesc, 'input': psnr(x, clean), 'wiener': best_w[0], 'wienerBalance': best_w[1],
               'richardsonLucy': best_rl[0], 'richardsonLucyIterations': best_rl[1]}
        report.append(row)
        print(f"{name:28s} {kdesc['kind']:8s} input {row['input']:.2f}  wiener {row['wiener']:.2f} (balance {best_w[1]})  "
              f"RL {row['richardsonLucy']:.2f} ({best_rl[1]} it)", flush=True)
    mean = {k: float(np.mean([r[k] for r in report])) for k in ('input', 'wiener', 'richardsonLucy')}
    mean['best'] = float(np.mean([max(r['wiener'], r['richardsonLucy']) for r in report]))
    with open(os.path.join(args.out, 'baselines.json'), 'w') as fh:
        json.dump({'recipe': 'see scripts/deblur_baselines.py', 'crop': args.crop, 'seed': args.seed, 'photos': report, 'mean': mean}, fh, indent=2)
    print('mean', json.dumps(mean))


if __name__ == '__main__':
    main()
