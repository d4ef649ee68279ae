import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against each mutant of machines/ and the engine core: fast, deterministic, in Node.
 * Browser, demo, adapter and size tests exercise other files and would only slow every mutant down.
 */
export default defineConfig({
  test: {
    include: ['test/engine/**/*.test.ts', 'test/machines/**/*.test.ts', 'test/model/**/*.test.ts', 'test/property/**/*.test.ts'],
    // A fixed fast-check seed: a mutant is killed or survives the same way on every run.
    setupFiles: ['test/mutation/propertySeed.ts'],
    env: { SESSIONCHART_PROPERTY_RUNS: '50' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
