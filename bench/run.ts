/**
 * `npm run bench`: the hot path, the herd cost, bundle sizes and the 24 h workload simulator, side by side
 * with the peers in one run. Prints a table per part and writes docs/benchmarks.md and its charts.
 * Simulator runs go two processes at a time (`npm run bench -- --jobs 1` for one): the figures do not
 * depend on it, only the wall time does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { timelineSvg } from './chart.js';
import { writeDoc } from './doc.js';
import { enginesFor } from './engines.js';
import { findingsOf } from './findings.js';
import { herdCosts, runHotPath } from './micro.js';
import {
  compositionTable,
  describeScenario,
  hotPathTable,
  printTable,
  requestTable,
  runTable,
  sizeTable,
  targetTable,
  type SizeRow,
} from './report.js';
import { buildSchedule, HOUR, type Scenario } from './schedule.js';
import type { RunResult } from './simulate.js';
import { bundleInputs, isBuilt, measureSizes, ROOT, sizeChecks } from './sizes.js';
import { targetsOf } from './targets.js';
import { simulateInChild } from './worker.js';

const DAY = 24 * HOUR;
const MIN = 60_000;
const SEED = 42;

const steady = (callers: number, tabs: number, lifeS: number): Scenario => ({
  name: `steady-${callers}x${tabs}-${lifeS}s`,
  callers,
  tabs,
  lifeS,
  hostile: false,
  skewMs: 0,
  durationMs: DAY,
  seed: SEED,
});
const hostile = (callers: number, tabs: number, lifeS: number, skewMinutes: number): Scenario => ({
  ...steady(callers, tabs, lifeS),
  name: `hostile-${callers}x${tabs}-${lifeS}s-skew${skewMinutes}m`,
  hostile: true,
  skewMs: skewMinutes * MIN,
});

export const SCENARIOS: Scenario[] = [
  steady(1, 1, 60),
  steady(8, 8, 60),
  steady(100, 4, 60),
  steady(10_000, 1, 60),
  steady(10_000, 8, 60),
  steady(10_000, 8, 3_600),
  hostile(1, 1, 60, 0),
  hostile(100, 4, 60, 10),
  hostile(100, 4, 60, -10),
  hostile(10_000, 8, 60, 5),
  hostile(100, 4, 3_600, 10),
  hostile(10_000, 8, 3_600, -10),
];
/** The scenarios drawn as charts, in docs/benchmarks/. */
const CHARTED = [SCENARIOS[7]!, SCENARIOS[11]!];
const HERD_SIZES = [250, 1_000, 2_500, 10_000];

function jobsOf(argv: string[]): number {
  const index = argv.indexOf('--jobs');
  const jobs = index === -1 ? Math.min(2, availableParallelism()) : Number(argv[index + 1]);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error('--jobs takes a positive whole number');
  return jobs;
}

/** Every (scenario, engine) in a process of its own, `jobs` at a time; results in scenario order. */
async function simulateAll(jobs: number): Promise<RunResult[][]> {
  const work = SCENARIOS.flatMap((scenario, s) => enginesFor(scenario).map((engine, e) => ({ scenario, engine, s, e })));
  const results: RunResult[][] = SCENARIOS.map(() => []);
  const printed = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { scenario, engine, s, e } = work[next++]!;
      results[s]![e] = await simulateInChild(scenario, engine);
      // Print each scenario's table as soon as it and every scenario before it are done.
      for (let i = 0; i < SCENARIOS.length && results[i]!.filter(Boolean).length === enginesFor(SCENARIOS[i]!).length; i += 1) {
        if (printed.has(i)) continue;
        printed.add(i);
        printTable(`Scenario ${SCENARIOS[i]!.name}: ${describeScenario(SCENARIOS[i]!)}`, runTable(results[i]!));
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}

async function main(): Promise<void> {
  const started = Date.now();
  const jobs = jobsOf(process.argv.slice(2));
  console.log('Hot path (tinybench, one process) ...');
  const hotPath = await runHotPath();
  printTable('Hot path: one held token', hotPathTable(hotPath));

  const herd = await herdCosts(HERD_SIZES);
  const herdTable = {
    head: ['callers waiting on one refresh', 'CPU time until all settled', 'per caller'],
    rows: herd.map((h) => [h.callers.toLocaleString('en-US'), `${h.ms.toFixed(0)} ms`, `${((h.ms * 1000) / h.callers).toFixed(0)} µs`]),
  };
  printTable('Herd: sessionchart getToken() calls arriving during one refresh', herdTable);

  let sizes: SizeRow[] | null = null;
  let coreParts: Map<string, number> | null = null;
  if (isBuilt()) {
    sizes = await measureSizes();
    printTable('Bundle size per entry point (size-limit, min+gzip, with dependencies)', sizeTable(sizes));
    const core = (await sizeChecks()).find((check) => check.name === 'sessionchart')!;
    coreParts = (await bundleInputs(core)).bytes;
    printTable('What the core entry is made of (minified, before gzip)', compositionTable(coreParts));
  } else {
    console.log('\nBundle sizes skipped: dist/ is missing (npm run build first).');
  }

  const runCount = SCENARIOS.reduce((total, scenario) => total + enginesFor(scenario).length, 0);
  console.log(`\nWorkload simulator: ${SCENARIOS.length} scenarios, ${runCount} engine runs, ${jobs} at a time ...`);
  const results = await simulateAll(jobs);
  const ours = results.map((runs) => runs.find((r) => r.engine === 'sessionchart')!);
  printTable("Where sessionchart's requests go", requestTable(ours));

  const targets = targetsOf(hotPath, results, sizes);
  printTable('sessionchart against the issue targets', targetTable(targets));
  const coreBytes = sizes?.find((row) => row.name === 'sessionchart')?.size ?? null;
  const callersCut = results.map((runs) => runs.find((r) => r.engine === 'sessionchart-callers-cut')!);
  const findings = findingsOf({ hotPath, herd, ours, callersCut, coreBytes, coreParts });
  for (const finding of findings) console.log(`\n${finding.replace(/\*\*|`/g, '')}`);

  mkdirSync(join(ROOT, 'docs', 'benchmarks'), { recursive: true });
  const charts = CHARTED.map((scenario) => {
    const file = `benchmarks/timeline-${scenario.name}.svg`;
    const runs = results[SCENARIOS.indexOf(scenario)]!;
    writeFileSync(join(ROOT, 'docs', file), timelineSvg(`${scenario.name}: ${describeScenario(scenario)}`, runs, buildSchedule(scenario)));
    return { file, title: describeScenario(scenario) };
  });
  writeDoc({
    hotPath: hotPathTable(hotPath),
    herd: herdTable,
    sizes: sizes && sizeTable(sizes),
    composition: coreParts && compositionTable(coreParts),
    scenarios: results.map((runs) => ({ title: `${runs[0]!.scenario.name}: ${describeScenario(runs[0]!.scenario)}`, table: runTable(runs) })),
    requests: requestTable(ours),
    targets,
    findings,
    charts,
    jobs,
    totalSeconds: (Date.now() - started) / 1000,
  });
  console.log(`\nWrote docs/benchmarks.md and ${charts.map((c) => `docs/${c.file}`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
