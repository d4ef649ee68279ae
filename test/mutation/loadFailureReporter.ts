import type { RunnerTestCase } from 'vitest';
import type { Reporter, Vitest } from 'vitest/node';

/**
 * Counts a test file that fails to load as a failed test, for mutation runs only.
 *
 * A mutant of the machine's definition (say `initial: ''`) makes `createMachine` throw on import, so every test
 * file that imports the machine fails before it declares a test. Stryker's vitest runner (9.6.1, and 10.x)
 * builds a mutant's result from the tests vitest collected, finds none failed and scores such a mutant
 * Survived (stryker-js issue #6150). Here each file that failed with no test gets one failed test carrying its
 * load error, so the runner sees the failure the suite really had.
 */
export default class LoadFailureReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(): void {
    for (const file of this.vitest?.state.getFiles() ?? []) {
      if (file.result?.state !== 'fail' || file.tasks.length > 0) continue;
      // Only the fields the runner reads; vitest itself never sees this task again.
      const loadFailure = {
        type: 'test',
        id: `${file.id}_load`,
        name: 'loads',
        mode: 'run',
        file,
        suite: file,
        meta: {},
        result: { state: 'fail', errors: file.result.errors ?? [] },
      };
      file.tasks.push(loadFailure as unknown as RunnerTestCase);
    }
  }
}
