import { defineConfig } from 'tsup';

// tfjs and the other runtime dependencies stay external: users share one tfjs instance (one kernel
// registry) with us (tfjs packages and onnxruntime-node are peer dependencies).
const external = [/^@tensorflow\//, /^onnxruntime-/, 'commander', 'cli-progress', 'fast-png', 'jpeg-js'];

export default defineConfig([
  {
    entry: { index: 'src/index.ts', node: 'src/node.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // No shims: tsup's ESM shims import Node's `path` and `url` into a chunk the browser-safe
    // main entry shares. The Node-only code that needs its own location (train/parallel/pool.ts,
    // nn/onnx/node.ts) reads import.meta.url in ESM and __filename in CommonJS itself.
    shims: false,
    // ...so the CommonJS build's empty import.meta is expected, not a problem to warn about.
    esbuildOptions(options) {
      options.logOverride = { ...options.logOverride, 'empty-import-meta': 'silent' };
    },
    sourcemap: true,
    target: 'es2022',
    external,
  },
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node18',
    platform: 'node',
    external,
  },
]);
