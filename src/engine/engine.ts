import { Observable, distinctUntilChanged, map } from 'rxjs';
import { createActor, waitFor, type Actor, type InspectionEvent, type SnapshotFrom } from 'xstate';
import { AbortError, NetworkError } from '../errors.js';
import type {
  GetTokenOptions,
  SessionEngineOptions,
  SessionInfo,
  SessionSnapshot,
  TokenSet,
} from '../types.js';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { isFresh, isServable } from '../../machines/tokenMath.js';
import type { HeldToken, SessionEvent } from '../../machines/types.js';
import { MAX_TIMER_DELAY_MS } from './timers.js';
import { createTokenFetcher, newSessionKey, runtimeActors } from './actors.js';
import { browserTabEnvironment, type TabEnvironment } from '../tabs/environment.js';
import { createTabActors } from '../tabs/tabActors.js';
import { parseSignIn } from './claims.js';
import { createEngineClock } from './clock.js';
import { createVault } from './vault.js';
import { defaultOnline$, defaultResume$ } from './environment.js';
import { ShieldedObservable, consoleReporter, guarded } from './listeners.js';
import { checkOptions, resolveConfig, sessionKeyClaimsOf } from './options.js';
import { createSnapshotView } from './snapshotView.js';

export type SessionActor = Actor<typeof sessionMachine>;
type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

export interface SessionEngine {
  /** Installs a session; `{ refreshToken }` alone starts one with a refresh. */
  signIn(tokens: TokenSet | RefreshTokenOnly): void;
  rotate(): void;
  /** Asks the server for a session when none is held (a cookie session): the token, or null when refused. */
  restore(): Promise<string | null>;
  /** Settles once the engine knows whether it has a session (after restoring one). */
  ready(): Promise<SessionSnapshot>;
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

/** `{ refreshToken }` alone: a session that starts with a refresh. */
export interface RefreshTokenOnly {
  refreshToken: string;
  accessToken?: undefined;
}

/** Where the session is kept in `storage`: one key per channel, so engines of one app keep theirs apart. */
const storageKeyOf = (tabLink: { channel: string } | null) => `sessionchart:${tabLink?.channel ?? 'session'}`;

/** The channel tabs share and what they share it through, or null for a single tab. */
function tabLinkOf(options: SessionEngineOptions): { channel: string; environment: TabEnvironment } | null {
  const broadcast = options.broadcast ?? (typeof window === 'undefined' ? false : { channel: 'sessionchart' });
  if (!broadcast) return null;
  const environment = broadcast.environment ?? browserTabEnvironment();
  return environment === null ? null : { channel: broadcast.channel, environment };
}

export function createSessionEngine(options: SessionEngineOptions): SessionEngine {
  checkOptions(options);
  const tabLink = tabLinkOf(options);
  // Before anything starts: a second engine of the page on the same channel fails here, naming it.
  const releaseChannel = tabLink?.environment.claim(tabLink.channel) ?? (() => {});
  const config = resolveConfig(options, tabLink !== null);
  const keyClaims = sessionKeyClaimsOf(options);
  const clock = createEngineClock();
  const onError = options.onError ?? consoleReporter;
  const report = guarded(onError);
  const reportFailure = (error: unknown) => report(onError, error);
  const tabs = tabLink === null ? null : createTabActors({ ...tabLink, clock, report: reportFailure });
  const vault = config.keepsSession
    ? createVault({ storage: options.storage, key: storageKeyOf(tabLink), tabs: tabs?.newest, clock, report: reportFailure })
    : null;
  const machine = sessionMachine.provide({
    actors: {
      ...runtimeActors({
        refreshToken: createTokenFetcher(options.refresh, keyClaims, clock),
        tabs: tabs?.request,
        vault,
        online$: options.online$ ?? defaultOnline$(),
        resume$: options.resume$ ?? defaultResume$(),
        clock,
      }),
      ...(tabs?.session ?? {}),
    },
  });
  // An inspector that throws is a listener that throws: reported, never the end of the engine (XState would put
  // the actor in error, and with no error observer rethrow from a timer). XState calls only an observer's `next`,
  // which checkOptions made sure it has.
  const { inspect } = options;
  const inspectGuarded =
    inspect && ((event: InspectionEvent) => report(typeof inspect === 'function' ? inspect : inspect.next!.bind(inspect), event));
  const actor: SessionActor = createActor(machine, { input: { config }, inspect: inspectGuarded });
  const view = createSnapshotView(config, clock);

  const isRunning = () => actor.getSnapshot().status === 'active';
  const stopped = () => new AbortError('The session engine was stopped');

  const snapshots$ = new Observable<MachineSnapshot>((subscriber) => {
    subscriber.next(actor.getSnapshot());
    const subscription = actor.subscribe({
      next: (snapshot) => subscriber.next(snapshot),
      complete: () => subscriber.complete(),
      error: () => subscriber.complete(),
    });
    return () => subscription.unsubscribe();
  });

  const servableToken = (snapshot: MachineSnapshot, now: number) => {
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

  /** One resolved promise per held token (a memo of the context's token), so a held-token getToken allocates nothing. */
  let answer: { token: HeldToken; promise: Promise<string> } | null = null;
  const answerWith = (token: HeldToken) => {
    if (answer?.token !== token) answer = { token, promise: Promise.resolve(token.accessToken) };
    return answer.promise;
  };

  /** A caller never waits on the network longer than `refreshTimeoutMs` (a rotation may queue two requests). */
  const waitLimitMs = config.refreshTimeoutMs > MAX_TIMER_DELAY_MS ? Infinity : config.refreshTimeoutMs;

  /** Settles once the machine has a token `accept` takes, has ended the session, or waits on the network. */
  const awaitOutcome = async (accept: (snapshot: MachineSnapshot) => boolean): Promise<string | null> => {
    let settled: MachineSnapshot;
    try {
      settled = await waitFor(
        actor,
        (s) =>
          s.matches('signedOut') ||
          (s.hasTag('awaitingNetwork') && !s.hasTag('fetching')) ||
          (accept(s) && servableToken(s, clock.now()) !== null),
        { timeout: waitLimitMs },
      );
    } catch (cause) {
      if (!isRunning()) throw stopped();
      throw new NetworkError(`No token came within refreshTimeoutMs (${config.refreshTimeoutMs} ms)`, { cause });
    }
    if (settled.matches('signedOut')) return null;
    const token = servableToken(settled, clock.now());
    if (token !== null && accept(settled)) return token;
    throw settled.context.error ?? new NetworkError();
  };

  /** No valid token and no attempt under way: the network is down or a backoff stands, and callers keep to it. */
  const noAttempt = (snapshot: MachineSnapshot) => {
    const cause = snapshot.context.error ?? undefined;
    return snapshot.context.online
      ? new NetworkError('No valid token is held and the next attempt waits for the backoff', { cause })
      : new NetworkError('No valid token is held and the network is down', { cause });
  };

  /** A restore's outcome: the token, null when the server has no session, its error on a fault. */
  const restoredToken = async () => {
    const token = await awaitOutcome(() => true);
    const { error } = actor.getSnapshot().context;
    // Signed out by a fault (a cookie restore has no session to keep through one); a refusal is just null.
    if (token === null && error !== null && error.code !== 'auth') throw error;
    return token;
  };

  const forcedToken = (now: number) => {
    const before = actor.getSnapshot().context.token;
    offer({ type: 'user.refresh', now });
    if (actor.getSnapshot().matches('signedOut')) return Promise.resolve(null);
    return awaitOutcome((s) => s.context.token !== before);
  };

  const slowToken = async (now: number, opts?: GetTokenOptions): Promise<string | null> => {
    offer({ type: 'clock.check', now });
    if (opts?.forceRefresh) return forcedToken(now);
    const snapshot = actor.getSnapshot();
    if (snapshot.matches('signedOut')) return null;
    const held = servableToken(snapshot, now);
    if (held !== null) {
      if (snapshot.matches('stale')) actor.send({ type: 'user.request', now });
      return held;
    }
    offer({ type: 'user.request', now });
    const after = actor.getSnapshot();
    if (after.hasTag('awaitingNetwork') && !after.hasTag('fetching')) throw noAttempt(after);
    return awaitOutcome(() => true);
  };

  const engine: SessionEngine = {
    signIn(tokens) {
      if (!isRunning()) throw stopped();
      const now = clock.now();
      const refreshTokenOnly = typeof tokens === 'object' && tokens !== null && tokens.accessToken === undefined;
      if (refreshTokenOnly && typeof tokens.refreshToken === 'string' && tokens.refreshToken !== '') {
        actor.send({ type: 'user.restore', refreshToken: tokens.refreshToken, now });
        return;
      }
      const measuredOffsetMs = actor.getSnapshot().context.token?.serverOffsetMs ?? null;
      const token = parseSignIn(tokens, { at: now, fromWall: clock.fromWall, keyClaims }, measuredOffsetMs);
      actor.send({ type: 'user.signIn', token: { ...token, sessionKey: token.sessionKey ?? newSessionKey() }, now });
    },
    rotate() {
      if (!isRunning()) throw stopped();
      actor.send({ type: 'user.rotate', now: clock.now() });
    },
    restore() {
      if (!isRunning()) throw stopped();
      const snapshot = actor.getSnapshot();
      // Still reading the storage or asking the other tabs: a session they find comes first, the server after.
      if (snapshot.matches({ restoring: 'reading' }) || snapshot.matches({ restoring: 'askingTabs' })) {
        return engine.ready().then(() => engine.restore());
      }
      if (snapshot.context.session !== null) return engine.getToken();
      offer({ type: 'user.restore', now: clock.now() });
      return restoredToken();
    },
    async ready() {
      if (!isRunning()) throw stopped();
      try {
        await waitFor(actor, (s) => !s.matches('restoring'));
      } catch (cause) {
        throw new AbortError('The session engine was stopped', { cause });
      }
      return engine.getSnapshot();
    },
    signOut() {
      if (isRunning()) actor.send({ type: 'user.signOut', now: clock.now() });
    },
    getToken(opts) {
      if (!isRunning()) return Promise.reject(stopped());
      const now = clock.now();
      const current = actor.getSnapshot();
      // The hot path: a fresh token in `fresh` is the answer, and no event could change that.
      if (!opts?.forceRefresh && isFreshInFresh(current, now)) return answerWith(current.context.token!);
      return slowToken(now, opts);
    },
    peekToken: () => (isRunning() ? servableToken(actor.getSnapshot(), clock.now()) : null),
    getSnapshot: () => view.publish(actor.getSnapshot(), clock.now()),
    subscribe(listener) {
      let last = view.publish(actor.getSnapshot(), clock.now());
      const subscription = actor.subscribe({
        next: (snapshot) => {
          const next = view.publish(snapshot, clock.now());
          if (next === last) return;
          last = next;
          report(listener, next);
        },
        error: () => {},
      });
      return () => subscription.unsubscribe();
    },
    session$: new ShieldedObservable(
      snapshots$.pipe(
        map((s) => s.context.session),
        distinctUntilChanged(),
      ),
      onError,
    ),
    token$: new ShieldedObservable(
      snapshots$.pipe(
        map((s) => s.context.token),
        distinctUntilChanged(),
        map((token) => (isServable(token, clock.now(), config.leewayMs) ? token.accessToken : null)),
        distinctUntilChanged(),
      ),
      onError,
    ),
    actor,
    stop() {
      actor.stop();
      releaseChannel();
    },
  };
  actor.start();
  return engine;
}

