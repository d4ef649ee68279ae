import { EMPTY, defer, filter, fromEvent, map, merge, of, type Observable } from 'rxjs';

/** The browser's online/offline events (starting with `navigator.onLine`), or always online elsewhere. */
export function defaultOnline$(): Observable<boolean> {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return of(true);
  return merge(
    defer(() => of(navigator.onLine !== false)),
    fromEvent(window, 'online').pipe(map(() => true)),
    fromEvent(window, 'offline').pipe(map(() => false)),
  );
}

/** The page becoming visible, focused or restored from the back/forward cache; nothing outside a browser. */
export function defaultResume$(): Observable<unknown> {
  if (typeof window === 'undefined' || typeof document === 'undefined') return EMPTY;
  return merge(
    fromEvent(document, 'visibilitychange').pipe(filter(() => document.visibilityState === 'visible')),
    fromEvent(window, 'focus'),
    fromEvent(window, 'pageshow'),
  );
}
