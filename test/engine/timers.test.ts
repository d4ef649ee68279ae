import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, afterDelay, atTime } from '../../src/engine/timers.js';

/** The engine's timers: late at worst, never early, whatever the clock or setTimeout's limits do. */

const T0 = Date.UTC(2025, 0, 1);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

function record(source: ReturnType<typeof atTime>) {
  const seen: number[] = [];
  let done = false;
  const subscription = source.subscribe({ next: (now) => seen.push(now), complete: () => (done = true) });
  return {
    seen,
    get done() {
      return done;
    },
    subscription,
  };
}

describe('atTime', () => {
  it('emits the clock once it reaches the time, then completes', () => {
    const r = record(atTime(T0 + 1_000));
    vi.advanceTimersByTime(999);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([T0 + 1_000]);
    expect(r.done).toBe(true);
  });

  it('emits at once for a time already reached', () => {
    const r = record(atTime(T0 - 5_000));
    vi.advanceTimersByTime(0);
    expect(r.seen).toEqual([T0]);
  });

  it('waits again when the clock was set back while it waited', () => {
    const r = record(atTime(T0 + 1_000));
    vi.setSystemTime(T0 - 10_000);
    vi.advanceTimersByTime(1_000); // fires by the timer, but the clock says T0 - 9 s
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(9_999);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([T0 + 1_000]);
  });

  it('takes waits beyond what setTimeout holds in steps', () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2_147_483_647);
    const r = record(atTime(T0 + MAX_TIMER_DELAY_MS + 1_000));
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([]); // an overflowing delay would have fired at once
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS - 1);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(r.seen).toEqual([T0 + MAX_TIMER_DELAY_MS + 1_000]);
  });

  it('cancels its timer when unsubscribed', () => {
    const r = record(atTime(T0 + 1_000));
    expect(vi.getTimerCount()).toBe(1);
    r.subscription.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2_000);
    expect(r.seen).toEqual([]);
  });
});

describe('afterDelay', () => {
  it('emits the clock once the delay has passed', () => {
    const r = record(afterDelay(2_500));
    vi.advanceTimersByTime(2_499);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([T0 + 2_500]);
  });
});
