#!/usr/bin/python3
"""Small image files in formats our writer never produces, for test/io.images.test.ts (dev script).

Run with Debian's python3 (Pillow 9.4): /usr/bin/python3 scripts/image_fixtures.py
Writes test/fixtures/images/*.{png,jpg} and test/fixtures/images/expected.json holding the pixel values
Pillow decodes (uint8 / uint16, row-major HWC; alpha dropped, as our reader does).
"""
import json
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'images')


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    h, w = 6, 9  # odd width: exercises row padding of sub-byte depths
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
    expected = {}

    Image.fromarray(np.dstack([rgb, alpha]), 'RGBA').save(os.path.join(OUT, 'rgba.png'))
    expected['rgba.png'] = dict(channels=3, max=255, data=rgb.ravel().tolist())
    Image.fromarray(np.dstack([grey, alpha]), 'LA').save(os.path.join(OUT, 'grey_alpha.png'))
    expected['grey_alpha.png'] = dict(channels=1, max=255, data=grey.ravel().tolist())

    pal = Image.fromarray(rgb, 'RGB').quantize(colors=16)
    pal.save(os.path.join(OUT, 'palette.png'))
    expected['palette.png'] = dict(channels=3, max=255, data=np.asarray(pal.convert('RGB')).ravel().tolist())

    bits = (grey > 127)
    Image.fromarray(bits).convert('1').save(os.path.join(OUT, 'bilevel.png'))
    expected['bilevel.png'] = dict(channels=1, max=1, data=bits.astype(int).ravel().tolist())

    # A true one-component (grey) JPEG, and a colour one, as libjpeg (Pillow) decodes them.
    smooth = (np.add.outer(np.arange(16), np.arange(24)) * 5).astype(np.uint8)
    Image.fromarray(smooth, 'L').save(os.path.join(OUT, 'grey.jpg'), quality=95)
    expected['grey.jpg'] = dict(channels=1, max=255, lossy=True,
                                data=np.asarray(Image.open(os.path.join(OUT, 'grey.jpg'))).ravel().tolist())
    col = np.dstack([smooth, smooth[::-1], 255 - smooth])
    Image.fromarray(col, 'RGB').save(os.path.join(OUT, 'colour.jpg'), quality=95)
    expected['colour.jpg'] = dict(channels=3, max=255, lossy=True,
                                  data=np.asarray(Image.open(os.path.join(OUT, 'colour.jpg'))).ravel().tolist())
    Image.fromarray(col, 'RGB').save(os.path.join(OUT, 'progressive.jpg'), quality=95, progressive=True)
    expected['progressive.jpg'] = dict(channels=3, max=255, lossy=True,
                                       data=np.asarray(Image.open(os.path.join(OUT, 'progressive.jpg'))).ravel().tolist())

    for name, e in expected.items():
        im = Image.open(os.path.join(OUT, name))
        e['height'], e['width'] = im.height, im.width
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f)
        f.write('\n')
    print(sorted(expected))


if __name__ == '__main__':
    main()
