#!/usr/bin/python3
"""Synthetic scanned documents: clean pages of text for training and validating the denoiser.

None of the training photos is a document, and a denoiser that has never seen printed text
smears glyph edges (or draws texture between them) where a classical method exploits their
repetition. This script renders pages the way a scanner shows them: paper of a light, slightly
uneven tone (a smooth illumination falloff, as a flatbed or a phone photo of a page gives), text
in several fonts and sizes (headings, justified paragraphs, monospace blocks, tables with rules),
dark ink, a small rotation, rendered at 3x and downsampled with antialiasing, then a little
optical blur. Pages are grey or colour (tinted paper, coloured ink). They are clean targets: no
noise, no JPEG.

Text: words drawn from the licence texts in /usr/share/common-licenses (real English word
shapes). Fonts: DejaVu and Liberation (Debian fonts-dejavu-core, fonts-liberation; free
licences). Deterministic per page (seeded by split and index).

  /usr/bin/python3 scripts/make_documents.py [--out data/documents] [--train 6] [--val 2] [--seed 32]

writes OUT/train/doc-NN.png and OUT/val/doc-val-NN.png. Train with `irsde train --gt
data/photos/train --gt data/documents/train ...` (the folders' images train together).
"""
import argparse
import glob
import os
import re
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/liberation']
SS = 3  # supersampling factor of the rendering


def fonts():
    found = {}
    for d in FONT_DIRS:
        for f in sorted(glob.glob(os.path.join(d, '*.ttf'))):
            name = os.path.basename(f)
            if 'ExtraLight' in name or 'Math' in name:
                continue
            found[name] = f
    if not found:
        sys.exit(f'make_documents: no fonts in {", ".join(FONT_DIRS)} (apt-get install -y fonts-dejavu-core fonts-liberation)')
    return found


def words():
    text = ''
    for f in sorted(glob.glob('/usr/share/common-licenses/*')):
        if os.path.isfile(f):
            with open(f, encoding='utf-8', errors='ignore') as fh:
                text += fh.read() + '\n'
    ws = re.findall(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]|\d+", text)
    if len(ws) < 1000:
        sys.exit('make_documents: too few words in /usr/share/common-licenses')
    return ws


def pick(rng, xs):
    return xs[int(rng.integers(len(xs)))]


def sentence(rng, ws, n):
    i = int(rng.integers(len(ws) - n))
    s = ' '.join(ws[i:i + n])
    if rng.random() < 0.5:
        s = s[:1].upper() + s[1:] + '.'
    return s


def render_page(rng, font_files, ws, grey):
    W = int(rng.integers(448, 769))
    H = int(rng.integers(448, 769))
    w, h = W * SS, H * SS
    paper = rng.uniform(0.80, 0.97)
    ink = rng.uniform(0.02, 0.30)
    page = Image.new('L', (w, h), 255)
    draw = ImageDraw.Draw(page)
    serif = [v for k, v in font_files.items() if 'Serif' in k and 'Bold' not in k and 'Italic' not in k and 'Oblique' not in k]
    sans = [v for k, v in font_files.items() if 'Sans' in k and 'Mono' not in k and 'Bold' not in k and 'Oblique' not in k and 'Italic' not in k]
    bold = [v for k, v in font_files.items() if 'Bold' in k and 'Mono' not in k]
    mono = [v for k, v in font_files.items() if 'Mono' in k]
    body_face = pick(rng, serif + sans)
    size = int(rng.integers(9, 25))  # body text height in output pixels
    margin = int(rng.integers(8, 40)) * SS
    x0, y = margin, margin
    right = w - margin
    while y < h - margin:
        kind = rng.random()
        if kind < 0.15:  # heading
            hs = int(size * rng.uniform(1.3, 2.2))
            f = ImageFont.truetype(pick(rng, bold), hs * SS)
            draw.text((x0, y), sentence(rng, ws, int(rng.integers(2, 7))), font=f, fill=0)
            y += int(hs * SS * 1.6)
        elif kind < 0.25:  # monospace block
            ms = max(8, int(size * rng.uniform(0.8, 1.0)))
            f = ImageFont.truetype(pick(rng, mono), ms * SS)
            for _ in range(int(rng.integers(2, 7))):
                indent = int(rng.integers(0, 4)) * 2 * ms * SS
                draw.text((x0 + indent, y), sentence(rng, ws, int(rng.integers(2, 8))).lower(), font=f, fill=0)
                y += int(ms * SS * 1.35)
            y += ms * SS
        elif kind < 0.35:  # table with rules
            ts = max(8, int(size * 0.9))
            f = ImageFont.truetype(pick(rng, sans), ts * SS)
            cols = int(rng.integers(2, 6))
            cw = (right - x0) // cols
            rows = int(rng.integers(2, 7))
            rh = int(ts * SS * 1.7)
            lw = max(1, int(rng.integers(1, 3)) * SS // 2)
            for r in range(rows + 1):
                draw.line([(x0, y + r * rh), (x0 + cols * cw, y + r * rh)], fill=0, width=lw)
            for c in range(cols + 1):
                draw.line([(x0 + c * cw, y), (x0 + c * cw, y + rows * rh)], fill=0, width=lw)
            for r in range(rows):
                for c in range(cols):
                    cell = pick(rng, ws) if (r == 0 or c == 0) else f'{rng.uniform(0, 1000):.{int(rng.integers(0, 3))}f}'
                    draw.text((x0 + c * cw + ts * SS // 2, y + r * rh + ts * SS // 3), cell, font=f, fill=0)
            y += rows * rh + size * SS * 2
        else:  # paragraph, justified
            f = ImageFont.truetype(body_face, size * SS)
            lead = int(size * SS * rng.uniform(1.15, 1.6))
            for li in range(int(rng.integers(3, 12))):
                line, width = [], 0
                space = draw.textlength(' ', font=f)
                while True:
                    word = ws[int(rng.integers(len(ws)))]
                    lw_ = draw.textlength(word, font=f)
                    if width + lw_ + (space if line else 0) > right - x0 - (2 * size * SS if li == 0 else 0):
                        break
                    width += lw_ + (space if line else 0)
                    line.append((word, lw_))
                if not line:
                    break
                start = x0 + (2 * size * SS if li == 0 else 0)
                gap = space if len(line) < 2 else max(space, (right - start - sum(l for _, l in line)) / (len(line) - 1))
                x = start
                for word, lw_ in line:
                    draw.text((x, y), word, font=f, fill=0)
                    x += lw_ + gap
                y += lead
            y += lead // 2
    angle = rng.uniform(-2.0, 2.0)
    page = page.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
    page = page.resize((W, H), Image.LANCZOS)
    blur = rng.uniform(0.0, 0.9)
    if blur > 0.2:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    cover = np.asarray(page, dtype=np.float64) / 255.0  # 1 = paper, 0 = ink
    # Smooth illumination: a tilted plane and a broad vignette.
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    a, b = rng.uniform(-0.12, 0.12, size=2)
    cy, cx = rng.uniform(0.2, 0.8, size=2)
    light = 1 + a * (xx - 0.5) + b * (yy - 0.5) - rng.uniform(0, 0.25) * ((xx - cx) ** 2 + (yy - cy) ** 2)
    if grey:
        img = (ink + (paper - ink) * cover) * light
        return np.clip(img, 0, 1)[..., None]
    tint = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.86, 1.0)])
    ink_rgb = ink * np.array(pick(rng, [[1, 1, 1], [0.4, 0.5, 1.6], [1.5, 0.4, 0.4], [0.6, 0.9, 0.6]]))
    img = (ink_rgb[None, None, :] + (paper * tint - ink_rgb)[None, None, :] * cover[..., None]) * light[..., None]
    return np.clip(img, 0, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='data/documents')
    ap.add_argument('--train', type=int, default=6)
    ap.add_argument('--val', type=int, default=2)
    ap.add_argument('--seed', type=int, default=32)
    args = ap.parse_args()
    font_files, ws = fonts(), words()
    for split, n, prefix, salt in (('train', args.train, 'doc', 0), ('val', args.val, 'doc-val', 1)):
        os.makedirs(os.path.join(args.out, split), exist_ok=True)
        for i in range(n):
            rng = np.random.default_rng([args.seed, salt, i])
            grey = i % 2 == 0
            img = render_page(rng, font_files, ws, grey)
            u8 = np.round(img * 255).astype(np.uint8)
            path = os.path.join(args.out, split, f'{prefix}-{i:02d}.png')
            Image.fromarray(u8[..., 0] if grey else u8, 'L' if grey else 'RGB').save(path)
            print(path, f'{u8.shape[1]}x{u8.shape[0]}', 'grey' if grey else 'rgb')


if __name__ == '__main__':
    main()
