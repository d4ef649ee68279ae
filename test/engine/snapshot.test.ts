import { describe, expect, it, vi } from 'vitest';
import { NetworkError } from '../../src/index.js';
import { T0, createHarness, flush, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

describe('peekToken', () => {
  it('returns the held token synchronously while it is valid', () => {
    const h = createHarness();
    expect(h.peekToken()).toBeNull();
    const { accessToken } = h.signIn();
    expect(h.peekToken()).toBe(accessToken);
  });

  it('has no side effects: no refresh, no change of the machine, even for a stale token', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    vi.setSystemTime(T0 + 50_000);
    const machine = h.engine.actor.getSnapshot();
    expect(h.peekToken()).toBe(accessToken);
    await flush();
    expect(h.engine.actor.getSnapshot()).toBe(machine);
    expect(h.calls).toHaveLength(0);
  });

  it('returns null inside the leeway and after expiry, without starting anything', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    vi.setSystemTime(T0 + 54_999);
    expect(h.peekToken()).toBe(accessToken);
    vi.setSystemTime(T0 + 55_000);
    expect(h.peekToken()).toBeNull();
    vi.setSystemTime(T0 + 61_000);
    expect(h.peekToken()).toBeNull();
    await flush();
    expect(h.calls).toHaveLength(0);
  });

  it('honours leewayMs', () => {
    const h = createHarness({ leewayMs: 0 });
    const { accessToken } = h.signIn();
    vi.setSystemTime(T0 + 59_999);
    expect(h.peekToken()).toBe(accessToken);
    vi.setSystemTime(T0 + 60_000);
    expect(h.peekToken()).toBeNull();
  });
});

describe('getSnapshot', () => {
  it('reports nothing while signed out', () => {
    const h = createHarness();
    expect(h.engine.getSnapshot()).toEqual({
      status: 'signedOut',
      sessionKey: null,
      session: null,
      expiresAt: null,
      issuedAt: null,
      error: null,
      lastRefreshAt: null,
    });
  });

  it('reports the session, the local issue and expiry times and the last refresh; the session stays across refreshes', async () => {
    const h = createHarness();
    h.signIn({ sid: 'sess-42', sub: 'user-4' });
    const session = { sessionKey: 'sess-42', userId: 'user-4', startedAt: T0 };
    expect(h.engine.getSnapshot()).toEqual({
      status: 'fresh',
      sessionKey: 'sess-42',
      session,
      expiresAt: T0 + 60_000,
      issuedAt: T0,
      error: null,
      lastRefreshAt: null,
    });
    const first = h.engine.getSnapshot().session;

    h.reply = (call) => call.respond({ sid: 'sess-42', sub: 'user-4' });
    for (let i = 1; i <= 10; i += 1) {
      await vi.advanceTimersByTimeAsync(45_000);
      expect(h.engine.getSnapshot()).toMatchObject({
        status: 'fresh',
        sessionKey: 'sess-42',
        expiresAt: T0 + i * 45_000 + 60_000,
        issuedAt: T0 + i * 45_000,
        lastRefreshAt: T0 + i * 45_000,
      });
      expect(h.engine.getSnapshot().session).toBe(first);
    }
  });

  it('keeps the session key when a refresh returns a token that names no session', async () => {
    const h = createHarness();
    h.signIn({ sid: 'sess-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().resolve(h.issueOpaque({ expiresIn: 60 }));
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 'sess-1' });
  });

  it('records the last failure in error and clears it after a success', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    const fault = new NetworkError();
    h.lastCall().fail(fault);
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'offline', error: fault, lastRefreshAt: null });
    await vi.advanceTimersByTimeAsync(1_000);
    h.lastCall().respond();
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', error: null, lastRefreshAt: T0 + 46_000 });
  });

  it('returns the same object while nothing changes', async () => {
    const h = createHarness();
    h.signIn();
    const first = h.engine.getSnapshot();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.engine.getSnapshot()).toBe(first);
  });
});
