import {
  BehaviorSubject,
  Observable,
  ReplaySubject,
  connectable,
  distinctUntilChanged,
  of,
  retry,
  switchMap,
  timer,
} from 'rxjs';
import type { SessionEngine } from '../engine/engine.js';

/**
 * What the mirror is doing: `idle` (nothing to send: signed out, no valid token or no connection),
 * `sending` (an attempt is in flight), `retrying` (the last attempt failed; the next one waits for its backoff),
 * `synced` (the current token, or the sign-out, has reached the backend).
 */
export type SyncStatus = 'idle' | 'sending' | 'retrying' | 'synced';

export interface SyncBackoff {
  /** Default 1_000: the wait after the first failed attempt; it doubles with each further failure. */
  baseMs?: number;
  /** Default 30_000: the longest wait between two attempts. */
  maxMs?: number;
}

export interface SyncOptions {
  /**
   * Hands a token to the backend (may return a promise). `signal` aborts when the token, the session or the
   * connection moves on; the next send starts right after, so a send should stop when it aborts (its result is
   * dropped either way).
   */
  send(token: string, signal: AbortSignal): unknown;
  /**
   * Tells the backend the session ended; called at once on sign-out, whatever the connection. A rotation does
   * not clear: the new session's token replaces the old one as soon as it arrives.
   */
  clear(): unknown;
  /**
   * Whether the transport (a socket, say) is connected. Each connection gets the current token once, so a
   * reconnect re-sends it. Default: always connected.
   */
  transport$?: Observable<boolean>;
  backoff?: SyncBackoff;
}

export interface SessionSync {
  /** Replays the current status. */
  readonly status$: Observable<SyncStatus>;
  /** Stops mirroring: aborts any send in flight and cancels pending retries. */
  stop(): void;
}

/**
 * Runs one call with an AbortSignal as an Observable of statuses. Unsubscribing before it settles aborts the
 * signal, and a result that arrives after that is dropped (the subscriber is closed). A failure emits
 * `retrying` and errors, for `retry` to pick up.
 */
function attempt(call: (signal: AbortSignal) => unknown): Observable<SyncStatus> {
  return new Observable<SyncStatus>((subscriber) => {
    const controller = new AbortController();
    // Like rxjs/fetch's fromFetch: a call that has settled is not aborted by the teardown.
    let settled = false;
    subscriber.next('sending');
    // Called synchronously (a sign-out clears at once); a synchronous throw becomes a rejection.
    new Promise((resolve) => resolve(call(controller.signal))).then(
        () => {
          settled = true;
          subscriber.next('synced');
          subscriber.complete();
        },
        (error: unknown) => {
          settled = true;
          subscriber.next('retrying');
          subscriber.error(error);
        },
      );
    return () => {
      if (!settled) controller.abort();
    };
  });
}

/**
 * Mirrors the engine's session to a backend: each new token is sent once per transport connection, one send at
 * a time, failures retried with capped exponential backoff, and `clear()` called at once on sign-out. A send
 * still in flight when its token, session or connection is superseded is aborted and its result dropped, so it
 * never lands after a sign-out or a rotation.
 *
 * The concurrency lives in operators, not in flags: `switchMap` over the session, the connection and the token
 * cancels whatever the previous value started before the next value's work begins.
 */
export function syncSession(engine: SessionEngine, options: SyncOptions): SessionSync {
  const { send, clear, transport$ = of(true), backoff = {} } = options;
  const baseMs = backoff.baseMs ?? 1_000;
  const maxMs = backoff.maxMs ?? 30_000;
  const withBackoff = retry<SyncStatus>({
    delay: (_error, failures) => timer(Math.min(maxMs, baseMs * 2 ** (failures - 1))),
  });

  // Subscribed once for the life of the sync, so a transport that does not replay its state (a socket's
  // events) is still known when a new session starts listening to it.
  const connected$ = connectable(transport$, {
    connector: () => new ReplaySubject<boolean>(1),
    resetOnDisconnect: false,
  });

  // `token$` replays the current token on subscribe: resubscribing per connection re-sends it on reconnect.
  const sendTokens$ = connected$.pipe(
    distinctUntilChanged(),
    switchMap((connected) => (connected ? engine.token$ : of(null))),
    switchMap((token) => (token === null ? of<SyncStatus>('idle') : attempt((signal) => send(token, signal)).pipe(withBackoff))),
  );
  const clearSession$ = attempt(() => clear()).pipe(withBackoff);

  // One pipeline over the session, so a sign-out first tears down (aborts) the session's send, then clears.
  const sync$ = engine.session$.pipe(
    switchMap((session, index) => {
      if (session !== null) return sendTokens$;
      // `session$` emits distinct values: a null after the first one is a sign-out; the first is the start.
      return index === 0 ? of<SyncStatus>('idle') : clearSession$;
    }),
    distinctUntilChanged(),
  );

  const status$ = new BehaviorSubject<SyncStatus>('idle');
  const subscription = sync$.subscribe((status) => status$.next(status));
  subscription.add(connected$.connect());
  return {
    status$: status$.asObservable(),
    stop() {
      subscription.unsubscribe();
      status$.complete();
    },
  };
}
