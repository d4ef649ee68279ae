import { afterEach, describe, expect, it } from 'vitest';
import type { SessionEvent, StoredFailure } from '../../machines/types.js';
import { ASKED, READ, REQUEST, T, granted, reading, storedFailure, storedToken, type Ask } from './lockFixtures.js';
import { underLock, type RequestChild } from './requestHarness.js';

/**
 * A failed attempt another tab recorded, as the next lock holder finds it: the tabs that queued on the lock while
 * its holder failed fail with it (one request for the server, not one per tab); a tab that got the lock at once
 * tries, unless a Retry-After still stands and callers keep to the backoff. Event by event, with explicit times.
 */

let h: RequestChild;
afterEach(() => h.stop());

type Failure = Extract<SessionEvent, { type: 'request.failed' }>;

/** The lock granted (after another tab's turn when `waited`), and the store read at READ holding `failure`. */
async function readFailure(failure: StoredFailure, waited: boolean, ask?: Ask) {
  h = granted(waited, ask);
  await h.endRead(reading(null, READ, failure));
}

function expectShared(code: string, retryAfterMs?: number) {
  expect(h.reports).toMatchObject([{ type: 'request.failed', request: REQUEST, now: READ }]);
  const { error } = h.reports[0] as Failure;
  expect(error.code).toBe(code);
  expect((error as { retryAfterMs?: number }).retryAfterMs).toBe(retryAfterMs);
  expect(h.refreshes).toEqual([]);
  expect(h.failureWrites).toEqual([]);
  expect(h.state()).toBe('idle');
  expect(h.lastLock().released()).toBe(true);
}

function expectSent() {
  expect(h.reports).toEqual([]);
  expect(h.state()).toEqual(underLock('sending'));
  expect(h.refreshes).toHaveLength(1);
}

describe('a tab that queued on the lock', () => {
  it('fails with a holder that failed since it asked, as of the read, sending nothing', async () => {
    await readFailure(storedFailure(ASKED + 50), true);
    expectShared('network');
  });

  it('shares a failure stamped at the very ask, not one a millisecond before it', async () => {
    await readFailure(storedFailure(ASKED), true);
    expectShared('network');
    h.stop();
    await readFailure(storedFailure(ASKED - 1), true);
    expectSent();
  });

  it("takes the holder's Retry-After with it, counted from the failure", async () => {
    await readFailure(storedFailure(ASKED + 50, { retryAfterMs: 10_000 }), true);
    expectShared('network', ASKED + 50 + 10_000 - READ);
  });

  it('shares a malformed answer as invalid_token', async () => {
    await readFailure(storedFailure(ASKED + 50, { code: 'invalid_token' }), true);
    expectShared('invalid_token');
  });

  it("does not share another session's failure", async () => {
    await readFailure(storedFailure(ASKED + 50, { sessionKey: 's2' }), true);
    expectSent();
  });

  it("takes a newer token the holder stored rather than the failure", async () => {
    h = granted(true);
    await h.endRead(reading(storedToken(T + 40_000), READ, storedFailure(ASKED + 50)));
    expect(h.reports).toMatchObject([{ type: 'request.done', token: { issuedAt: T + 40_000 } }]);
  });
});

describe('a tab that got the lock at once', () => {
  it('tries, whatever failure is stamped since its ask', async () => {
    await readFailure(storedFailure(ASKED + 50), false);
    expectSent();
  });

  it('keeps to a Retry-After that still stands, failing at once with what is left of it', async () => {
    await readFailure(storedFailure(ASKED - 1_000, { retryAfterMs: 5_000 }), false);
    expectShared('network', ASKED - 1_000 + 5_000 - READ);
  });

  it('tries once the Retry-After has run out', async () => {
    await readFailure(storedFailure(READ - 5_000, { retryAfterMs: 5_000 }), false);
    expectSent();
  });

  it.each([
    ['a forced refresh', { request: { ...REQUEST, reason: 'forced' } }],
    ['callers that cut the backoff', { config: { callersCutBackoff: true } }],
  ] satisfies Array<[string, Ask]>)('tries under a standing Retry-After for %s', async (_, ask) => {
    await readFailure(storedFailure(ASKED - 1_000, { retryAfterMs: 5_000 }), false, ask);
    expectSent();
  });
});
