import { describe, expect, it, vi } from 'vitest';
import { NetworkError } from '../../src/index.js';
import { T0, createHarness, flush, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

const gaps = (times: number[]) => times.slice(1).map((time, i) => time - (times[i] as number));

describe('network down (online$ false)', () => {
  it('reports offline and serves the held token while it is valid, without any request', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    h.online$.next(false);
    expect(h.engine.getSnapshot().status).toBe('offline');

    await vi.advanceTimersByTimeAsync(30_000);
    expect(await h.getToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(20_000); // stale by now
    expect(await h.getToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(5_000); // inside the leeway
    expect(h.peekToken()).toBeNull();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(h.calls).toHaveLength(0);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey: 's1' });
  });

  it('signing in while down keeps the token served and makes no request', async () => {
    const h = createHarness({ online: false });
    const { accessToken } = h.signIn();
    expect(h.engine.getSnapshot().status).toBe('offline');
    expect(await h.getToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.calls).toHaveLength(0);
  });

  it('retries at once when online$ turns true', async () => {
    const h = createHarness();
    h.signIn();
    h.online$.next(false);
    await vi.advanceTimersByTimeAsync(70_000);
    expect(h.calls).toHaveLength(0);

    h.online$.next(true);
    await flush();
    expect(h.calls).toHaveLength(1);
    const { accessToken } = h.lastCall().respond();
    await flush();
    expect(h.engine.getSnapshot().status).toBe('fresh');
    expect(await h.getToken()).toBe(accessToken);
  });

  it('coming back with a fresh token re-arms the refresh timer', async () => {
    const h = createHarness();
    h.signIn();
    h.online$.next(false);
    await vi.advanceTimersByTimeAsync(10_000);
    h.online$.next(true);
    expect(h.engine.getSnapshot().status).toBe('fresh');
    await vi.advanceTimersByTimeAsync(34_999);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });

  it('a request that fails after the network went down waits for online$ once its backoff has passed', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    h.online$.next(false);
    h.lastCall().fail();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(h.calls).toHaveLength(1);
    expect(h.engine.getSnapshot().status).toBe('offline');
    h.online$.next(true);
    await flush();
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('resume');
  });
});

describe('failed refreshes', () => {
  it('back off exponentially up to maxMs (without jitter: 1 s, 2 s, 4 s, 8 s, 8 s ...)', async () => {
    const h = createHarness({ retry: { jitter: false, maxMs: 8_000 } });
    h.signIn();
    h.reply = (call) => call.fail();
    await vi.advanceTimersByTimeAsync(100_000);
    const times = h.calls.map((call) => call.at - T0);
    expect(times).toEqual([45_000, 46_000, 48_000, 52_000, 60_000, 68_000, 76_000, 84_000, 92_000, 100_000]);
    expect(h.calls.slice(1).every((call) => call.ctx.reason === 'retry')).toBe(true);
    expect(h.engine.getSnapshot().status).toBe('offline');
  });

  it('honour baseMs and factor', async () => {
    const h = createHarness({ retry: { jitter: false, baseMs: 500, factor: 3 } });
    h.signIn();
    h.reply = (call) => call.fail();
    await vi.advanceTimersByTimeAsync(45_000 + 500 + 1_500 + 4_500);
    expect(gaps(h.calls.map((call) => call.at))).toEqual([500, 1_500, 4_500]);
  });

  it('use the default cap of 30 s', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    h.reply = (call) => call.fail();
    await vi.advanceTimersByTimeAsync(45_000 + 1_000 + 2_000 + 4_000 + 8_000 + 16_000 + 30_000 + 30_000);
    expect(gaps(h.calls.map((call) => call.at))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('with the default jitter wait between half and all of the backoff', async () => {
    const h = createHarness();
    h.signIn();
    h.reply = (call) => call.fail();
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(501);
    expect(h.calls).toHaveLength(2);
  });

  it('take a NetworkError retryAfterMs as a floor for the next wait, never as a shortcut', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().fail(new NetworkError(undefined, { retryAfterMs: 10_000 }));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);

    h.lastCall().fail(new NetworkError(undefined, { retryAfterMs: 100 })); // attempt 2: 2 s backoff wins
    await vi.advanceTimersByTimeAsync(1_999);
    expect(h.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(3);
  });

  it('never sign out on network faults, and the backoff resets after a success', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    h.reply = (call) => call.fail(new Error('socket hang up'));
    await vi.advanceTimersByTimeAsync(2 * 3_600_000);
    const snapshot = h.engine.getSnapshot();
    expect(snapshot).toMatchObject({ status: 'offline', sessionKey: 's1' });
    expect(snapshot.error?.code).toBe('network');

    h.reply = (call) => call.respond();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's1', error: null });
    const recovered = h.calls.length;

    // The next failure waits the base delay again, not the cap.
    h.reply = null;
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().fail();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(recovered + 2);
  });
});

/** By default callers with no valid token are told at once and send nothing: the backoff decides. */
describe('callers keep to the backoff', () => {
  it('reject with NetworkError at once during a Retry-After, and the one retry comes when it has passed', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn();
    vi.setSystemTime(T0 + 58_000); // the token is inside its leeway and the timer slept
    const first = h.getToken();
    h.lastCall().fail(new NetworkError(undefined, { retryAfterMs: 60_000 }));
    await expect(first).rejects.toMatchObject({ code: 'network' });
    for (let second = 1; second <= 59; second += 1) {
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(h.engine.getToken()).rejects.toMatchObject({ code: 'network' });
    }
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('retry');
    const { accessToken } = h.lastCall().respond();
    expect(await h.getToken()).toBe(accessToken);
  });

  it('reject with NetworkError at once while online$ is false, without a request', async () => {
    const h = createHarness();
    h.signIn();
    h.online$.next(false);
    vi.setSystemTime(T0 + 58_000);
    await expect(h.engine.getToken()).rejects.toMatchObject({ code: 'network' });
    await expect(h.engine.getToken()).rejects.toMatchObject({ code: 'network' });
    expect(h.calls).toHaveLength(0);
    h.online$.next(true);
    await flush();
    expect(h.calls).toHaveLength(1);
  });

  it('still get a held valid token at once, and a forced refresh still tries', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    h.online$.next(false);
    expect(await h.getToken()).toBe(accessToken);
    const forced = h.getToken({ forceRefresh: true });
    expect(h.calls).toHaveLength(1);
    const next = h.lastCall().respond();
    expect(await forced).toBe(next.accessToken);
  });
});

/** `retry.callersCutBackoff: true` keeps v0.1's behaviour: a caller with no valid token starts an attempt at once. */
describe('callers that may cut the backoff short', () => {
  const eager = () => createHarness({ retry: { jitter: false, baseMs: 10_000, callersCutBackoff: true } });

  it('a caller during a backoff starts an attempt at once', async () => {
    const h = eager();
    h.signIn();
    await vi.advanceTimersByTimeAsync(60_000);
    h.lastCall().fail();
    await flush();
    const waiting = h.getToken();
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('retry');
    const { accessToken } = h.lastCall().respond();
    expect(await waiting).toBe(accessToken);
  });

  it('a caller while online$ is false starts an attempt at once', async () => {
    const h = eager();
    h.signIn();
    h.online$.next(false);
    vi.setSystemTime(T0 + 58_000);
    const waiting = h.getToken();
    expect(h.calls).toHaveLength(1);
    const { accessToken } = h.lastCall().respond();
    expect(await waiting).toBe(accessToken);
  });
});
