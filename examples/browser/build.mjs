// Bundles the browser example with esbuild into examples/browser/dist/ and copies the page, a
// photo, a model file, onnxruntime-web's runtime files and tfjs-backend-wasm's binaries (the page
// fetches nothing from elsewhere). Then:
//   --serve: serves dist/ on 127.0.0.1 with the COOP/COEP headers that make the page
//            cross-origin isolated (so WebAssembly runs on every core) until Ctrl-C;
//   --check: loads the page in headless Chromium (Debian's `chromium`), prints its progress and
//            final status (engine, PSNR, time per network evaluation), saves the restored image
//            as dist/restored.png, and compares the PSNR with `npm run demo` (Node) run on the
//            same photo with the same settings: they must agree to 0.01 dB.
//   node examples/browser/build.mjs [--model FILE] [--serve [--port N]] [--check] [--engine auto|ort-web-wasm|...] [--timeout SECONDS]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { copyOrtWebFiles, copyTfjsWasmFiles, runInChromium, serveFolder } from '../../scripts/headless-chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(here, 'dist');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    check: { type: 'boolean' },
    serve: { type: 'boolean' },
    port: { type: 'string', default: '8080' },
    engine: { type: 'string', default: 'auto' },
    timeout: { type: 'string', default: '600' },
  },
});

mkdirSync(dist, { recursive: true });
await build({ entryPoints: [join(here, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dist, 'main.js'), logLevel: 'warning' });
copyFileSync(join(here, 'index.html'), join(dist, 'index.html'));
const photo = join(root, 'examples/data/astronaut-crop.png');
copyFileSync(photo, join(dist, 'photo.png'));
copyOrtWebFiles(dist);
copyTfjsWasmFiles(dist);
const model = values.model ?? join(root, 'models/denoise-blind.safetensors');
if (!existsSync(model)) throw new Error(`no model file at ${model}; pass --model FILE (from irsde train)`);
copyFileSync(model, join(dist, 'model.safetensors'));
console.log(`built ${dist}`);

if (values.serve) {
  const server = await serveFolder(dist, { port: Number(values.port) });
  console.log(`serving ${dist} cross-origin isolated at ${server.origin}/index.html (Ctrl-C to stop)`);
  await new Promise(() => {});
}

if (values.check) {
  // Node's numbers first: the demo on the same photo, model, noise seed and sampling.
  const out = join(mkdtempSync(join(tmpdir(), 'irsde-demo-')), 'demo.png');
  const demo = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'examples/demo.ts'), photo, '--weights', model, '--out', out], { cwd: root, encoding: 'utf8' });
  rmSync(dirname(out), { recursive: true, force: true });
  const nodeLine = demo.split('\n').find((l) => l.startsWith('restored'));
  const nodePsnr = Number(/PSNR ([\d.]+) dB/.exec(nodeLine ?? '')?.[1]);
  console.log(`node demo: ${nodeLine?.trim()}`);

  const server = await serveFolder(dist, { onLog: (line) => console.log(`  ${line}`) });
  const url = `${server.origin}/index.html?engine=${encodeURIComponent(values.engine)}&report`;
  const result = await runInChromium(url, { report: server.report, timeoutS: Number(values.timeout) });
  await server.close();
  console.log(`page status: ${result.status}`);
  if (result.png) {
    writeFileSync(join(dist, 'restored.png'), Buffer.from(result.png.replace(/^data:image\/png;base64,/, ''), 'base64'));
    console.log(`restored image: ${join(dist, 'restored.png')}`);
  }
  if (!result.status.startsWith('done')) process.exit(1);
  const pagePsnr = Number(/restored ([\d.]+) dB/.exec(result.status)?.[1]);
  const diff = Math.abs(pagePsnr - nodePsnr);
  console.log(`PSNR: browser ${pagePsnr.toFixed(2)} dB, node ${nodePsnr.toFixed(2)} dB, difference ${diff.toFixed(3)} dB (must be <= 0.01)`);
  if (!(diff <= 0.01)) process.exit(1);
}
