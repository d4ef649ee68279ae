import { distinctUntilChanged, filter, firstValueFrom, from, map, merge, type Observable } from 'rxjs';
import type { SessionEngine } from '../engine/engine.js';
import type { SessionInfo, SessionSnapshot } from '../types.js';

/** Convex's `fetchAccessToken` (ConvexProviderWithAuth's `useAuth`, or `ConvexClient.setAuth`). */
export type FetchAccessToken = (args?: { forceRefreshToken?: boolean }) => Promise<string | null>;

/** What Convex's `useAuth` contract asks of an auth provider. */
export interface ConvexAuth {
  readonly isLoading: boolean;
  readonly isAuthenticated: boolean;
  readonly fetchAccessToken: FetchAccessToken;
}

export interface ConvexAuthOptions {
  /**
   * The oldest held token a forced call hands over instead of refreshing (default 10 s, Convex's default
   * `authRefreshTokenLeewaySeconds`). Convex schedules its next forced fetch `(exp - iat) - leeway` after it
   * receives a token, as if it were just minted: an older token would expire in its hands while connected.
   * Raise it together with Convex's leeway.
   */
  maxHandOffAgeMs?: number;
}

export const DEFAULT_MAX_HAND_OFF_AGE_MS = 10_000;

const BACK_IN_FRESH = Symbol('backInFresh');

/** Whether a sign-in is still to be decided (the engine is restoring a session). */
export const isLoadingOf = (snapshot: SessionSnapshot): boolean => snapshot.status === 'restoring';

/**
 * A `fetchAccessToken` for one session identity. The token it last handed out lives in its closure: that is
 * Convex's own memory (it compares tokens as strings), not engine state.
 */
function createFetchAccessToken(engine: SessionEngine, options: ConvexAuthOptions): FetchAccessToken {
  const maxHandOffAgeMs = options.maxHandOffAgeMs ?? DEFAULT_MAX_HAND_OFF_AGE_MS;
  let lastHandedOut: string | null = null;

  /** The first valid token `accept` takes, or `null` once the session has ended. */
  const token$ = (accept: (token: string) => boolean): Observable<string | null> =>
    merge(
      engine.token$.pipe(filter((token): token is string => token !== null && accept(token))),
      engine.session$.pipe(
        filter((session) => session === null),
        map(() => null),
      ),
    );

  /**
   * The engine back in `fresh` after a failed attempt: its backoff step ended with the held token still fresh,
   * which the step's timer does not refresh, so the step's one attempt is left to the caller.
   */
  const backInFresh$: Observable<typeof BACK_IN_FRESH> = from(engine.actor).pipe(
    map(() => engine.getSnapshot().status),
    distinctUntilChanged(),
    filter((status) => status === 'fresh'),
    map(() => BACK_IN_FRESH),
  );

  // A stopped engine completes its observables: nothing will come, so answer as a sign-out would.
  const first = <T>(source: Observable<T>) => firstValueFrom(source, { defaultValue: null });

  /** A valid token, waiting through outages (Convex's socket is down then too) rather than answering null. */
  const anyToken = () => engine.getToken().catch(() => first(token$(() => true)));

  /** A valid token other than the last one handed out: the held one if already newer, else one forced refresh. */
  const newerToken = async (): Promise<string | null> => {
    const isNewer = (token: string) => token !== lastHandedOut;
    const held = engine.peekToken();
    const heldSince = engine.getSnapshot().issuedAt ?? 0;
    if (held !== null && isNewer(held) && Date.now() - heldSince <= maxHandOffAgeMs) return held;
    const forced = await engine.getToken({ forceRefresh: true }).catch(() => undefined);
    if (forced === null || (forced !== undefined && isNewer(forced))) return forced;
    // A network fault, or a server that answered the same string: the engine backs off. Take its next token, or
    // force again once the backoff step has ended without one, so the caller keeps to the backoff.
    const next = await first(merge(token$(isNewer), backInFresh$));
    return next === BACK_IN_FRESH ? newerToken() : next;
  };

  return async ({ forceRefreshToken = false } = {}) => {
    const token = await (forceRefreshToken ? newerToken() : anyToken());
    if (token !== null) lastHandedOut = token;
    return token;
  };
}

/**
 * The adapter's state: one `fetchAccessToken` per session identity, so its identity changes exactly when
 * `session$` emits (sign-in, rotation, sign-out) and never on a refresh.
 */
export function createConvexAuthSource(engine: SessionEngine, options: ConvexAuthOptions = {}) {
  const fetchers = new WeakMap<SessionInfo, FetchAccessToken>();
  const signedOutFetcher = createFetchAccessToken(engine, options);
  const fetcherFor = (session: SessionInfo | null) => {
    if (session === null) return signedOutFetcher;
    let fetcher = fetchers.get(session);
    if (fetcher === undefined) {
      fetcher = createFetchAccessToken(engine, options);
      fetchers.set(session, fetcher);
    }
    return fetcher;
  };
  return {
    authFor(session: SessionInfo | null, isLoading: boolean): ConvexAuth {
      return { isLoading, isAuthenticated: session !== null && !isLoading, fetchAccessToken: fetcherFor(session) };
    },
  };
}

/**
 * For Convex clients without React (`ConvexClient.setAuth(auth.fetchAccessToken)`): the fields read the
 * engine's current state on each access. Call `setAuth` again when `engine.session$` emits.
 */
export function createConvexAuth(engine: SessionEngine, options?: ConvexAuthOptions): ConvexAuth {
  const source = createConvexAuthSource(engine, options);
  const current = () => {
    const snapshot = engine.getSnapshot();
    return source.authFor(snapshot.session, isLoadingOf(snapshot));
  };
  return {
    get isLoading() {
      return current().isLoading;
    },
    get isAuthenticated() {
      return current().isAuthenticated;
    },
    get fetchAccessToken() {
      return current().fetchAccessToken;
    },
  };
}
