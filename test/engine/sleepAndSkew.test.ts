import { describe, expect, it, vi } from 'vitest';
import { T0, createHarness, flush, rejectionOf, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

const HOUR = 3_600_000;

describe('laptop sleep (the clock jumps, timers do not fire)', () => {
  it('never serves the expired token on the first read after waking', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 10 * 60_000);
    await flush();
    expect(h.calls).toHaveLength(0); // nothing fired while asleep

    expect(h.peekToken()).toBeNull();
    const result = track(h.getToken());
    await flush();
    expect(result.settled).toBe(false);
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('expired');
    const { accessToken } = h.lastCall().respond();
    await flush();
    expect(result.value).toBe(accessToken);
  });

  it('a resume$ emission re-evaluates at once: a stale token starts its refresh without any timer', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    vi.setSystemTime(T0 + 50_000);
    await flush();
    expect(h.calls).toHaveLength(0);
    h.resume$.next();
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.peekToken()).toBe(accessToken);
  });

  it('a resume$ emission after the token expired fetches a new one at once', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + HOUR);
    h.resume$.next();
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.engine.getSnapshot().status).toBe('refreshing');
  });

  it('a resume$ emission with a still fresh token re-arms the refresh timer from the clock', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 30_000); // the 45 s timer slept too: it would now fire at T0 + 75 s
    h.resume$.next();
    await flush();
    expect(h.calls).toHaveLength(0);
    expect(h.engine.getSnapshot().status).toBe('fresh');
    await vi.advanceTimersByTimeAsync(14_999);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });

  it('a resume$ emission while backing off retries at once', async () => {
    const h = createHarness({ retry: { baseMs: 60_000, jitter: false } });
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().fail();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.calls).toHaveLength(1);
    h.resume$.next();
    await flush();
    expect(h.calls).toHaveLength(2);
  });

  it('getSnapshot after a sleep never says fresh for a stale or expired token; the next getToken moves on', async () => {
    const stale = createHarness();
    const expired = createHarness();
    const held = stale.signIn();
    expired.signIn();
    expect(stale.engine.getSnapshot().status).toBe('fresh');
    vi.setSystemTime(T0 + 50_000);
    expect(stale.engine.getSnapshot().status).toBe('stale');
    expect(await stale.getToken()).toBe(held.accessToken);
    expect(stale.engine.getSnapshot().status).toBe('refreshing');
    vi.setSystemTime(T0 + 70_000);
    expect(expired.engine.getSnapshot().status).toBe('stale');
    const waiting = track(expired.getToken());
    expect(expired.engine.getSnapshot().status).toBe('refreshing');
    expect(expired.lastCall().ctx.reason).toBe('expired');
    await flush();
    expect(waiting.settled).toBe(false);
  });
});

describe('clock skew between this device and the token server', () => {
  it('a local clock 10 min fast: a sign-in token looks expired, so one refresh, then one request per token life', async () => {
    const h = createHarness();
    h.reply = (call) => call.respond({ skewMs: -600_000 });
    h.signIn({ skewMs: -600_000 }); // its exp, read on this clock, passed 9 minutes ago
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]?.ctx.reason).toBe('expired');
    await flush();
    // The answer's life counts from the request's start, and the offset it measured is kept.
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', expiresAt: T0 + 60_000 });
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(h.calls).toHaveLength(1 + HOUR / 45_000);
  });

  it('a local clock 10 min slow never serves a token past its server-side expiry', async () => {
    const h = createHarness({ retry: { jitter: false } });
    const { accessToken } = h.signIn({ skewMs: 600_000 });
    expect(h.engine.getSnapshot().expiresAt).toBe(T0 + 60_000); // an iat in the future reveals the slow clock
    h.reply = (call) => call.fail();

    await vi.advanceTimersByTimeAsync(54_999);
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.peekToken()).toBeNull();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(h.peekToken()).toBeNull();
    expect((await rejectionOf(h.getToken())).code).toBe('network');
  });

  it('a local clock 10 min slow still refreshes once per token life', async () => {
    const h = createHarness();
    h.signIn({ skewMs: 600_000 });
    h.reply = (call) => call.respond({ skewMs: 600_000 });
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(h.calls).toHaveLength(HOUR / 45_000);
  });
});
