import { EMPTY, of } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { createSessionEngine, type RefreshContext } from '../../src/index.js';
import { T0, createHarness, flush, useEngineClock, type HarnessOptions } from '../support/engineHarness.js';
import { signJwt } from '../../src/testing/index.js';

useEngineClock();

const HOUR = 3_600_000;

/** Advances to just before `at` (ms after T0) and to `at`, returning the refresh count at both. */
async function countsAround(h: ReturnType<typeof createHarness>, at: number) {
  await vi.advanceTimersByTimeAsync(at - 1 - (Date.now() - T0));
  const before = h.calls.length;
  await vi.advanceTimersByTimeAsync(1);
  return [before, h.calls.length];
}

describe('background refresh with nobody asking', () => {
  it('refreshes 60 s tokens 15 s before expiry (at 45 s) with reason stale', async () => {
    const h = createHarness();
    h.signIn({ lifeSeconds: 60 });
    expect(await countsAround(h, 45_000)).toEqual([0, 1]);
    expect(h.lastCall().ctx.reason).toBe('stale');
  });

  it('honours refreshThresholdMs', async () => {
    const h = createHarness({ refreshThresholdMs: 20_000 });
    h.signIn({ lifeSeconds: 60 });
    expect(await countsAround(h, 40_000)).toEqual([0, 1]);
  });

  it('refreshes short-lived tokens at half-life (threshold = min(threshold, life / 2))', async () => {
    const h = createHarness({ leewayMs: 1_000 });
    h.signIn({ lifeSeconds: 10 });
    expect(await countsAround(h, 5_000)).toEqual([0, 1]);
    expect(h.lastCall().ctx.reason).toBe('stale');
  });

  it('refreshes a signed-in JWT without iat at half the life left at sign-in (its life counts from then)', async () => {
    // Not the harness's server, which mints every token with an iat: a token from elsewhere, its refresh held.
    const refresh = vi.fn((_: RefreshContext) => new Promise<never>(() => {}));
    const engine = createSessionEngine({ refresh, leewayMs: 1_000, online$: of(true), resume$: EMPTY });
    try {
      engine.signIn({ accessToken: signJwt({ sid: 's1', exp: T0 / 1000 + 20 }), refreshToken: 'r1' });
      await vi.advanceTimersByTimeAsync(9_999);
      expect(refresh).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(refresh.mock.calls[0]![0]).toMatchObject({ reason: 'stale', refreshToken: 'r1' });
    } finally {
      engine.stop();
    }
  });

  it("schedules the next refresh from the start of the request that fetched the token, not its receipt", async () => {
    const h = createHarness();
    h.signIn({ lifeSeconds: 60 });
    await vi.advanceTimersByTimeAsync(45_000);
    await vi.advanceTimersByTimeAsync(3_000); // the server answers 3 s later
    h.lastCall().respond({ lifeSeconds: 60 });
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ expiresAt: T0 + 105_000, issuedAt: T0 + 45_000, lastRefreshAt: T0 + 48_000 });
    expect(await countsAround(h, 90_000)).toEqual([1, 2]);
  });

  it('keeps serving the held token while the refresh is in flight', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ lifeSeconds: 60 });
    await vi.advanceTimersByTimeAsync(50_000);
    expect(h.calls).toHaveLength(1);
    expect(h.engine.getSnapshot().status).toBe('refreshing');
    expect(h.peekToken()).toBe(accessToken);
    expect(await h.getToken()).toBe(accessToken);
  });
});

describe('tokens that live no longer than the leeway', () => {
  it('are served (the leeway is capped at a quarter of the life) and do not make the engine refresh in a loop', async () => {
    const h = createHarness();
    // Answers at most 20 calls so a loop cannot hang the test run.
    h.reply = (call) => (h.calls.length <= 20 ? void call.respond({ lifeSeconds: 4 }) : undefined);
    const { accessToken } = h.signIn({ lifeSeconds: 4 });
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls.length).toBeLessThanOrEqual(2);
  });
});

describe('one request per token life', () => {
  const cases: Array<{ life: number; lead: number; options: HarnessOptions }> = [
    { life: 60, lead: 15, options: {} },
    { life: 10, lead: 5, options: {} },
    { life: 300, lead: 15, options: {} },
    { life: 60, lead: 30, options: { refreshThresholdMs: 30_000 } },
  ];

  it.each(cases)('$life s tokens with a $lead s lead: duration / (life - lead) requests in an hour', async (c) => {
    const h = createHarness(c.options);
    h.signIn({ lifeSeconds: c.life });
    h.reply = (call) => call.respond({ lifeSeconds: c.life });
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(h.calls).toHaveLength(Math.floor(HOUR / ((c.life - c.lead) * 1_000)));
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's1', error: null });
  });

  it('a one-hour token costs no request in its first 59 min 45 s', async () => {
    const h = createHarness();
    h.signIn({ lifeSeconds: 3_600 });
    expect(await countsAround(h, HOUR - 15_000)).toEqual([0, 1]);
  });

  it('callers reading all the time add no requests', async () => {
    const h = createHarness();
    h.signIn();
    h.reply = (call) => call.respond();
    for (let second = 0; second < 600; second += 1) {
      await h.getToken();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(h.calls).toHaveLength(Math.floor(600_000 / 45_000));
  });
});
