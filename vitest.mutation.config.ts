import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import LoadFailureReporter from './test/mutation/loadFailureReporter.js';

/**
 * The tests Stryker runs against each mutant of machines/, the engine core and the tab layer: fast, deterministic,
 * in Node (the tabs on the in-memory origin).
 * Browser, demo, adapter and size tests exercise other files and would only slow every mutant down.
 */

/** Narrow, fast tests first: a mutant of the machine definition runs every file until one fails. */
const ORDER = ['test/machines/', 'test/engine/', 'test/tabs/', 'test/docs/', 'test/model/', 'test/property/'];

class NarrowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const path = relative(process.cwd(), file.moduleId);
      return [ORDER.findIndex((dir) => path.startsWith(dir)), path] as const;
    };
    return [...files].sort((a, b) => {
      const [rankA, pathA] = rank(a);
      const [rankB, pathB] = rank(b);
      return rankA - rankB || pathA.localeCompare(pathB);
    });
  }
}

export default defineConfig({
  test: {
    include: ORDER.map((dir) => `${dir}**/*.test.ts`),
    // A fixed fast-check seed and a few runs: a mutant is killed or survives the same way on every run.
    setupFiles: ['test/mutation/propertySeed.ts'],
    env: { SESSIONCHART_PROPERTY_RUNS: '50' },
    sequence: { sequencer: NarrowFirstSequencer },
    reporters: ['default', new LoadFailureReporter()],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
