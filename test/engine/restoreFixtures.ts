/**
 * What the restore tests share: a Map-backed storage, and an auth server whose tokens outlive the engine that
 * got them, so a test can start a second engine (a reload) on the first one's storage and still check what is
 * served against what the server issued. Fake timers come from `useEngineClock` (test/support/engineHarness.ts).
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { decodeJwt } from 'jose';
import { afterEach, expect } from 'vitest';
import {
  NetworkError,
  createSessionEngine,
  type RefreshContext,
  type SessionEngine,
  type SessionEngineOptions,
  type TokenSet,
  type TokenStorage,
} from '../../src/index.js';
import { mint, type MintOptions } from '../support/tokens.js';

/** Where an engine without `broadcast` keeps its session in `storage`. */
export const STORAGE_KEY = 'sessionchart:session';

export interface MapStorage extends TokenStorage {
  readonly items: Map<string, string>;
  /** Every call, by method name and key, in order. */
  readonly log: string[];
  /** The session kept under STORAGE_KEY, parsed; undefined when none is. */
  kept(): StoredJson | undefined;
}

/** The stored JSON's shape, as the tests read it. */
export interface StoredJson {
  session: { sessionKey: string; userId: string | null; startedAt: number };
  token: { accessToken: string; expiresAt: number; issuedAt: number; sessionKey: string } | null;
  refreshToken?: string;
}

export function mapStorage(entries: Array<[string, string]> = []): MapStorage {
  const items = new Map(entries);
  const log: string[] = [];
  return {
    items,
    log,
    getItem(key) {
      log.push(`getItem ${key}`);
      return items.get(key) ?? null;
    },
    setItem(key, value) {
      log.push(`setItem ${key}`);
      items.set(key, value);
    },
    removeItem(key) {
      log.push(`removeItem ${key}`);
      items.delete(key);
    },
    kept() {
      const text = items.get(STORAGE_KEY);
      return text === undefined ? undefined : (JSON.parse(text) as StoredJson);
    },
  };
}

/** One refresh call the server received, settled when the test says. */
export interface ServerCall {
  readonly ctx: RefreshContext;
  readonly settled: boolean;
  /** Answers with a new token and a rotated refresh token. */
  respond(options?: MintOptions): TokenSet;
  fail(error?: unknown): void;
}

export interface AuthServer {
  readonly calls: ServerCall[];
  /** A token set as the server issues it (at sign-in), with a refresh token of its own. */
  issue(options?: MintOptions): TokenSet;
  /** Contract invariants seen broken: an expired or unknown token served, two requests out, a refresh token replayed. */
  readonly violations: string[];
}

export interface App {
  readonly engine: SessionEngine;
  readonly online$: BehaviorSubject<boolean>;
  readonly resume$: Subject<void>;
  /** What reached `onError`. */
  readonly errors: unknown[];
  /** `engine.getToken`, its answer checked against the server; never an unhandled rejection. */
  getToken(): Promise<string | null>;
}

export type AppOptions = Partial<Omit<SessionEngineOptions, 'refresh' | 'online$' | 'resume$' | 'onError'>> & { online?: boolean };

const apps: App[] = [];
const servers: AuthServer[] = [];

/** Stops every app a test started and checks its server's invariants. */
export function useRestoreWorld(): void {
  afterEach(() => {
    for (const app of apps.splice(0)) app.engine.stop();
    for (const server of servers.splice(0)) expect(server.violations).toEqual([]);
  });
}

let refreshTokens = 0;

export function createServer(): AuthServer & { refresh(ctx: RefreshContext): Promise<TokenSet>; check(token: string | null): void } {
  const calls: ServerCall[] = [];
  const violations: string[] = [];
  const expiryOf = new Map<string, number>();
  /** Refresh tokens an answer has replaced: sending one again is a replay. */
  const spent = new Set<string>();

  const issue = (options: MintOptions = {}) => {
    const set = mint({ refreshToken: `rt-${(refreshTokens += 1)}`, ...options });
    expiryOf.set(set.accessToken, (decodeJwt(set.accessToken).exp as number) * 1000 - (options.skewMs ?? 0));
    return set;
  };

  const check = (token: string | null) => {
    if (token === null) return;
    const expiry = expiryOf.get(token);
    if (expiry === undefined) violations.push('served a token the server never issued');
    else if (Date.now() >= expiry) violations.push(`served a token ${Date.now() - expiry} ms past its expiry`);
  };

  const refresh = (ctx: RefreshContext) =>
    new Promise<TokenSet>((resolve, reject) => {
      if (calls.some((call) => !call.settled && !call.ctx.signal.aborted)) violations.push('two refreshes in flight');
      if (ctx.refreshToken !== undefined && spent.has(ctx.refreshToken)) violations.push(`${ctx.refreshToken} replayed`);
      let settled = false;
      const call: ServerCall = {
        ctx,
        get settled() {
          return settled;
        },
        respond(options) {
          const set = issue(options);
          settled = true;
          // An aborted request's answer never reaches the engine: its refresh token may still be sent.
          if (ctx.refreshToken !== undefined && !ctx.signal.aborted) spent.add(ctx.refreshToken);
          resolve(set);
          return set;
        },
        fail(error = new NetworkError()) {
          settled = true;
          reject(error);
        },
      };
      calls.push(call);
    });

  const server = { calls, issue, violations, refresh, check };
  servers.push(server);
  return server;
}

/** An engine of the app on `server`, started as a page load or a process start would start it. */
export function startApp(server: ReturnType<typeof createServer>, options: AppOptions = {}): App {
  const { online = true, ...engineOptions } = options;
  const online$ = new BehaviorSubject(online);
  const resume$ = new Subject<void>();
  const errors: unknown[] = [];
  const engine = createSessionEngine({
    refresh: server.refresh,
    online$,
    resume$,
    onError: (error) => errors.push(error),
    ...engineOptions,
  });
  engine.token$.subscribe(server.check);
  const app: App = {
    engine,
    online$,
    resume$,
    errors,
    getToken() {
      const result = engine.getToken().then((token) => (server.check(token), token));
      result.catch(() => {});
      return result;
    },
  };
  apps.push(app);
  return app;
}
