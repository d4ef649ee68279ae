import { afterEach, beforeEach, vi } from 'vitest';
import type { RefreshContext } from 'sessionchart';
import { T0 } from 'sessionchart/testing';

/** Fake timers and Date at T0 for every test of the file, installed before any server or engine exists. */
export function useServerClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());
}

/** What an engine hands its `refresh`: here a background refresh with `refreshToken`. */
export const refreshContext = (refreshToken?: string, signal = new AbortController().signal): RefreshContext => ({
  session: null,
  refreshToken,
  reason: 'stale',
  signal,
});
