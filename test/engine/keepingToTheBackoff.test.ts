import { describe, expect, it, vi } from 'vitest';
import { NetworkError } from '../../src/index.js';
import { T0, createHarness, flush, useEngineClock, type Harness } from '../support/engineHarness.js';

useEngineClock();

/**
 * Retries keep to the backoff schedule however many callers ask and however many online or wake signals
 * arrive: each backoff step ends with one attempt. Without jitter the schedule is 1 s, 2 s, 4 s ... 30 s.
 */

const MINUTE = 60_000;

/** Start times (ms after the first attempt) the backoff allows within `durationMs`, without jitter. */
function backoffSchedule(durationMs: number, { baseMs = 1_000, maxMs = 30_000 } = {}): number[] {
  const times = [0];
  for (let attempt = 1; ; attempt += 1) {
    const next = times.at(-1)! + Math.min(maxMs, baseMs * 2 ** (attempt - 1));
    if (next >= durationMs) return times;
    times.push(next);
  }
}

/** Signed in; the token expired while the device slept; the server fails every request at once. */
function outage(h: Harness, error: () => Error = () => new NetworkError()) {
  h.signIn({ sid: 's1' });
  vi.setSystemTime(T0 + 70_000);
  h.reply = (call) => call.fail(error());
}

/** Signed in; the device went offline; the token expired while it slept. */
function deviceOffline(h: Harness) {
  h.signIn({ sid: 's1' });
  h.online$.next(false);
  vi.setSystemTime(T0 + 70_000);
}

/** `count` signals, one a millisecond. */
async function storm(count: number, signal: (index: number) => void) {
  for (let index = 0; index < count; index += 1) {
    signal(index);
    await vi.advanceTimersByTimeAsync(1);
  }
}

/** Calls getToken `perSecond` times a second for `durationMs`; every call settles at once or after its attempt. */
async function callers(h: Harness, durationMs: number, perSecond: number) {
  const every = 1_000 / perSecond;
  for (let elapsed = 0; elapsed < durationMs; elapsed += every) {
    void h.getToken();
    await vi.advanceTimersByTimeAsync(every);
  }
}

const startTimes = (h: Harness) => h.calls.map((call) => call.at - h.calls[0]!.at);

describe('callers with no valid token during an outage', () => {
  it('send nothing beyond the backoff schedule: 3 minutes at 100 calls a second with the server down', async () => {
    const h = createHarness({ retry: { jitter: false } });
    outage(h);
    await callers(h, 3 * MINUTE, 100);
    expect(startTimes(h)).toEqual(backoffSchedule(3 * MINUTE));
    expect(h.calls.slice(1).every((call) => call.ctx.reason === 'retry')).toBe(true);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey: 's1' });
  });

  it('send nothing at all while the device is offline, and one request when it is back', async () => {
    const h = createHarness();
    deviceOffline(h);
    await callers(h, 3 * MINUTE, 100);
    expect(h.calls).toHaveLength(0);
    h.online$.next(true);
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('resume');
  });
});

describe('storms of signals during an outage start at most one attempt per backoff step', () => {
  it('1,000 online$ flips in a second: one attempt, then the next when its step has passed', async () => {
    const h = createHarness({ retry: { jitter: false } });
    outage(h);
    await h.getToken().catch(() => null); // attempt 1 fails: a 1 s step, which a signal may cut short
    await storm(1_000, (flip) => h.online$.next(flip % 2 === 1));
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('resume');
    // That attempt (at 1 ms) was a signal's: its step of 2 s is waited out whatever else arrives.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(3);
    expect(h.lastCall().ctx.reason).toBe('retry');
  });

  it('1,000 wake events in a second with the server down: one attempt', async () => {
    const h = createHarness({ retry: { jitter: false } });
    outage(h);
    await h.getToken().catch(() => null);
    await storm(1_000, () => h.resume$.next());
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('resume');
  });

  it('1,000 wake events with the device offline: none', async () => {
    const h = createHarness();
    deviceOffline(h);
    await storm(1_000, () => h.resume$.next());
    expect(h.calls).toHaveLength(0);
  });
});

describe("a server's Retry-After that makes no sense", () => {
  it.each([Number.NaN, -5_000, Infinity])('%s is ignored: the backoff alone decides, no tight loop', async (retryAfterMs) => {
    const h = createHarness({ retry: { jitter: false } });
    outage(h, () => new NetworkError('503', { retryAfterMs }));
    await h.getToken().catch(() => null);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(startTimes(h)).toEqual(backoffSchedule(10_000));
  });
});

describe('a clock set back', () => {
  it('does not delay the next retry: backoffs are durations', async () => {
    const h = createHarness({ retry: { jitter: false } });
    outage(h);
    await h.getToken().catch(() => null);
    vi.setSystemTime(Date.now() - 10 * MINUTE);
    await vi.advanceTimersByTimeAsync(999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
  });
});
