/**
 * The workload simulator behind `npm run bench` (issues 6 and 11), on a short hostile scenario: every fault
 * kind, sleeps and a server clock 10 minutes off. Benchmarks are not timed tests: this only checks that the
 * simulator runs, that sessionchart with its defaults keeps its counters at zero (no request while offline or
 * before a Retry-After, no token past the server's expiry, no request aborted), and that those counters do
 * count (an engine that breaks the rule shows up in them).
 */
import { describe, expect, it } from 'vitest';
import { buildSchedule, HOUR, type Scenario } from '../bench/schedule.js';
import { simulate } from '../bench/simulate.js';

const MINUTE = 60_000;
const scenario = (skewMinutes: number): Scenario => ({
  name: `short-hostile-skew${skewMinutes}m`,
  callers: 50,
  tabs: 2,
  lifeS: 60,
  hostile: true,
  skewMs: skewMinutes * MINUTE,
  durationMs: 4 * HOUR,
  // A seed whose 4 hours hold every fault kind: outage, offline, 5xx, 429 and slow responses.
  seed: 22,
});

describe('workload simulator', () => {
  it('holds every fault kind in the short scenario', () => {
    const kinds = new Set(buildSchedule(scenario(10)).faults.map((fault) => fault.kind));
    expect([...kinds].sort()).toEqual(['429', '5xx', 'offline', 'outage', 'slow']);
  });

  it('runs sessionchart with its defaults through faults, sleeps and skew: callers keep to the backoff and its Retry-After, no token outlives the server clock, no request is aborted', async () => {
    const run = await simulate(scenario(10), 'sessionchart');
    expect(run.calls).toBeGreaterThan(1_000);
    expect(run.requestsDuring.outage).toBeGreaterThan(0); // the backoff still retries through an outage
    expect(run.waited).toBeGreaterThan(0); // the faults were felt
    expect({
      offline: run.requestsDuring.offline,
      beforeRetryAfter: run.retryAfterIgnored,
      expiredServed: run.expiredServed,
      expiredByServerClock: run.expiredByServerClock,
      aborted: run.aborted,
      faultSignOuts: run.faultSignOuts,
      replays: run.replays,
    }).toEqual({ offline: 0, beforeRetryAfter: 0, expiredServed: 0, expiredByServerClock: 0, aborted: 0, faultSignOuts: 0, replays: 0 });
  });

  it('counts requests while offline and before a Retry-After: callers as in v0.1 (callersCutBackoff: true) send them', async () => {
    const run = await simulate(scenario(10), 'sessionchart-callers-cut');
    expect(run.requestsDuring.offline).toBeGreaterThan(0);
    expect(run.retryAfterIgnored).toBeGreaterThan(1);
  });

  it("counts tokens served past the server's expiry: the naive cache counts a token's life from receipt, with no leeway", async () => {
    const run = await simulate(scenario(0), 'naive');
    expect(run.expiredByServerClock).toBeGreaterThan(0);
  });

  it('counts expired tokens served: Supabase trusts a server clock 10 minutes ahead', async () => {
    const run = await simulate(scenario(10), 'supabase');
    expect(run.expiredServed).toBeGreaterThan(0);
    expect(run.expiredByServerClock).toBeGreaterThan(0);
  });

  it('counts replays: a Firebase wake-up herd sends one request per caller with the same refresh token', async () => {
    const run = await simulate({ ...scenario(0), lifeS: 3_600 }, 'firebase');
    // The third sleep (76 min) outlasts the token's life; 50 callers ask at once when the lid opens.
    expect(run.replays).toBeGreaterThan(40);
    expect(run.expiredServed).toBe(0);
  });

  it('counts fault sign-outs: Supabase drops the session on a 429 once its token has expired', async () => {
    const run = await simulate(scenario(-10), 'supabase');
    expect(run.faultSignOuts).toBeGreaterThan(0);
    expect(run.replaySignOuts).toBe(0);
  });
});
