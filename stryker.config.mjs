// @ts-check
import { env } from 'node:process';

/**
 * Mutation testing of the statechart and the engine core (`npm run mutate`; see docs/testing.md).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: ['machines/**/*.ts', 'src/engine/**/*.ts', 'src/*.ts', 'src/tabs/**/*.ts'],
  // Build output and unrelated trees are not needed in the sandbox (dist may be rebuilt meanwhile). docs/ stays:
  // test/docs compares docs/statechart.md with the machine.
  ignorePatterns: ['/dist', '/coverage', '/test-results', '/demo', '/bench', '/docs/screenshots', '/test/browser'],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // Incremental runs reuse a static mutant's result until its code changes, whatever the tests do (it is
  // covered by no test in particular). STRYKER_FORCE=1 tests every mutant again and rewrites the file.
  force: env.STRYKER_FORCE === '1',
  reporters: ['html', 'json', 'progress-append-only'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The machine has 2 cores shared with other work: one test worker keeps the rest responsive.
  concurrency: Number(env.STRYKER_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
