#!/usr/bin/python3
"""Reference numbers for test/train.noise-level.test.ts (dev script; tests never run Python).

Run with Debian's python3 (apt-get install python3-skimage; scikit-image 0.19.3, PyWavelets
1.1.1 were used):

    /usr/bin/python3 scripts/noise_sigma_fixtures.py

For every photo in ../shared/data/images it takes a small crop (odd width, so the wavelet
transform's boundary handling is exercised), adds seeded Gaussian noise of std 5, 15, 25 and 50
(0-255 scale), clips to [0, 1], quantises to 8 bits and writes the noisy crop as a PNG under
test/fixtures/noise/. It re-reads each PNG (so Python and the TypeScript test see exactly the
same pixels) and records scikit-image's estimate_sigma (channel_axis=-1, average_sigmas=True
for RGB; per channel too) in test/fixtures/noise_sigma.json.
"""
import json
import os

import numpy as np
import pywt
import scipy
import skimage
from skimage import io
from skimage.restoration import estimate_sigma

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'images')
FIX = os.path.join(ROOT, 'test', 'fixtures')
OUT = os.path.join(FIX, 'noise')
SIGMAS = [5, 15, 25, 50]
H, W = 48, 53


def to_float(img):
    return img.astype(np.float64) / np.iinfo(img.dtype).max


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240915)
    cases = []
    for name in sorted(os.listdir(DATA)):
        photo = os.path.splitext(name)[0]
        src = io.imread(os.path.join(DATA, name))
        if src.ndim == 3:
            src = src[..., :3]
        # A crop from the middle of the photo (texture and edges, not a flat border).
        r0 = (src.shape[0] - H) // 2
        c0 = (src.shape[1] - W) // 2
        clean = to_float(src[r0:r0 + H, c0:c0 + W])
        for s in SIGMAS:
            noisy = np.clip(clean + rng.normal(0.0, s / 255.0, clean.shape), 0.0, 1.0)
            path = os.path.join(OUT, f'{photo}_s{s}.png')
            io.imsave(path, np.round(noisy * 255).astype(np.uint8), check_contrast=False)
            img = to_float(io.imread(path))
            rgb = img.ndim == 3
            est = float(estimate_sigma(img, channel_axis=-1, average_sigmas=True) if rgb else estimate_sigma(img))
            per = [float(v) for v in estimate_sigma(img, channel_axis=-1)] if rgb else [est]
            cases.append(dict(name=f'{photo} sigma {s}', file=f'noise/{photo}_s{s}.png', channels=3 if rgb else 1,
                              sigma255=s, estimate=est, perChannel=per))
    out = dict(
        generator='scripts/noise_sigma_fixtures.py',
        versions=dict(skimage=skimage.__version__, pywt=pywt.__version__, scipy=scipy.__version__, numpy=np.__version__),
        settings='estimate_sigma(img, channel_axis=-1, average_sigmas=True) on the 8-bit PNG / 255 (grey: channel_axis=None)',
        cases=cases,
    )
    with open(os.path.join(FIX, 'noise_sigma.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'{len(cases)} cases written')


if __name__ == '__main__':
    main()
