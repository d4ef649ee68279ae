import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, NetworkError } from '../../machines/errors.js';
import { CONFIG, nextTurn, sessionOf, startMachine, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/**
 * `rotate()`: the session changed without a token. The access token is dropped at once, the refresh token kept,
 * and `rotated.fetching` fetches the new session's token, after the request in flight if there is one.
 */

const T = 1_000_000;
const ROTATED = T + 10_000;
let m: MachineHarness;
afterEach(() => m.stop());

function signedInAt() {
  m = startMachine();
  m.signIn(T, { refreshToken: 'r1' });
  m.told.length = 0;
}

function rotatedAt() {
  signedInAt();
  m.send({ type: 'user.rotate', now: ROTATED });
  expect(m.value()).toEqual({ rotated: 'fetching' });
}

describe('user.rotate', () => {
  it('drops the access token, keeps the refresh token, tells the tabs and fetches with it', () => {
    signedInAt();
    const held = m.context().token;
    m.send({ type: 'user.rotate', now: ROTATED });
    expect(m.context()).toMatchObject({ token: null, droppedToken: held, refreshToken: 'r1', reason: 'rotated' });
    expect(m.told).toEqual([{ type: 'announce.rotate', sessionKey: 's1', at: ROTATED }]);
    expect(m.snapshot().hasTag('fetching')).toBe(true);
    expect(m.refreshes.map((call) => call.input)).toEqual([
      // Nothing held: another tab's token answers it only by its session's start (see tabRules); a stored token
      // older than the one dropped is not the session's newest (its refresh token may be spent).
      { session: m.context().session, refreshToken: 'r1', reason: 'rotated', satisfiedAfter: held!.issuedAt },
    ]);
  });

  it('does nothing without a session', () => {
    m = startMachine();
    m.send({ type: 'user.rotate', now: T });
    expect(m.value()).toBe('signedOut');
    expect(m.told).toEqual([]);
  });

  it('with the network down waits for it, sending nothing', () => {
    signedInAt();
    m.send({ type: 'env.offline' });
    m.send({ type: 'user.rotate', now: ROTATED });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context()).toMatchObject({ token: null, refreshToken: 'r1' });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.refreshes).toHaveLength(0);
  });

  it('a second notice joins the rotation under way instead of restarting it', () => {
    rotatedAt();
    const dropped = m.context().droppedToken;
    const first = m.lastRefresh();
    m.send({ type: 'user.rotate', now: ROTATED + 1 });
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: ROTATED + 2 });
    expect(m.refreshes).toEqual([first]);
    expect(first.signal.aborted).toBe(false);
    expect(m.context().droppedToken).toBe(dropped);
    expect(m.told).toHaveLength(1);
  });
});

describe('user.rotate while a request is out: rotated.awaitingRequest', () => {
  /** A refresh of an expired token sent at SENT with `r-T`, then the rotation. */
  const SENT = T + 60_000;
  function awaitingAt() {
    m = startRefreshing(T, SENT);
    m.send({ type: 'user.rotate', now: SENT + 100 });
    expect(m.value()).toEqual({ rotated: 'awaitingRequest' });
  }

  it('drops the token but lets the request run, sending no second one', () => {
    awaitingAt();
    expect(m.lastRefresh().signal.aborted).toBe(false);
    expect(m.refreshes).toHaveLength(1);
    expect(m.context().token).toBeNull();
    expect(m.snapshot().hasTag('fetching')).toBe(true);
    m.send({ type: 'user.refresh', now: SENT + 200 });
    m.send({ type: 'user.request', now: SENT + 200 });
    expect(m.refreshes).toHaveLength(1);
  });

  it("keeps the answer's refresh token, never its access token, then fetches with the new refresh token", async () => {
    awaitingAt();
    await m.answer(SENT, { refreshToken: 'r-new' }, SENT + 500);
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context()).toMatchObject({ token: null, refreshToken: 'r-new', lastRefreshAt: null });
    expect(m.refreshes.map((call) => call.input.refreshToken)).toEqual([`r-${T}`, 'r-new']);
    const dropped = m.context().droppedToken!.issuedAt;
    expect(m.lastRefresh().input).toMatchObject({ reason: 'rotated', satisfiedAfter: dropped, session: m.context().session });
  });

  it('the answer is kept for the next start and the other tabs without its access token', async () => {
    awaitingAt();
    const written = m.tokenWrites.length;
    m.lastRefresh().resolve({ token: token(SENT, { refreshToken: 'r-new' }), receivedAt: SENT + 500 });
    await nextTurn();
    expect(m.tokenWrites.slice(written).map((write) => write.input)).toEqual([
      { token: null, session: m.context().session, refreshToken: 'r-new' },
    ]);
  });

  it("the answer's new refresh token is told to the other tabs (their store may lack it), online or not", async () => {
    for (const online of [true, false]) {
      awaitingAt();
      if (!online) m.send({ type: 'env.offline' });
      await m.answer(SENT, { refreshToken: 'r-new' }, SENT + 500);
      expect(m.told.filter((told) => told.type === 'announce.refreshToken')).toEqual([
        { type: 'announce.refreshToken', session: m.context().session, refreshToken: 'r-new', at: SENT + 500 },
      ]);
      m.stop();
    }
    // A session without a refresh token (a cookie's) has none to tell.
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T, { refreshToken: undefined }), now: SENT });
    m.send({ type: 'user.rotate', now: SENT + 100 });
    await m.answer(SENT, { refreshToken: undefined }, SENT + 500);
    expect(m.told.filter((told) => told.type === 'announce.refreshToken')).toEqual([]);
    // Nor an answer that brings no new one (a server that keeps refresh tokens): the others hold the one sent.
    m.stop();
    awaitingAt();
    await m.answer(SENT, { refreshToken: undefined }, SENT + 500);
    expect(m.context().refreshToken).toBe(`r-${T}`);
    expect(m.told.filter((told) => told.type === 'announce.refreshToken')).toEqual([]);
  });

  it('a sign-in meanwhile abandons the request: its late answer is not kept as the newest session', async () => {
    awaitingAt();
    m.signIn(SENT + 200, { sessionKey: 's2', refreshToken: 'r-s2' });
    const written = m.tokenWrites.length;
    await m.answer(SENT, { refreshToken: 'r-new' }, SENT + 500);
    expect(m.tokenWrites.slice(written)).toEqual([]);
    expect(m.context()).toMatchObject({ session: { sessionKey: 's2' }, refreshToken: 'r-s2' });
  });

  it('with the network down by the answer, keeps its refresh token and waits', async () => {
    awaitingAt();
    m.send({ type: 'env.offline' });
    await m.answer(SENT, { refreshToken: 'r-new' });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context()).toMatchObject({ token: null, refreshToken: 'r-new' });
    expect(m.refreshes).toHaveLength(1);
  });

  it('a failed request backs off the rotation; a refused one signs out', async () => {
    awaitingAt();
    await m.fail(new NetworkError());
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
    expect(m.context().attempt).toBe(1);
    m.stop();
    awaitingAt();
    await m.fail(new AuthError());
    expect(m.value()).toBe('signedOut');
  });

  describe("a request of a session another tab's sign-in replaced before the rotation", () => {
    /** s1's refresh is out; another tab signs in s2, then rotates it: the request is still s1's. */
    function replacedThenRotated(online = true) {
      m = startRefreshing(T, SENT);
      const s2 = sessionOf('s2', SENT + 50);
      m.send({ type: 'tab.token', token: token(SENT + 50, { sessionKey: 's2', refreshToken: 'r-s2' }), session: s2, now: SENT + 50 });
      if (!online) m.send({ type: 'env.offline' });
      m.send({ type: 'tab.rotate', sessionKey: 's2', at: SENT + 100 });
      expect(m.value()).toEqual({ rotated: 'awaitingRequest' });
      return s2;
    }

    it("a refusal is s1's, not a reason to sign out of s2: s2's rotation is fetched with s2's refresh token", async () => {
      const s2 = replacedThenRotated();
      await m.refuse(SENT + 200);
      expect(m.value()).toEqual({ rotated: 'fetching' });
      expect(m.told.filter((told) => told.type === 'announce.signOut')).toEqual([]);
      expect(m.lastRefresh().input).toMatchObject({ session: s2, refreshToken: 'r-s2', reason: 'rotated' });
    });

    it("an answer's refresh token is s1's, never sent for s2", async () => {
      const s2 = replacedThenRotated();
      await m.answer(SENT, { refreshToken: 'r-s1-new' }, SENT + 200);
      expect(m.value()).toEqual({ rotated: 'fetching' });
      expect(m.context().refreshToken).toBe('r-s2');
      expect(m.lastRefresh().input).toMatchObject({ session: s2, refreshToken: 'r-s2' });
    });

    it("an answer's refresh token is s1's: nothing is told to the other tabs", async () => {
      replacedThenRotated();
      await m.answer(SENT, { refreshToken: 'r-s1-new' }, SENT + 200);
      expect(m.told.filter((told) => told.type === 'announce.refreshToken')).toEqual([]);
    });

    it('with the network down, either waits for it, sending nothing', async () => {
      replacedThenRotated(false);
      await m.refuse(SENT + 200);
      expect(m.value()).toEqual({ rotated: 'waiting' });
      m.stop();
      replacedThenRotated(false);
      await m.answer(SENT, { refreshToken: 'r-s1-new' }, SENT + 200);
      expect(m.value()).toEqual({ rotated: 'waiting' });
      expect(m.context().refreshToken).toBe('r-s2');
      expect(m.refreshes).toHaveLength(1);
    });
  });

  it('with tabs, a request still waiting for the lock is dropped unsent: the rotation fetches at once, no attempt counted', async () => {
    m = startRefreshing(T, SENT, { shareTabs: true });
    expect(m.locks).toHaveLength(1);
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: SENT + 100 });
    await nextTurn();
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context()).toMatchObject({ attempt: 0, error: null, refreshToken: `r-${T}` });
    expect(m.locks).toHaveLength(2);
    expect(m.locks[0]!.released()).toBe(true);
    expect(m.refreshes).toEqual([]);
    m.stop();
    // With the network down, the rotation waits for it.
    m = startRefreshing(T, SENT, { shareTabs: true });
    m.send({ type: 'env.offline' });
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: SENT + 100 });
    await nextTurn();
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context().attempt).toBe(0);
  });

  it('tab.rotate of this session also waits for the request', () => {
    m = startRefreshing(T, SENT);
    const held = m.context().token;
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: SENT + 100 });
    expect(m.value()).toEqual({ rotated: 'awaitingRequest' });
    expect(m.lastRefresh().signal.aborted).toBe(false);
    expect(m.context()).toMatchObject({ token: null, droppedToken: held });
  });
});

describe('rotated.fetching', () => {
  it("adopts the answer as the new session's first token, with its refresh token", async () => {
    rotatedAt();
    const before = m.context().session;
    const answered = await m.answer(ROTATED, { sessionKey: 's2', refreshToken: 'r2' }, ROTATED + 500);
    expect(m.value()).toBe('fresh');
    expect(m.context().session).not.toBe(before);
    expect(m.context()).toMatchObject({
      session: { sessionKey: 's2', startedAt: ROTATED + 500 },
      token: answered,
      refreshToken: 'r2',
      droppedToken: null,
      lastRefreshAt: ROTATED + 500,
    });
  });

  it('an answer that is the dropped token is a failed attempt: nothing served, its refresh token kept', async () => {
    rotatedAt();
    await m.answer(ROTATED, { accessToken: `a-${T}`, refreshToken: 'r2' });
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
    expect(m.context()).toMatchObject({ token: null, refreshToken: 'r2', attempt: 1 });
    expect(m.context().error?.code).toBe('invalid_token');
  });

  it('an auth failure ends the session', async () => {
    rotatedAt();
    await m.refuse();
    expect(m.value()).toBe('signedOut');
    expect(m.told.at(-1)).toMatchObject({ type: 'announce.signOut', sessionKey: 's1' });
  });

  it('a network fault backs off, counted, with the rotation kept', async () => {
    rotatedAt();
    await m.fail();
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.snapshot().hasTag('fetching')).toBe(false);
    expect(m.context()).toMatchObject({ attempt: 1, reason: 'rotated', token: null, refreshToken: 'r1' });
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: undefined }]);
  });

  it('a timeout is a network fault, the fetch aborted', async () => {
    rotatedAt();
    const { signal } = m.lastRefresh();
    await m.timeOut(ROTATED + 30_000);
    expect(signal.aborted).toBe(true);
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
  });

  it('a Retry-After makes the backoff firm', async () => {
    rotatedAt();
    await m.fail(new NetworkError(undefined, { retryAfterMs: 5_000 }));
    expect(m.value()).toEqual({ rotated: { backingOff: 'firm' } });
    expect(m.retryTimers[0]!.retryAfterMs).toBe(5_000);
  });

  it('going offline lets the fetch run on', async () => {
    rotatedAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.lastRefresh().signal.aborted).toBe(false);
    await m.answer(ROTATED, { sessionKey: 's2' });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().session?.sessionKey).toBe('s2');
  });
});
