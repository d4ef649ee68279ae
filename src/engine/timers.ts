import { Observable, timer, type Subscription } from 'rxjs';

/** Longer delays overflow setTimeout/setInterval and fire at once, so long waits are taken in steps. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const clampDelay = (ms: number) => Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS);

/**
 * Emits `Date.now()` once the local clock has reached `at`, then completes. Each step is an RxJS `timer`;
 * the clock decides whether the wait is over (a step may end early after the clock was set back).
 */
export function atTime(at: number): Observable<number> {
  return new Observable<number>((subscriber) => {
    let step: Subscription;
    const wait = () => {
      step = timer(clampDelay(at - Date.now())).subscribe(() => {
        const now = Date.now();
        if (now < at) return wait();
        subscriber.next(now);
        subscriber.complete();
      });
    };
    wait();
    return () => step.unsubscribe();
  });
}

/** Emits `Date.now()` once after `ms`, then completes. */
export function afterDelay(ms: number): Observable<number> {
  return atTime(Date.now() + ms);
}
