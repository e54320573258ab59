#!/usr/bin/env python3
"""Classical denoisers as baselines for the evaluation report (dev script; tests never run it).

Reads clean/noisy PNG pairs (same names) written by `scripts/eval-denoise.ts`, denoises each noisy
image with scikit-image's non-local means, total variation (Chambolle) and wavelet (BayesShrink)
denoisers, and prints JSON rows {name, method, psnr, ssim, seconds} with scikit-image's metrics
(data_range 1, Gaussian-weighted SSIM, sigma 1.5, population covariance: irsde's conventions).

    /usr/bin/python3 scripts/classical_baselines.py CLEAN_DIR NOISY_DIR SIGMA255 [OUT_DIR] > baselines.json

With OUT_DIR, each result is also written as OUT_DIR/<method slug>/<name>.png (8-bit).

Needs Debian's python3-skimage (and python3-pywt for the wavelet denoiser).
"""
import json
import os
import sys
import time

import numpy as np
from skimage import io, img_as_float
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet, estimate_sigma


def load(path):
    img = img_as_float(io.imread(path))
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img


def score(x, ref):
    channel_axis = -1 if ref.ndim == 3 else None
    ssim = structural_similarity(x, ref, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, channel_axis=channel_axis)
    return float(peak_signal_noise_ratio(ref, x, data_range=1.0)), float(ssim)


def slug(method):
    return ''.join(c if c.isalnum() else '-' for c in method.lower()).strip('-')


def main(clean_dir, noisy_dir, sigma255, out_dir=None):
    sigma = float(sigma255) / 255.0
    rows = []
    for name in sorted(os.listdir(clean_dir)):
        if not name.endswith('.png'):
            continue
        ref = load(os.path.join(clean_dir, name))
        noisy = load(os.path.join(noisy_dir, name))
        channel_axis = -1 if ref.ndim == 3 else None
        methods = {
            'noisy input': lambda x: x,
            # h = 0.8 sigma, patch 5, distance 6: scikit-image's documented recipe for known sigma.
            'non-local means': lambda x: denoise_nl_means(x, h=0.8 * sigma, sigma=sigma, fast_mode=True,
                                                          patch_size=5, patch_distance=6, channel_axis=channel_axis),
            # weight 0.08 at sigma 25 (tuned there), proportional to sigma elsewhere.
            'TV (Chambolle)': lambda x: denoise_tv_chambolle(x, weight=0.08 * float(sigma255) / 25, channel_axis=channel_axis),
            'wavelet (BayesShrink)': lambda x: denoise_wavelet(x, sigma=sigma, method='BayesShrink', mode='soft',
                                                               rescale_sigma=True, channel_axis=channel_axis,
                                                               convert2ycbcr=ref.ndim == 3),
        }
        for method, fn in methods.items():
            t0 = time.time()
            out = np.clip(fn(noisy), 0, 1)
            dt = time.time() - t0
            p, s = score(out, ref)
            if out_dir is not None:
                os.makedirs(os.path.join(out_dir, slug(method)), exist_ok=True)
                io.imsave(os.path.join(out_dir, slug(method), name), (np.round(out * 255)).astype(np.uint8), check_contrast=False)
            rows.append({'name': os.path.splitext(name)[0], 'method': method, 'psnr': p, 'ssim': s, 'seconds': dt})
    json.dump(rows, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    main(*sys.argv[1:])
