import { defer, first, map, repeat, timer, type Observable } from 'rxjs';

/** Longer delays overflow setTimeout/setInterval and fire at once, so long waits are taken in steps. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const clampDelay = (ms: number) => Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS);

/** Emits `Date.now()` once the local clock has reached `at`, then completes. */
export function atTime(at: number): Observable<number> {
  return defer(() => timer(clampDelay(at - Date.now()))).pipe(
    repeat(),
    map(() => Date.now()),
    first((now) => now >= at),
  );
}

/** Emits `Date.now()` once after `ms`, then completes. */
export function afterDelay(ms: number): Observable<number> {
  return atTime(Date.now() + ms);
}
