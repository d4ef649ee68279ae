import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError } from '../../src/errors.js';
import { sessionOf, startMachine, token, type MachineHarness } from './machineHarness.js';

/** `rotate()`: the session changed without a token; nothing is served until the new session's token comes. */

const T = 1_000_000;
const ROTATED = T + 10_000;
let m: MachineHarness;
afterEach(() => m.stop());

function rotatedAt(callersCutBackoff = true) {
  m = startMachine({ callersCutBackoff });
  m.signIn(T, { refreshToken: 'r1' });
  m.told.length = 0;
  m.send({ type: 'user.rotate', now: ROTATED });
  expect(m.value()).toEqual({ rotated: 'fetching' });
}

async function failedRotation(online = true, callersCutBackoff = true) {
  rotatedAt(callersCutBackoff);
  if (!online) m.send({ type: 'env.offline' });
  else await m.fail();
}

describe('user.rotate', () => {
  it('drops the access token, tells the tabs and fetches with the refresh token', () => {
    rotatedAt();
    expect(m.context()).toMatchObject({ token: null, refreshToken: 'r1', rotatedAt: ROTATED });
    expect(m.told).toEqual([{ type: 'announce.rotate', sessionKey: 's1', at: ROTATED }]);
    expect(m.snapshot().hasTag('fetching')).toBe(true);
    expect(m.lastRefresh().input).toEqual({
      session: m.context().session,
      refreshToken: 'r1',
      reason: 'rotated',
      satisfiedAfter: ROTATED,
    });
  });

  it('does nothing without a session', () => {
    m = startMachine();
    m.send({ type: 'user.rotate', now: T });
    expect(m.value()).toBe('signedOut');
    expect(m.told).toEqual([]);
  });

  it('a second notice joins the rotation under way instead of restarting it', () => {
    rotatedAt();
    const first = m.lastRefresh();
    m.send({ type: 'user.rotate', now: ROTATED + 1 });
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: ROTATED + 2 });
    expect(m.refreshes).toEqual([first]);
    expect(first.signal.aborted).toBe(false);
    expect(m.context().rotatedAt).toBe(ROTATED);
    expect(m.told).toHaveLength(1);
  });
});

describe('rotated.fetching', () => {
  it("adopts the answer as the new session's first token", async () => {
    rotatedAt();
    const answer = await m.answer(ROTATED + 500, { sessionKey: 's2', refreshToken: 'r2' });
    expect(m.value()).toBe('fresh');
    expect(m.context()).toMatchObject({
      session: { sessionKey: 's2', startedAt: ROTATED + 500 },
      token: answer,
      refreshToken: 'r2',
      rotatedAt: null,
      lastRefreshAt: ROTATED + 500,
    });
  });

  it('an auth failure ends the session', async () => {
    rotatedAt();
    await m.refuse();
    expect(m.value()).toBe('signedOut');
    expect(m.told.at(-1)).toMatchObject({ type: 'announce.signOut', sessionKey: 's1' });
  });

  it('a network fault backs off, counted, with the rotation kept', async () => {
    await failedRotation();
    expect(m.value()).toEqual({ rotated: 'backingOff' });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.snapshot().hasTag('fetching')).toBe(false);
    expect(m.context()).toMatchObject({ attempt: 1, rotatedAt: ROTATED, token: null });
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: m.context().config.retry, retryAfterMs: undefined }]);
  });

  it('a fault while the network is known to be down waits', async () => {
    rotatedAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    m.send({ type: 'user.request', now: ROTATED + 1 });
    await m.fail(new NetworkError());
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context().attempt).toBe(1);
  });
});

describe('rotated.backingOff and rotated.waiting fetch again', () => {
  it.each(['timer.retryDue', 'user.request', 'user.refresh', 'env.wake'] as const)(
    'backingOff: %s',
    async (type) => {
      await failedRotation();
      m.send({ type, now: ROTATED + 1_000 });
      expect(m.value()).toEqual({ rotated: 'fetching' });
      expect(m.refreshes).toHaveLength(2);
    },
  );

  it.each(['user.request', 'user.refresh', 'env.wake'] as const)('waiting: %s', async (type) => {
    await failedRotation(false);
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    m.send({ type, now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context().online).toBe(false);
  });

  it('waiting: env.online marks the network up and fetches', async () => {
    await failedRotation(false);
    m.send({ type: 'env.online', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context().online).toBe(true);
  });

  it('backingOff: env.offline waits', async () => {
    await failedRotation();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context().online).toBe(false);
  });

  it('waiting ignores the timer', async () => {
    await failedRotation(false);
    m.send({ type: 'timer.retryDue', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'waiting' });
  });
});

describe('tokens arriving while rotated', () => {
  it('a sign-in starts a new session even with the old key', () => {
    rotatedAt();
    const old = m.context().session;
    m.signIn(ROTATED + 1);
    expect(m.value()).toBe('fresh');
    expect(m.context().session).not.toBe(old);
    expect(m.context().session).toEqual({ sessionKey: 's1', userId: 'u1', startedAt: ROTATED + 1 });
  });

  it("another tab's token minted after the rotation is the new session's", () => {
    rotatedAt();
    const theirs = sessionOf('s2', ROTATED + 1);
    m.send({ type: 'tab.token', token: token(ROTATED + 1, { sessionKey: 's2' }), session: theirs, now: ROTATED + 2 });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toBe(theirs);
  });

  it('a token minted at or before the rotation is never taken', () => {
    rotatedAt();
    for (const issuedAt of [ROTATED, ROTATED - 5_000]) {
      m.send({ type: 'tab.token', token: token(issuedAt), session: sessionOf('s1', T), now: ROTATED + 1 });
    }
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context().token).toBeNull();
  });
});

describe('rotated, with callers that may not cut the backoff short', () => {
  it.each([true, false])('a request waits for the retry timer (online: %s)', async (online) => {
    await failedRotation(online, false);
    m.send({ type: 'user.request', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: online ? 'backingOff' : 'waiting' });
    expect(m.refreshes).toHaveLength(1);
    m.send({ type: online ? 'timer.retryDue' : 'env.wake', now: ROTATED + 2_000 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
  });
});
