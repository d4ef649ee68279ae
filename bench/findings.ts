/**
 * The "Why sessionchart misses" section of docs/benchmarks.md: one paragraph per miss that this run
 * shows, each with its figures and the part of the machine or engine it comes from. A paragraph is left
 * out when its figures say the miss is gone.
 */
import { ROW, type HotPathRow } from './micro.js';
import { buildSchedule, type FaultKind, type Scenario } from './schedule.js';
import type { RunResult } from './simulate.js';
import { CORE_BUDGET_BYTES, DEFAULTS, range } from './targets.js';

export interface FindingInput {
  hotPath: HotPathRow[];
  herd: Array<{ callers: number; ms: number }>;
  /** sessionchart's run of every scenario, with the defaults. */
  ours: RunResult[];
  /** The same with `retry.callersCutBackoff: true`: v0.1's behaviour. */
  callersCut: RunResult[];
  coreBytes: number | null;
  /** Minified bytes per part of the core bundle (`pkg:<name>`, `own code`). */
  coreParts: Map<string, number> | null;
}

const total = (runs: RunResult[], pick: (r: RunResult) => number) => runs.reduce((sum, r) => sum + pick(r), 0);
const ns = (opsPerSecond: number) => (1e9 / opsPerSecond).toFixed(0);
const count = (value: number) => value.toLocaleString('en-US');

/** Minutes covered by the scenario's fault windows of these kinds (overlaps counted once). */
function faultMinutes(scenario: Scenario, kinds: readonly FaultKind[]): number {
  const windows = buildSchedule(scenario).faults.filter((f) => kinds.includes(f.kind));
  let covered = 0;
  let reached = -Infinity;
  for (const { from, to } of windows) {
    covered += Math.max(0, to - Math.max(from, reached));
    reached = Math.max(reached, to);
  }
  return covered / 60_000;
}

function hotPathFindings(hotPath: HotPathRow[]): string[] {
  const ops = (name: string) => hotPath.find((row) => row.name === name)!.opsPerSecond;
  const found: string[] = [];
  const peekOverClock = ops(ROW.clock) / ops(ROW.peek);
  if (peekOverClock > 1.3) {
    found.push(
      `**peekToken is ${peekOverClock.toFixed(2)}x a bare \`Date.now()\`, not 1.3x.** It costs ${ns(ops(ROW.peek))} ns ` +
        `against the clock's ${ns(ops(ROW.clock))} ns. Beyond the clock read, \`peekToken\` (src/engine/engine.ts) ` +
        "checks that the actor runs (`actor.getSnapshot().status`), compares the reading with the last one for a " +
        'clock set back (`createEngineClock`, src/engine/clock.ts), reads the snapshot again and runs `isServable`.',
    );
  }
  const getOverNaive = ops(ROW.naive) / ops(ROW.get);
  if (getOverNaive > 1.25) {
    found.push(
      `**Held-token getToken is ${getOverNaive.toFixed(2)}x the naive async cache, not 1.25x.** It costs ` +
        `${ns(ops(ROW.get))} ns against ${ns(ops(ROW.naive))} ns. In \`fresh\` with a token fresh by the clock it sends ` +
        'no event: it checks that the actor runs, reads the engine clock (src/engine/clock.ts), the snapshot and ' +
        "`isFresh`, and hands back the token's memoised resolved promise (src/engine/engine.ts, `answerWith`); the " +
        'naive cache reads `Date.now()` and allocates a promise.',
    );
  }
  return found;
}

function herdFinding(herd: FindingInput['herd']): string[] {
  const first = herd[0]!;
  const last = herd.at(-1)!;
  if (last.ms / last.callers / (first.ms / first.callers) <= 2) return [];
  return [
    `**A herd costs more per caller the larger it is**: ${((first.ms * 1000) / first.callers).toFixed(0)} µs per caller ` +
      `for ${first.callers} waiting callers, ${((last.ms * 1000) / last.callers).toFixed(0)} µs for ` +
      `${count(last.callers)}. Waiting callers send the machine nothing (src/engine/engine.ts, ` +
      '`offer`) and each holds one subscription, so the work per caller should not grow; a growth here is the ' +
      "garbage collector's, or another process's.",
  ];
}

function keepingToTheBackoff(ours: RunResult[]): string[] {
  const offline = total(ours, (r) => r.requestsDuring.offline);
  const early = ours.filter((r) => r.retryAfterIgnored > 0);
  const beforeRetryAfter = total(early, (r) => r.retryAfterIgnored);
  const found: string[] = [];
  if (offline > 0) {
    found.push(
      `**${count(offline)} requests while \`online$\` said offline, with the defaults.** Callers should keep to the ` +
        "backoff: `offline` takes a caller's `user.request` only with `callersCutBackoff` (machines/sessionMachine.ts). " +
        `Requests by reason: retry ${count(total(ours, (r) => r.reasons?.retry ?? 0))}, resume ` +
        `${count(total(ours, (r) => r.reasons?.resume ?? 0))}.`,
    );
  }
  if (beforeRetryAfter === 0) return found;
  const where = early.map((r) => `${r.scenario.name} (${r.retryAfterIgnored})`).join(', ');
  const mostEarly = Math.max(...early.map((r) => r.retryAfterMaxEarlyMs));
  found.push(
    `**${count(beforeRetryAfter)} requests before a 429's Retry-After had passed, with the defaults**: ${where}, ` +
      `at most ${mostEarly} ms early. A step after a Retry-After is firm: only its timer ends it (machines/logic.ts, ` +
      "`isFirmWait`), and tabs take up the failure another tab recorded under the lock (src/tabs/tabActors.ts).",
  );
  return found;
}

function simulatorFindings(ours: RunResult[], callersCut: RunResult[]): string[] {
  const found = keepingToTheBackoff(ours);
  const hostile = ours.filter((r) => r.scenario.hostile);
  if (Math.max(...hostile.map((r) => r.perLife)) > 1.05) {
    const worst = hostile.reduce((a, b) => (b.perLife > a.perLife ? b : a));
    const faulted = worst.requestsDuring.outage + worst.requestsDuring['5xx'];
    const minutes = faultMinutes(worst.scenario, ['outage', '5xx']);
    const { baseMs, maxMs } = DEFAULTS.retry;
    found.push(
      `**The hostile scenarios cost ${range(hostile.map((r) => r.perLife))} requests per token life, not at most 1.05.** ` +
        'Faults cost attempts by design: the engine retries through an outage so that the session comes back when ' +
        `the server does. In the worst, ${worst.scenario.name}, ${count(worst.requests)} requests for ` +
        `${count(Math.round(worst.requests / worst.perLife))} ideal: ${count(faulted)} of them during ` +
        `${minutes.toFixed(0)} minutes of outages and 5xx bursts (one every ${((minutes * 60) / Math.max(1, faulted)).toFixed(0)} s), ` +
        `${count(worst.requestsDuring['429'])} in 429 windows, ${count(worst.requestsDuring.offline)} ` +
        `while offline; by reason, ${count(worst.reasons?.retry ?? 0)} backoff retries and ${count(worst.reasons?.resume ?? 0)} ` +
        `after an online or wake signal. The backoff doubles from ${baseMs / 1000} s to ${maxMs / 1000} s (jittered within ` +
        'the upper half), so with 3600 s tokens (24 lives a day) one outage of minutes is enough to pass 1.05 for any ' +
        'engine that retries. With callers as in v0.1 (`callersCutBackoff: true`, the sessionchart-callers-cut rows), ' +
        'where every caller with no valid token starts an attempt: ' +
        `${range(callersCut.filter((r) => r.scenario.hostile).map((r) => r.perLife))} requests per life, ` +
        `${count(total(callersCut, (r) => r.requestsDuring.offline))} while offline, ` +
        `${count(total(callersCut, (r) => r.retryAfterIgnored))} before a Retry-After.`,
    );
  }
  const pastServerExpiry = total(ours, (r) => r.expiredByServerClock);
  const pastContractExpiry = total(ours, (r) => r.expiredServed);
  if (pastServerExpiry > 0 || pastContractExpiry > 0) {
    const where = ours.filter((r) => r.expiredByServerClock + r.expiredServed > 0).map((r) => r.scenario.name);
    found.push(
      `**${count(pastServerExpiry)} tokens served past the server's expiry (${count(pastContractExpiry)} by the ` +
        `contract's measure)**, in ${where.join(', ')}. A refresh answer's expiry counts from the request's start ` +
        "(`sentAt + (exp - iat)`, src/engine/claims.ts, `parseRefreshAnswer`) and the bench's server mints a token " +
        "when the request arrives, so a slow answer alone cannot cause this.",
    );
  }
  const aborted = total(ours, (r) => r.aborted ?? 0);
  if (aborted > 0) {
    found.push(
      `**${count(aborted)} requests aborted with the defaults** (${count(total(ours, (r) => r.faultSignOuts))} sign-outs ` +
        'in the run). Only `signOut()`, `stop()` and refreshTimeoutMs may abort a request (invariant 7); the request ' +
        'child (machines/requestMachine.ts) owns it until it settles.',
    );
  }
  return found;
}

function sizeFinding(coreBytes: number | null, coreParts: Map<string, number> | null): string[] {
  if (coreBytes === null || coreParts === null || coreBytes <= CORE_BUDGET_BYTES) return [];
  const all = [...coreParts.values()].reduce((a, b) => a + b, 0);
  const share = (...parts: string[]) => `${((parts.reduce((sum, p) => sum + (coreParts.get(p) ?? 0), 0) / all) * 100).toFixed(0)} %`;
  return [
    `**The core entry is ${(coreBytes / 1000).toFixed(2)} kB min+gzip, over its ${CORE_BUDGET_BYTES / 1000} kB budget**, with no adapter in it. ` +
      `Of the minified bytes XState is ${share('pkg:xstate')}, RxJS with the tslib its default ESM build imports ` +
      `${share('pkg:rxjs', 'pkg:tslib')}, jose ${share('pkg:jose')}, idb-keyval ${share('pkg:idb-keyval')} and ` +
      `sessionchart's own code ${share('own code')}. \`test/size.test.ts\` fails until the core shrinks or the budget changes.`,
  ];
}

export function findingsOf({ hotPath, herd, ours, callersCut, coreBytes, coreParts }: FindingInput): string[] {
  return [...hotPathFindings(hotPath), ...herdFinding(herd), ...simulatorFindings(ours, callersCut), ...sizeFinding(coreBytes, coreParts)];
}
