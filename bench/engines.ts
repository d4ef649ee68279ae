/**
 * The engines the simulator drives side by side, behind one small interface. Each talks to the same fake
 * server (authServer.ts) over the same fake clock; K tabs are K instances that share one origin.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { AuthError, NetworkError, createSessionEngine, type RefreshFunction, type RetryOptions } from '../src/index.js';
import { createMemoryOrigin, type TokenResponseBody, type TokenServer } from '../src/testing/index.js';
import { firebaseEngine } from './firebase.js';
import { supabaseEngine } from './supabase.js';
import type { Scenario } from './schedule.js';

export type EngineName = 'sessionchart' | 'sessionchart-callers-cut' | 'naive' | 'supabase' | 'firebase';
/**
 * `sessionchart`: the engine with its defaults. `sessionchart-callers-cut`: with `retry.callersCutBackoff: true`,
 * v0.1's behaviour (a caller with no valid token starts an attempt at once, even offline or during a backoff).
 */
export const ENGINES: readonly EngineName[] = ['sessionchart', 'sessionchart-callers-cut', 'naive', 'supabase', 'firebase'];

/**
 * Firebase refreshes a token on every call once it is within 5 minutes of expiry (its ID tokens always
 * live an hour), and a tab that hears of another tab's new token checks it again: with 60 s tokens it
 * refreshes without end. It runs where its tokens would: lives above that buffer.
 */
const FIREBASE_REFRESH_BUFFER_S = 300;
export const enginesFor = (scenario: Scenario): EngineName[] =>
  ENGINES.filter((engine) => engine !== 'firebase' || scenario.lifeS > FIREBASE_REFRESH_BUFFER_S);

export interface SimEngine {
  /** What a caller in `tab` does to get a token: resolves the token, null when signed out, or rejects. */
  getToken(tab: number): Promise<string | null>;
  isSignedOut(tab: number): boolean;
  /** A sign-in (the first one, or again after a sign-out), with the token response it handed out. */
  signIn(body: TokenResponseBody): void;
  /** The device's online/offline events. */
  setOnline(up: boolean): void;
  /** The device woke up (visibilitychange/focus in a browser). */
  wake(): void;
  stop(): void;
  /** Refresh requests by the reason the engine gave (sessionchart's `RefreshContext.reason`), where it gives one. */
  readonly reasons?: Readonly<Record<string, number>>;
  /** Refresh requests whose `AbortSignal` fired, where the engine gives one. */
  readonly aborted?: number;
}

export interface EngineSetup {
  server: TokenServer;
  tabs: number;
}

/** Lets every queued promise callback run, without moving the fake clock or firing a fake timer. */
export async function flushMicrotasks(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/** What the app's `refresh` saw: requests by reason, and requests the engine aborted. */
interface RefreshCounts {
  reasons: Record<string, number>;
  aborted: number;
}

/** The app's `refresh`, mapping answers the way sessionchart/oauth does. */
function refreshOver(server: TokenServer, counts: RefreshCounts): RefreshFunction {
  return async ({ refreshToken, reason, signal }) => {
    counts.reasons[reason] = (counts.reasons[reason] ?? 0) + 1;
    signal.addEventListener('abort', () => (counts.aborted += 1), { once: true });
    const reply = await server.exchange(refreshToken);
    if (reply.status === 200) {
      const { access_token, refresh_token, expires_in } = reply.body as TokenResponseBody;
      return { accessToken: access_token, refreshToken: refresh_token, expiresIn: expires_in };
    }
    if (reply.status === 400) throw new AuthError('The server refused the refresh token');
    const retryAfterMs = reply.retryAfterSeconds === undefined ? undefined : reply.retryAfterSeconds * 1000;
    throw new NetworkError(`The server answered ${reply.status}`, { retryAfterMs });
  };
}

/**
 * sessionchart: one engine per tab; with K > 1 tabs they share the session through one in-memory origin, each
 * engine a page of its own. `retry` only where a row asks for it, so the `sessionchart` row runs the defaults.
 */
function sessionchart({ server, tabs }: EngineSetup, retry?: RetryOptions): SimEngine {
  const online$ = new BehaviorSubject(true);
  const resume$ = new Subject<void>();
  const origin = tabs > 1 ? createMemoryOrigin() : null;
  const counts: RefreshCounts = { reasons: {}, aborted: 0 };
  const refresh = refreshOver(server, counts);
  const engines = range(tabs).map(() =>
    createSessionEngine({
      refresh,
      online$,
      resume$,
      broadcast: origin ? { channel: 'bench', environment: origin.tab() } : false,
      ...(retry && { retry }),
    }),
  );
  return {
    getToken: (tab) => engines[tab]!.getToken(),
    isSignedOut: (tab) => engines[tab]!.getSnapshot().status === 'signedOut',
    signIn: (body) =>
      engines[0]!.signIn({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in }),
    setOnline: (up) => online$.next(up),
    wake: () => resume$.next(),
    stop() {
      for (const engine of engines) engine.stop();
    },
    reasons: counts.reasons,
    get aborted() {
      return counts.aborted;
    },
  };
}

/**
 * The naive cache most apps start with: the token in origin storage (shared by tabs, like localStorage),
 * served until its expiry; then callers block on one refresh per tab. A 400 signs out.
 */
function naive({ server, tabs }: EngineSetup): SimEngine {
  type Held = { accessToken: string; refreshToken: string | undefined; expiresAt: number };
  let held: Held | null = null;
  const inFlight: Array<Promise<string | null> | null> = range(tabs).map(() => null);
  const fromBody = (body: TokenResponseBody): Held => ({
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: Date.now() + body.expires_in * 1000,
  });

  const refresh = async (used: Held): Promise<string | null> => {
    const reply = await server.exchange(used.refreshToken);
    if (reply.status === 200) {
      held = fromBody(reply.body as TokenResponseBody);
      return held.accessToken;
    }
    if (reply.status === 400) {
      if (held === used) held = null;
      return null;
    }
    throw new Error(`refresh failed with ${reply.status}`);
  };

  return {
    async getToken(tab) {
      const current = held;
      if (current === null) return null;
      if (Date.now() < current.expiresAt) return current.accessToken;
      const pending = inFlight[tab] ?? refresh(current).finally(() => (inFlight[tab] = null));
      inFlight[tab] = pending;
      return pending;
    },
    isSignedOut: () => held === null,
    signIn: (body) => (held = fromBody(body)),
    setOnline: () => {},
    wake: () => {},
    stop: () => {},
  };
}

export async function createSimEngine(name: EngineName, setup: EngineSetup): Promise<SimEngine> {
  if (name === 'sessionchart') return sessionchart(setup);
  if (name === 'sessionchart-callers-cut') return sessionchart(setup, { callersCutBackoff: true });
  if (name === 'naive') return naive(setup);
  if (name === 'firebase') return firebaseEngine(setup);
  return supabaseEngine(setup);
}
