import { describe, expect, it, vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/index.js';
import { T0, createHarness, flush, rejectionOf, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

describe('getToken with a valid held token', () => {
  it('resolves a fresh token at once and makes no request', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    const result = track(h.getToken());
    await flush();
    expect(result.value).toBe(accessToken);
    expect(h.calls).toHaveLength(0);
  });

  it('resolves a stale token at once and starts exactly one background refresh', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    vi.setSystemTime(T0 + 50_000); // inside the 15 s threshold, outside the 5 s leeway
    const first = track(h.getToken());
    const second = track(h.getToken());
    await flush();
    expect(first.value).toBe(accessToken);
    expect(second.value).toBe(accessToken);
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('stale');
  });

  it('does not wait on the refresh already in flight while the held token is valid', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.engine.getSnapshot().status).toBe('refreshing');
    const result = track(h.getToken());
    await flush();
    expect(result.value).toBe(accessToken);
    expect(h.calls).toHaveLength(1);
  });
});

describe('getToken without a valid token', () => {
  it('makes concurrent callers share one refresh', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const results = [h.getToken(), h.getToken(), h.getToken()];
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('expired');
    const tracked = results.map(track);
    await flush();
    expect(tracked.every((result) => !result.settled)).toBe(true);
    const { accessToken } = h.lastCall().respond();
    expect(await Promise.all(results)).toEqual([accessToken, accessToken, accessToken]);
    expect(h.calls).toHaveLength(1);
  });

  it('rejects with code network when the network is down and keeps the session', async () => {
    const h = createHarness({ online: false });
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    expect((await rejectionOf(h.getToken())).code).toBe('network');
    const snapshot = h.engine.getSnapshot();
    expect(snapshot.status).not.toBe('signedOut');
    expect(snapshot.sessionKey).toBe('s1');
  });

  it('rejects with code network when its attempt fails, and retries go on in the background', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const result = h.getToken();
    await flush();
    h.lastCall().fail();
    expect((await rejectionOf(result)).code).toBe('network');
    expect(h.engine.getSnapshot().sessionKey).toBe('s1');

    await vi.advanceTimersByTimeAsync(999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('retry');
    const { accessToken } = h.lastCall().respond();
    expect(await h.getToken()).toBe(accessToken);
  });

  it('during a backoff, rejects with code network at once and sends nothing; the backoff decides', async () => {
    const h = createHarness({ retry: { baseMs: 60_000, maxMs: 60_000, jitter: false } });
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const first = h.getToken();
    await flush();
    const fault = new NetworkError('upstream 503');
    h.lastCall().fail(fault);
    await rejectionOf(first);

    const second = (await rejectionOf(h.getToken())) as NetworkError;
    expect(second.code).toBe('network');
    expect(second.cause).toBe(fault);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
  });

  it('waits for a request already in flight, even during an outage', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const first = h.getToken();
    h.online$.next(false);
    const second = h.getToken();
    const { accessToken } = h.lastCall().respond();
    expect(await Promise.all([first, second])).toEqual([accessToken, accessToken]);
    expect(h.calls).toHaveLength(1);
  });

  it('resolves null after an AuthError and the session ends', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const result = h.getToken();
    await flush();
    h.lastCall().fail(new AuthError());
    expect(await result).toBeNull();
    const snapshot = h.engine.getSnapshot();
    expect(snapshot.status).toBe('signedOut');
    expect(snapshot.sessionKey).toBeNull();
    expect(snapshot.error?.code).toBe('auth');
    expect(await h.getToken()).toBeNull();
  });

  it('resolves null while signed out, forced or not, without a request', async () => {
    const h = createHarness();
    expect(await h.getToken()).toBeNull();
    expect(await h.getToken({ forceRefresh: true })).toBeNull();
    expect(h.calls).toHaveLength(0);
  });
});

describe('getToken({ forceRefresh: true })', () => {
  it('resolves a newly fetched token even while the held one is fresh', async () => {
    const h = createHarness();
    const held = h.signIn();
    const result = track(h.getToken({ forceRefresh: true }));
    await flush();
    expect(result.settled).toBe(false);
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('forced');
    const { accessToken } = h.lastCall().respond();
    await flush();
    expect(result.value).toBe(accessToken);
    expect(accessToken).not.toBe(held.accessToken);
    expect(h.peekToken()).toBe(accessToken);
  });

  it('makes concurrent forced calls share one request', async () => {
    const h = createHarness();
    h.signIn();
    const results = [h.getToken({ forceRefresh: true }), h.getToken({ forceRefresh: true })];
    await flush();
    expect(h.calls).toHaveLength(1);
    const { accessToken } = h.lastCall().respond();
    expect(await Promise.all(results)).toEqual([accessToken, accessToken]);
  });

  it('rejects with code network on a network fault and keeps the held token', async () => {
    const h = createHarness();
    const held = h.signIn();
    const result = h.getToken({ forceRefresh: true });
    await flush();
    h.lastCall().fail();
    expect((await rejectionOf(result)).code).toBe('network');
    expect(h.peekToken()).toBe(held.accessToken);
    expect(await h.getToken()).toBe(held.accessToken);
    expect(h.engine.getSnapshot().sessionKey).toBe('s1');
  });

  it('resolves null when the forced request meets an AuthError', async () => {
    const h = createHarness();
    h.signIn();
    const result = h.getToken({ forceRefresh: true });
    await flush();
    h.lastCall().fail(new AuthError());
    expect(await result).toBeNull();
    expect(h.engine.getSnapshot().status).toBe('signedOut');
  });
});
