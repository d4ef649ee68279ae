import { describe, expect, it } from 'vitest';
import { coverageOf, generatePaths, type ModelPath } from '../support/modelPaths.js';
import { replay } from '../support/modelReplay.js';
import { describeCommand, modelConfig } from '../support/modelCommands.js';
import type { ModelCommand, ModelState } from '../support/sessionModel.js';

// A single tab, the engine's default outside a browser: replayable on a real engine in Node; with callers that
// keep to the backoff (the default) and with callers that cut it short (`callersCutBackoff: true`). With the
// default, every getToken while the machine waits on the network is replayed (its guard keeps the machine where
// it is, which only a replay on the engine can check), and so is the wall clock set back wherever a timer runs
// (the engine's clock does not move, so the model does not: only a replay shows nothing else does).
const replayedAnyway = (from: ModelState, command: ModelCommand) =>
  (command.type === 'getToken' && from.machine.hasTag('awaitingNetwork')) ||
  (command.type === 'clockBack' && from.timer !== null);
const singleTab = [
  ...generatePaths(modelConfig(false), undefined, replayedAnyway),
  ...generatePaths(modelConfig(false, true)),
  // With a storage: what a reload (a new engine on the same storage) finds, at any step.
  ...generatePaths(modelConfig(false, false, true)),
];
// A tab that shares its session starts by asking the others (`restoring`); only that start differs.
const sharingStart = generatePaths(modelConfig(true), (model) => model.machine.matches('restoring'));
const paths = [...singleTab, ...sharingStart];

const describePath = (path: ModelPath) => path.commands.map(describeCommand).join(' > ') || '(initial state)';

describe('sessionMachine, walked as a model with xstate/graph', () => {
  it('reaches every state node and every transition of the machine definition', () => {
    const coverage = coverageOf(paths);
    console.log(
      `model: ${paths.length} paths, ${coverage.takenCount}/${coverage.transitions.length} transitions, ` +
        `${coverage.reachedCount}/${coverage.nodes.length} states`,
    );
    expect(coverage.missingStates).toEqual([]);
    expect(coverage.missingTransitions).toEqual([]);
  });

  it(`replays the ${singleTab.length} single-tab paths on a real engine, keeping the eight invariants`, { timeout: 180_000 }, async () => {
    // Grouped by the first problem, each with the shortest path that shows it.
    const failures = new Map<string, { paths: number; shortest: ModelPath; problems: string[] }>();
    for (const path of singleTab) {
      const problems = await replay(path);
      if (problems.length === 0) continue;
      const seen = failures.get(problems[0]!);
      if (!seen) failures.set(problems[0]!, { paths: 1, shortest: path, problems });
      else {
        seen.paths += 1;
        if (path.commands.length < seen.shortest.commands.length) Object.assign(seen, { shortest: path, problems });
      }
    }
    const report = [...failures.values()].map(
      ({ paths: count, shortest, problems }) =>
        `${count} path(s), shortest: ${describePath(shortest)}\n  ${problems.join('\n  ')}`,
    );
    expect(report).toEqual([]);
  });
});
