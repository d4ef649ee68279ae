import { Observable, distinctUntilChanged, map } from 'rxjs';
import { createActor, waitFor, type Actor, type SnapshotFrom } from 'xstate';
import { AbortError, NetworkError } from '../errors.js';
import type {
  GetTokenOptions,
  SessionEngineOptions,
  SessionInfo,
  SessionSnapshot,
  SessionStatus,
  TokenSet,
} from '../types.js';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { isFresh, isServable } from '../../machines/tokenMath.js';
import type { HeldToken, SessionConfig, SessionEvent } from '../../machines/types.js';
import { createTokenFetcher, newSessionKey, runtimeActors } from './actors.js';
import { canShareTabs, createTabActors } from '../tabs/tabSync.js';
import { DEFAULT_SESSION_KEY_CLAIMS, parseTokenSet } from './claims.js';
import { defaultOnline$, defaultResume$ } from './environment.js';

export type SessionActor = Actor<typeof sessionMachine>;
type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

export interface SessionEngine {
  signIn(tokens: TokenSet): void;
  rotate(): void;
  signOut(): void;
  getToken(opts?: GetTokenOptions): Promise<string | null>;
  peekToken(): string | null;
  getSnapshot(): SessionSnapshot;
  subscribe(listener: (snapshot: SessionSnapshot) => void): () => void;
  readonly session$: Observable<SessionInfo | null>;
  readonly token$: Observable<string | null>;
  readonly actor: SessionActor;
  stop(): void;
}

/** The BroadcastChannel name tabs share, or null for a single tab. */
function tabChannelOf(options: SessionEngineOptions): string | null {
  const broadcast = options.broadcast ?? (typeof window === 'undefined' ? false : { channel: 'sessionchart' });
  return broadcast && canShareTabs() ? broadcast.channel : null;
}

export function resolveConfig(options: SessionEngineOptions, shareTabs = false): SessionConfig {
  const retry = options.retry ?? {};
  return {
    refreshThresholdMs: options.refreshThresholdMs ?? 15_000,
    leewayMs: options.leewayMs ?? 5_000,
    retry: {
      baseMs: retry.baseMs ?? 1_000,
      maxMs: retry.maxMs ?? 30_000,
      factor: retry.factor ?? 2,
      jitter: retry.jitter ?? true,
    },
    callersCutBackoff: retry.callersCutBackoff ?? true,
    shareTabs,
  };
}

/** The flat status: the machine's top-level state name. */
export function statusOf(snapshot: MachineSnapshot): SessionStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as SessionStatus;
}

function toPublicSnapshot(snapshot: MachineSnapshot): SessionSnapshot {
  const { session, token, error, lastRefreshAt } = snapshot.context;
  return {
    status: statusOf(snapshot),
    sessionKey: session?.sessionKey ?? null,
    expiresAt: token?.expiresAt ?? null,
    error,
    lastRefreshAt,
  };
}

const sameSnapshot = (a: SessionSnapshot, b: SessionSnapshot) =>
  a.status === b.status &&
  a.sessionKey === b.sessionKey &&
  a.expiresAt === b.expiresAt &&
  a.error === b.error &&
  a.lastRefreshAt === b.lastRefreshAt;

export function createSessionEngine(options: SessionEngineOptions): SessionEngine {
  const tabChannel = tabChannelOf(options);
  const config = resolveConfig(options, tabChannel !== null);
  const keyClaims = options.sessionKeyClaims ?? DEFAULT_SESSION_KEY_CLAIMS;
  const fetchToken = createTokenFetcher(options.refresh, keyClaims);
  const machine = sessionMachine.provide({
    actors: {
      ...runtimeActors({
        fetchToken,
        online$: options.online$ ?? defaultOnline$(),
        resume$: options.resume$ ?? defaultResume$(),
      }),
      ...(tabChannel === null ? {} : createTabActors(tabChannel, config, fetchToken)),
    },
  });
  const actor = createActor(machine, { input: { config }, inspect: options.inspect });

  // The public snapshot keeps its identity until one of its fields changes (useSyncExternalStore needs that).
  let published = toPublicSnapshot(actor.getSnapshot());
  const publish = (snapshot: MachineSnapshot) => {
    const next = toPublicSnapshot(snapshot);
    if (!sameSnapshot(next, published)) published = next;
    return published;
  };

  const snapshots$ = new Observable<MachineSnapshot>((subscriber) => {
    subscriber.next(actor.getSnapshot());
    const subscription = actor.subscribe({
      next: (snapshot) => subscriber.next(snapshot),
      complete: () => subscriber.complete(),
      error: (error) => subscriber.error(error),
    });
    return () => subscription.unsubscribe();
  });

  const servableToken = (snapshot: MachineSnapshot, now = Date.now()) => {
    const token = snapshot.context.token;
    return isServable(token, now, config.leewayMs) ? token.accessToken : null;
  };

  /** `fresh` with a token still fresh by the clock: nothing can move the machine (top-level, so no `matches`). */
  const isFreshInFresh = (snapshot: MachineSnapshot, now: number) =>
    snapshot.value === 'fresh' && isFresh(snapshot.context.token, now, config);

  /**
   * Sends an event only when the machine would take it. XState notifies every observer of every event, even
   * one that changes nothing, so a herd of callers waiting on one refresh, each sending a no-op, costs O(n²).
   */
  const offer = (event: SessionEvent) => {
    if (actor.getSnapshot().can(event)) actor.send(event);
  };

  /** Lets the machine judge the held token by the clock (timers may have slept with the device). */
  const checkClock = () => {
    const now = Date.now();
    // The hot path: `fresh` ignores the check while its token is fresh, so skip even the `can` test.
    if (!isFreshInFresh(actor.getSnapshot(), now)) offer({ type: 'clock.check', now });
    return now;
  };

  /** One resolved promise per held token (a memo of the context's token), so a held-token getToken allocates nothing. */
  let answer: { token: HeldToken; promise: Promise<string> } | null = null;
  const answerWith = (token: HeldToken) => {
    if (answer?.token !== token) answer = { token, promise: Promise.resolve(token.accessToken) };
    return answer.promise;
  };

  /** Settles once the machine has a servable token, has ended the session, or is waiting on the network. */
  const awaitOutcome = async (accept: (snapshot: MachineSnapshot) => boolean): Promise<string | null> => {
    let settled: MachineSnapshot;
    try {
      settled = await waitFor(
        actor,
        (s) => s.matches('signedOut') || s.hasTag('awaitingNetwork') || (accept(s) && servableToken(s) !== null),
      );
    } catch (cause) {
      throw new AbortError('The session engine was stopped', { cause });
    }
    if (settled.matches('signedOut')) return null;
    const token = servableToken(settled);
    if (token !== null && accept(settled)) return token;
    throw new NetworkError(undefined, { cause: settled.context.error ?? undefined });
  };

  const forcedToken = (now: number) => {
    const before = actor.getSnapshot().context.token;
    actor.send({ type: 'user.refresh', now });
    if (actor.getSnapshot().matches('signedOut')) return Promise.resolve(null);
    return awaitOutcome((s) => s.context.token !== before);
  };

  const slowToken = async (opts?: GetTokenOptions): Promise<string | null> => {
    const now = checkClock();
    if (opts?.forceRefresh) return forcedToken(now);
    const snapshot = actor.getSnapshot();
    if (snapshot.matches('signedOut')) return null;
    const held = servableToken(snapshot, now);
    if (held !== null) {
      if (snapshot.matches('stale')) actor.send({ type: 'user.request', now });
      return held;
    }
    offer({ type: 'user.request', now });
    if (!actor.getSnapshot().context.online) {
      throw new NetworkError('The network is down and no valid token is held');
    }
    return awaitOutcome(() => true);
  };

  const engine: SessionEngine = {
    signIn(tokens) {
      const now = Date.now();
      const token = parseTokenSet(tokens, now, keyClaims);
      actor.send({ type: 'user.signIn', token: { ...token, sessionKey: token.sessionKey ?? newSessionKey() }, now });
    },
    rotate: () => actor.send({ type: 'user.rotate', now: Date.now() }),
    signOut: () => actor.send({ type: 'user.signOut', now: Date.now() }),
    getToken(opts) {
      const current = actor.getSnapshot();
      // The hot path: a fresh token in `fresh` is the answer, and no event could change that.
      if (!opts?.forceRefresh && isFreshInFresh(current, Date.now())) return answerWith(current.context.token!);
      return slowToken(opts);
    },
    peekToken: () => servableToken(actor.getSnapshot()),
    getSnapshot() {
      checkClock();
      return publish(actor.getSnapshot());
    },
    subscribe(listener) {
      let last = publish(actor.getSnapshot());
      const subscription = actor.subscribe((snapshot) => {
        const next = publish(snapshot);
        if (next !== last) {
          last = next;
          listener(next);
        }
      });
      return () => subscription.unsubscribe();
    },
    session$: snapshots$.pipe(
      map((s) => s.context.session),
      distinctUntilChanged(),
    ),
    token$: snapshots$.pipe(
      map((s) => s.context.token),
      distinctUntilChanged(),
      map((token) => (isServable(token, Date.now(), config.leewayMs) ? token.accessToken : null)),
      distinctUntilChanged(),
    ),
    actor,
    stop: () => actor.stop(),
  };
  actor.start();
  return engine;
}
