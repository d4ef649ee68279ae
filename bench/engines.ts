/**
 * The engines the simulator drives side by side, behind one small interface. Each talks to the same fake
 * server (server.ts) over the same fake clock; K tabs are K instances that share one origin.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { AuthError, NetworkError, createSessionEngine, type RefreshFunction } from '../src/index.js';
import { firebaseEngine } from './firebase.js';
import { supabaseEngine } from './supabase.js';
import { installOrigin } from './origin.js';
import type { Scenario } from './schedule.js';
import type { TokenBody, TokenServer } from './server.js';

export type EngineName = 'sessionchart' | 'sessionchart-backoff' | 'naive' | 'supabase' | 'firebase';
/** `sessionchart-backoff`: the same engine with `retry.callersCutBackoff: false` (the contract's default is true). */
export const ENGINES: readonly EngineName[] = ['sessionchart', 'sessionchart-backoff', 'naive', 'supabase', 'firebase'];

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
  /** A sign-in (the first one, or again after a sign-out). */
  signIn(body: TokenBody): void;
  /** The device's online/offline events. */
  setOnline(up: boolean): void;
  /** The device woke up (visibilitychange/focus in a browser). */
  wake(): void;
  stop(): void;
  /** Refresh requests by the reason the engine gave (sessionchart's `RefreshContext.reason`), where it gives one. */
  readonly reasons?: Readonly<Record<string, number>>;
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

/** The app's `refresh`, mapping answers the way sessionchart/oauth does. */
function refreshOver(server: TokenServer, reasons: Record<string, number>): RefreshFunction {
  return async ({ refreshToken, reason }) => {
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const reply = await server.exchange(refreshToken);
    if (reply.status === 200) {
      const { access_token, refresh_token, expires_in } = reply.body;
      return { accessToken: access_token, refreshToken: refresh_token, expiresIn: expires_in };
    }
    if (reply.status === 400) throw new AuthError(reply.body.code);
    const retryAfterMs = reply.retryAfterS === undefined ? undefined : reply.retryAfterS * 1000;
    throw new NetworkError(reply.body.code, { retryAfterMs });
  };
}

/** sessionchart: one engine per tab; with K > 1 tabs they share the session through the in-memory origin. */
function sessionchart({ server, tabs }: EngineSetup, callersCutBackoff = true): SimEngine {
  const online$ = new BehaviorSubject(true);
  const resume$ = new Subject<void>();
  const uninstallOrigin = tabs > 1 ? installOrigin() : () => {};
  const reasons: Record<string, number> = {};
  const refresh = refreshOver(server, reasons);
  const engines = range(tabs).map(() =>
    createSessionEngine({
      refresh,
      online$,
      resume$,
      broadcast: tabs > 1 ? { channel: 'bench' } : false,
      retry: { callersCutBackoff },
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
      uninstallOrigin();
    },
    reasons,
  };
}

/**
 * The naive cache most apps start with: the token in origin storage (shared by tabs, like localStorage),
 * served until its expiry; then callers block on one refresh per tab. A 400 signs out.
 */
function naive({ server, tabs }: EngineSetup): SimEngine {
  type Held = { accessToken: string; refreshToken: string; expiresAt: number };
  let held: Held | null = null;
  const inFlight: Array<Promise<string | null> | null> = range(tabs).map(() => null);
  const fromBody = (body: TokenBody): Held => ({
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: Date.now() + body.expires_in * 1000,
  });

  const refresh = async (used: Held): Promise<string | null> => {
    const reply = await server.exchange(used.refreshToken);
    if (reply.status === 200) {
      held = fromBody(reply.body);
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
  if (name === 'sessionchart-backoff') return sessionchart(setup, false);
  if (name === 'naive') return naive(setup);
  if (name === 'firebase') return firebaseEngine(setup);
  return supabaseEngine(setup);
}
