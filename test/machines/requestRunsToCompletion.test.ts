import { afterEach, describe, expect, it } from 'vitest';
import { sessionOf, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/**
 * A sent request runs to completion (invariant 7): what happens during `refreshing` decides what its answer is
 * worth, never whether it is aborted, and its refresh token replaces the one it sent while that one is held.
 * (Rotations during a request: rotated.test.ts.)
 */

const T = 1_000_000;
const SENT = T + 60_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** A request sent at SENT with refresh token `r-T`. */
function refreshingAt() {
  m = startRefreshing(T, SENT);
  return m.lastRefresh();
}

describe('going offline', () => {
  it('only marks the network down: the request goes on and its answer is stored', async () => {
    const { signal } = refreshingAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toBe('refreshing');
    expect(signal.aborted).toBe(false);
    expect(m.context().online).toBe(false);
    const answered = await m.answer(SENT, {}, SENT + 1_000);
    // Stored, then judged: with the network down there is nothing to schedule.
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().token).toEqual(answered);
  });

  it('a failure then backs off, and the retry timer finds the network down and waits', async () => {
    refreshingAt();
    m.send({ type: 'env.offline' });
    await m.fail();
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    m.send({ type: 'timer.retryDue', now: SENT + 1_000 });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.refreshes).toHaveLength(1);
  });
});

describe('a sign-in of the same session', () => {
  it('is stored and announced at once while the request goes on', () => {
    const { signal } = refreshingAt();
    m.told.length = 0;
    m.signIn(SENT + 1_000, { refreshToken: undefined });
    expect(m.value()).toBe('refreshing');
    expect(signal.aborted).toBe(false);
    expect(m.context().token).toEqual(token(SENT + 1_000, { refreshToken: undefined }));
    expect(m.told.map((announcement) => announcement.type)).toEqual(['announce.token']);
  });

  it("keeps its newer token, but the answer's refresh token replaces the one the request sent", async () => {
    refreshingAt();
    m.signIn(SENT + 1_000, { refreshToken: undefined });
    await m.answer(SENT, { refreshToken: 'r-answer' }, SENT + 2_000);
    expect(m.context().token?.accessToken).toBe(`a-${SENT + 1_000}`);
    expect(m.context().refreshToken).toBe('r-answer');
    expect(m.value()).toBe('fresh');
  });

  it("that brought a refresh token of its own keeps it: the answer's replaces only the one it sent", async () => {
    refreshingAt();
    m.signIn(SENT + 1_000, { refreshToken: 'r-signed-in' });
    await m.answer(SENT, { refreshToken: 'r-answer' }, SENT + 2_000);
    expect(m.context().refreshToken).toBe('r-signed-in');
  });
});

describe('a sign-in of another session', () => {
  function replacedAt() {
    const call = refreshingAt();
    m.signIn(SENT + 1_000, { sessionKey: 's2', refreshToken: 'r-s2' });
    expect(m.value()).toBe('refreshing');
    expect(call.signal.aborted).toBe(false);
    return m.context().session;
  }

  it("starts the new session at once; the old session's answer is dropped, its refresh token too", async () => {
    const session = replacedAt();
    await m.answer(SENT, { refreshToken: 'r-answer' }, SENT + 2_000);
    expect(m.context().session).toBe(session);
    expect(m.context()).toMatchObject({ token: token(SENT + 1_000, { sessionKey: 's2', refreshToken: 'r-s2' }) });
    expect(m.context().refreshToken).toBe('r-s2');
    expect(m.context().lastRefreshAt).toBeNull();
    // The new session's token is judged when the dropped answer came.
    expect(m.value()).toBe('fresh');
    expect(m.refreshTimers.at(-1)).toEqual({ at: SENT + 46_000, now: SENT + 2_000 });
  });

  it("does not end on the old session's refusal: the new session's token is judged when it came", async () => {
    const session = replacedAt();
    await m.refuse(SENT + 2_000);
    expect(m.value()).toBe('fresh');
    expect(m.context()).toMatchObject({ session, attempt: 0, error: null });
    expect(m.refreshTimers.at(-1)).toEqual({ at: SENT + 46_000, now: SENT + 2_000 });
  });
});

describe("another tab's token while the request is out", () => {
  it('of this session is stored; the answer neither replaces it nor its refresh token', async () => {
    refreshingAt();
    const theirs = token(SENT + 500, { refreshToken: 'r-tab' });
    m.send({ type: 'tab.token', token: theirs, session: m.context().session!, now: SENT + 600 });
    expect(m.value()).toBe('refreshing');
    await m.answer(SENT, { refreshToken: 'r-answer' }, SENT + 1_000);
    expect(m.context().token).toEqual(theirs);
    expect(m.context().refreshToken).toBe('r-tab');
  });

  it('of this session, answered again by the request, is no failed attempt', async () => {
    refreshingAt();
    const theirs = token(SENT + 500);
    m.send({ type: 'tab.token', token: theirs, session: m.context().session!, now: SENT + 600 });
    // The request's answer is the very token the other tab got (one server, one token per window).
    await m.answer(SENT + 500, {}, SENT + 1_000);
    expect(m.value()).toBe('fresh');
    expect(m.context()).toMatchObject({ token: theirs, attempt: 0, error: null });
  });

  it("of a newer session is adopted; the old session's answer is dropped", async () => {
    refreshingAt();
    const theirs = sessionOf('s2', SENT + 100);
    m.send({ type: 'tab.token', token: token(SENT + 100, { sessionKey: 's2' }), session: theirs, now: SENT + 200 });
    expect(m.context().session).toBe(theirs);
    await m.answer(SENT, {}, SENT + 1_000);
    expect(m.context().session).toBe(theirs);
    expect(m.context().token?.sessionKey).toBe('s2');
  });
});
