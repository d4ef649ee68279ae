import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError } from '../../machines/errors.js';
import { sessionOf, startMachine, token, type MachineHarness } from './machineHarness.js';

/**
 * A rotation between fetches: `rotated.backingOff` after a failed fetch, `rotated.waiting` while the network
 * is down; and the tokens that may end a rotation from elsewhere (a sign-in, another tab).
 */

const T = 1_000_000;
const ROTATED = T + 10_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** A rotation whose first fetch failed with `error`. */
async function backingOffAfter(error: unknown = new NetworkError(), callersCutBackoff = false) {
  m = startMachine({ callersCutBackoff });
  m.signIn(T, { refreshToken: 'r1' });
  m.send({ type: 'user.rotate', now: ROTATED });
  await m.fail(error);
}

/** A rotation while the network is down. */
function waitingAt(callersCutBackoff = false) {
  m = startMachine({ callersCutBackoff });
  m.signIn(T, { refreshToken: 'r1' });
  m.send({ type: 'env.offline' });
  m.send({ type: 'user.rotate', now: ROTATED });
  expect(m.value()).toEqual({ rotated: 'waiting' });
}

/** The state is `rotated.fetching` and a second fetch went out, with reason rotated and the refresh token. */
function expectFetchingAgain() {
  expect(m.value()).toEqual({ rotated: 'fetching' });
  expect(m.refreshes).toHaveLength(2);
  const satisfiedAfter = m.context().droppedToken!.issuedAt;
  expect(m.lastRefresh().input).toMatchObject({ reason: 'rotated', refreshToken: 'r1', satisfiedAfter });
}

describe('rotated.backingOff.open', () => {
  it('the timer fetches again', async () => {
    await backingOffAfter();
    m.send({ type: 'timer.retryDue', now: ROTATED + 1_000 });
    expectFetchingAgain();
  });

  it('the timer with the network down waits for it', async () => {
    await backingOffAfter();
    m.send({ type: 'env.offline' });
    m.send({ type: 'timer.retryDue', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.refreshes).toHaveLength(1);
  });

  it.each(['env.online', 'env.wake', 'user.refresh'] as const)('%s fetches at once', async (type) => {
    await backingOffAfter();
    m.send({ type, now: ROTATED + 100 });
    expectFetchingAgain();
  });

  it('env.wake with the network down is ignored', async () => {
    await backingOffAfter();
    m.send({ type: 'env.offline' });
    m.send({ type: 'env.wake', now: ROTATED + 100 });
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
  });
});

describe('rotated.backingOff.firm', () => {
  const retryAfter = () => new NetworkError(undefined, { retryAfterMs: 5_000 });

  it('online and wake signals wait for the timer', async () => {
    await backingOffAfter(retryAfter());
    m.send({ type: 'env.online', now: ROTATED + 100 });
    m.send({ type: 'env.wake', now: ROTATED + 200 });
    expect(m.value()).toEqual({ rotated: { backingOff: 'firm' } });
    expect(m.refreshes).toHaveLength(1);
    m.send({ type: 'timer.retryDue', now: ROTATED + 5_000 });
    expectFetchingAgain();
  });

  it('a forced refresh still fetches', async () => {
    await backingOffAfter(retryAfter());
    m.send({ type: 'user.refresh', now: ROTATED + 100 });
    expectFetchingAgain();
  });
});

describe('rotated.waiting', () => {
  it('env.online marks the network up and fetches', () => {
    waitingAt();
    m.send({ type: 'env.online', now: ROTATED + 1_000 });
    expect(m.context().online).toBe(true);
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.lastRefresh().input).toMatchObject({ reason: 'rotated', refreshToken: 'r1' });
  });

  it('ignores wake signals and timers: the network is down', () => {
    waitingAt();
    m.send({ type: 'env.wake', now: ROTATED + 1_000 });
    m.send({ type: 'timer.retryDue', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.refreshes).toHaveLength(0);
  });

  it('a forced refresh fetches, the network still marked down', () => {
    waitingAt();
    m.send({ type: 'user.refresh', now: ROTATED + 1_000 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context().online).toBe(false);
  });
});

describe('callers between fetches', () => {
  it('keep to the backoff and the network by default', async () => {
    await backingOffAfter();
    m.send({ type: 'user.request', now: ROTATED + 100 });
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
    m.stop();
    waitingAt();
    m.send({ type: 'user.request', now: ROTATED + 100 });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.refreshes).toHaveLength(0);
  });

  it('fetch at once with callersCutBackoff, in backingOff (open or firm) and waiting', async () => {
    await backingOffAfter(undefined, true);
    m.send({ type: 'user.request', now: ROTATED + 100 });
    expectFetchingAgain();
    m.stop();
    await backingOffAfter(new NetworkError(undefined, { retryAfterMs: 5_000 }), true);
    m.send({ type: 'user.request', now: ROTATED + 100 });
    expectFetchingAgain();
    m.stop();
    waitingAt(true);
    m.send({ type: 'user.request', now: ROTATED + 100 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
  });
});

describe('tokens arriving while rotated', () => {
  it('a sign-in between fetches starts a new session even with the old key', async () => {
    await backingOffAfter();
    const old = m.context().session;
    m.signIn(ROTATED + 1);
    expect(m.value()).toBe('fresh');
    expect(m.context().session).not.toBe(old);
    expect(m.context().session).toEqual({ sessionKey: 's1', userId: 'u1', startedAt: ROTATED + 1 });
  });

  it('a sign-in during the fetch starts a new session; the fetch runs on and its answer is dropped', async () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'user.rotate', now: ROTATED });
    const { signal } = m.lastRefresh();
    m.signIn(ROTATED + 1, { sessionKey: 's2', refreshToken: 'r-s2' });
    expect(m.value()).toBe('refreshing');
    expect(signal.aborted).toBe(false);
    const session = m.context().session;
    await m.answer(ROTATED, { sessionKey: 's3' }, ROTATED + 500);
    expect(m.context().session).toBe(session);
    expect(m.context()).toMatchObject({ token: token(ROTATED + 1, { sessionKey: 's2', refreshToken: 'r-s2' }) });
    expect(m.value()).toBe('fresh');
  });

  it("another tab's session started after the rotated one is the new session", async () => {
    await backingOffAfter();
    const theirs = sessionOf('s2', ROTATED + 1);
    m.send({ type: 'tab.token', token: token(ROTATED + 1, { sessionKey: 's2' }), session: theirs, now: ROTATED + 2 });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toBe(theirs);
  });

  it('so is one started anew under the same key (a rotation that kept the key)', async () => {
    await backingOffAfter();
    const anew = sessionOf('s1', ROTATED + 1);
    m.send({ type: 'tab.token', token: token(ROTATED + 1), session: anew, now: ROTATED + 2 });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toBe(anew);
  });

  it("the rotated session's own token is never taken, however new, nor an older session's, fetching or not", async () => {
    await backingOffAfter();
    // The rotated session itself (from a tab that has not heard of the rotation), and one started before it.
    const older = { token: token(ROTATED + 5_000, { sessionKey: 's0' }), session: sessionOf('s0', T - 1) };
    m.send({ type: 'tab.token', token: token(ROTATED + 5_000), session: sessionOf('s1', T), now: ROTATED + 5_001 });
    m.send({ type: 'tab.token', ...older, now: ROTATED + 5_001 });
    expect(m.value()).toEqual({ rotated: { backingOff: 'open' } });
    m.send({ type: 'user.refresh', now: ROTATED + 6_000 });
    m.send({ type: 'tab.token', token: token(ROTATED + 6_000), session: sessionOf('s1', T), now: ROTATED + 6_001 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context().token).toBeNull();
  });
});
