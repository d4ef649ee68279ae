import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS } from '../../src/engine/timers.js';
import { T0, createHarness, flush, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

/** A caller of getToken waits on the network at most refreshTimeoutMs, and a timer too long to set does not make that 0. */

describe("a caller's wait", () => {
  it('with a refreshTimeoutMs above the longest timer, is not cut short at once', async () => {
    const h = createHarness({ refreshTimeoutMs: MAX_TIMER_DELAY_MS + 1 });
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const waiting = track(h.getToken());
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.calls).toHaveLength(1);
    expect(waiting.settled).toBe(false);
    h.lastCall().respond();
    await flush();
    expect(waiting.value).toEqual(expect.any(String));
  });
});
