import { distinctUntilChanged, map, type Observable } from 'rxjs';
import { fromEventObservable, fromPromise } from 'xstate';
import { toRefreshFailure } from '../errors.js';
import type { RefreshFunction } from '../types.js';
import { retryDelayMs } from '../../machines/tokenMath.js';
import type {
  HeldToken,
  RefreshInput,
  RefreshTimerInput,
  RetryTimerInput,
  SessionEvent,
} from '../../machines/types.js';
import { parseTokenSet } from './claims.js';
import { afterDelay, atTime } from './timers.js';

export interface RuntimeActorOptions {
  fetchToken: TokenFetcher;
  online$: Observable<boolean>;
  resume$: Observable<unknown>;
  random?: () => number;
}

export const newSessionKey = (): string => `session-${globalThis.crypto.randomUUID()}`;

/** The effects the machine names, filled in for a real runtime. */
/** Calls the user's `refresh` and parses its answer; anything it throws becomes a typed failure. */
export function createTokenFetcher(refresh: RefreshFunction, sessionKeyClaims: readonly string[]) {
  return async (input: RefreshInput, signal: AbortSignal): Promise<HeldToken> => {
    let set: unknown;
    try {
      set = await refresh({ session: input.session, refreshToken: input.refreshToken, reason: input.reason, signal });
    } catch (error) {
      throw toRefreshFailure(error);
    }
    const token = parseTokenSet(set, Date.now(), sessionKeyClaims);
    // An opaque token that fetches a rotated session needs an identity of its own.
    return token.sessionKey === null && input.reason === 'rotated' ? { ...token, sessionKey: newSessionKey() } : token;
  };
}

export type TokenFetcher = ReturnType<typeof createTokenFetcher>;

/** The effects the machine names, filled in for a real runtime. */
export function runtimeActors(options: RuntimeActorOptions) {
  const random = options.random ?? Math.random;
  return {
    refreshToken: fromPromise<HeldToken, RefreshInput>(({ input, signal }) => options.fetchToken(input, signal)),
    waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(({ input }) =>
      atTime(input.at).pipe(map((now) => ({ type: 'timer.refreshDue' as const, now }))),
    ),
    waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(({ input }) =>
      afterDelay(retryDelayMs(input.attempt, input.retry, input.retryAfterMs, random)).pipe(
        map((now) => ({ type: 'timer.retryDue' as const, now })),
      ),
    ),
    watchNetwork: fromEventObservable<SessionEvent, void>(() =>
      options.online$.pipe(
        distinctUntilChanged(),
        map((up): SessionEvent => (up ? { type: 'env.online', now: Date.now() } : { type: 'env.offline' })),
      ),
    ),
    watchResume: fromEventObservable<SessionEvent, void>(() =>
      options.resume$.pipe(map((): SessionEvent => ({ type: 'env.wake', now: Date.now() }))),
    ),
  };
}
