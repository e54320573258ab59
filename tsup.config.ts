import { defineConfig } from 'tsup';

// tfjs and the other runtime dependencies stay external: users share one tfjs instance (one kernel
// registry) with us.
const external = [/^@tensorflow\//, /^onnxruntime-/, 'commander', 'cli-progress', 'fast-png', 'jpeg-js'];

export default defineConfig([
  {
    entry: { index: 'src/index.ts', node: 'src/node.ts', web: 'src/web.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // import.meta.url in the CJS build (the worker pool locates its worker module with it).
    shims: true,
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
