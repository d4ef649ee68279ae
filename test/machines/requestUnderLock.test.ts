import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError } from '../../machines/errors.js';
import type { KnownRecord, SessionEvent } from '../../machines/types.js';
import { ASKED, READ, REQUEST, ROTATED, ROTATION, SESSION, T, asked, granted, reading, sent, storedToken } from './lockFixtures.js';
import { CONFIG, sessionOf } from './machineHarness.js';
import { nextTurn, underLock, type RequestChild } from './requestHarness.js';

/**
 * The request child of tabs that share a session: the origin's lock asked and held, the store read once it is
 * held (another tab's token may answer the request, or its refresh token be the one to send), and the lock let
 * go on every way out. Event by event, with explicit times. What a holder leaves behind: requestHandOff.test.ts,
 * requestSharedFailure.test.ts.
 */

let h: RequestChild;
afterEach(() => h.stop());

describe('the lock', () => {
  it('is asked for first: nothing is read or sent until it is granted, and the timeout runs meanwhile', () => {
    h = asked();
    expect(h.state()).toEqual(underLock('lockAsked'));
    expect(h.locks).toHaveLength(1);
    expect([h.reads, h.refreshes]).toEqual([[], []]);
    expect(h.timeouts.map((timeout) => timeout.input)).toEqual([{ timeoutMs: CONFIG.refreshTimeoutMs }]);
  });

  it('once granted, the store is read before anything is sent', () => {
    h = granted();
    expect(h.state()).toEqual(underLock('readingStore'));
    expect(h.reads).toHaveLength(1);
    expect(h.refreshes).toEqual([]);
    expect(h.lastLock().released()).toBe(false);
  });

  it('is held while the refresh is out, with the one timeout armed at the ask', async () => {
    h = await sent();
    expect(h.lastRefresh().input).toEqual(REQUEST);
    expect(h.lastLock().released()).toBe(false);
    expect(h.timeouts).toHaveLength(1);
    expect(h.timeouts[0]!.armed()).toBe(true);
  });

  it('ignores a second request and a second grant while one is out', async () => {
    h = await sent();
    h.send({ type: 'request.send', request: { ...REQUEST, refreshToken: 'other' }, now: READ + 1 });
    h.lastLock().grant(READ + 2, true);
    await nextTurn();
    expect(h.state()).toEqual(underLock('sending'));
    expect([h.locks.length, h.reads.length, h.refreshes.length]).toEqual([1, 1, 1]);
  });

  it('a grant that comes after an abort finds the child idle: nothing is read', async () => {
    h = asked();
    const lock = h.lastLock();
    h.send({ type: 'request.abort' });
    lock.grant(ASKED + 100, true);
    await nextTurn();
    expect(h.state()).toBe('idle');
    expect(h.reads).toEqual([]);
    expect(lock.released()).toBe(true);
  });
});

/** Each step of a request under the lock before its answer, and a way to reach it. */
const beforeTheAnswer = [
  ['waiting for the lock', async () => asked()],
  ['reading the store', async () => granted()],
  ['with the refresh out', () => sent()],
] as const;

describe('the timeout covers the wait for the lock, the read and the send', () => {
  it.each(beforeTheAnswer)('%s: a NetworkError at the time it fired, and the lock let go', async (_, reach) => {
    h = await reach();
    h.timeouts[0]!.fire(ASKED + 30_000);
    await nextTurn();
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
    expect(h.reports).toMatchObject([{ type: 'request.failed', request: REQUEST, now: ASKED + 30_000 }]);
    expect((h.reports[0] as Extract<SessionEvent, { type: 'request.failed' }>).error.code).toBe('network');
  });

  it('the refresh it cuts short is aborted', async () => {
    h = await sent();
    const { signal } = h.lastRefresh();
    h.timeouts[0]!.fire(ASKED + 30_000);
    expect(signal.aborted).toBe(true);
  });
});

describe('request.abort (a sign-out) lets the lock go, reporting nothing', () => {
  it.each(beforeTheAnswer)('%s', async (_, reach) => {
    h = await reach();
    h.send({ type: 'request.abort' });
    await nextTurn();
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
    expect(h.timeouts[0]!.armed()).toBe(false);
    expect(h.reports).toEqual([]);
  });
});

describe("another tab's token answers the request: nothing is sent", () => {
  it("a token of this very session, issued after the one the request replaces, still fresh: reported as that tab's", async () => {
    h = granted();
    const stored = storedToken(T + 40_000);
    await h.endRead(reading(stored));
    expect(h.reports).toEqual([{ type: 'request.done', token: stored.token, session: SESSION, request: REQUEST, now: READ }]);
    expect(h.refreshes).toEqual([]);
    expect(h.tokenWrites).toEqual([]);
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
  });

  it.each([
    // A 2 min token: still fresh when read, so only its issue time keeps it from answering.
    ['no newer than the one the request replaces', storedToken(T, SESSION, 120_000), READ],
    ['of another instance of the session (the same key started anew)', storedToken(T + 40_000, sessionOf('s1', T + 1)), READ],
    ['no longer fresh when read', storedToken(T + 40_000), T + 85_000],
  ])('not one %s: the request is sent', async (_, stored, now) => {
    h = granted();
    await h.endRead(reading(stored, now));
    expect(h.reports).toEqual([]);
    expect(h.state()).toEqual(underLock('sending'));
    expect(h.refreshes).toHaveLength(1);
  });

  it("for a rotation, a later session's token still servable: that session is reported", async () => {
    h = granted(false, { request: ROTATION, at: ROTATED });
    const later = sessionOf('s2', ROTATED + 500);
    const stored = storedToken(ROTATED + 500, later);
    await h.endRead(reading(stored, ROTATED + 600));
    expect(h.reports).toMatchObject([{ type: 'request.done', token: stored.token, session: later, request: ROTATION }]);
    expect(h.refreshes).toEqual([]);
  });

  it("for a rotation, a later session whose token is past its leeway: reported too (the tab renews that session, it never rotates again)", async () => {
    h = granted(false, { request: ROTATION, at: ROTATED });
    const later = sessionOf('s2', ROTATED + 500);
    const stored = storedToken(ROTATED + 500, later);
    await h.endRead(reading(stored, ROTATED + 55_500));
    expect(h.reports).toMatchObject([{ type: 'request.done', session: later, request: ROTATION }]);
    expect(h.refreshes).toEqual([]);
  });

  it("for a rotation, not the rotated session's own token, however new", async () => {
    h = granted(false, { request: ROTATION, at: ROTATED });
    await h.endRead(reading(storedToken(ROTATED + 500), ROTATED + 600));
    expect(h.reports).toEqual([]);
    expect(h.refreshes).toHaveLength(1);
  });
});

describe('the refresh token sent', () => {
  it("is the newest this session's tabs stored, in place of the one the request was asked with", async () => {
    h = await sent(storedToken(T));
    expect(h.lastRefresh().input).toEqual({ ...REQUEST, refreshToken: 'r-stored' });
  });

  it("is the request's own when the store holds another instance's, or nothing", async () => {
    h = await sent(storedToken(T, sessionOf('s1', T + 1)));
    expect(h.lastRefresh().input.refreshToken).toBe('r1');
    h.stop();
    h = await sent(null);
    expect(h.lastRefresh().input.refreshToken).toBe('r1');
  });

  it("is the request's own when the store is older than the token it replaces: a write that failed left a spent one", async () => {
    h = await sent(storedToken(T - 1));
    expect(h.lastRefresh().input.refreshToken).toBe('r1');
  });

  it("is the request's own when the store cannot be read: a failed read is no reason not to refresh", async () => {
    h = granted();
    await h.endRead(new NetworkError('IndexedDB is closing'));
    expect(h.state()).toEqual(underLock('sending'));
    expect(h.lastRefresh().input).toEqual(REQUEST);
    expect(h.reports).toEqual([]);
  });
});

describe('what this tab knows besides the store (request.know): the lock turn goes by it when it is later', () => {
  /** A refresh token of SESSION another tab told of, received at `at`: the store lacks it (that tab's write failed). */
  const toldRefreshToken = (at: number): KnownRecord => ({ record: { session: SESSION, token: null, refreshToken: 'r-known' }, at });

  it('a refresh token received after the stored token was issued is the one sent', async () => {
    h = asked();
    h.send({ type: 'request.know', known: toldRefreshToken(T + 1) });
    h.lastLock().grant(ASKED + 100, false);
    await h.endRead(reading(storedToken(T)));
    expect(h.lastRefresh().input.refreshToken).toBe('r-known');
  });

  it("one received when the stored token was issued is a tie: the store's is sent", async () => {
    h = granted();
    h.send({ type: 'request.know', known: toldRefreshToken(T) });
    await h.endRead(reading(storedToken(T)));
    expect(h.lastRefresh().input.refreshToken).toBe('r-stored');
  });

  it('a known token that answers the request is reported as the newest, with its refresh token; nothing is sent', async () => {
    h = asked();
    const known = { ...storedToken(T + 40_000), refreshToken: 'r-known' };
    h.send({ type: 'request.know', known: { record: known, at: T + 40_000 } });
    h.lastLock().grant(ASKED + 100, false);
    await h.endRead(reading(storedToken(T)));
    expect(h.refreshes).toEqual([]);
    expect(h.reports).toMatchObject([{ type: 'request.done', token: { issuedAt: T + 40_000, refreshToken: 'r-known' }, session: SESSION }]);
  });

  it("a restore goes by the store: what the tab knew is of a session it let go (the store's failing read: nothing)", async () => {
    const restore = { session: null, refreshToken: 'r-restore', reason: 'restore' as const, satisfiedAfter: 0 };
    h = asked({ request: restore });
    h.send({ type: 'request.know', known: { record: { ...storedToken(T + 40_000), refreshToken: 'r-known' }, at: T + 40_000 } });
    h.lastLock().grant(ASKED + 100, false);
    await h.endRead(reading(null));
    expect(h.reports).toEqual([]);
    expect(h.lastRefresh().input.refreshToken).toBe('r-restore');
  });

  it('request.abort (a sign-out) forgets it: the next lock turn goes by the store', async () => {
    h = asked();
    h.send({ type: 'request.know', known: toldRefreshToken(T + 1) });
    h.send({ type: 'request.abort' });
    h.send({ type: 'request.send', request: REQUEST, now: ASKED + 1 });
    h.lastLock().grant(ASKED + 100, false);
    await h.endRead(reading(storedToken(T)));
    expect(h.lastRefresh().input.refreshToken).toBe('r-stored');
  });
});
