#!/usr/bin/env python3
"""Camera-like noisy inputs for the held-out denoising evaluation, made outside irsde (issue 32;
dev script, tests never run it).

The recipe (the same as irsde's `cameraNoise` / the `camera-noise` degradation, written
independently with NumPy and Pillow): for each photo, parameters drawn uniformly once per photo
from a generator seeded by the photo's name (CRC-32 of '<name>:camera'):
  photons at white P in [10, 100], read-noise sigma r in [0.005, 0.02] (full scale), JPEG quality
  q in [75, 95] (an integer);
  1. decode the 8-bit sRGB values to linear light x (the sRGB EOTF, IEC 61966-2-1);
  2. y = Poisson(x * P) / P + r * N(0, 1)   (exact Poisson draws, NumPy; independent per channel);
  3. clip y to [0, 1], encode back to sRGB, round to 8 bits;
  4. save as JPEG of quality q with Pillow (its default 4:2:0 chroma subsampling for colour, as
     cameras store; irsde's own encoder keeps 4:4:4), and also the 8-bit PNG before JPEG.

Writes OUT/clean/<name>.png (the clean reference: the photo's centre crop), OUT/noisy/<name>.jpg
(the input), OUT/noisy-png/<name>.png (before JPEG) and OUT/params.json (each photo's draws).

    /usr/bin/python3 scripts/camera_noise_fixtures.py OUT DIR_OR_PNG [DIR_OR_PNG ...] [--crop 256]

--crop N takes the centre N x N crop (smaller sides kept whole; 0: the whole image) before the
noise. Grey photos stay grey (grey noise). Needs Debian's python3-numpy and python3-pil.
"""
import json
import os
import sys
import zlib

import numpy as np
from PIL import Image

PHOTONS = (10.0, 100.0)
READ_SIGMA = (0.005, 0.02)
QUALITY = (75, 95)


def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 0.0031308), 1 / 2.4) - 0.055)


def centre_crop(a, size):
    if size <= 0:
        return a
    h, w = a.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y, x = (h - ch) // 2, (w - cw) // 2
    return a[y:y + ch, x:x + cw]


def camera_noise(clean_u8, rng):
    photons = float(rng.uniform(*PHOTONS))
    read = float(rng.uniform(*READ_SIGMA))
    quality = int(round(rng.uniform(*QUALITY)))
    x = srgb_to_linear(clean_u8.astype(np.float64) / 255.0)
    y = rng.poisson(x * photons) / photons + read * rng.standard_normal(x.shape)
    v = linear_to_srgb(np.clip(y, 0.0, 1.0))
    noisy = np.clip(np.round(v * 255.0), 0, 255).astype(np.uint8)
    return noisy, {'photonsAtWhite': photons, 'readSigma': read, 'jpegQuality': quality}


def files_of(specs):
    out = []
    for s in specs:
        if os.path.isdir(s):
            out += [os.path.join(s, f) for f in sorted(os.listdir(s)) if f.lower().endswith(('.png', '.jpg', '.jpeg'))]
        else:
            out.append(s)
    return out


def main(argv):
    crop = 256
    if '--crop' in argv:
        i = argv.index('--crop')
        crop = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    out, specs = argv[0], argv[1:]
    for d in ('clean', 'noisy', 'noisy-png'):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    params = {}
    for path in files_of(specs):
        name = os.path.splitext(os.path.basename(path))[0]
        im = Image.open(path)
        im = im.convert('L') if im.mode in ('L', 'I;16', 'I', '1') else im.convert('RGB')
        clean = centre_crop(np.asarray(im), crop)
        rng = np.random.default_rng(zlib.crc32(f'{name}:camera'.encode('utf8')))
        noisy, p = camera_noise(clean, rng)
        Image.fromarray(clean).save(os.path.join(out, 'clean', f'{name}.png'))
        Image.fromarray(noisy).save(os.path.join(out, 'noisy-png', f'{name}.png'))
        Image.fromarray(noisy).save(os.path.join(out, 'noisy', f'{name}.jpg'), quality=p['jpegQuality'])
        params[name] = p
        print(f"{name}: {clean.shape}, photons {p['photonsAtWhite']:.1f}, read {p['readSigma']:.4f}, JPEG q{p['jpegQuality']}")
    with open(os.path.join(out, 'params.json'), 'w') as f:
        json.dump({'recipe': 'scripts/camera_noise_fixtures.py', 'crop': crop, 'photos': params}, f, indent=1)


if __name__ == '__main__':
    main(sys.argv[1:])
