import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
  createSessionEngine,
  type GetTokenOptions,
  type RefreshInput,
  type SessionEngine,
  type SessionEngineOptions,
  type TokenSet,
} from '../../src/index.js';
import {
  T0,
  checkInvariants,
  createTokenServer,
  flushPromises,
  type IssueOptions,
  type RefreshCall,
  type TokenServer,
  type Violation,
} from '../../src/testing/index.js';

/**
 * One engine on a fake clock, its refreshes held by sessionchart/testing's token server until the test answers
 * them (`call.respond()`, `fail()`, `resolve()`), in whatever order; the invariant checker watches it.
 */

export { T0, type RefreshCall };

/** Lets promises and XState's microtasks run, however long the chain, without moving the fake clock. */
export const flush = () => flushPromises(5);

/** Fake timers and Date, installed before any engine exists (RxJS timers need that): the ones the tests move. */
export const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

export type HarnessOptions = Partial<Omit<SessionEngineOptions, 'online$' | 'resume$' | 'refresh'>> & {
  online?: boolean;
};

export interface Harness {
  readonly engine: SessionEngine;
  readonly online$: BehaviorSubject<boolean>;
  readonly resume$: Subject<void>;
  /** Hands out no refresh token unless a test names one, so what the engine sends is what the test gave it. */
  readonly server: TokenServer;
  readonly calls: readonly RefreshCall[];
  /** Answers every later call as soon as it is made; `null` leaves calls pending. */
  reply: ((call: RefreshCall) => void) | null;
  /** A token set of session `s1` (unless `sid` says otherwise), as the server issues it at a sign-in. */
  issue(options?: IssueOptions): TokenSet;
  /** An opaque token set with the given expiry (and session key, refresh token), issued by the server. */
  issueOpaque(set: Omit<TokenSet, 'accessToken'>): TokenSet;
  signIn(options?: IssueOptions): TokenSet;
  /** `engine.getToken`, never an unhandled rejection. */
  getToken(options?: GetTokenOptions): Promise<string | null>;
  peekToken(): string | null;
  lastCall(): RefreshCall;
  /** The contract's invariants seen broken so far. */
  readonly violations: readonly Violation[];
}

const harnesses: Array<{ harness: Harness; stop(): void }> = [];

/**
 * Installs fake timers (before any engine exists, as RxJS timers need) at T0 for every test of the file,
 * and after each test checks the invariants and stops the engines.
 */
export function useEngineClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: [...FAKED] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    const created = harnesses.splice(0);
    try {
      for (const { harness } of created) expect(harness.violations).toEqual([]);
    } finally {
      for (const { stop } of created) stop();
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
  const server = createTokenServer({ refreshTokens: 'omit' });
  server.holdRequests();
  const engine = createSessionEngine({ refresh: server.refresh, online$, resume$, ...engineOptions });
  const checker = checkInvariants(engine, server, { refreshTimeoutMs: engineOptions.refreshTimeoutMs });
  const issue = (issueOptions: IssueOptions = {}) => server.signIn({ sid: 's1', ...issueOptions });

  const harness: Harness = {
    engine,
    online$,
    resume$,
    server,
    calls: server.requests as readonly RefreshCall[],
    reply: null,
    issue,
    issueOpaque: ({ expiresIn, expiresAt, sessionKey, refreshToken }) =>
      server.signIn({ opaque: true, sid: sessionKey, lifeSeconds: expiresIn, expiresAt, refreshToken: refreshToken ?? false }),
    signIn(issueOptions) {
      const set = issue(issueOptions);
      engine.signIn(set);
      return set;
    },
    getToken(getOptions) {
      const result = engine.getToken(getOptions);
      result.catch(() => {});
      return result;
    },
    peekToken: () => engine.peekToken(),
    lastCall() {
      const call = harness.calls.at(-1);
      if (!call) throw new Error('refresh was never called');
      return call;
    },
    get violations() {
      return checker.violations;
    },
  };
  server.subscribe((event) => {
    if (event.type === 'request') harness.reply?.(event.request as RefreshCall);
  });
  harnesses.push({
    harness,
    stop() {
      checker.stop();
      engine.stop();
    },
  });
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
