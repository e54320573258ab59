#!/usr/bin/env python3
"""Classical denoisers as baselines for the evaluation report (dev script; tests never run it).

Reads clean/noisy PNG pairs (same names) written by `scripts/eval-denoise.ts`, denoises each noisy
image with scikit-image's non-local means, total variation (Chambolle) and wavelet (BayesShrink)
denoisers, and prints JSON rows {name, method, psnr, ssim, seconds} with scikit-image's metrics
(data_range 1, Gaussian-weighted SSIM, sigma 1.5, population covariance: irsde's conventions).

    /usr/bin/python3 scripts/classical_baselines.py CLEAN_DIR NOISY_DIR SIGMA255 [OUT_DIR] [--only nlm] > baselines.json

With OUT_DIR, each result is also written as OUT_DIR/<method slug>/<name>.png (8-bit). SIGMA255
`estimate`: blind, each image's sigma is scikit-image's `estimate_sigma` of the noisy image
(channels averaged; reported as `sigma` in each row), e.g. for camera noise. The noisy image is
NOISY_DIR/<name>.png, else <name>.jpg. `--only nlm` runs non-local means alone (and the input row).

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


def main(clean_dir, noisy_dir, sigma255, out_dir=None, only=None):
    rows = []
    for name in sorted(os.listdir(clean_dir)):
        if not name.endswith('.png'):
            continue
        ref = load(os.path.join(clean_dir, name))
        noisy_path = os.path.join(noisy_dir, name)
        if not os.path.exists(noisy_path):
            noisy_path = os.path.join(noisy_dir, os.path.splitext(name)[0] + '.jpg')
        noisy = load(noisy_path)
        if noisy.ndim == 3 and ref.ndim == 2:
            noisy = noisy.mean(axis=2)  # a grey JPEG read back as RGB
        channel_axis = -1 if ref.ndim == 3 else None
        if sigma255 == 'estimate':
            sigma = float(estimate_sigma(noisy, channel_axis=channel_axis, average_sigmas=True))
            weight_scale = sigma * 255 / 25
        else:
            sigma = float(sigma255) / 255.0
            weight_scale = float(sigma255) / 25
        methods = {
            'noisy input': lambda x: x,
            # h = 0.8 sigma, patch 5, distance 6: scikit-image's documented recipe for known sigma.
            'non-local means': lambda x: denoise_nl_means(x, h=0.8 * sigma, sigma=sigma, fast_mode=True,
                                                          patch_size=5, patch_distance=6, channel_axis=channel_axis),
            # weight 0.08 at sigma 25 (tuned there), proportional to sigma elsewhere.
            'TV (Chambolle)': lambda x: denoise_tv_chambolle(x, weight=0.08 * weight_scale, channel_axis=channel_axis),
            'wavelet (BayesShrink)': lambda x: denoise_wavelet(x, sigma=sigma, method='BayesShrink', mode='soft',
                                                               rescale_sigma=True, channel_axis=channel_axis,
                                                               convert2ycbcr=ref.ndim == 3),
        }
        if only == 'nlm':
            methods = {k: v for k, v in methods.items() if k in ('noisy input', 'non-local means')}
        for method, fn in methods.items():
            t0 = time.time()
            out = np.clip(fn(noisy), 0, 1)
            dt = time.time() - t0
            p, s = score(out, ref)
            if out_dir is not None:
                os.makedirs(os.path.join(out_dir, slug(method)), exist_ok=True)
                io.imsave(os.path.join(out_dir, slug(method), name), (np.round(out * 255)).astype(np.uint8), check_contrast=False)
            row = {'name': os.path.splitext(name)[0], 'method': method, 'psnr': p, 'ssim': s, 'seconds': dt}
            if sigma255 == 'estimate':
                row['sigma_estimated'] = sigma * 255
            rows.append(row)
    json.dump(rows, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    args = sys.argv[1:]
    only = None
    if '--only' in args:
        i = args.index('--only')
        only = args[i + 1]
        args = args[:i] + args[i + 2:]
    if len(args) not in (3, 4):
        sys.exit(__doc__)
    main(*args, only=only)
