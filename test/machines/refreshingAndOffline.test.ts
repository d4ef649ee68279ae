import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, AuthError, InvalidTokenError, NetworkError } from '../../src/errors.js';
import { CONFIG, startMachine, token, type MachineHarness } from './machineHarness.js';

/** The one refresh in flight, its outcomes, and the offline states it falls back to. */

const T = 1_000_000;
const EXPIRED = T + 60_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** Signed in with a token that is already past its leeway: the refresh starts at once. */
function refreshingAt({ online = true, callersCutBackoff = true }: { online?: boolean; callersCutBackoff?: boolean } = {}) {
  m = startMachine({ online, callersCutBackoff });
  m.send({ type: 'user.signIn', token: token(T), now: EXPIRED });
  // Offline, settling waits: a request starts the attempt anyway.
  if (!online) m.send({ type: 'user.request', now: EXPIRED });
  expect(m.value()).toBe('refreshing');
  expect(m.snapshot().hasTag('fetching')).toBe(true);
}

async function backingOffAt(callersCutBackoff = true) {
  refreshingAt({ callersCutBackoff });
  await m.fail();
  expect(m.value()).toEqual({ offline: 'backingOff' });
}

describe('refreshing', () => {
  it("asks with the session, its refresh token and the held token's issue time", () => {
    refreshingAt();
    expect(m.lastRefresh().input).toEqual({
      session: m.context().session,
      refreshToken: `r-${T}`,
      reason: 'expired',
      satisfiedAfter: T,
    });
  });

  it('a token of the same session is stored and announced, keeping the session object', async () => {
    refreshingAt();
    const session = m.context().session;
    m.told.length = 0;
    const answer = await m.answer(EXPIRED + 100);
    expect(m.value()).toBe('fresh');
    expect(m.context()).toMatchObject({ token: answer, lastRefreshAt: EXPIRED + 100 });
    expect(m.context().session).toBe(session);
    expect(m.told.map((a) => a.type)).toEqual(['announce.token']);
  });

  it("a token of another session is the server's rotation: a new session", async () => {
    refreshingAt();
    await m.answer(EXPIRED + 100, { sessionKey: 's2' });
    expect(m.context().session).toEqual({ sessionKey: 's2', userId: 'u1', startedAt: EXPIRED + 100 });
  });

  it('an auth failure ends the session, keeps the error and tells the tabs', async () => {
    refreshingAt();
    const error = new AuthError();
    await m.fail(error);
    expect(m.value()).toBe('signedOut');
    // A refused refresh has no time of its own: the session ends as of its start.
    expect(m.context()).toMatchObject({ session: null, error, endedAt: EXPIRED });
    expect(m.told.at(-1)).toEqual({ type: 'announce.signOut', sessionKey: 's1', at: EXPIRED });
  });

  it.each([
    ['network', new NetworkError()],
    ['invalid_token', new InvalidTokenError()],
    ['aborted', new AbortError()],
  ])('a failure with code %s backs off with the attempt counted', async (_, error) => {
      refreshingAt();
      await m.fail(error);
      expect(m.value()).toEqual({ offline: 'backingOff' });
      expect(m.context()).toMatchObject({ attempt: 1, error, session: { sessionKey: 's1' } });
      expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: undefined }]);
  });

  it("passes the server's Retry-After to the retry timer", async () => {
    refreshingAt();
    await m.fail(new NetworkError(undefined, { retryAfterMs: 7_000 }));
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: 7_000 }]);
  });

  it('a failure while the network is known to be down waits for it, the attempt counted', async () => {
    refreshingAt({ online: false });
    await m.fail();
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().attempt).toBe(1);
    expect(m.retryTimers).toEqual([]);
  });

  it('env.offline aborts the request and waits', () => {
    refreshingAt();
    const { signal } = m.lastRefresh();
    m.send({ type: 'env.offline' });
    expect(signal.aborted).toBe(true);
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().online).toBe(false);
  });

  it('ignores requests and forced refreshes while one is in flight', () => {
    refreshingAt();
    m.send({ type: 'user.request', now: EXPIRED + 1 });
    m.send({ type: 'user.refresh', now: EXPIRED + 2 });
    expect(m.refreshes).toHaveLength(1);
  });
});

describe('offline.backingOff', () => {
  it('counts every failed attempt and retries with reason retry', async () => {
    await backingOffAt();
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
    await m.fail();
    expect(m.retryTimers.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('a token resets the count', async () => {
    await backingOffAt();
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    await m.answer(EXPIRED + 1_000);
    expect(m.context()).toMatchObject({ attempt: 0, error: null, retryAfterMs: undefined });
  });
});

describe('offline', () => {
  async function waitingAt() {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ offline: 'waiting' });
  }

  it('env.online settles the held token afresh', async () => {
    await waitingAt();
    m.send({ type: 'env.online', now: T + 1_000 });
    expect(m.value()).toBe('fresh');
    expect(m.context().online).toBe(true);
  });

  it('env.offline while backing off stops the retries and waits', async () => {
    await backingOffAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().online).toBe(false);
  });

  it.each([
    ['user.request', 'retry'],
    ['user.refresh', 'forced'],
  ] as const)('%s tries at once with reason %s', async (type, reason) => {
    await waitingAt();
    m.send({ type, now: T + 1_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe(reason);
  });

  describe('env.wake', () => {
    it('stays while offline with a fresh token', async () => {
      await waitingAt();
      m.send({ type: 'env.wake', now: T + 1_000 });
      expect(m.value()).toEqual({ offline: 'waiting' });
      expect(m.refreshes).toHaveLength(0);
    });

    it('goes to fresh while online with a fresh token', async () => {
      await backingOffAt();
      // Backing off with a fresh token: a forced refresh of a newly signed-in token failed.
      m.send({ type: 'user.signIn', token: token(EXPIRED), now: EXPIRED });
      m.send({ type: 'user.refresh', now: EXPIRED + 1 });
      await m.fail();
      expect(m.value()).toEqual({ offline: 'backingOff' });
      m.send({ type: 'env.wake', now: EXPIRED + 1_000 });
      expect(m.value()).toBe('fresh');
    });

    it('tries at once with reason resume when the token is not fresh', async () => {
      await backingOffAt();
      m.send({ type: 'env.wake', now: EXPIRED + 1_000 });
      expect(m.value()).toBe('refreshing');
      expect(m.lastRefresh().input.reason).toBe('resume');
    });
  });
});

/** `retry.callersCutBackoff: false`: retries keep to the backoff however many callers ask. */
describe('callers that may not cut the backoff short', () => {
  it('a request leaves offline.backingOff alone; the retry timer still retries', async () => {
    await backingOffAt(false);
    m.send({ type: 'user.request', now: EXPIRED + 1 });
    expect(m.value()).toEqual({ offline: 'backingOff' });
    expect(m.refreshes).toHaveLength(1);
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
  });

  it('a request leaves offline.waiting alone; env.online and a forced refresh still try', async () => {
    m = startMachine({ callersCutBackoff: false });
    m.signIn(T);
    m.send({ type: 'env.offline' });
    m.send({ type: 'user.request', now: EXPIRED });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.refreshes).toHaveLength(0);
    m.send({ type: 'user.refresh', now: EXPIRED });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('forced');
  });
});
