import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs stays external: users share one tfjs instance (and one kernel registry) with us.
  external: [/^@tensorflow\//],
});
