/**
 * The workload simulator: one engine, one scenario, 24 hours of virtual time on @sinonjs/fake-timers.
 * Deterministic: the schedule, the server's latencies and Math.random (the engines' jitter) are seeded.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import FakeTimers from '@sinonjs/fake-timers';
import { decodeClaims } from '../src/testing/index.js';
import { createAuthServer } from './authServer.js';
import { createSimEngine, flushMicrotasks, type EngineName } from './engines.js';
import { Histogram, Timeline, type TimelineData } from './metrics.js';
import { buildSchedule, HOUR, seededRandom, DAY_START, type FaultKind, type Scenario } from './schedule.js';

export interface RunResult {
  engine: EngineName;
  scenario: Scenario;
  calls: number;
  requests: number;
  /** Requests by the fault in force when sent (`offline`: the device said so too). */
  requestsDuring: Record<FaultKind | 'none', number>;
  /** Requests sent before the Retry-After of the last 429 had passed. */
  retryAfterIgnored: number;
  /** The most ms by which one of those came before the Retry-After's end. */
  retryAfterMaxEarlyMs: number;
  /** sessionchart's requests by `RefreshContext.reason`; null for engines that give none. */
  reasons: Record<string, number> | null;
  /** sessionchart's requests whose `AbortSignal` fired before the run's end; null for engines that give none. */
  aborted: number | null;
  /** Refresh amplification: requests / (duration / (life - lead)), lead = min(15 s, life / 2). */
  perLife: number;
  /** Calls that could not settle without timer or network progress. */
  waited: number;
  waitP50: number;
  waitP99: number;
  waitMax: number;
  /** Calls that rejected or resolved no token while the session was still signed in. */
  failed: number;
  /** Tokens served at or after their expiry by the contract's measure: life counted from the request's start. */
  expiredServed: number;
  /** Tokens served at or after their `exp` on the server's own clock (local + the scenario's skew), which no client can read. */
  expiredByServerClock: number;
  /** Sign-outs the scenario never asked for: by faults, or by a server revoking a replayed refresh token. */
  faultSignOuts: number;
  replaySignOuts: number;
  replays: number;
  /** Heap after GC (code space left out: that is the JIT), kB, at the first hour, half-time and the end. */
  heap: { start: number; middle: number; end: number } | null;
  wallMs: number;
  timeline: TimelineData;
}

export interface SimulateOptions {
  /** Samples the heap after a full GC three times; needs `node --expose-gc`. */
  measureHeap?: boolean;
}

/** Live heap in kB after two full GCs, without code space (compiled code grows as the JIT warms up). */
function heapAfterGcKB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('measureHeap needs node --expose-gc');
  gc();
  gc();
  const spaces = getHeapSpaceStatistics().filter((space) => !space.space_name.startsWith('code'));
  return spaces.reduce((total, space) => total + space.space_used_size, 0) / 1024;
}

interface Call {
  tab: number;
  /** The session the call was made in: a sign-out is counted once, by the first call that sees it. */
  sessionId: string;
  startedAt: number;
  settled: boolean;
  waited: boolean;
}

export async function simulate(scenario: Scenario, engineName: EngineName, options: SimulateOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const schedule = buildSchedule(scenario);
  const timeline = new Timeline(scenario.durationMs);
  const waits = new Histogram();
  const counts = { calls: 0, waited: 0, failed: 0, expiredServed: 0, expiredByServerClock: 0, faultSignOuts: 0, replaySignOuts: 0 };
  const realRandom = Math.random;
  const realConsole = { error: console.error, warn: console.warn };
  const clock = FakeTimers.install({
    now: DAY_START,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
  Math.random = seededRandom(scenario.seed ^ 0x5eed);
  // Supabase logs every failed fetch; the failures are counted here instead.
  console.error = console.warn = () => {};
  const auth = createAuthServer({
    lifeS: scenario.lifeS,
    skewMs: scenario.skewMs,
    faults: schedule.faults,
    random: seededRandom(scenario.seed + 1),
    timeline,
  });
  const restore = () => {
    clock.uninstall();
    Math.random = realRandom;
    Object.assign(console, realConsole);
  };
  const { server } = auth;
  const engine = await createSimEngine(engineName, { server, tabs: scenario.tabs }).catch((error: unknown) => {
    restore();
    throw error;
  });
  const heapAt = [DAY_START + HOUR, DAY_START + scenario.durationMs / 2];
  const heapSamples: number[] = [];
  let aborted: number | null = null;
  try {
    let session = auth.signIn();
    engine.signIn(session.body);
    let lastToken = '';
    let lastClaims = { iat: 0, exp: 0 };

    const judge = (token: string) => {
      if (token !== lastToken) [lastToken, lastClaims] = [token, decodeClaims(token) as typeof lastClaims];
      const now = Date.now();
      const sentAt = auth.sentAt(token);
      if (sentAt + (lastClaims.exp - lastClaims.iat) * 1000 <= now) counts.expiredServed += 1;
      if (lastClaims.exp * 1000 <= server.now()) counts.expiredByServerClock += 1;
    };

    const noToken = (call: Call) => {
      if (call.sessionId !== session.sessionId) return; // that sign-out was counted and the user is back
      if (!engine.isSignedOut(call.tab)) {
        counts.failed += 1;
        return;
      }
      // A sign-out nobody asked for: count it, then the user signs in again.
      if (server.session(session.sessionId)?.revoked) counts.replaySignOuts += 1;
      else counts.faultSignOuts += 1;
      session = auth.signIn();
      engine.signIn(session.body);
    };

    const settle = (call: Call, token: string | null | undefined) => {
      call.settled = true;
      if (call.waited) {
        waits.add(Date.now() - call.startedAt);
        timeline.wait(call.startedAt);
      }
      if (typeof token === 'string') judge(token);
      else noToken(call);
    };

    const ask = async (first: number, count: number) => {
      const calls: Call[] = [];
      for (let i = 0; i < count; i += 1) {
        const tab = (first + i) % scenario.callers % scenario.tabs;
        const call: Call = { tab, sessionId: session.sessionId, startedAt: Date.now(), settled: false, waited: false };
        counts.calls += 1;
        calls.push(call);
        engine.getToken(call.tab).then(
          (token) => settle(call, token),
          () => settle(call, undefined),
        );
      }
      await flushMicrotasks();
      for (const call of calls) {
        if (call.settled) continue;
        call.waited = true;
        counts.waited += 1;
      }
    };

    await clock.tickAsync(1_000);
    for (const event of schedule.events) {
      if (event.at > clock.now) await clock.tickAsync(event.at - clock.now);
      if (options.measureHeap && heapSamples.length < heapAt.length && clock.now >= heapAt[heapSamples.length]!) {
        heapSamples.push(heapAfterGcKB());
      }
      if (event.kind === 'ask') await ask(event.first, event.count);
      else if (event.kind === 'online') engine.setOnline(event.up);
      else if (event.kind === 'wake') engine.wake();
      // Sleep: the clock jumps and the device's timers pause with it; the events it slept through come next.
      else clock.setSystemTime(clock.now + event.forMs);
    }
    await clock.tickAsync(Math.max(0, DAY_START + scenario.durationMs - clock.now));
    // Measured while the schedule is still referenced, so its release does not count as the engine's.
    if (options.measureHeap && schedule.events.length > 0) heapSamples.push(heapAfterGcKB());
    // Before stop(), which aborts a request still in flight by design.
    aborted = engine.aborted ?? null;
  } finally {
    engine.stop();
    restore();
  }

  const leadS = Math.min(15, scenario.lifeS / 2);
  const ideal = scenario.durationMs / 1000 / (scenario.lifeS - leadS);
  return {
    engine: engineName,
    scenario,
    calls: counts.calls,
    requests: server.counters.requests,
    requestsDuring: { ...auth.requestsDuring },
    retryAfterIgnored: server.counters.earlyRetries,
    retryAfterMaxEarlyMs: server.counters.earlyRetryMaxMs,
    reasons: engine.reasons ? { ...engine.reasons } : null,
    aborted,
    perLife: server.counters.requests / ideal,
    waited: counts.waited,
    waitP50: waits.quantile(0.5),
    waitP99: waits.quantile(0.99),
    waitMax: waits.max,
    failed: counts.failed,
    expiredServed: counts.expiredServed,
    expiredByServerClock: counts.expiredByServerClock,
    faultSignOuts: counts.faultSignOuts,
    replaySignOuts: counts.replaySignOuts,
    replays: server.counters.replays,
    heap: heapSamples.length === 3 ? { start: heapSamples[0]!, middle: heapSamples[1]!, end: heapSamples[2]! } : null,
    wallMs: performance.now() - started,
    timeline: timeline.data(),
  };
}
