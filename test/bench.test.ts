/**
 * The workload simulator behind `npm run bench` (issue 6), on a short hostile scenario: every fault kind,
 * sleeps and a server clock 10 minutes off. Benchmarks are not timed tests: this only checks that the
 * simulator runs and that sessionchart's invariant counters stay at zero, and that those counters do count
 * (a peer that breaks the invariants shows up in them).
 */
import { describe, expect, it } from 'vitest';
import { HOUR, type Scenario } from '../bench/schedule.js';
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
  it('runs sessionchart through faults, sleeps and skew without serving an expired token or signing out', async () => {
    const run = await simulate(scenario(10), 'sessionchart');
    expect(run.calls).toBeGreaterThan(1_000);
    for (const kind of ['outage', 'offline', '5xx', '429'] as const) expect(run.requestsDuring[kind]).toBeGreaterThan(0);
    expect(run.waited).toBeGreaterThan(0); // the faults were felt
    expect({ expiredServed: run.expiredServed, faultSignOuts: run.faultSignOuts, replays: run.replays }).toEqual({
      expiredServed: 0,
      faultSignOuts: 0,
      replays: 0,
    });
  });

  it('counts expired tokens served: Supabase trusts a server clock 10 minutes ahead', async () => {
    const run = await simulate(scenario(10), 'supabase');
    expect(run.expiredServed).toBeGreaterThan(0);
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
