#!/usr/bin/python3
"""Reference numbers for test/train.metrics.test.ts (dev script; tests never run Python).

Run with Debian's python3 (apt-get install python3-skimage; scikit-image 0.19.3, SciPy 1.10,
Pillow 9.4 were used):

    /usr/bin/python3 scripts/skimage_metrics.py

It crops a few real photos from ../shared/data/images, makes degraded copies (seeded Gaussian
noise at several sigmas, one Gaussian blur), writes both as PNGs under test/fixtures/metrics/,
re-reads the written PNGs (so Python and the TypeScript tests score exactly the same pixels) and
records scikit-image's peak_signal_noise_ratio / structural_similarity in
test/fixtures/skimage_metrics.json. It also records Pillow's float ('F' mode) bicubic resize of
one crop, an independent check of the interior of our MATLAB-style imresize.
"""
import json
import os

import numpy as np
import PIL
import scipy
import skimage
from PIL import Image
from scipy import ndimage
from skimage import io
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'images')
FIX = os.path.join(ROOT, 'test', 'fixtures')
OUT = os.path.join(FIX, 'metrics')

# (photo, rows, cols): small crops keep the fixtures light and the tests fast.
CROPS = [
    ('astronaut', slice(100, 164), slice(180, 260)),  # RGB, face
    ('coffee', slice(150, 214), slice(200, 280)),     # RGB
    ('camera', slice(60, 124), slice(200, 280)),      # grey
    ('brick', slice(0, 64), slice(0, 80)),            # grey texture
]
SIGMAS = [5, 25, 50]  # Gaussian noise std on the 0-255 scale


def to_float(img):
    """uint8 / uint16 array -> float64 in [0, 1]."""
    return img.astype(np.float64) / np.iinfo(img.dtype).max


def rgb_to_y(img):
    """MATLAB rgb2ycbcr luma for [0, 1] RGB input, as a [0, 1] value (the reference's bgr2ycbcr)."""
    return (16.0 + img @ np.array([65.481, 128.553, 24.966])) / 255.0


def scores(gt, test):
    multichannel = gt.ndim == 3
    ch = -1 if multichannel else None

    def ssim(a, b, **kw):
        return float(structural_similarity(a, b, data_range=1.0, channel_axis=ch if a.ndim == 3 else None, **kw))

    paper = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    r = {
        'psnr': float(peak_signal_noise_ratio(gt, test, data_range=1.0)),
        'ssim': ssim(gt, test, **paper),
        # scikit-image's own defaults: 7x7 uniform window, sample covariance.
        'ssim_uniform7': ssim(gt, test),
        'psnr_crop4': float(peak_signal_noise_ratio(gt[4:-4, 4:-4], test[4:-4, 4:-4], data_range=1.0)),
        'ssim_crop4': ssim(gt[4:-4, 4:-4], test[4:-4, 4:-4], **paper),
    }
    if multichannel:
        gy, ty = rgb_to_y(gt), rgb_to_y(test)
        r['psnr_y'] = float(peak_signal_noise_ratio(gy, ty, data_range=1.0))
        r['ssim_y'] = float(structural_similarity(gy, ty, data_range=1.0, **paper))
    return r


def save(name, arr):
    path = os.path.join(OUT, name)
    io.imsave(path, arr, check_contrast=False)
    return io.imread(path)  # what the tests will decode


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20230601)
    cases = []
    for photo, rows, cols in CROPS:
        src = io.imread(os.path.join(DATA, photo + '.png'))
        crop = src[rows, cols]
        if crop.ndim == 3:
            crop = crop[..., :3]
        gt8 = save(f'{photo}_gt.png', crop)
        gt = to_float(gt8)
        for s in SIGMAS:
            noisy = np.clip(gt + rng.normal(0.0, s / 255.0, gt.shape), 0.0, 1.0)
            test = to_float(save(f'{photo}_s{s}.png', np.round(noisy * 255).astype(np.uint8)))
            cases.append(dict(name=f'{photo} sigma {s}', gt=f'metrics/{photo}_gt.png',
                              test=f'metrics/{photo}_s{s}.png', channels=int(gt.shape[2]) if gt.ndim == 3 else 1,
                              **scores(gt, test)))
        blur_sigma = [1.2, 1.2, 0] if gt.ndim == 3 else 1.2
        blurred = ndimage.gaussian_filter(gt, blur_sigma, mode='reflect')
        test = to_float(save(f'{photo}_blur.png', np.round(blurred * 255).astype(np.uint8)))
        cases.append(dict(name=f'{photo} blur', gt=f'metrics/{photo}_gt.png', test=f'metrics/{photo}_blur.png',
                          channels=int(gt.shape[2]) if gt.ndim == 3 else 1, **scores(gt, test)))

    # One 16-bit grey pair: exercises the 16-bit PNG path end to end.
    cam = to_float(io.imread(os.path.join(OUT, 'camera_gt.png')))
    gt16 = save('camera16_gt.png', np.round(cam * 65535).astype(np.uint16))
    noisy16 = np.clip(to_float(gt16) + rng.normal(0.0, 10 / 255.0, cam.shape), 0.0, 1.0)
    t16 = save('camera16_s10.png', np.round(noisy16 * 65535).astype(np.uint16))
    assert gt16.dtype == np.uint16 and t16.dtype == np.uint16
    cases.append(dict(name='camera 16-bit sigma 10', gt='metrics/camera16_gt.png', test='metrics/camera16_s10.png',
                      channels=1, **scores(to_float(gt16), to_float(t16))))

    # Pillow's bicubic (a = -0.5, support scaled by the factor when shrinking, like MATLAB's
    # antialiased imresize; only the border handling differs) on a 64x64 grey crop.
    g = to_float(io.imread(os.path.join(OUT, 'camera_gt.png')))[:, :64].astype(np.float32)
    down = np.asarray(Image.fromarray(g, mode='F').resize((16, 16), Image.BICUBIC))
    up = np.asarray(Image.fromarray(down, mode='F').resize((64, 64), Image.BICUBIC))
    resize = dict(src='metrics/camera_gt.png', srcCols=64, down=[round(float(v), 7) for v in down.ravel()],
                  up=[round(float(v), 7) for v in up.ravel()])

    out = dict(
        generator='scripts/skimage_metrics.py',
        versions=dict(skimage=skimage.__version__, scipy=scipy.__version__, numpy=np.__version__, pillow=PIL.__version__),
        settings=dict(
            data_range=1.0,
            ssim='gaussian_weights=True, sigma=1.5, use_sample_covariance=False (win 11, K1 0.01, K2 0.03)',
            ssim_uniform7='skimage defaults: 7x7 uniform window, use_sample_covariance=True',
            crop4='4 pixels cropped from each border before scoring',
            y='Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, then scored as a grey image',
        ),
        cases=cases,
        resize=resize,
    )
    with open(os.path.join(FIX, 'skimage_metrics.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'{len(cases)} cases written')


if __name__ == '__main__':
    main()
