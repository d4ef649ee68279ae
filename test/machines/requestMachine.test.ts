import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, AuthError, InvalidTokenError, NetworkError } from '../../machines/errors.js';
import type { RefreshInput, SessionEvent } from '../../machines/types.js';
import { CONFIG, sessionOf, token } from './machineHarness.js';
import { nextTurn, startRequestChild, type RequestChild } from './requestHarness.js';

/**
 * The request child of a single tab (`alone`), under a parent that only records what the child reports: the one
 * refresh in flight, how it ends (answer, typed failure, timeout, abort) and what it ignores. Tabs: requestUnderLock
 * and requestHandOff.
 */

const T = 1_000_000;
const SENT = T + 50;
const REQUEST: RefreshInput = { session: sessionOf('s1', T), refreshToken: 'r1', reason: 'stale', satisfiedAfter: T };

let h: RequestChild;
afterEach(() => h.stop());

function startChild(refreshTimeoutMs = 30_000) {
  h = startRequestChild({ ...CONFIG, refreshTimeoutMs });
  return h;
}

type Failure = Extract<SessionEvent, { type: 'request.failed' }>;
const firstFailure = (reports: SessionEvent[]) => reports[0] as Failure;

/** A child with REQUEST out. */
function sending(refreshTimeoutMs?: number) {
  startChild(refreshTimeoutMs);
  h.send({ type: 'request.send', request: REQUEST, now: SENT });
}

describe('idle', () => {
  it('starts idle, with nothing sent and no timer armed', () => {
    startChild();
    expect(h.state()).toBe('idle');
    expect(h.refreshes).toEqual([]);
    expect(h.timeouts).toEqual([]);
  });

  it('sends the request it is given at once, with no lock and no store, and arms the timeout', () => {
    sending(12_000);
    expect(h.state()).toEqual({ alone: 'awaitingAnswer' });
    expect(h.refreshes.map((call) => call.input)).toEqual([REQUEST]);
    expect(h.timeouts.map((timeout) => timeout.input)).toEqual([{ timeoutMs: 12_000 }]);
    expect([h.locks, h.reads]).toEqual([[], []]);
  });

  it('ignores an abort: there is nothing to abort', async () => {
    startChild();
    h.send({ type: 'request.abort' });
    await nextTurn();
    expect(h.state()).toBe('idle');
    expect(h.reports).toEqual([]);
  });
});

describe('alone: the request is out', () => {
  it('keeps the answer (for the next start) before it reports it, with the refresh token and session it belongs to', async () => {
    sending();
    const answered = token(T + 100, { refreshToken: 'r2' });
    await h.answer(answered, T + 900);
    expect(h.state()).toEqual({ alone: 'handingOff' });
    expect(h.timeouts[0]!.armed()).toBe(false);
    expect(h.tokenWrites.map((write) => write.input)).toEqual([
      { token: answered, session: REQUEST.session, refreshToken: 'r2' },
    ]);
    expect(h.reports).toEqual([]);
    await h.endTokenWrite();
    expect(h.reports).toEqual([
      { type: 'request.done', token: answered, session: REQUEST.session, request: REQUEST, now: T + 900 },
    ]);
    expect(h.state()).toBe('idle');
  });

  it('reports the answer all the same when it cannot be kept', async () => {
    sending();
    await h.answer(token(T + 100), T + 900);
    await h.endTokenWrite(new Error('QuotaExceededError'));
    expect(h.reports).toMatchObject([{ type: 'request.done', token: token(T + 100), now: T + 900 }]);
    expect(h.state()).toBe('idle');
  });

  it("names the server's new session when the answer is of another key, started when it came", async () => {
    sending();
    await h.answer(token(T + 100, { sessionKey: 's2' }), T + 900);
    await h.endTokenWrite();
    const session = { sessionKey: 's2', userId: 'u1', startedAt: T + 900 };
    expect(h.lastTokenWrite().input.session).toEqual(session);
    expect(h.reports).toMatchObject([{ type: 'request.done', session }]);
  });

  it('ignores a second request while one is out: the answer is the first one', async () => {
    sending();
    h.send({ type: 'request.send', request: { ...REQUEST, refreshToken: 'other' }, now: SENT + 1 });
    expect(h.refreshes).toHaveLength(1);
    await h.answer(token(T), T);
    await h.endTokenWrite();
    expect(h.reports).toMatchObject([{ type: 'request.done', request: REQUEST }]);
  });

  it('takes the next request once the first has been reported', async () => {
    sending();
    await h.answer(token(T), T);
    await h.endTokenWrite();
    const next = { ...REQUEST, refreshToken: `r-${T}`, reason: 'retry' as const };
    h.send({ type: 'request.send', request: next, now: T + 1_000 });
    expect(h.refreshes.map((call) => call.input)).toEqual([REQUEST, next]);
    // One timeout per request, and one over the hand-off's write.
    expect(h.timeouts).toHaveLength(3);
  });
});

describe('a failed refresh is reported typed', () => {
  it.each([
    ['auth', new AuthError()],
    ['invalid_token', new InvalidTokenError()],
    ['network', new NetworkError(undefined, { retryAfterMs: 5_000 })],
  ])('a %s error as it is, at the time the request was sent (a rejection carries none)', async (_, error) => {
    sending();
    h.lastRefresh().reject(error);
    await nextTurn();
    expect(h.reports).toEqual([{ type: 'request.failed', error, request: REQUEST, now: SENT }]);
    expect(h.state()).toBe('idle');
  });

  it('a failure the refresh resolved with its time: typed, as of that time', async () => {
    sending();
    const thrown = new TypeError('fetch failed');
    await h.failWith(thrown, SENT + 700);
    const report = firstFailure(h.reports);
    expect(report).toMatchObject({ type: 'request.failed', request: REQUEST, now: SENT + 700 });
    expect(report.error.code).toBe('network');
    expect(report.error.cause).toBe(thrown);
    expect(h.state()).toBe('idle');
    expect(h.failureWrites).toEqual([]);
  });

  it('a malformed answer reports the refresh token it still carried, which replaces the one sent', async () => {
    sending();
    await h.failWith(new InvalidTokenError(), SENT + 700, 'r-rotated');
    expect(h.reports).toMatchObject([{ type: 'request.failed', refreshToken: 'r-rotated', now: SENT + 700 }]);
    expect(firstFailure(h.reports).error.code).toBe('invalid_token');
  });

  it('an error of another build of the package by its code', async () => {
    sending();
    const foreign = Object.assign(new Error('refused'), { code: 'auth' });
    h.lastRefresh().reject(foreign);
    await nextTurn();
    expect(h.reports).toMatchObject([{ type: 'request.failed', error: foreign }]);
  });

  it.each([
    ['a plain Error', new TypeError('fetch failed')],
    ['an AbortError', new AbortError()],
    ['a thrown string', 'boom'],
  ])('%s as a NetworkError with it as the cause', async (_, thrown) => {
    sending();
    h.lastRefresh().reject(thrown);
    await nextTurn();
    const report = firstFailure(h.reports);
    expect(report.error).toBeInstanceOf(NetworkError);
    expect(report.error.code).toBe('network');
    expect(report.error.cause).toBe(thrown);
    expect(report.request).toBe(REQUEST);
  });
});

describe('the timeout', () => {
  it('aborts the refresh and reports a NetworkError for its request, at the time it fired', async () => {
    sending();
    const { signal } = h.lastRefresh();
    h.timeouts[0]!.fire(SENT + 30_000);
    await nextTurn();
    expect(signal.aborted).toBe(true);
    expect(h.state()).toBe('idle');
    expect(h.reports).toHaveLength(1);
    expect(h.reports[0]).toMatchObject({ type: 'request.failed', request: REQUEST, now: SENT + 30_000 });
    expect(firstFailure(h.reports).error.code).toBe('network');
  });

  it("its NetworkError tells the app's logs how long the refresh was waited for", async () => {
    sending(12_000);
    h.timeouts[0]!.fire(SENT + 12_000);
    await nextTurn();
    expect(firstFailure(h.reports).error.message).toContain('12000 ms');
  });

  it('also bounds a write of the answer that never settles: the answer is reported when it fires', async () => {
    sending(12_000);
    const answered = token(T + 100);
    await h.answer(answered, T + 900);
    expect(h.state()).toEqual({ alone: 'handingOff' });
    const writeBound = h.timeouts[1]!;
    expect(writeBound.input).toEqual({ timeoutMs: 12_000 });
    writeBound.fire(T + 12_900);
    await nextTurn();
    expect(h.reports).toMatchObject([{ type: 'request.done', token: answered, now: T + 900 }]);
    expect(h.state()).toBe('idle');
  });

  it("drops the timed-out refresh's late answer", async () => {
    sending();
    h.timeouts[0]!.fire(SENT + 30_000);
    await nextTurn();
    h.lastRefresh().resolve({ token: token(T), receivedAt: T + 31_000 });
    await nextTurn();
    expect(h.reports.map((report) => report.type)).toEqual(['request.failed']);
  });
});

describe('request.abort (a sign-out)', () => {
  it('aborts the refresh, stops its timer and reports nothing, even a late answer', async () => {
    sending();
    const { signal } = h.lastRefresh();
    h.send({ type: 'request.abort' });
    expect(signal.aborted).toBe(true);
    expect(h.state()).toBe('idle');
    expect(h.timeouts[0]!.armed()).toBe(false);
    h.lastRefresh().resolve({ token: token(T), receivedAt: T + 1 });
    await nextTurn();
    expect(h.reports).toEqual([]);
  });

  it('while the answer is being kept: the answer is never reported', async () => {
    sending();
    await h.answer(token(T), T + 1);
    h.send({ type: 'request.abort' });
    await h.endTokenWrite();
    expect(h.state()).toBe('idle');
    expect(h.reports).toEqual([]);
  });
});
