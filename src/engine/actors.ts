import { Observable, map } from 'rxjs';
import { fromCallback, fromEventObservable, fromPromise } from 'xstate';
import { toRefreshFailure } from '../errors.js';
import type { RefreshFunction } from '../types.js';
import { requestMachine } from '../../machines/requestMachine.js';
import { retryDelayMs } from '../../machines/tokenMath.js';
import type {
  RefreshAnswer,
  RefreshInput,
  RefreshTimerInput,
  RequestEvent,
  RequestTimerInput,
  RetryTimerInput,
  SessionEvent,
  SessionReading,
  StoredSession,
  VaultCommand,
} from '../../machines/types.js';
import { parseRefreshAnswer, refreshTokenIn } from './claims.js';
import type { EngineClock } from './clock.js';
import { afterDelay } from './timers.js';
import type { SessionVault } from './vault.js';

type RequestActors = Parameters<typeof requestMachine.provide>[0] extends { actors?: infer A } ? NonNullable<A> : never;

export const newSessionKey = (): string => `session-${globalThis.crypto.randomUUID()}`;

/**
 * Calls the user's `refresh` and parses its answer, its life counted from the moment the request was sent.
 * Anything `refresh` throws (or returns that is not a token set) becomes a typed failure, with its time.
 */
export function createTokenFetcher(refresh: RefreshFunction, sessionKeyClaims: readonly string[], clock: EngineClock) {
  return async (input: RefreshInput, signal: AbortSignal): Promise<RefreshAnswer> => {
    const sentAt = clock.now();
    let set: unknown;
    try {
      set = await refresh({ session: input.session, refreshToken: input.refreshToken, reason: input.reason, signal });
    } catch (error) {
      return { error: toRefreshFailure(error), receivedAt: clock.now() };
    }
    try {
      const token = parseRefreshAnswer(set, { at: sentAt, fromWall: clock.fromWall, keyClaims: sessionKeyClaims });
      // An opaque token that fetches a rotated session needs an identity of its own.
      const named = token.sessionKey === null && input.reason === 'rotated' ? { ...token, sessionKey: newSessionKey() } : token;
      return { token: named, receivedAt: clock.now() };
    } catch (error) {
      // A malformed answer may still bring the refresh token the server rotated to: sending the old one is a replay.
      const refreshToken = refreshTokenIn(set);
      return { error: toRefreshFailure(error), ...(refreshToken === undefined ? {} : { refreshToken }), receivedAt: clock.now() };
    }
  };
}

export type TokenFetcher = ReturnType<typeof createTokenFetcher>;

/**
 * `online$` as machine events, repeats dropped. A stream that errors or completes (or cannot be subscribed to)
 * leaves the engine as if always online: it never stops the engine nor leaves it offline for good.
 */
function networkEvents(online$: Observable<boolean>, clock: EngineClock): Observable<SessionEvent> {
  return new Observable<SessionEvent>((subscriber) => {
    let last: boolean | undefined;
    const report = (up: boolean) => {
      if (up === last) return;
      last = up;
      subscriber.next(up ? { type: 'env.online', now: clock.now() } : { type: 'env.offline' });
    };
    const endAsOnline = () => {
      report(true);
      subscriber.complete();
    };
    try {
      const subscription = online$.subscribe({ next: (up) => report(up !== false), error: endAsOnline, complete: endAsOnline });
      return () => subscription.unsubscribe();
    } catch {
      endAsOnline();
      return undefined;
    }
  });
}

/** `resume$` as `env.wake` events; a stream that errors or completes simply ends (no more wake signals). */
function wakeEvents(resume$: Observable<unknown>, clock: EngineClock): Observable<SessionEvent> {
  return new Observable<SessionEvent>((subscriber) => {
    const end = () => subscriber.complete();
    try {
      const subscription = resume$.subscribe({ next: () => subscriber.next({ type: 'env.wake', now: clock.now() }), error: end, complete: end });
      return () => subscription.unsubscribe();
    } catch {
      end();
      return undefined;
    }
  });
}

export interface RuntimeActorOptions {
  /** The request child's `refreshToken`: calls the user's `refresh`. */
  refreshToken: (input: RefreshInput, signal: AbortSignal) => Promise<RefreshAnswer>;
  /** The request child's side of the cross-tab protocol (lock and store), when tabs share the session. */
  tabs?: Partial<RequestActors>;
  /** Where the session is kept between starts, if it is. */
  vault?: SessionVault | null;
  online$: Observable<boolean>;
  resume$: Observable<unknown>;
  clock: EngineClock;
  random?: () => number;
}

/** The effects the machine names, filled in for a real runtime. */
export function runtimeActors(options: RuntimeActorOptions) {
  const { clock } = options;
  const vault = options.vault ?? null;
  const random = options.random ?? Math.random;
  return {
    request: requestMachine.provide({
      actors: {
        ...options.tabs,
        ...(vault && { writeToken: fromPromise<void, StoredSession>(({ input }) => vault.save(input)) }),
        refreshToken: fromPromise<RefreshAnswer, RefreshInput>(({ input, signal }) => options.refreshToken(input, signal)),
        waitForTimeout: fromEventObservable<RequestEvent, RequestTimerInput>(({ input }) =>
          afterDelay(input.timeoutMs, clock.now).pipe(map((now): RequestEvent => ({ type: 'timer.requestTimeout', now }))),
        ),
      },
    }),
    waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(({ input }) =>
      afterDelay(input.at - input.now, clock.now).pipe(map((now): SessionEvent => ({ type: 'timer.refreshDue', now }))),
    ),
    waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(({ input }) => {
      const delayMs = retryDelayMs(input.attempt, input.retry, input.retryAfterMs, random);
      return afterDelay(delayMs, clock.now).pipe(map((now): SessionEvent => ({ type: 'timer.retryDue', now })));
    }),
    watchNetwork: fromEventObservable<SessionEvent, void>(() => networkEvents(options.online$, clock)),
    watchResume: fromEventObservable<SessionEvent, void>(() => wakeEvents(options.resume$, clock)),
    ...(vault && {
      keepSession: fromCallback<VaultCommand>(({ receive }) =>
        receive((command) => void (command.type === 'vault.save' ? vault.save(command.stored, command.toTabs) : vault.clear())),
      ),
      readSession: fromPromise<SessionReading>(async () => ({ stored: await vault.read(), now: clock.now() })),
    }),
  };
}
