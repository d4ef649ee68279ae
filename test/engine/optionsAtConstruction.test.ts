import { EMPTY, of } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { createSessionEngine, type SessionEngineOptions } from '../../src/index.js';

/**
 * Options are checked when the engine is made, where a `try` around createSessionEngine catches them: a wrong
 * type is a TypeError, a figure that is negative, NaN or infinite a RangeError, each naming the option. Nothing
 * is started before: no refresh, no timer. (Unit checks of every option are in engineConfig.test.ts.)
 */

const quiet = { online$: of(true), resume$: EMPTY };

/** What createSessionEngine threw, with what it had started by then (an engine made is stopped at once). */
function construct(options: Record<string, unknown>) {
  const refresh = vi.fn(() => Promise.reject(new Error('unused')));
  vi.useFakeTimers();
  try {
    createSessionEngine({ refresh, ...quiet, ...options } as SessionEngineOptions).stop();
    return { thrown: null, refreshCalls: refresh.mock.calls.length, timers: vi.getTimerCount() };
  } catch (thrown) {
    return { thrown, refreshCalls: refresh.mock.calls.length, timers: vi.getTimerCount() };
  } finally {
    vi.useRealTimers();
  }
}

describe('createSessionEngine with a figure out of range', () => {
  it.each<[string, Record<string, unknown>]>([
    ['leewayMs', { leewayMs: -60_000 }], // would serve tokens a minute past their expiry
    ['leewayMs', { leewayMs: Number.NaN }],
    ['refreshThresholdMs', { refreshThresholdMs: Number.NaN }],
    ['refreshTimeoutMs', { refreshTimeoutMs: Number.NaN }],
    ['refreshTimeoutMs', { refreshTimeoutMs: -1 }],
    ['retry.baseMs', { retry: { baseMs: Number.NaN } }],
    ['retry.maxMs', { retry: { maxMs: Infinity } }],
    ['retry.factor', { retry: { factor: Number.NaN } }],
  ])('throws a RangeError naming %s, and starts nothing', (name, options) => {
    const { thrown, refreshCalls, timers } = construct(options);
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as Error).message).toContain(name);
    expect(refreshCalls).toBe(0);
    expect(timers).toBe(0);
  });
});

describe('createSessionEngine with an option of the wrong type', () => {
  it.each<[string, Record<string, unknown>]>([
    ['refresh', { refresh: 'nope' }],
    ['online$', { online$: true }],
    ['resume$', { resume$: 'visibilitychange' }],
    ['inspect', { inspect: 5 }],
    ['sessionKeyClaims', { sessionKeyClaims: 'sid' }],
  ])('throws a TypeError naming %s synchronously, where a try catches it', (name, options) => {
    const { thrown } = construct(options);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toContain(name);
  });
});
