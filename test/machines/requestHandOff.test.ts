import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, InvalidTokenError, NetworkError } from '../../machines/errors.js';
import type { SessionEvent } from '../../machines/types.js';
import { ASKED, READ, REQUEST, ROTATED, ROTATION, SESSION, T, asked, granted, reading, sent, storedToken } from './lockFixtures.js';
import { sessionOf, token } from './machineHarness.js';
import { nextTurn, underLock, type RequestChild } from './requestHarness.js';

/**
 * What a lock holder leaves for the next one before it lets the lock go: its answer, written once and only then
 * reported; or its failed attempt, recorded for the tabs queued behind it (an AuthError excepted). A write that
 * fails changes nothing but the write. Event by event, with explicit times.
 */

const ANSWERED = READ + 700;
let h: RequestChild;
afterEach(() => h.stop());

type Failure = Extract<SessionEvent, { type: 'request.failed' }>;
const failureReported = () => h.reports[0] as Failure;

describe('an answer is handed off under the lock, then reported', () => {
  it('written once, with the session it belongs to, while the lock is held; reported once written; then the lock goes', async () => {
    h = await sent();
    const answered = token(READ, { refreshToken: 'r2' });
    await h.answer(answered, ANSWERED);
    expect(h.state()).toEqual(underLock('handingOff'));
    expect(h.tokenWrites.map((write) => write.input)).toEqual([{ token: answered, session: SESSION, refreshToken: 'r2' }]);
    expect(h.reports).toEqual([]);
    expect(h.lastLock().released()).toBe(false);
    await h.endTokenWrite();
    expect(h.reports).toEqual([{ type: 'request.done', token: answered, session: SESSION, request: REQUEST, now: ANSWERED }]);
    expect(h.tokenWrites).toHaveLength(1);
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
  });

  it('an answer without a refresh token is written with the one actually sent: the newest stored', async () => {
    h = await sent(storedToken(T));
    await h.answer(token(READ, { refreshToken: undefined }), ANSWERED);
    expect(h.lastTokenWrite().input.refreshToken).toBe('r-stored');
  });

  it("names the refresh token actually sent (the newest stored) in its report: the session machine's answer replaces it", async () => {
    h = await sent(storedToken(T));
    await h.answer(token(READ, { refreshToken: 'r2' }), ANSWERED);
    await h.endTokenWrite();
    expect(h.reports).toMatchObject([{ type: 'request.done', request: REQUEST, sent: 'r-stored' }]);
  });

  it("an answer of another key is written and reported as the server's new session, started when it came", async () => {
    h = await sent();
    await h.answer(token(READ, { sessionKey: 's2' }), ANSWERED);
    const session = { sessionKey: 's2', userId: 'u1', startedAt: ANSWERED };
    expect(h.lastTokenWrite().input).toMatchObject({ session, token: { sessionKey: 's2' } });
    await h.endTokenWrite();
    expect(h.reports).toMatchObject([{ type: 'request.done', session }]);
  });

  it("a rotation's answer is a new session even under the same key: the next holder never takes it for the old one", async () => {
    h = await sent(null, { request: ROTATION, at: ROTATED });
    await h.answer(token(ROTATED, { sessionKey: 's1' }), ROTATED + 900);
    expect(h.lastTokenWrite().input.session).toEqual(sessionOf('s1', ROTATED + 900));
  });

  it('a write that fails still reports the answer and lets the lock go', async () => {
    h = await sent();
    const answered = token(READ);
    await h.answer(answered, ANSWERED);
    await h.endTokenWrite(new Error('QuotaExceededError'));
    expect(h.reports).toMatchObject([{ type: 'request.done', token: answered, now: ANSWERED }]);
    expect(h.lastLock().released()).toBe(true);
  });

  it('an abort while it is written reports nothing and lets the lock go', async () => {
    h = await sent();
    await h.answer(token(READ), ANSWERED);
    h.send({ type: 'request.abort' });
    await h.endTokenWrite();
    expect(h.reports).toEqual([]);
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
  });
});

describe('what is handed off once the session machine wants less of the answer', () => {
  it('withdrawn by a rotation: the session it was sent for with the refresh token only, never the access token', async () => {
    h = await sent();
    h.send({ type: 'request.withdraw', now: READ + 100 });
    const answered = token(READ, { sessionKey: 's2', refreshToken: 'r2' });
    await h.answer(answered, ANSWERED);
    expect(h.tokenWrites.map((write) => write.input)).toEqual([{ token: null, session: SESSION, refreshToken: 'r2' }]);
    await h.endTokenWrite();
    // The session machine is still told all of it: it keeps the refresh token and drops the access token itself.
    expect(h.reports).toMatchObject([{ type: 'request.done', token: answered }]);
  });

  it('abandoned for another session: nothing written, the answer reported, the lock let go', async () => {
    h = await sent();
    h.send({ type: 'request.abandon', now: READ + 100 });
    h.send({ type: 'request.withdraw', now: READ + 100 });
    const answered = token(READ, { refreshToken: 'r2' });
    await h.answer(answered, ANSWERED);
    expect(h.tokenWrites).toEqual([]);
    expect(h.reports).toMatchObject([{ type: 'request.done', token: answered }]);
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
  });

  it.each([
    ['request.withdraw', 'waiting for the lock', () => asked()],
    ['request.abandon', 'waiting for the lock', () => asked()],
    ['request.withdraw', 'reading the store', () => granted()],
    ['request.abandon', 'reading the store', () => granted()],
  ] as const)('%s %s drops it: nothing sent, the lock let go, reported as aborted then', async (type, _, start) => {
    h = start();
    h.send({ type, now: ASKED + 150 });
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
    await nextTurn();
    expect(h.refreshes).toEqual([]);
    expect(h.reports).toMatchObject([{ type: 'request.failed', request: REQUEST, now: ASKED + 150 }]);
    expect(failureReported().error.code).toBe('aborted');
  });

  it('the next request wants all of its answer again', async () => {
    h = await sent();
    h.send({ type: 'request.abandon', now: READ + 100 });
    await h.answer(token(READ), ANSWERED);
    h.send({ type: 'request.send', request: REQUEST, now: ANSWERED + 1 });
    h.lastLock().grant(ANSWERED + 1, false);
    await h.endRead(reading(null, ANSWERED + 2));
    await h.answer(token(ANSWERED + 1, { refreshToken: 'r3' }), ANSWERED + 3);
    expect(h.lastTokenWrite().input).toMatchObject({ session: SESSION, token: { refreshToken: 'r3' } });
  });
});

describe("its own hand-off is what its next lock turn goes by, should the store lack it (the write failed)", () => {
  /** The session machine's next request, a rotation asked with the hand-off's refresh token `r2`: what is sent. */
  async function rotationSent() {
    h.send({ type: 'request.send', request: { ...ROTATION, refreshToken: 'r2' }, now: ANSWERED + 1 });
    h.lastLock().grant(ANSWERED + 2, false);
    await h.endRead(reading(storedToken(T), ANSWERED + 3));
    return h.refreshes.map((refresh) => refresh.input.refreshToken);
  }

  it('an answer: its refresh token is sent, not the older one the store still holds', async () => {
    h = await sent(storedToken(T));
    await h.answer(token(READ, { refreshToken: 'r2' }), ANSWERED);
    await h.endTokenWrite(new Error('QuotaExceededError'));
    expect(await rotationSent()).toEqual(['r-stored', 'r2']);
  });

  it('an answer withdrawn by a rotation (its refresh token only): the same', async () => {
    h = await sent(storedToken(T));
    h.send({ type: 'request.withdraw', now: READ + 100 });
    await h.answer(token(READ, { refreshToken: 'r2' }), ANSWERED);
    await h.endTokenWrite(new Error('QuotaExceededError'));
    expect(await rotationSent()).toEqual(['r-stored', 'r2']);
  });

  it("not an abandoned request's answer: nothing of it is wanted, the store's is sent", async () => {
    h = await sent(storedToken(T));
    h.send({ type: 'request.abandon', now: READ + 100 });
    await h.answer(token(READ, { refreshToken: 'r2' }), ANSWERED);
    expect(await rotationSent()).toEqual(['r-stored', 'r-stored']);
  });
});

describe('a failed attempt is recorded for the tabs queued behind it, then reported', () => {
  it('a network fault: its time, session key and Retry-After written while the lock is held', async () => {
    h = await sent();
    const error = new NetworkError(undefined, { retryAfterMs: 5_000 });
    await h.failWith(error, ANSWERED);
    expect(h.state()).toEqual(underLock('writingFailure'));
    expect(h.failureWrites.map((write) => write.input)).toEqual([
      { at: ANSWERED, sessionKey: 's1', code: 'network', retryAfterMs: 5_000 },
    ]);
    expect(h.reports).toEqual([]);
    expect(h.lastLock().released()).toBe(false);
    await h.endFailureWrite();
    expect(h.reports).toEqual([{ type: 'request.failed', error, request: REQUEST, now: ANSWERED }]);
    expect(h.lastLock().released()).toBe(true);
  });

  it("a malformed answer as invalid_token, reported with the refresh token it still carried; a thrown Error as network", async () => {
    h = await sent();
    await h.failWith(new InvalidTokenError(), ANSWERED, 'r-rotated');
    expect(h.lastFailureWrite().input).toEqual({ at: ANSWERED, sessionKey: 's1', code: 'invalid_token' });
    await h.endFailureWrite();
    expect(h.reports).toMatchObject([{ type: 'request.failed', refreshToken: 'r-rotated' }]);
    h.stop();
    h = await sent();
    await h.failWith(new TypeError('fetch failed'), ANSWERED);
    expect(h.lastFailureWrite().input.code).toBe('network');
  });

  it('a failure of a restore (no session) is recorded under no key', async () => {
    h = await sent(null, { request: { session: null, refreshToken: 'r1', reason: 'restore', satisfiedAfter: 0 } });
    await h.failWith(new NetworkError(), ANSWERED);
    expect(h.lastFailureWrite().input.sessionKey).toBeNull();
  });

  it('an AuthError is not recorded (the sign-out reaches every tab): reported at once, the lock let go', async () => {
    h = await sent();
    const error = new AuthError();
    await h.failWith(error, ANSWERED);
    expect(h.failureWrites).toEqual([]);
    expect(h.reports).toEqual([{ type: 'request.failed', error, request: REQUEST, now: ANSWERED }]);
    expect(h.state()).toBe('idle');
    expect(h.lastLock().released()).toBe(true);
  });

  it('a write that fails still reports the failure and lets the lock go', async () => {
    h = await sent();
    await h.failWith(new NetworkError(), ANSWERED);
    await h.endFailureWrite(new Error('QuotaExceededError'));
    expect(failureReported().error.code).toBe('network');
    expect(h.lastLock().released()).toBe(true);
  });

  it('a refresh actor that rejects fails as of the ask, unrecorded, and the lock goes', async () => {
    h = await sent();
    h.lastRefresh().reject(new TypeError('boom'));
    await nextTurn();
    expect(h.failureWrites).toEqual([]);
    expect(h.reports).toMatchObject([{ type: 'request.failed', request: REQUEST, now: ASKED }]);
    expect(failureReported().error.code).toBe('network');
    expect(h.lastLock().released()).toBe(true);
  });
});
