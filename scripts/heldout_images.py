#!/usr/bin/env python3
"""Extra held-out clean images for the denoising evaluation (issue 32; dev script, tests never run it).

Writes, as 8-bit PNGs (grey images stay grey):
  OUT/skimage/<name>.png    scikit-image sample images that training/photos.json does not list
                            (grey, scientific, scanned and smooth images: the moon, a cell in
                            saline, microscopy, retinal and text scans, a photo); none of them is
                            trained on, validated on or used for model selection;
  OUT/defocused/<name>-defocus.png
                            the held-out test photos (data/photos/test) blurred by a Gaussian of a
                            sigma drawn from [2, 4] px per photo (seeded by its name): smooth,
                            out-of-focus clean images.

    /usr/bin/python3 scripts/heldout_images.py [OUT=data/heldout] [TEST_DIR=data/photos/test]

Needs Debian's python3-skimage (0.19.3 offers these images offline; cells3d, kidney, lily and the
other pooch-fetched ones are not installed and are skipped). The list of sample images used is
printed with each one's shape; an image already in training/photos.json is refused.
"""
import json
import os
import sys
import zlib

import numpy as np
from PIL import Image
from skimage import data
from skimage.filters import gaussian

# name -> how to get it from skimage.data (offline in Debian's 0.19.3)
SAMPLES = {
    'moon': lambda: data.moon(),                    # grey, smooth astronomy (lunar surface)
    'cell': lambda: data.cell(),                    # grey, smooth microscopy: a cell in saline, out of focus
    'immunohistochemistry': lambda: data.immunohistochemistry(),  # colour microscopy (IHC stain)
    'microaneurysms': lambda: data.microaneurysms(),  # grey retinal angiography detail (102x102)
    'text': lambda: data.text(),                    # grey scanned text on a smooth background
    'page': lambda: data.page(),                    # grey scanned book page, uneven lighting
    'motorcycle': lambda: data.stereo_motorcycle()[0],  # colour photo (Middlebury stereo, left view)
}


def seed_of(name):
    return zlib.crc32(name.encode('utf8'))


def to_uint8(a):
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        a = np.clip(np.round(a * 255 if a.max() <= 1.0 else a), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    return a


def main(out='data/heldout', test_dir='data/photos/test'):
    listed = {p['name'] for p in json.load(open('training/photos.json'))['photos']}
    os.makedirs(os.path.join(out, 'skimage'), exist_ok=True)
    os.makedirs(os.path.join(out, 'defocused'), exist_ok=True)
    for name, get in SAMPLES.items():
        if name in listed:
            sys.exit(f'{name} is in training/photos.json: not held out')
        img = to_uint8(get())
        Image.fromarray(img).save(os.path.join(out, 'skimage', f'{name}.png'))
        print(f'skimage/{name}.png {img.shape}')
    for file in sorted(os.listdir(test_dir)):
        if not file.endswith('.png'):
            continue
        name = os.path.splitext(file)[0]
        rng = np.random.default_rng(seed_of(name + ':defocus'))
        sigma = float(rng.uniform(2.0, 4.0))
        img = np.asarray(Image.open(os.path.join(test_dir, file)))
        x = img.astype(np.float64) / 255.0
        blurred = gaussian(x, sigma=sigma, mode='reflect', channel_axis=-1 if x.ndim == 3 else None, preserve_range=True)
        Image.fromarray(to_uint8(np.clip(blurred, 0, 1))).save(os.path.join(out, 'defocused', f'{name}-defocus.png'))
        print(f'defocused/{name}-defocus.png sigma {sigma:.2f} px {img.shape}')


if __name__ == '__main__':
    main(*sys.argv[1:])
