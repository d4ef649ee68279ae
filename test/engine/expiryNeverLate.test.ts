import { describe, expect, it, vi } from 'vitest';
import { T0, createHarness, flush, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

/**
 * A token expires on the local clock no later than on the server's: a refresh answer's life counts from when
 * its request was sent, a sign-in token is judged by its `exp`, and a clock set back never extends a token.
 * The harness fails any test in which a token is served past the server's expiry.
 */

const MINUTE = 60_000;

describe('a refresh answer that took 8 s', () => {
  it("is never served past the server's expiry: sentAt + life, not receipt + life", async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', lifeSeconds: 60 });
    await vi.advanceTimersByTimeAsync(45_000);
    const call = h.lastCall();
    const minted = h.issue({ sid: 's1', lifeSeconds: 60 }); // minted as the request arrives: expires at T0 + 105 s
    await vi.advanceTimersByTimeAsync(8_000);
    call.resolve(minted);
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ expiresAt: T0 + 105_000, issuedAt: T0 + 45_000 });

    // Nobody answers the next refresh (due at 90 s): the token is served until the leeway before 105 s.
    await vi.advanceTimersByTimeAsync(100_000 - 53_000 - 1);
    expect(h.peekToken()).toBe(minted.accessToken);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.peekToken()).toBeNull();
    expect(h.engine.getSnapshot().status).toBe('refreshing');
  });
});

describe('a clock set back 10 minutes', () => {
  it('does not extend the held token: it expires when its life has run, by the timers', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ sid: 's1', lifeSeconds: 60 });
    await vi.advanceTimersByTimeAsync(10_000); // nothing reads the clock meanwhile
    vi.setSystemTime(Date.now() - 10 * MINUTE);
    await vi.advanceTimersByTimeAsync(35_000); // the refresh is due (nobody answers it)
    expect(h.calls).toHaveLength(1);
    // Shown on the wall clock, which now reads 10 minutes earlier.
    expect(h.engine.getSnapshot().expiresAt).toBe(T0 + 60_000 - 10 * MINUTE);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.peekToken()).toBeNull();
  });
});

describe('a sign-in token not minted just now', () => {
  it.each([
    ['issued 10 min ago, expired 5 min ago', { ageSeconds: 10 * 60, lifeSeconds: 5 * 60 }],
    ['expired 23 h ago (a one-hour token)', { ageSeconds: 24 * 3_600, lifeSeconds: 3_600 }],
  ])('%s is not served: the session starts with a refresh', async (_, old) => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1', ...old });
    expect(h.peekToken()).toBeNull();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'refreshing', sessionKey: 's1' });
    expect(h.lastCall().ctx).toMatchObject({ reason: 'expired', refreshToken: 'rt-1' });

    const waiting = track(h.getToken());
    await flush();
    expect(waiting.settled).toBe(false);
    const { accessToken } = h.lastCall().respond({ sid: 's1' });
    await flush();
    expect(waiting.value).toBe(accessToken);
    expect(h.calls).toHaveLength(1);
  });

  it('one issued 50 min ago with 10 min left is served for those 10 min, not for a whole life from now', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ sid: 's1', ageSeconds: 50 * 60, lifeSeconds: 3_600 });
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', expiresAt: T0 + 10 * MINUTE });
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(10 * MINUTE - 15_000 - 1);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });
});
