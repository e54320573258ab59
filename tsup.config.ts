import { defineConfig, type Options } from 'tsup';

// tfjs and the other runtime dependencies stay external: users share one tfjs instance (one kernel
// registry) with us (tfjs packages and onnxruntime-node are peer dependencies).
const external = [/^@tensorflow\//, /^onnxruntime-/, 'commander', 'cli-progress', 'fast-png', 'jpeg-js'];

// The library: 'irsde' (browser-safe, curated), 'irsde/advanced' (browser-safe, with the building blocks), 'irsde/web' (onnxruntime-web engine) and 'irsde/node', in ESM and CommonJS, each with shared
// chunks so that both entries use one copy of every class (tsup splits CommonJS only when asked).
const library: Options = {
  entry: { index: 'src/index.ts', advanced: 'src/advanced.ts', node: 'src/node.ts', web: 'src/web.ts' },
  dts: true,
  splitting: true,
  // No source maps in the package: they would double dist/ (the install budget is 60 MB), and
  // esbuild's output keeps each module's code readable under a `// src/...` comment.
  sourcemap: false,
  target: 'es2022',
  external,
};

export default defineConfig([
  // ESM without shims: tsup's ESM shims import Node's `path` and `url` into a chunk that the
  // browser-safe main entry shares. The Node-only code that needs its own location
  // (train/parallel/pool.ts, nn/onnx/node.ts) reads import.meta.url itself.
  // The CLI is an entry of this build too, so it shares the chunks of 'irsde/advanced' and
  // 'irsde/node': a module the user imports with `irsde --import` (e.g. one calling
  // registerNetwork) registers into the same registry and builds the same classes the CLI uses.
  // Its own type declarations are not needed (`dts.entry` lists the package's entries).
  { ...library, entry: { ...(library.entry as Record<string, string>), cli: 'src/cli/bin.ts' }, dts: { entry: library.entry as Record<string, string> }, format: ['esm'], shims: false },
  // CommonJS with shims: import.meta.url becomes a shim built from __filename (CommonJS is Node's
  // format; browser bundles take the ESM build).
  { ...library, format: ['cjs'], shims: true },
  // The restoration worker (`irsde/worker`): a script of its own, beside the entries, that
  // `WorkerRestorer` starts with `new Worker(new URL('./restore-worker.js', import.meta.url))`.
  // Browsers only, so ESM only; self-contained (no chunks shared with the page's entries).
  {
    entry: { 'restore-worker': 'src/restore-worker.ts' },
    format: ['esm'],
    sourcemap: false,
    target: 'es2022',
    platform: 'browser',
    splitting: false,
    external,
  },
]);
