#!/usr/bin/env python3
"""x4 super-resolution inputs made outside irsde, by the sr4 task's recipe, and the classical baselines.

For each photo (a centre crop of at most --crop pixels, as scripts/eval-photos.ts crops it, then
trimmed to a multiple of --scale on each side, also when the photo is smaller than --crop; 0 = the
whole photo, trimmed the same way):
  1. the photo as 8-bit RGB: grey photos (Pillow modes 1, L, LA) are converted to RGB
     (three equal channels), so the reference, the input and every output are RGB; 16-bit and
     float images are refused (convert them to 8-bit first);
  2. the low-resolution input: Pillow's `Image.resize((w // scale, h // scale), BICUBIC)` of the
     8-bit crop (Pillow widens the cubic kernel by the scale when shrinking: antialiased), 8-bit;
  3. the baselines: Pillow's BICUBIC and LANCZOS resize of the input back to w x h, 8-bit.

Scores, as the super-resolution literature scores (and irsde's `psnrY` / `ssimY` with `crop: scale`):
PSNR and SSIM of the 8-bit images' luma Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255 (R, G, B in
[0, 1]; ITU-R BT.601 studio swing, irsde's `rgbToY`) against the reference's, data range 1, with
`scale` pixels shaved from every border; SSIM with Gaussian weights, sigma 1.5, population
covariance (irsde's `ssim` defaults).

Writes OUT/lr/<name>.png (the input), OUT/clean/<name>.png (the reference), OUT/bicubic/<name>.png,
OUT/lanczos/<name>.png and OUT/baselines.json (per photo: its size, whether it was grey, and
`bicubic` / `lanczos` each {psnr, ssim}; and the means). Deterministic: no randomness.

With --fixtures, the same images are written flat, as OUT/<name>-lr.png, <name>-clean.png,
<name>-bicubic.png and <name>-lanczos.png, and no baselines.json (the scores are printed); --photos
then also takes a comma-separated list of files (test/fixtures/sr4/README.md).

  /usr/bin/python3 scripts/sr_baselines.py --photos data/photos/test --out .scratch/sr4-test [--crop 512]
  npx tsx scripts/eval-degradation.ts --weights models/sr4.safetensors --inputs .scratch/sr4-test/lr \\
    --references .scratch/sr4-test/clean --baselines .scratch/sr4-test/baselines.json [--figure docs/sr4.png]

Needs Debian's python3-numpy, python3-skimage and python3-pil.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

RESAMPLE = {'bicubic': Image.Resampling.BICUBIC, 'lanczos': Image.Resampling.LANCZOS}
GREY_MODES = ('1', 'L', 'LA')


def fail(message):
    sys.exit(f'sr_baselines.py: {message}')


def photo_files(spec):
    """A folder's .png files by name, or a comma-separated list of files."""
    if os.path.isdir(spec):
        files = [os.path.join(spec, f) for f in sorted(os.listdir(spec)) if f.lower().endswith('.png')]
        if not files:
            fail(f"--photos: no .png images in '{spec}'")
        return files
    files = spec.split(',')
    for f in files:
        if not os.path.isfile(f):
            fail(f"--photos: '{f}' is neither a folder nor a file")
    return files


def load_rgb(path):
    """(8-bit RGB array, was it grey) of an image file."""
    im = Image.open(path)
    if im.mode in ('I', 'I;16', 'I;16B', 'F'):
        fail(f'{path}: {im.mode} (16-bit or float) images are not supported; convert it to 8-bit first')
    grey = im.mode in GREY_MODES
    return np.asarray(im.convert('RGB')), grey


def centre_crop(img, crop, scale):
    """The centre crop of at most crop x crop pixels (0: whole), each side trimmed to a multiple of scale."""
    h = min(crop, img.shape[0]) if crop > 0 else img.shape[0]
    w = min(crop, img.shape[1]) if crop > 0 else img.shape[1]
    h, w = h - h % scale, w - w % scale
    y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])


def luma(img8):
    """BT.601 studio-swing Y in [16/255, 235/255] of an 8-bit RGB array (irsde's rgbToY)."""
    x = img8.astype(np.float64) / 255
    return (16 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255


def scores(img8, clean8, shave):
    """PSNR-Y and SSIM-Y with `shave` pixels cut from every border."""
    cut = (slice(shave, -shave), slice(shave, -shave)) if shave > 0 else (slice(None), slice(None))
    a, b = luma(img8)[cut], luma(clean8)[cut]
    mse = float(np.mean((a - b) ** 2))
    ssim = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return {'psnr': float('inf') if mse == 0 else 10 * math.log10(1 / mse), 'ssim': float(ssim)}


def main():
    ap = argparse.ArgumentParser(description='x4 super-resolution inputs and classical baselines (see the docstring)')
    ap.add_argument('--photos', default='data/photos/test')
    ap.add_argument('--out', required=True)
    ap.add_argument('--crop', type=int, default=512)
    ap.add_argument('--scale', type=int, default=4)
    ap.add_argument('--fixtures', action='store_true', help='write OUT/<name>-<kind>.png flat, no baselines.json')
    args = ap.parse_args()
    if args.scale < 2:
        fail(f'--scale: expected an integer >= 2, got {args.scale}')
    if args.crop < 0 or args.crop % args.scale:
        fail(f'--crop: expected 0 or a positive multiple of --scale ({args.scale}), got {args.crop}')
    subs = ('lr', 'clean', 'bicubic', 'lanczos')
    if not args.fixtures:
        for sub in subs:
            os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    else:
        os.makedirs(args.out, exist_ok=True)
    report = []
    for path in photo_files(args.photos):
        name = os.path.splitext(os.path.basename(path))[0]
        img, grey = load_rgb(path)
        clean8 = centre_crop(img, args.crop, args.scale)
        h, w = clean8.shape[:2]
        if h < 8 * args.scale or w < 8 * args.scale:
            fail(f'{path}: the crop is {w}x{h}; x{args.scale} super-resolution needs at least {8 * args.scale}x{8 * args.scale}')
        lr = Image.fromarray(clean8).resize((w // args.scale, h // args.scale), RESAMPLE['bicubic'])
        images = {'lr': np.asarray(lr), 'clean': clean8}
        for kind, resample in RESAMPLE.items():
            images[kind] = np.asarray(lr.resize((w, h), resample))
        for sub in subs:
            out = os.path.join(args.out, f'{name}-{sub}.png' if args.fixtures else os.path.join(sub, f'{name}.png'))
            Image.fromarray(images[sub]).save(out)
        row = {'name': name, 'height': h, 'width': w, 'grey': grey,
               **{kind: scores(images[kind], clean8, args.scale) for kind in RESAMPLE}}
        report.append(row)
        print(f"{name:28s} {w}x{h} from {w // args.scale}x{h // args.scale}{' (grey -> RGB)' if grey else ''}  "
              f"bicubic {row['bicubic']['psnr']:.2f} / {row['bicubic']['ssim']:.4f}  "
              f"lanczos {row['lanczos']['psnr']:.2f} / {row['lanczos']['ssim']:.4f}", flush=True)
    mean = {kind: {k: float(np.mean([r[kind][k] for r in report])) for k in ('psnr', 'ssim')} for kind in RESAMPLE}
    print('mean', json.dumps(mean))
    if not args.fixtures:
        with open(os.path.join(args.out, 'baselines.json'), 'w') as fh:
            json.dump({'recipe': 'see scripts/sr_baselines.py', 'crop': args.crop, 'scale': args.scale,
                       'metric': f'PSNR / SSIM on Y (BT.601), {args.scale} px shaved', 'photos': report, 'mean': mean}, fh, indent=2)


if __name__ == '__main__':
    main()
