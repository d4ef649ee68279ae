import { Observable, Subscriber, type Observer, type Subscription } from 'rxjs';
import { scrubTokens } from '../errors.js';

/** Where errors thrown by listeners go: the `onError` option, else the console, without token text. */
export type ErrorReporter = (error: unknown) => void;

export function consoleReporter(error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`sessionchart: a listener threw: ${scrubTokens(text)}`);
}

/** Runs a listener; what it throws goes to `report` (itself guarded), never up into the engine or a timer. */
export function guarded(report: ErrorReporter): <A extends unknown[]>(listener: ((...args: A) => void) | undefined, ...args: A) => void {
  return (listener, ...args) => {
    try {
      listener?.(...args);
    } catch (error) {
      try {
        report(error);
      } catch {
        // An onError that throws has nowhere left to report to.
      }
    }
  };
}

/**
 * An Observable whose direct subscribers may throw: RxJS would rethrow their errors from a timer (which ends a
 * Node process); here they go to `report`. Subscribers of a `pipe` of it are RxJS's own again.
 */
export class ShieldedObservable<T> extends Observable<T> {
  constructor(
    private readonly source$: Observable<T>,
    private readonly report: ErrorReporter,
  ) {
    super();
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === 'function' ? { next: observerOrNext } : (observerOrNext ?? {});
    const run = guarded(this.report);
    const inner = this.source$.subscribe({
      next: (value) => run(observer.next?.bind(observer), value),
      error: (error: unknown) => run(observer.error?.bind(observer), error),
      complete: () => run(observer.complete?.bind(observer)),
    });
    // A Subscriber (firstValueFrom, an operator) ends the inner subscription when it unsubscribes itself.
    if (observerOrNext instanceof Subscriber) observerOrNext.add(inner);
    return inner;
  }
}
