import { defineConfig } from 'tsup';

/** One entry per public subpath; adapters never reach the core entry. */
export const entries = {
  index: 'src/index.ts',
  server: 'src/server/index.ts',
  oauth: 'src/oauth/index.ts',
  inspect: 'src/inspect/index.ts',
  react: 'src/react/index.tsx',
  convex: 'src/convex/index.ts',
  sync: 'src/sync/index.ts',
  viewer: 'src/viewer/index.ts',
  fetch: 'src/fetch/index.ts',
  testing: 'src/testing/index.ts',
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  // Shared chunks for CJS too (ESM splits by default): one copy of the engine and its error classes, so
  // `instanceof SessionError` holds across subpaths.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  treeshake: true,
});
