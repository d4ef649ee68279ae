/**
 * What the restore tests share: sessionchart/testing's token server, whose tokens outlive the engine that got them,
 * and its invariant checker watching every engine started on it, so a test can start a second engine (a reload)
 * on the first one's storage (`createMemoryStorage`) and still have what it serves judged against what the server
 * issued. Fake timers come from `useEngineClock` (test/support/engineHarness.ts).
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, expect } from 'vitest';
import { createSessionEngine, type SessionEngine, type SessionEngineOptions, type TokenSet } from '../../src/index.js';
import {
  checkInvariants,
  createTokenServer,
  type InvariantChecker,
  type IssueOptions,
  type MemoryStorage,
  type RefreshCall,
  type TokenServer,
} from '../../src/testing/index.js';

/** Where an engine without `broadcast` keeps its session in `storage`. */
export const STORAGE_KEY = 'sessionchart:session';

/** The stored JSON's shape, as the tests read it. */
export interface StoredJson {
  session: { sessionKey: string; userId: string | null; startedAt: number };
  token: { accessToken: string; expiresAt: number; issuedAt: number; sessionKey: string } | null;
  refreshToken?: string;
}

/** The session `storage` keeps under STORAGE_KEY, parsed; undefined when it keeps none. */
export function kept(storage: MemoryStorage): StoredJson | undefined {
  const text = storage.items.get(STORAGE_KEY);
  return text === undefined ? undefined : (JSON.parse(text) as StoredJson);
}

export interface AuthServer {
  /** The token server; it holds every refresh until the test answers it (`respond`, `fail`). */
  readonly tokens: TokenServer;
  /** The refreshes it received, oldest first, from every engine started on it. */
  readonly calls: readonly RefreshCall[];
  /** A token set of session `s1` (unless `sid` says otherwise) with a refresh token of its own, as at a sign-in. */
  issue(options?: IssueOptions): TokenSet;
  readonly checker: InvariantChecker;
}

export interface App {
  readonly engine: SessionEngine;
  readonly online$: BehaviorSubject<boolean>;
  readonly resume$: Subject<void>;
  /** What reached `onError`. */
  readonly errors: unknown[];
  /** `engine.getToken`, never an unhandled rejection. */
  getToken(): Promise<string | null>;
}

export type AppOptions = Partial<Omit<SessionEngineOptions, 'refresh' | 'online$' | 'resume$' | 'onError'>> & { online?: boolean };

const apps: App[] = [];
const servers: AuthServer[] = [];

/** Checks each server's invariants after every test and stops every app the test started. */
export function useRestoreWorld(): void {
  afterEach(() => {
    const started = apps.splice(0);
    const watching = servers.splice(0);
    try {
      for (const server of watching) expect(server.checker.violations).toEqual([]);
    } finally {
      for (const server of watching) server.checker.stop();
      for (const app of started) app.engine.stop();
    }
  });
}

export function createServer(): AuthServer {
  const tokens = createTokenServer();
  tokens.holdRequests();
  const server: AuthServer = {
    tokens,
    calls: tokens.requests as readonly RefreshCall[],
    issue: (options = {}) => tokens.signIn({ sid: 's1', ...options }),
    checker: checkInvariants([], tokens),
  };
  servers.push(server);
  return server;
}

/** An engine of the app on `server`, started as a page load or a process start would start it. */
export function startApp(server: AuthServer, options: AppOptions = {}): App {
  const { online = true, ...engineOptions } = options;
  const online$ = new BehaviorSubject(online);
  const resume$ = new Subject<void>();
  const errors: unknown[] = [];
  // Named per start, so the checker tells a reload's requests from the earlier engine's.
  const name = `app ${apps.length + 1}`;
  const engine = createSessionEngine({
    refresh: server.tokens.refreshFor(name),
    online$,
    resume$,
    onError: (error) => errors.push(error),
    ...engineOptions,
  });
  server.checker.watch(engine, name);
  const app: App = {
    engine,
    online$,
    resume$,
    errors,
    getToken() {
      const result = engine.getToken();
      result.catch(() => {});
      return result;
    },
  };
  apps.push(app);
  return app;
}
