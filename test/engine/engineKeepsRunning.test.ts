import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionSnapshot } from '../../src/index.js';
import { createHarness, flush, useEngineClock, type Harness } from '../support/engineHarness.js';

useEngineClock();
afterEach(() => vi.restoreAllMocks());

/**
 * What the app plugs in may fail: an environment stream that errors or completes, a listener that throws. None
 * of it stops the engine or reaches a timer (where an uncaught exception ends a Node process; vitest reports any
 * as an unhandled error, so a run of this file without one shows that nothing was rethrown).
 */

/** The engine still does its work: a refresh when due, its answer served. */
async function refreshesOnSchedule(h: Harness) {
  const before = h.calls.length;
  await vi.advanceTimersByTimeAsync(45_000);
  expect(h.calls).toHaveLength(before + 1);
  const { accessToken } = h.lastCall().respond();
  await flush();
  expect(h.engine.getSnapshot().status).toBe('fresh');
  expect(await h.getToken()).toBe(accessToken);
}

describe('environment streams that end', () => {
  it.each([
    ['errors', (h: Harness) => h.online$.error(new Error('the online source failed'))],
    ['completes', (h: Harness) => h.online$.complete()],
  ])('online$ that %s leaves the engine running, as if always online', async (_, end) => {
    const h = createHarness({ online: false });
    h.signIn();
    expect(h.engine.getSnapshot().status).toBe('offline');
    end(h);
    await flush();
    expect(h.engine.actor.getSnapshot().status).toBe('active');
    expect(h.engine.getSnapshot().status).toBe('fresh');
    await refreshesOnSchedule(h);
  });

  it.each([
    ['errors', (h: Harness) => h.resume$.error(new Error('the resume source failed'))],
    ['completes', (h: Harness) => h.resume$.complete()],
  ])('resume$ that %s leaves the engine running', async (_, end) => {
    const h = createHarness();
    h.signIn();
    end(h);
    await flush();
    expect(h.engine.actor.getSnapshot().status).toBe('active');
    await refreshesOnSchedule(h);
  });
});

describe('listeners that throw', () => {
  it('go to onError; the engine and the other listeners go on, from timers and answers too', async () => {
    const onError = vi.fn();
    const h = createHarness({ onError });
    const statuses: string[] = [];
    const tokens: Array<string | null> = [];
    h.engine.subscribe(() => {
      throw new Error('subscribe listener');
    });
    h.engine.subscribe((snapshot: SessionSnapshot) => statuses.push(snapshot.status));
    h.engine.session$.subscribe(() => {
      throw new Error('session$ listener');
    });
    h.engine.token$.subscribe(() => {
      throw new Error('token$ listener');
    });
    h.engine.token$.subscribe((token) => tokens.push(token));

    const first = h.signIn().accessToken;
    await vi.advanceTimersByTimeAsync(45_000); // the refresh timer moves the machine: listeners run from a timer
    const second = h.lastCall().respond().accessToken;
    await flush();

    expect(statuses).toEqual(['fresh', 'stale', 'refreshing', 'fresh']);
    expect(tokens).toEqual([null, first, second]);
    const reported = onError.mock.calls.map(([error]) => (error as Error).message);
    expect(new Set(reported)).toEqual(new Set(['subscribe listener', 'session$ listener', 'token$ listener']));
    expect(reported.filter((message) => message === 'subscribe listener')).toHaveLength(4);
    expect(h.engine.actor.getSnapshot().status).toBe('active');
  });

  it.each([
    ['a function', (fail: () => never) => fail],
    ['an observer', (fail: () => never) => ({ next: fail })],
  ])('an inspector (%s) that throws goes to onError: the engine starts, refreshes and serves on', async (_, inspector) => {
    const onError = vi.fn();
    const h = createHarness({
      onError,
      inspect: inspector(() => {
        throw new Error('inspector failed');
      }),
    });
    h.signIn();
    await refreshesOnSchedule(h);
    expect(h.engine.actor.getSnapshot().status).toBe('active');
    expect(onError).toHaveBeenCalled();
    expect(new Set(onError.mock.calls.map(([error]) => (error as Error).message))).toEqual(new Set(['inspector failed']));
  });

  it('an onError that throws too is the end of it: nothing escapes', async () => {
    const h = createHarness({
      onError: () => {
        throw new Error('onError failed');
      },
    });
    h.engine.subscribe(() => {
      throw new Error('subscribe listener');
    });
    h.signIn();
    await refreshesOnSchedule(h);
  });

  it('by default go to console.error, without token text', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const h = createHarness();
    h.engine.token$.subscribe((token) => {
      if (token !== null) throw new Error(`cannot store ${token}`);
    });
    const { accessToken } = h.signIn();
    expect(logged).toHaveBeenCalledOnce();
    const text = logged.mock.calls.flat().map(String).join(' ');
    expect(text).toContain('cannot store');
    expect(text).not.toContain(accessToken);
  });
});
