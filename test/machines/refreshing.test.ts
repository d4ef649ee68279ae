import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, AuthError, InvalidTokenError, NetworkError } from '../../machines/errors.js';
import { CONFIG, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/** `refreshing`: the one request in flight, what its answer or failure leads to, and what it ignores meanwhile. */

const T = 1_000_000;
const EXPIRED = T + 60_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** Signed in at EXPIRED with a token past its leeway: the refresh is sent at once, at EXPIRED. */
function refreshingAt() {
  m = startRefreshing(T, EXPIRED);
}

describe('the request', () => {
  it("is sent once, with the session, its refresh token and the held token's issue time", () => {
    refreshingAt();
    expect(m.snapshot().hasTag('fetching')).toBe(true);
    expect(m.requestState()).toEqual({ alone: 'awaitingAnswer' });
    expect(m.refreshes.map((call) => call.input)).toEqual([
      { session: m.context().session, refreshToken: `r-${T}`, reason: 'expired', satisfiedAfter: T },
    ]);
  });

  it('is bounded by refreshTimeoutMs', () => {
    refreshingAt();
    expect(m.requestTimeouts.map((timeout) => timeout.input)).toEqual([{ timeoutMs: CONFIG.refreshTimeoutMs }]);
  });

  it.each([
    ['user.request', { type: 'user.request', now: EXPIRED + 1 }],
    ['user.refresh', { type: 'user.refresh', now: EXPIRED + 1 }],
    ['clock.check', { type: 'clock.check', now: EXPIRED + 1 }],
    ['env.wake', { type: 'env.wake', now: EXPIRED + 1 }],
    ['env.online', { type: 'env.online', now: EXPIRED + 1 }],
  ] as const)('is the only one: %s waits for it', (_, event) => {
    refreshingAt();
    m.send(event);
    expect(m.value()).toBe('refreshing');
    expect(m.refreshes).toHaveLength(1);
  });
});

describe('its answer', () => {
  it('of the same session is stored and announced, keeping the session, judged when it was received', async () => {
    refreshingAt();
    const session = m.context().session;
    m.told.length = 0;
    // Issued at the request's start (as the runtime counts it), received 2 s later.
    const answered = await m.answer(EXPIRED, {}, EXPIRED + 2_000);
    expect(m.value()).toBe('fresh');
    expect(m.requestState()).toBe('idle');
    expect(m.context()).toMatchObject({ token: answered, refreshToken: `r-${EXPIRED}`, lastRefreshAt: EXPIRED + 2_000 });
    expect(m.context().session).toBe(session);
    expect(m.told.map((announcement) => announcement.type)).toEqual(['announce.token']);
    expect(m.refreshTimers.at(-1)).toEqual({ at: EXPIRED + 45_000, now: EXPIRED + 2_000 });
  });

  it('that is already stale when received goes to stale', async () => {
    refreshingAt();
    await m.answer(EXPIRED, {}, EXPIRED + 46_000);
    expect(m.value()).toBe('stale');
  });

  it("of another session is the server's rotation: a new session, with the answer's refresh token", async () => {
    refreshingAt();
    const before = m.context().session;
    await m.answer(EXPIRED, { sessionKey: 's2', refreshToken: 'r2' }, EXPIRED + 100);
    expect(m.context().session).not.toBe(before);
    expect(m.context().session).toEqual({ sessionKey: 's2', userId: 'u1', startedAt: EXPIRED + 100 });
    expect(m.context().refreshToken).toBe('r2');
  });

  it('without a refresh token keeps the one held', async () => {
    refreshingAt();
    await m.answer(EXPIRED, { refreshToken: undefined });
    expect(m.context().refreshToken).toBe(`r-${T}`);
  });

  it('that is the access token already held is no new token: a failed attempt, the held token kept', async () => {
    refreshingAt();
    const held = m.context().token;
    // A caching server answers the same string with a new refresh token (and a later issue time).
    await m.answer(EXPIRED, { accessToken: `a-${T}`, refreshToken: 'r2' });
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    expect(m.context().token).toBe(held);
    expect(m.context()).toMatchObject({ attempt: 1, refreshToken: 'r2', retryAfterMs: undefined });
    expect(m.context().error?.code).toBe('invalid_token');
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: undefined }]);
  });

  it('resets the failed attempts', async () => {
    refreshingAt();
    await m.fail(new NetworkError(undefined, { retryAfterMs: 2_000 }));
    m.send({ type: 'timer.retryDue', now: EXPIRED + 2_000 });
    await m.answer(EXPIRED + 2_000);
    expect(m.context()).toMatchObject({ attempt: 0, error: null, retryAfterMs: undefined });
  });
});

describe('its failure', () => {
  it('an AuthError ends the session as of when it came, keeps the error and tells the tabs', async () => {
    refreshingAt();
    const error = new AuthError();
    await m.fail(error, EXPIRED + 800);
    expect(m.value()).toBe('signedOut');
    expect(m.context()).toMatchObject({ session: null, token: null, refreshToken: undefined, error });
    expect(m.context().endedAt).toBe(EXPIRED + 800);
    expect(m.told.at(-1)).toEqual({ type: 'announce.signOut', sessionKey: 's1', at: EXPIRED + 800 });
  });

  it('a refresh actor that rejects fails as of when its request was sent', async () => {
    refreshingAt();
    await m.refuse();
    expect(m.context().endedAt).toBe(EXPIRED);
  });

  it.each([
    ['a NetworkError', new NetworkError(), 'network'],
    ['an InvalidTokenError', new InvalidTokenError(), 'invalid_token'],
    ['an AbortError the refresh threw', new AbortError(), 'network'],
    ['a plain Error', new TypeError('fetch failed'), 'network'],
  ])('%s backs off, the attempt counted, the session kept', async (_, thrown, code) => {
    refreshingAt();
    await m.fail(thrown);
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.context()).toMatchObject({ attempt: 1, session: { sessionKey: 's1' }, token: token(T) });
    expect(m.context().error?.code).toBe(code);
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: undefined }]);
  });

  it('a timeout is a NetworkError: the refresh is aborted and the attempt backs off', async () => {
    refreshingAt();
    const { signal } = m.lastRefresh();
    await m.timeOut(EXPIRED + 30_000);
    expect(signal.aborted).toBe(true);
    expect(m.requestState()).toBe('idle');
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    expect(m.context().error?.code).toBe('network');
    expect(m.context().attempt).toBe(1);
  });

  it('counts every failed attempt', async () => {
    refreshingAt();
    await m.fail();
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    await m.fail();
    expect(m.context().attempt).toBe(2);
    expect(m.retryTimers.map((timer) => timer.attempt)).toEqual([1, 2]);
  });
});

describe('a sign-out while it is out', () => {
  it('aborts it, and its late answer is never stored', async () => {
    refreshingAt();
    const { signal } = m.lastRefresh();
    m.send({ type: 'user.signOut', now: EXPIRED + 1 });
    expect(signal.aborted).toBe(true);
    expect(m.requestState()).toBe('idle');
    await m.answer(EXPIRED);
    expect(m.value()).toBe('signedOut');
    expect(m.context().token).toBeNull();
  });
});
