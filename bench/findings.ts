/**
 * The "Why sessionchart misses" section of docs/benchmarks.md: one paragraph per miss that this run
 * shows, each with its figures and the part of the machine or engine it comes from. A paragraph is left
 * out when its figures say the miss is gone.
 */
import { ROW, type HotPathRow } from './micro.js';
import type { RunResult } from './simulate.js';

export interface FindingInput {
  hotPath: HotPathRow[];
  herd: Array<{ callers: number; ms: number }>;
  /** sessionchart's run of every scenario. */
  ours: RunResult[];
  /** The same with `retry.callersCutBackoff: false`. */
  backoff: RunResult[];
  coreBytes: number | null;
  /** Minified bytes per part of the core bundle (`pkg:<name>`, `own code`). */
  coreParts: Map<string, number> | null;
}

const total = (runs: RunResult[], pick: (r: RunResult) => number) => runs.reduce((sum, r) => sum + pick(r), 0);
const ns = (opsPerSecond: number) => (1e9 / opsPerSecond).toFixed(0);

export function findingsOf({ hotPath, herd, ours, backoff, coreBytes, coreParts }: FindingInput): string[] {
  const found: string[] = [];
  const ops = (name: string) => hotPath.find((row) => row.name === name)!.opsPerSecond;
  const offline = total(ours, (r) => r.requestsDuring.offline);
  const ignored = total(ours, (r) => r.retryAfterIgnored);
  const slowExpired = total(ours, (r) => r.expiredByServer);
  const backoffOffline = total(backoff, (r) => r.requestsDuring.offline);
  const backoffIgnored = total(backoff, (r) => r.retryAfterIgnored);
  const backoffHostile = backoff.filter((r) => r.scenario.hostile).map((r) => r.perLife);
  const backoffLives = `${Math.min(...backoffHostile).toFixed(2)} to ${Math.max(...backoffHostile).toFixed(2)}`;
  const first = herd[0]!;
  const last = herd.at(-1)!;
  const herdGrowth = last.ms / last.callers / (first.ms / first.callers);

  const peekOverClockNs = 1e9 / ops(ROW.peek) - 1e9 / ops(ROW.clock);
  const restOfPeek =
    peekOverClockNs < 1
      ? 'the rest (`actor.getSnapshot()` and `isServable`) is within the noise of the clock read'
      : `the rest, ${peekOverClockNs.toFixed(0)} ns, is \`actor.getSnapshot()\` and \`isServable\``;
  if (ops(ROW.map) / ops(ROW.peek) > 3) {
    found.push(
      `**peekToken is ${(ops(ROW.map) / ops(ROW.peek)).toFixed(1)}x Map.get, not 3x.** It costs ${ns(ops(ROW.peek))} ns; ` +
        `\`Date.now()\` alone costs ${ns(ops(ROW.clock))} ns on this machine (${(ops(ROW.map) / ops(ROW.clock)).toFixed(1)}x ` +
        `Map.get); ${restOfPeek}. A peek must read the clock, since a held ` +
        'token may have expired while the device slept and no timer ran, so on this machine the target is out of reach ' +
        'for any engine that checks expiry when asked. The clock read is the operating system\'s: on this VM (clock ' +
        'source in the machine details above) a `clock_gettime` from C costs about as much as `Date.now()`.',
    );
  }
  if (ops(ROW.get) / ops(ROW.supabase) < 20) {
    found.push(
      `**Held-token getToken is ${(ops(ROW.get) / ops(ROW.supabase)).toFixed(1)}x Supabase's getSession, not 20x.** ` +
        `It costs ${ns(ops(ROW.get))} ns: in \`fresh\` with a token fresh by the clock it reads the snapshot and the ` +
        "clock and hands back the token's resolved promise, sending no event (src/engine/engine.ts, `answerWith`); " +
        `the naive async cache, which allocates a promise per call, takes ${ns(ops(ROW.naive))} ns. What is left is the ` +
        `clock read (${ns(ops(ROW.clock))} ns here) and the await itself, which every async getter that checks expiry pays.`,
    );
  }
  if (herdGrowth > 2) {
    found.push(
      `**A herd costs more per caller the larger it is**: ${(first.ms * 1000 / first.callers).toFixed(0)} µs per caller ` +
        `for ${first.callers} waiting callers, ${(last.ms * 1000 / last.callers).toFixed(0)} µs for ` +
        `${last.callers.toLocaleString('en-US')}. Waiting callers send the machine nothing (src/engine/engine.ts, ` +
        '`offer`) and each holds one subscription, so the work per caller should not grow; a growth here is the ' +
        "garbage collector's, or another process's.",
    );
  }
  const contractOnly =
    'The contract asks for both ("With no valid token it starts an attempt at once (cutting any backoff wait ' +
    'short)"), so sessionchart does this by default; `retry.callersCutBackoff: false` is the opt-out, where such a ' +
    'caller gets `NetworkError` at once and retries keep to the backoff, to `online$` and to `resume$` ' +
    `(the sessionchart-backoff rows: ${backoffOffline.toLocaleString('en-US')} requests while offline, ` +
    `${backoffIgnored.toLocaleString('en-US')} before a Retry-After, ${backoffLives} requests per life in the hostile ` +
    'scenarios). Outages and 5xx bursts still cost a retry per backoff step, so no engine that retries meets 1.05 ' +
    'under faults with 3600 s tokens (24 lives a day).';
  if (offline > 0 || ignored > 0) {
    found.push(
      `**${offline.toLocaleString('en-US')} requests while \`online$\` said offline, and ` +
        `${ignored.toLocaleString('en-US')} before a 429's Retry-After had passed** (all scenarios). A \`getToken()\` ` +
        'without a valid token sends `user.request`, which `offline` (waiting or backing off) answers with a new ' +
        "attempt (machines/sessionMachine.ts, `offline.on`): while the device is offline every such caller's request " +
        "fails at once, and callers asking every few seconds retry outages, 5xx bursts and 429s at their pace instead " +
        `of the backoff's. ${contractOnly} (Across tabs a failure is shared: tabs queued on the refresh lock fail ` +
        "with the holder's attempt and its Retry-After instead of each sending a request, src/tabs/tabSync.ts.)",
    );
  }
  if (slowExpired > 0) {
    found.push(
      `**${slowExpired} tokens served after their expiry by the server's clock** (0 by the contract's measure). Expiry ` +
        'is measured from receipt (`receivedAt + (exp - iat)`, src/engine/claims.ts), so a response that takes longer ' +
        'than the 5 s leeway (the slow periods: 4 to 12 s) leaves the local expiry late by the excess. Proposed fix: ' +
        'measure from the time the request was sent (the token was minted after it), which is never late.',
    );
  }
  if (coreBytes !== null && coreParts !== null && coreBytes > 28_000) {
    const all = [...coreParts.values()].reduce((a, b) => a + b, 0);
    const share = (...parts: string[]) => `${((parts.reduce((sum, p) => sum + (coreParts.get(p) ?? 0), 0) / all) * 100).toFixed(0)} %`;
    found.push(
      `**The core entry is ${(coreBytes / 1000).toFixed(2)} kB min+gzip, over its 28 kB budget**, with no adapter in it. ` +
        `Of the minified bytes XState is ${share('pkg:xstate')}, RxJS with the tslib its default ESM build imports ` +
        `${share('pkg:rxjs', 'pkg:tslib')}, jose ${share('pkg:jose')}, idb-keyval ${share('pkg:idb-keyval')} and ` +
        `sessionchart's own code ${share('own code')}. \`test/size.test.ts\` fails until the core shrinks or the budget changes.`,
    );
  }
  return found;
}
