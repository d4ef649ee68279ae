import { Observable, timer, type Subscription } from 'rxjs';

/** Longer delays overflow setTimeout/setInterval and fire at once, so long waits are taken in steps. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Emits once after `ms` of timer time, then completes. A duration, not a wall-clock deadline: a clock set back
 * or forward does not move it. Waits longer than a timer can hold are taken in steps. It emits `now(due)`: a
 * timer never fires early, so the clock has reached at least the time it was armed at plus `ms`.
 */
export function afterDelay(delayMs: number, now: (atLeast?: number) => number): Observable<number> {
  // Whole milliseconds: timers fire on whole ones, and a fraction would make `due` a moment they never reach.
  const ms = Math.ceil(Math.max(delayMs, 0));
  return new Observable<number>((subscriber) => {
    const due = now() + ms;
    let step: Subscription;
    const wait = (left: number) => {
      const delay = Math.min(Math.max(left, 0), MAX_TIMER_DELAY_MS);
      step = timer(delay).subscribe(() => {
        if (left > delay) return wait(left - delay);
        subscriber.next(now(due));
        subscriber.complete();
      });
    };
    wait(ms);
    return () => step.unsubscribe();
  });
}
