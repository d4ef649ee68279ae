import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { decodeJwt } from 'jose';
import {
  createSessionEngine,
  NetworkError,
  type GetTokenOptions,
  type RefreshContext,
  type RefreshInput,
  type SessionEngine,
  type SessionEngineOptions,
  type TokenSet,
} from '../../src/index.js';
import { mint, type MintOptions } from './tokens.js';

/** A whole second, so `iat` (whole seconds) and the local clock agree exactly. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** One call of the controllable `refresh`: settle it whenever and in whatever order a test likes. */
export interface RefreshCall {
  readonly ctx: RefreshContext;
  /** Local ms when the engine made the call. */
  readonly at: number;
  readonly settled: boolean;
  resolve(set: unknown): void;
  reject(error: unknown): void;
  /** Resolves with a token minted now (so the server's `iat` is the time of the response). */
  respond(options?: MintOptions): TokenSet;
  /** Rejects with a network fault by default. */
  fail(error?: unknown): void;
}

export type HarnessOptions = Partial<Omit<SessionEngineOptions, 'online$' | 'resume$' | 'refresh'>> & {
  online?: boolean;
};

export interface Harness {
  readonly engine: SessionEngine;
  readonly online$: BehaviorSubject<boolean>;
  readonly resume$: Subject<void>;
  readonly calls: RefreshCall[];
  /** Answers every later call as soon as it is made; `null` leaves calls pending. */
  reply: ((call: RefreshCall) => void) | null;
  /** A token set from the fake server, remembered with its server-side expiry for the invariant checks. */
  issue(options?: MintOptions): TokenSet;
  /** An opaque token set, remembered with its expiry. */
  issueOpaque(set: Omit<TokenSet, 'accessToken'>, accessToken?: string): TokenSet;
  signIn(options?: MintOptions): TokenSet;
  /** `engine.getToken`, checked against the invariants when it settles; never an unhandled rejection. */
  getToken(options?: GetTokenOptions): Promise<string | null>;
  peekToken(): string | null;
  lastCall(): RefreshCall;
  /**
   * Contract invariants seen broken so far: 1 (no expired token served), 3 (one refresh in flight) and 7 (no
   * refresh token sent again once an answer to it brought a newer one).
   */
  readonly violations: string[];
}

const harnesses: Harness[] = [];
let opaqueCount = 0;

/**
 * Installs fake timers (before any engine exists, as RxJS timers need) at T0 for every test of the file,
 * and after each test checks the invariants and stops the engines.
 */
export function useEngineClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    const created = harnesses.splice(0);
    try {
      for (const harness of created) expect(harness.violations).toEqual([]);
    } finally {
      for (const harness of created) harness.engine.stop();
      vi.useRealTimers();
    }
  });
}

/** What the session machine sends a refresh with, for tests of the runtime's actors on their own. */
export const refreshInput = (overrides: Partial<RefreshInput> = {}): RefreshInput => ({
  session: { sessionKey: 's1', userId: 'u1', startedAt: T0 },
  refreshToken: 'r1',
  reason: 'expired',
  satisfiedAfter: 0,
  ...overrides,
});

/** Lets promises and XState's microtasks run without moving the fake clock or firing any fake timer. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface Tracked<T> {
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
}

/** Watches a promise so a test can ask whether it settled without awaiting it. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** The rejection of `promise` (fails the test if it fulfils). */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: string }> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error as { code?: string },
  );
}

export function createHarness(options: HarnessOptions = {}): Harness {
  const { online = true, ...engineOptions } = options;
  const online$ = new BehaviorSubject(online);
  const resume$ = new Subject<void>();
  const calls: RefreshCall[] = [];
  const violations: string[] = [];
  /** Local ms at which each issued token expires by the server's clock. */
  const expiryOf = new Map<string, number>();
  /** Refresh tokens the server has rotated away: an answer that reached the engine brought a newer one. */
  const spent = new Set<string>();

  const checkServed = (token: string | null, via: string) => {
    if (token === null) return;
    const expiry = expiryOf.get(token);
    if (expiry === undefined) violations.push(`${via} served a token the server never issued`);
    else if (Date.now() >= expiry) violations.push(`${via} served a token ${Date.now() - expiry} ms past its expiry`);
  };

  const issue = (mintOptions: MintOptions = {}) => {
    const set = mint(mintOptions);
    const { exp } = decodeJwt(set.accessToken);
    expiryOf.set(set.accessToken, (exp as number) * 1000 - (mintOptions.skewMs ?? 0));
    return set;
  };

  const issueOpaque = (set: Omit<TokenSet, 'accessToken'>, accessToken = `opaque-${(opaqueCount += 1)}`) => {
    const expiry = set.expiresIn !== undefined ? Date.now() + set.expiresIn * 1000 : (set.expiresAt ?? 0);
    expiryOf.set(accessToken, expiry);
    return { ...set, accessToken };
  };

  const refresh = (ctx: RefreshContext) =>
    new Promise<TokenSet>((resolve, reject) => {
      const inFlight = calls.filter((call) => !call.settled && !call.ctx.signal.aborted);
      if (inFlight.length > 0) violations.push(`refresh called while ${inFlight.length} other(s) were in flight`);
      if (ctx.refreshToken !== undefined && spent.has(ctx.refreshToken)) {
        violations.push(`refresh token ${ctx.refreshToken} sent again after the server rotated it (a replay)`);
      }
      let settled = false;
      const call: RefreshCall = {
        ctx,
        at: Date.now(),
        get settled() {
          return settled;
        },
        resolve(set) {
          settled = true;
          // An aborted request's answer never reaches the engine: its refresh token may be sent again.
          const rotatedTo = (set as Partial<TokenSet> | null | undefined)?.refreshToken;
          if (!ctx.signal.aborted && ctx.refreshToken !== undefined && rotatedTo !== undefined && rotatedTo !== ctx.refreshToken) {
            spent.add(ctx.refreshToken);
          }
          resolve(set as TokenSet);
        },
        reject(error) {
          settled = true;
          reject(error);
        },
        respond(mintOptions) {
          const set = issue(mintOptions);
          call.resolve(set);
          return set;
        },
        fail(error = new NetworkError()) {
          call.reject(error);
        },
      };
      calls.push(call);
      harness.reply?.(call);
    });

  const engine = createSessionEngine({ refresh, online$, resume$, ...engineOptions });
  // Ends with the actor when the test stops the engine.
  engine.token$.subscribe((token) => checkServed(token, 'token$'));

  const harness: Harness = {
    engine,
    online$,
    resume$,
    calls,
    reply: null,
    issue,
    issueOpaque,
    signIn(mintOptions) {
      const set = issue(mintOptions);
      engine.signIn(set);
      return set;
    },
    getToken(getOptions) {
      const result = engine.getToken(getOptions).then((token) => {
        checkServed(token, 'getToken');
        return token;
      });
      result.catch(() => {});
      return result;
    },
    peekToken() {
      const token = engine.peekToken();
      checkServed(token, 'peekToken');
      return token;
    },
    lastCall() {
      const call = calls.at(-1);
      if (!call) throw new Error('refresh was never called');
      return call;
    },
    violations,
  };
  harnesses.push(harness);
  return harness;
}

/** Signed in, the token expired while timers slept, and a caller now waits on the refresh that started. */
export async function callerWaitingOnRefresh(options: HarnessOptions = {}) {
  const h = createHarness(options);
  h.signIn();
  vi.setSystemTime(T0 + 70_000);
  const result = h.getToken();
  await flush();
  return { h, result };
}
