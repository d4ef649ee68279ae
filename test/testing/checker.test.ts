/**
 * sessionchart/testing's invariant checker: a real engine through sign-in, refreshes, an outage, a rotation and a
 * sign-out breaks nothing; deliberately broken engines (hand-made, behind the engine's interface) break each
 * invariant the checker can see from outside, and it records which, when and through what.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSessionEngine, type SessionEngine, type SessionInfo, type TokenSet } from 'sessionchart';
import { T0, checkInvariants, createTokenServer, flushPromises, type TokenServer, type Violation } from 'sessionchart/testing';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

const seen = (violations: readonly Violation[]) => violations.map(({ invariant, event }) => `${invariant} ${event}`);

/**
 * An engine made by hand: it holds what it is given and serves it, with no clock and no rules. Each test replaces
 * a method with a broken one.
 */
function handMadeEngine() {
  const session$ = new BehaviorSubject<SessionInfo | null>(null);
  const token$ = new BehaviorSubject<string | null>(null);
  let held: TokenSet | null = null;
  const engine = {
    hold(set: TokenSet, sessionKey: string) {
      held = set;
      if (session$.value?.sessionKey !== sessionKey) session$.next({ sessionKey, userId: 'user-1', startedAt: Date.now() });
      token$.next(set.accessToken);
    },
    held: () => held,
    drop() {
      held = null;
      session$.next(null);
      token$.next(null);
    },
    signIn(set: TokenSet) {
      engine.hold(set, JSON.parse(Buffer.from(set.accessToken.split('.')[1]!, 'base64url').toString()).sid);
    },
    signOut: () => engine.drop(),
    rotate() {},
    getToken: async (_options?: { forceRefresh?: boolean }): Promise<string | null> => held?.accessToken ?? null,
    peekToken: () => held?.accessToken ?? null,
    restore: async () => null,
    getSnapshot: () => ({
      status: held ? 'fresh' : 'signedOut',
      sessionKey: session$.value?.sessionKey ?? null,
      session: session$.value,
      expiresAt: null,
      issuedAt: null,
      error: null,
      lastRefreshAt: null,
    }),
    subscribe: () => () => {},
    session$,
    token$,
    stop() {},
  };
  return engine;
}

const asEngine = (engine: ReturnType<typeof handMadeEngine>) => engine as unknown as SessionEngine;
const refreshWith = (server: TokenServer, refreshToken: string | undefined, signal = new AbortController().signal) =>
  server.refresh({ session: null, refreshToken, reason: 'forced', signal });

describe('a real engine', () => {
  it('keeps every invariant through a sign-in, refreshes, an outage longer than a token life, a rotation and a sign-out', async () => {
    const server = createTokenServer({ lifeSeconds: 60 });
    const online$ = new BehaviorSubject(true);
    const engine = createSessionEngine({ refresh: server.refresh, online$, resume$: new Subject() });
    const checker = checkInvariants(engine, server);
    engine.signIn(server.signIn());
    await vi.advanceTimersByTimeAsync(120_000);
    server.fault = { kind: 'down' };
    await vi.advanceTimersByTimeAsync(90_000);
    await engine.getToken().catch(() => null);
    server.fault = null;
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await engine.getToken()).toEqual(expect.any(String));
    engine.rotate();
    expect(await engine.getToken()).toEqual(expect.any(String));
    engine.signOut();
    await flushPromises();
    expect(checker.violations).toEqual([]);
    expect(server.counters.requests).toBeGreaterThan(3);
    engine.stop();
  });

  it("takes a sign-in with a refresh token alone for the end of the session held: no invariant 5", async () => {
    const server = createTokenServer();
    const engine = createSessionEngine({ refresh: server.refresh, online$: new BehaviorSubject(true), resume$: new Subject() });
    const checker = checkInvariants(engine, server);
    engine.signIn(server.signIn());
    const refreshToken = server.signIn().refreshToken!;
    engine.signIn({ refreshToken });
    expect(await engine.getToken()).toEqual(expect.any(String));
    expect(engine.getSnapshot().sessionKey).toBe(server.sessionOfRefreshToken(refreshToken)!.sid);
    expect(checker.violations).toEqual([]);
    engine.stop();
  });
});

describe('broken engines', () => {
  it('one that serves expired tokens: invariant 1, at the time, through each way it served one', async () => {
    const server = createTokenServer({ lifeSeconds: 60 });
    const engine = handMadeEngine();
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn());
    await engine.getToken();
    expect(checker.violations).toEqual([]);
    vi.setSystemTime(T0 + 60_000);
    await engine.getToken();
    engine.peekToken();
    expect(checker.violations).toEqual([
      { invariant: 1, at: T0 + 60_000, event: 'getToken', message: 'engine 0 served a token 0 ms expired' },
      { invariant: 1, at: T0 + 60_000, event: 'peekToken', message: 'engine 0 served a token 0 ms expired' },
    ]);
  });

  it('one that replays a refresh token an answer replaced: invariant 7, and the server revokes the session', async () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    const first = server.signIn({ sid: 's1' });
    // It never keeps the refresh token an answer brings: every refresh sends the first one.
    engine.getToken = async () => {
      const answer = await refreshWith(server, first.refreshToken);
      engine.hold(answer, 's1');
      return answer.accessToken;
    };
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(first);
    await engine.getToken({ forceRefresh: true });
    expect(checker.violations).toEqual([]);
    await expect(engine.getToken({ forceRefresh: true })).rejects.toMatchObject({ code: 'auth' });
    expect(seen(checker.violations)).toEqual(['7 request']);
    expect(checker.violations[0]).toMatchObject({ message: 'default sent a refresh token that an answer had already replaced', sessionLeft: false });
    expect(server.session('s1')?.revoked).toBe(true);
  });

  it('one that serves the token of a session it signed out of: invariant 2', async () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    engine.signOut = () => {}; // forgets nothing
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn());
    engine.signOut();
    await engine.getToken();
    expect(seen(checker.violations)).toEqual(['2 getToken']);
  });

  it('one that sends a second refresh while one is in flight: invariant 3', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const engine = handMadeEngine();
    const checker = checkInvariants(asEngine(engine), server);
    const { refreshToken } = server.signIn();
    void refreshWith(server, refreshToken);
    void refreshWith(server, refreshToken);
    expect(seen(checker.violations)).toEqual(['3 request']);
  });

  it('one that waits on the network while it holds a valid token: invariant 4', async () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    engine.getToken = async () => {
      const answer = await refreshWith(server, engine.held()!.refreshToken);
      engine.hold(answer, 's1');
      return answer.accessToken;
    };
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn({ sid: 's1' }));
    await engine.getToken();
    expect(seen(checker.violations)).toEqual(['4 getToken']);
  });

  it('one that signs out on a network fault: invariant 5', async () => {
    const server = createTokenServer();
    server.fault = { kind: 'down' };
    const engine = handMadeEngine();
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn());
    await refreshWith(server, engine.held()!.refreshToken).catch(() => engine.drop());
    expect(seen(checker.violations)).toEqual(['5 session$']);
  });

  it('one whose session key changes across a refresh: invariant 6', async () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn({ sid: 's1' }));
    engine.hold(await refreshWith(server, engine.held()!.refreshToken), 'renamed');
    // By its own account it left s1: the s1 token it then hands out is of a session it left.
    expect(seen(checker.violations)).toEqual(['6 session$', '2 token$']);
  });

  it('one that aborts a request for no reason the contract allows: invariant 7', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const engine = handMadeEngine();
    const checker = checkInvariants(asEngine(engine), server);
    const gaveUp = new AbortController();
    refreshWith(server, server.signIn().refreshToken, gaveUp.signal).catch(() => {});
    vi.setSystemTime(T0 + 1_000);
    gaveUp.abort();
    expect(checker.violations).toEqual([
      { invariant: 7, at: T0 + 1_000, event: 'abort', message: 'default aborted a refresh after 1000 ms, by neither a sign-out, stop() nor the timeout' },
    ]);
  });

  it('one that leaves a caller waiting longer than refreshTimeoutMs: invariant 8, seen while it still waits', async () => {
    const server = createTokenServer();
    server.failNext({ kind: 'hang' });
    const engine = handMadeEngine();
    const gaveUp = new AbortController();
    engine.getToken = async () => (await refreshWith(server, engine.held()!.refreshToken, gaveUp.signal)).accessToken;
    const checker = checkInvariants(asEngine(engine), server, { refreshTimeoutMs: 10_000 });
    engine.signIn(server.signIn());
    const waiting = engine.getToken({ forceRefresh: true }).catch(() => null);
    vi.setSystemTime(T0 + 10_000);
    expect(checker.violations).toEqual([]);
    vi.setSystemTime(T0 + 10_001);
    expect(seen(checker.violations)).toEqual(['8 getToken']);
    gaveUp.abort();
    await waiting;
    expect(seen(checker.violations)).toEqual(['8 getToken']);
  });
});

describe('the checker', () => {
  it('gives the engine its own methods back when it stops', () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    const { getToken, peekToken, signIn } = engine;
    const checker = checkInvariants(asEngine(engine), server);
    expect(engine.getToken).not.toBe(getToken);
    checker.stop();
    expect([engine.getToken, engine.peekToken, engine.signIn]).toEqual([getToken, peekToken, signIn]);
  });
});

describe('the checker on what the old invariant harness checked (held tokens, prompt answers, tabs queued on a lock)', () => {
  /** The part of an actor's snapshot the checker reads: the machine's context, and whether it is signed out. */
  const actorHolding = (engine: ReturnType<typeof handMadeEngine>, context: () => Record<string, unknown>) =>
    Object.assign(engine, {
      actor: {
        getSnapshot: () => ({ context: context(), matches: (state: string) => state === 'signedOut' && engine.held() === null }),
      },
    });

  it('checkHeldTokenCalls: a getToken that holds a valid token but waits, or answers null: invariant 4', async () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    const served = engine.getToken;
    let answer: 'held' | 'never' | 'null' = 'held';
    // 'never': it waits on a request in flight since before the call, born before it, which the birth check misses.
    engine.getToken = (options) => (answer === 'held' ? served(options) : answer === 'never' ? new Promise(() => {}) : Promise.resolve(null));
    const checker = checkInvariants(asEngine(engine), server);
    engine.signIn(server.signIn());
    await engine.getToken();
    await flushPromises();
    checker.checkHeldTokenCalls();
    expect(checker.violations).toEqual([]);
    answer = 'never';
    void engine.getToken();
    answer = 'null';
    await engine.getToken();
    await flushPromises();
    checker.checkHeldTokenCalls();
    expect(checker.violations.map(({ invariant, event, message }) => `${invariant} ${event}: ${message}`)).toEqual([
      '4 getToken: engine 0 getToken held a valid token and did not settle without waiting',
      '4 getToken: engine 0 getToken held a valid token and did not answer with it',
    ]);
  });

  it('checkHeld: a token kept after a sign-out, one of an ended session, one under another key: invariants 2 and 6', () => {
    const server = createTokenServer();
    const engine = handMadeEngine();
    let refreshToken: string | undefined;
    let sessionKey = 's1';
    actorHolding(engine, () => {
      const held = engine.held();
      return { token: held && { accessToken: held.accessToken }, session: held && { sessionKey }, refreshToken };
    });
    const checker = checkInvariants(asEngine(engine), server);
    const first = server.signIn({ sid: 's1' });
    engine.signIn(first);
    checker.checkHeld();
    expect(checker.violations).toEqual([]);
    sessionKey = 'renamed';
    checker.checkHeld();
    sessionKey = 's1';
    // Its sign-out forgets the token but keeps the refresh token; then it takes up the ended session's token again.
    refreshToken = first.refreshToken;
    engine.signOut();
    checker.checkHeld();
    refreshToken = undefined;
    engine.hold(first, 's1');
    checker.checkHeld();
    expect(seen(checker.violations)).toEqual(['6 held', '2 held', '2 token$', '2 held']);
  });

  it('a rotation answered with an opaque token that names no session: the engine names it, and its token is live', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const engine = createSessionEngine({ refresh: server.refresh, online$: new BehaviorSubject(true), resume$: new Subject() });
    const checker = checkInvariants(engine, server);
    engine.signIn(server.signIn({ sid: 's1' }));
    engine.rotate();
    await flushPromises();
    server.inFlight()[0]!.respond({ opaque: true });
    await flushPromises();
    expect(engine.getSnapshot().sessionKey).not.toBe('s1');
    expect(typeof engine.peekToken()).toBe('string');
    checker.checkHeld();
    expect(checker.violations).toEqual([]);
    engine.stop();
  });

  it('a sign-in under the key the engine gave a keyless session keeps that session: its earlier token is live', async () => {
    const server = createTokenServer();
    const engine = createSessionEngine({ refresh: server.refresh, online$: new BehaviorSubject(true), resume$: new Subject() });
    const checker = checkInvariants(engine, server);
    const first = server.signIn({ opaque: true, sid: null });
    engine.signIn(first);
    const ownKey = engine.getSnapshot().sessionKey!;
    engine.signIn(server.signIn({ sid: ownKey }));
    expect(checker.judge(first.accessToken)).toMatchObject({ issued: true, dead: false });
    expect(checker.violations).toEqual([]);
    engine.stop();
  });

  it('a tab queued for the lock its group shares: an abort at its timeout, counted from when it left fresh, is explained', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const tabs = [handMadeEngine(), handMadeEngine()];
    const statuses = tabs.map(() => new Subject<string>());
    tabs.forEach((tab, i) => {
      const subscribe = (listener: (snapshot: { status: string }) => void) => {
        const subscription = statuses[i]!.subscribe((status) => listener({ status }));
        return () => subscription.unsubscribe();
      };
      Object.assign(tab, { subscribe });
    });
    const checker = checkInvariants([], server, { refreshTimeoutMs: 30_000 });
    tabs.forEach((tab, i) => checker.watch(asEngine(tab), `tab ${i}`));
    const { refreshToken } = server.signIn();
    const [first, second] = [new AbortController(), new AbortController()];
    statuses.forEach((status) => status.next('refreshing'));
    server.refreshFor('tab 0')({ session: null, refreshToken, reason: 'expired', signal: first.signal }).catch(() => {});
    // A rotation while it waits changes its status, not when its attempt began.
    vi.setSystemTime(T0 + 10_000);
    statuses[1]!.next('rotated');
    vi.setSystemTime(T0 + 30_000);
    first.abort();
    // The second tab waited for the lock from T0: its request goes out and meets its timeout at once.
    server.refreshFor('tab 1')({ session: null, refreshToken, reason: 'expired', signal: second.signal }).catch(() => {});
    second.abort();
    expect(checker.violations).toEqual([]);
  });
});
