import type { Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, afterDelay } from '../../src/engine/timers.js';
import { T0 } from '../../src/testing/index.js';

/** The engine's timers are durations: never early, and not moved by a clock set back or forward. */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

function record(source: Observable<number>) {
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

describe('afterDelay', () => {
  it('emits the clock it is given once the delay has passed, then completes', () => {
    const r = record(afterDelay(2_500, () => Date.now() + 7));
    vi.advanceTimersByTime(2_499);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([T0 + 2_507]);
    expect(r.done).toBe(true);
  });

  it('emits at once for a delay already past (zero or negative)', () => {
    const r = record(afterDelay(-5_000, Date.now));
    vi.advanceTimersByTime(0);
    expect(r.seen).toEqual([T0]);
  });

  it('is a duration: a clock set back or forward while it waits does not move it', () => {
    const back = record(afterDelay(1_000, Date.now));
    vi.setSystemTime(T0 - 600_000);
    vi.advanceTimersByTime(1_000);
    expect(back.seen).toEqual([T0 - 599_000]);

    const forward = record(afterDelay(1_000, Date.now));
    vi.setSystemTime(T0 + 600_000);
    vi.advanceTimersByTime(999);
    expect(forward.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(forward.seen).toEqual([T0 + 601_000]);
  });

  it('tells the clock when it fires what time it has at least reached: when it was armed plus the delay', () => {
    const asked: Array<number | undefined> = [];
    const now = (atLeast?: number) => {
      asked.push(atLeast);
      return Math.max(Date.now(), atLeast ?? -Infinity);
    };
    const r = record(afterDelay(1_000, now));
    vi.setSystemTime(T0 - 600_000); // set back while it waits, unseen by any read
    vi.advanceTimersByTime(1_000);
    expect(asked).toEqual([undefined, T0 + 1_000]);
    expect(r.seen).toEqual([T0 + 1_000]);
  });

  it('takes waits beyond what setTimeout holds in steps', () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2_147_483_647);
    const r = record(afterDelay(MAX_TIMER_DELAY_MS + 1_000, Date.now));
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([]); // an overflowing delay would have fired at once
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS - 1);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(r.seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.seen).toEqual([T0 + MAX_TIMER_DELAY_MS + 1_000]);
  });

  it('cancels its timer when unsubscribed, in whichever step it is', () => {
    const r = record(afterDelay(MAX_TIMER_DELAY_MS + 1_000, Date.now));
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(vi.getTimerCount()).toBe(1);
    r.subscription.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2_000);
    expect(r.seen).toEqual([]);
  });
});
