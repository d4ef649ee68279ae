import { EMPTY, Observable } from 'rxjs';

/** Emits `value(event)` for each of `types` on `target` (one listener each, removed on unsubscribe). */
function eventsOf<T>(target: EventTarget, types: string[], value: (event: Event) => T | undefined): Observable<T> {
  return new Observable<T>((subscriber) => {
    const listener = (event: Event) => {
      const next = value(event);
      if (next !== undefined) subscriber.next(next);
    };
    for (const type of types) target.addEventListener(type, listener);
    return () => types.forEach((type) => target.removeEventListener(type, listener));
  });
}

/** The browser's online/offline events (starting with `navigator.onLine`), or always online elsewhere. */
export function defaultOnline$(): Observable<boolean> {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') {
    return new Observable<boolean>((subscriber) => {
      subscriber.next(true);
      subscriber.complete();
    });
  }
  return new Observable<boolean>((subscriber) => {
    subscriber.next(navigator.onLine !== false);
    return eventsOf(window, ['online', 'offline'], (event) => event.type === 'online').subscribe(subscriber);
  });
}

/** The page becoming visible, focused or restored from the back/forward cache; nothing outside a browser. */
export function defaultResume$(): Observable<unknown> {
  if (typeof window === 'undefined' || typeof document === 'undefined') return EMPTY;
  return new Observable<unknown>((subscriber) => {
    const visible = eventsOf(document, ['visibilitychange'], (event) =>
      document.visibilityState === 'visible' ? event : undefined,
    ).subscribe(subscriber);
    const resumed = eventsOf(window, ['focus', 'pageshow'], (event) => event).subscribe(subscriber);
    return () => {
      visible.unsubscribe();
      resumed.unsubscribe();
    };
  });
}
