/**
 * Builds the photo folders for training and evaluation from the list in training/photos.json
 * (dev script; run through scripts/fetch-photos.sh, which first downloads and unpacks the Debian
 * packages the photos come from).
 *
 *   npx tsx scripts/prepare-photos.ts --root .cache/photos/root [--list training/photos.json] [--out data/photos]
 *     [--max-short-side 768] [--markdown training/photos.md]
 *
 * For each photo: checks the source file's SHA-256 against the list (a mismatch means the Debian
 * package changed: warned, and the photo is still written), decodes it, keeps grey photos grey
 * (`channels: 1`), shrinks it with MATLAB-style antialiased bicubic (irsde's `imresize`) so its
 * short side is at most `maxShortSide` (never enlarges), and writes an 8-bit PNG to
 * `<out>/<split>/<name>.png` (split: train, val or test). Photos already written at the right
 * size are skipped. With --markdown, also writes the human-readable licence table.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertChannels, imresize } from '../src/advanced.js';
import { readImage, writeImage } from '../src/node.js';

/** One entry of training/photos.json. */
interface PhotoEntry {
  name: string;
  split: 'train' | 'val' | 'test';
  package: string;
  path: string;
  licence: string;
  author: string;
  channels: 1 | 3;
  sourceSize: string;
  sha256: string;
  note?: string;
}

/** training/photos.json. */
interface PhotoList {
  about: string;
  distribution: string;
  maxShortSide: number;
  packages: Record<string, string>;
  photos: PhotoEntry[];
}

/** The output size for a `h x w` image whose short side must be at most `maxShort` (never enlarged). */
function targetSize(h: number, w: number, maxShort: number): { height: number; width: number } {
  const s = Math.min(1, maxShort / Math.min(h, w));
  return s === 1 ? { height: h, width: w } : { height: Math.max(1, Math.round(h * s)), width: Math.max(1, Math.round(w * s)) };
}

function markdown(list: PhotoList): string {
  const rows = list.photos.map((p) => `| ${p.name} | ${p.split} | ${p.channels === 1 ? 'grey' : 'RGB'} | ${p.licence} | ${p.author} | ${p.package} \`${p.path}\` |`);
  return [
    '# Training and evaluation photos',
    '',
    'Generated from `training/photos.json` by `scripts/prepare-photos.ts --markdown` (edit the JSON, not this file).',
    `${list.photos.length} photos from Debian ${list.distribution.replace(/^debian /, '')} packages (${Object.entries(list.packages).map(([k, v]) => `${k} ${v}`).join(', ')}),`,
    "each under the licence its package's `/usr/share/doc/<package>/copyright` states (scikit-image: the",
    "`skimage.data` docstrings; Plasma: each wallpaper's `metadata.json`). The photos are not in the",
    'repository: `bash scripts/fetch-photos.sh` downloads the packages and writes `data/photos/<split>/<name>.png`,',
    `short side at most ${list.maxShortSide} px.`,
    '',
    'Splits: **train** (training crops), **val** (validation and model selection), **test** (held-out',
    'evaluation only: never used for training or model selection).',
    '',
    '| name | split | colour | licence | author | package and path |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: '.cache/photos/root' },
    list: { type: 'string', default: 'training/photos.json' },
    out: { type: 'string', default: 'data/photos' },
    'max-short-side': { type: 'string' },
    markdown: { type: 'string' },
  },
});
const list = JSON.parse(readFileSync(values.list!, 'utf8')) as PhotoList;
const maxShort = Number(values['max-short-side'] ?? list.maxShortSide);
if (!(maxShort >= 16)) throw new Error(`--max-short-side must be a number >= 16, got ${values['max-short-side']}`);
const names = new Set<string>();
for (const p of list.photos) {
  if (names.has(p.name)) throw new Error(`${values.list}: duplicate photo name '${p.name}'`);
  names.add(p.name);
  if (!['train', 'val', 'test'].includes(p.split)) throw new Error(`${values.list}: photo '${p.name}' has split '${p.split}' (expected train, val or test)`);
}
if (values.markdown) {
  writeFileSync(values.markdown, markdown(list));
  console.error(`wrote ${values.markdown}`);
}

let changed = 0;
for (const [i, p] of list.photos.entries()) {
  const src = join(values.root!, p.package, p.path);
  const dest = join(values.out!, p.split, `${p.name}.png`);
  if (!existsSync(src)) throw new Error(`${p.name}: source not found: ${src} (did scripts/fetch-photos.sh unpack ${p.package}?)`);
  const bytes = readFileSync(src);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== p.sha256) {
    changed++;
    console.error(`warning: ${p.name}: ${src} differs from the listed file (sha256 ${sha.slice(0, 12)}..., listed ${p.sha256.slice(0, 12)}...): the package changed; results may not match the recorded ones`);
  }
  const [w0, h0] = p.sourceSize.split('x').map(Number);
  const size = targetSize(h0, w0, maxShort);
  if (existsSync(dest)) {
    const have = await readImage(dest);
    if (have.height === size.height && have.width === size.width && have.channels === p.channels) {
      console.error(`[${i + 1}/${list.photos.length}] ${dest} exists`);
      continue;
    }
  }
  let img = await readImage(src);
  if (img.channels !== p.channels) img = convertChannels(img, p.channels);
  const out = targetSize(img.height, img.width, maxShort);
  if (out.height !== img.height || out.width !== img.width) img = imresize(img, out);
  mkdirSync(join(values.out!, p.split), { recursive: true });
  await writeImage(dest, img);
  console.error(`[${i + 1}/${list.photos.length}] ${dest} ${img.width}x${img.height} ${img.channels === 1 ? 'grey' : 'RGB'} (${p.licence})`);
}
const counts = ['train', 'val', 'test'].map((s) => `${list.photos.filter((p) => p.split === s).length} ${s}`).join(', ');
console.error(`done: ${list.photos.length} photos in ${values.out} (${counts})${changed ? `; ${changed} differ from the listed files` : ''}`);
