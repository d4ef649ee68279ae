/**
 * One simulator run in a process of its own (bench/run.ts forks it with --expose-gc): every engine starts
 * from a clean heap and clean globals, so one engine's garbage or compiled code never shows in another's
 * heap figures.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineName } from './engines.js';
import type { Scenario } from './schedule.js';
import { simulate, type RunResult } from './simulate.js';

interface Job {
  scenario: Scenario;
  engine: EngineName;
}
type Answer = { result: RunResult } | { error: string };

/** Runs `simulate` with heap sampling in a fresh child process. */
export function simulateInChild(scenario: Scenario, engine: EngineName): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      serialization: 'advanced', // typed arrays (the timeline) cross intact
    });
    let answered = false;
    child.once('message', (answer: Answer) => {
      answered = true;
      if ('result' in answer) resolve(answer.result);
      else reject(new Error(`${scenario.name} / ${engine}: ${answer.error}`));
    });
    child.once('exit', (code) => {
      if (!answered) reject(new Error(`${scenario.name} / ${engine}: the worker exited with ${code} without a result`));
    });
    child.send({ scenario, engine } satisfies Job);
  });
}

if (process.argv.includes('--child')) {
  process.once('message', (job: Job) => {
    simulate(job.scenario, job.engine, { measureHeap: true })
      .then((result): Answer => ({ result }), (error: unknown): Answer => ({ error: String((error as Error).stack ?? error) }))
      .then((answer) => process.send!(answer, () => process.exit(0)));
  });
}
