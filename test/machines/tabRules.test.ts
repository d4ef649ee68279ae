import { describe, expect, it } from 'vitest';
import {
  isLaterInstance,
  isSameInstance,
  isSupersededBy,
  newestRecord,
  refreshTokenToSend,
  sessionOfAnswer,
  sharedFailure,
  storeAnswers,
} from '../../machines/tabRules.js';
import type { KnownRecord, RefreshInput, StoredFailure, StoredSession } from '../../machines/types.js';
import { session } from './logicFixtures.js';
import { CONFIG, token } from './machineHarness.js';

/** The rules tabs share a session by, called directly as pure functions, each at its boundaries. */

const OURS = session('s1', 1_000);
/** A refresh of the token issued at 1 s. */
const REQUEST: RefreshInput = { session: OURS, refreshToken: 'r1', reason: 'stale', satisfiedAfter: 1_000 };
/** A token issued at 2 s by another tab: fresh until 47 s, servable until 57 s. */
const stored = (issuedAt = 2_000, of = OURS): StoredSession => ({
  session: of,
  token: token(issuedAt, { sessionKey: of.sessionKey, refreshToken: 'r-stored' }),
  refreshToken: 'r-stored',
});

describe('isSameInstance: the same key and the same start', () => {
  it('is the same for an equal copy, not for another start or key, nor for none', () => {
    expect(isSameInstance(OURS, session('s1', 1_000))).toBe(true);
    expect(isSameInstance(OURS, session('s1', 1_001))).toBe(false);
    expect(isSameInstance(OURS, session('s1', 999))).toBe(false);
    expect(isSameInstance(OURS, session('s2', 1_000))).toBe(false);
    expect(isSameInstance(null, OURS)).toBe(false);
    expect(isSameInstance(OURS, null)).toBe(false);
  });
});

describe('isLaterInstance: another instance started after', () => {
  it('orders by start, whatever the key', () => {
    expect(isLaterInstance(session('s1', 1_001), OURS)).toBe(true);
    expect(isLaterInstance(session('s2', 1_001), OURS)).toBe(true);
    expect(isLaterInstance(session('s2', 1_000), OURS)).toBe(false);
    expect(isLaterInstance(session('s2', 999), OURS)).toBe(false);
    expect(isLaterInstance(OURS, OURS)).toBe(false);
  });

  it('than no session: any session started after 0', () => {
    expect(isLaterInstance(session('s1', 1), null)).toBe(true);
    expect(isLaterInstance(session('s1', 0), null)).toBe(false);
  });
});

describe("isSupersededBy: the store keeps the origin's newest against a later write of something older", () => {
  it('by a later session, not by the same one, an earlier one or nothing', () => {
    expect(isSupersededBy(stored(), stored(2_000, session('s2', 1_001)))).toBe(true);
    expect(isSupersededBy(stored(), stored(2_000, session('s1', 1_001)))).toBe(true);
    expect(isSupersededBy(stored(), stored(2_000, session('s2', 999)))).toBe(false);
    expect(isSupersededBy(stored(), null)).toBe(false);
  });

  it('by a later token of the same session, not by one issued at the same time or before', () => {
    expect(isSupersededBy(stored(2_000), stored(2_001))).toBe(true);
    expect(isSupersededBy(stored(2_000), stored(2_000))).toBe(false);
    expect(isSupersededBy(stored(2_000), stored(1_999))).toBe(false);
  });

  it("never over a token dropped by a rotation, nor keeping a token a rotation drops", () => {
    expect(isSupersededBy({ ...stored(), token: null }, stored(2_001))).toBe(false);
    expect(isSupersededBy(stored(2_001), { ...stored(), token: null })).toBe(false);
  });
});

describe('newestRecord: the store, unless this tab knows of something later it lacks', () => {
  const STORED = stored();
  /** Known of `of`: a token issued at `issuedAt` (received at `at`), or with `issuedAt` null a refresh token alone. */
  const known = (issuedAt: number | null, at = issuedAt ?? 0, of = OURS): KnownRecord => ({
    record: { ...(issuedAt === null ? { session: of, token: null } : stored(issuedAt, of)), refreshToken: 'r-known' },
    at,
  });
  const newest = (record: KnownRecord, from: StoredSession | null = STORED) => newestRecord(from, record)?.refreshToken;

  it('the store when nothing is known, empty or not; what is known when the store is empty', () => {
    expect(newestRecord(STORED, null)).toBe(STORED);
    expect(newestRecord(null, null)).toBeNull();
    expect(newest(known(null, 1), null)).toBe('r-known');
  });

  it('a later instance known, with an older token or none: what is known; another one not later: the store', () => {
    expect(newest(known(null, 500, session('s1', 1_001)))).toBe('r-known');
    expect(newest(known(1_000, 1_000, session('s2', 1_500)))).toBe('r-known');
    expect(newest(known(9_000, 9_000, session('s1', 999)))).toBe('r-stored');
    expect(newest(known(9_000, 9_000, session('s2', 1_000)))).toBe('r-stored');
  });

  it('of the same instance, a token issued after the stored one; at the same time (a tie) or before, the store', () => {
    expect(newest(known(2_001))).toBe('r-known');
    expect(newest(known(2_000))).toBe('r-stored');
    expect(newest(known(1_999))).toBe('r-stored');
  });

  it('a known token goes by its issue time, not by when it was received', () => {
    expect(newest(known(1_999, 2_500))).toBe('r-stored');
    expect(newest(known(2_001, 1_500))).toBe('r-known');
  });

  it('a refresh token alone, received after the stored token was issued; at the same time (a tie) or before, the store', () => {
    expect(newest(known(null, 2_001))).toBe('r-known');
    expect(newest(known(null, 2_000))).toBe('r-stored');
    expect(newest(known(null, 1_999))).toBe('r-stored');
  });

  it('over a stored record without a token: a refresh token alone is taken, whenever received; a known token never', () => {
    const tokenLess: StoredSession = { ...STORED, token: null };
    expect(newest(known(null, 1), tokenLess)).toBe('r-known');
    expect(newest(known(9_000), tokenLess)).toBe('r-stored');
  });
});

describe('storeAnswers: what another tab stored answers the request', () => {
  it('a token of this instance issued after the one the request replaces, not at the same time', () => {
    expect(storeAnswers(stored(1_001), REQUEST, 2_000, CONFIG)).toBe(true);
    expect(storeAnswers(stored(1_000), REQUEST, 2_000, CONFIG)).toBe(false);
  });

  it('only while it is fresh', () => {
    expect(storeAnswers(stored(), REQUEST, 46_999, CONFIG)).toBe(true);
    expect(storeAnswers(stored(), REQUEST, 47_000, CONFIG)).toBe(false);
  });

  it('never of another instance, nor without an access token', () => {
    expect(storeAnswers(stored(2_000, session('s1', 1_001)), REQUEST, 2_000, CONFIG)).toBe(false);
    expect(storeAnswers(stored(2_000, session('s2', 1_000)), REQUEST, 2_000, CONFIG)).toBe(false);
    expect(storeAnswers({ ...stored(), token: null }, REQUEST, 2_000, CONFIG)).toBe(false);
  });

  describe('for a rotation', () => {
    const ROTATION: RefreshInput = { ...REQUEST, reason: 'rotated', satisfiedAfter: 0 };
    const later = session('s2', 1_500);

    it('a session started after the rotated one, even once its token is past serving: this tab renews it then', () => {
      expect(storeAnswers(stored(2_000, later), ROTATION, 56_999, CONFIG)).toBe(true);
      expect(storeAnswers(stored(2_000, later), ROTATION, 57_000, CONFIG)).toBe(true);
    });

    it('never the rotated session, however new its token, nor one started with it or before it', () => {
      expect(storeAnswers(stored(50_000), ROTATION, 50_000, CONFIG)).toBe(false);
      expect(storeAnswers(stored(2_000, session('s2', 1_000)), ROTATION, 2_000, CONFIG)).toBe(false);
      expect(storeAnswers(stored(2_000, session('s2', 999)), ROTATION, 2_000, CONFIG)).toBe(false);
    });
  });
});

describe('storeAnswers for a restore: whatever another tab holds now, of its session or a later one', () => {
  const RESTORE: RefreshInput = { ...REQUEST, reason: 'restore' };

  it("a newer token of its own session while servable, not only while fresh", () => {
    expect(storeAnswers(stored(), RESTORE, 56_999, CONFIG)).toBe(true);
    expect(storeAnswers(stored(), RESTORE, 57_000, CONFIG)).toBe(false);
    expect(storeAnswers(stored(1_000), RESTORE, 2_000, CONFIG)).toBe(false);
  });

  it('a later session, even past serving (this tab renews it then), never an earlier one', () => {
    expect(storeAnswers(stored(2_000, session('s2', 1_001)), RESTORE, 56_999, CONFIG)).toBe(true);
    expect(storeAnswers(stored(2_000, session('s2', 1_001)), RESTORE, 57_000, CONFIG)).toBe(true);
    expect(storeAnswers(stored(2_000, session('s2', 999)), RESTORE, 2_000, CONFIG)).toBe(false);
  });

  it('with no session of its own (a cookie restore), any session another tab holds', () => {
    const cookie: RefreshInput = { ...RESTORE, session: null, satisfiedAfter: 0 };
    expect(storeAnswers(stored(), cookie, 56_999, CONFIG)).toBe(true);
    expect(storeAnswers(stored(), cookie, 57_000, CONFIG)).toBe(true);
  });
});

describe("refreshTokenToSend: this instance's newest stored refresh token, else the request's", () => {
  it('takes the one stored for this instance', () => {
    expect(refreshTokenToSend(stored(), REQUEST)).toBe('r-stored');
    expect(refreshTokenToSend({ ...stored(), token: null }, REQUEST)).toBe('r-stored');
  });

  it('only while the stored token is as new as the one the request replaces: an older one may have been spent', () => {
    expect(refreshTokenToSend(stored(1_000), REQUEST)).toBe('r-stored');
    expect(refreshTokenToSend(stored(999), REQUEST)).toBe('r1');
  });

  it("keeps the request's own for another instance, an empty store, or a stored session without one", () => {
    expect(refreshTokenToSend(stored(2_000, session('s1', 1_001)), REQUEST)).toBe('r1');
    expect(refreshTokenToSend(null, REQUEST)).toBe('r1');
    const { refreshToken: _, ...without } = stored();
    expect(refreshTokenToSend(without, REQUEST)).toBe('r1');
  });

  it("for a rotation, a later session's too, stored before its token came (its fetch was sent with our newest)", () => {
    const later: StoredSession = { session: session('s2', 1_500), token: null, refreshToken: 'r-later' };
    expect(refreshTokenToSend(later, { ...REQUEST, reason: 'rotated', satisfiedAfter: 0 })).toBe('r-later');
    expect(refreshTokenToSend(later, REQUEST)).toBe('r1');
  });
});

describe('sharedFailure: a failure another tab recorded that this request shares', () => {
  const ASKED = 10_000;
  const failure = (at: number, overrides: Partial<StoredFailure> = {}): StoredFailure => ({
    at,
    sessionKey: 's1',
    code: 'network',
    ...overrides,
  });
  const queued = { askedAt: ASKED, waited: true };
  const atOnce = { askedAt: ASKED, waited: false };

  it('nothing recorded, or recorded for another session, is not shared', () => {
    expect(sharedFailure(null, REQUEST, queued, ASKED, CONFIG)).toBeNull();
    expect(sharedFailure(failure(ASKED, { sessionKey: 's2' }), REQUEST, queued, ASKED, CONFIG)).toBeNull();
    expect(sharedFailure(failure(ASKED, { sessionKey: null }), REQUEST, queued, ASKED, CONFIG)).toBeNull();
  });

  it('a request of no session shares a failure recorded under no key', () => {
    const restore: RefreshInput = { ...REQUEST, session: null, reason: 'restore' };
    expect(sharedFailure(failure(ASKED, { sessionKey: null }), restore, queued, ASKED, CONFIG)?.code).toBe('network');
  });

  it('a queued tab shares one stamped at or after its ask, with its code', () => {
    expect(sharedFailure(failure(ASKED), REQUEST, queued, ASKED + 5, CONFIG)?.code).toBe('network');
    expect(sharedFailure(failure(ASKED - 1), REQUEST, queued, ASKED + 5, CONFIG)).toBeNull();
    const malformed = failure(ASKED, { code: 'invalid_token' });
    expect(sharedFailure(malformed, REQUEST, queued, ASKED + 5, CONFIG)?.code).toBe('invalid_token');
  });

  it('with what is left of its Retry-After, none once it has run out', () => {
    const retryAfter = failure(ASKED, { retryAfterMs: 3_000 });
    expect(sharedFailure(retryAfter, REQUEST, queued, ASKED + 2_999, CONFIG)).toMatchObject({ retryAfterMs: 1 });
    expect(sharedFailure(retryAfter, REQUEST, queued, ASKED + 3_000, CONFIG)).toMatchObject({ retryAfterMs: undefined });
  });

  it('a tab that got the lock at once shares only a standing Retry-After, while it stands', () => {
    expect(sharedFailure(failure(ASKED + 1), REQUEST, atOnce, ASKED + 5, CONFIG)).toBeNull();
    const retryAfter = failure(ASKED - 1_000, { retryAfterMs: 3_000 });
    const standing = sharedFailure(retryAfter, REQUEST, atOnce, ASKED + 1_999, CONFIG);
    expect(standing).toMatchObject({ code: 'network', retryAfterMs: 1 });
    expect(sharedFailure(retryAfter, REQUEST, atOnce, ASKED + 2_000, CONFIG)).toBeNull();
  });

  it('so does a queued tab for a failure older than its ask', () => {
    const retryAfter = failure(ASKED - 1_000, { retryAfterMs: 3_000 });
    expect(sharedFailure(retryAfter, REQUEST, queued, ASKED, CONFIG)).toMatchObject({ code: 'network', retryAfterMs: 2_000 });
  });

  it("counts another tab's Retry-After as the backoff does: only finite and positive, for an hour at most", () => {
    const tenHours = failure(ASKED, { retryAfterMs: 10 * 3_600_000 });
    expect(sharedFailure(tenHours, REQUEST, atOnce, ASKED + 3_599_999, CONFIG)).toMatchObject({ retryAfterMs: 1 });
    expect(sharedFailure(tenHours, REQUEST, atOnce, ASKED + 3_600_000, CONFIG)).toBeNull();
    for (const retryAfterMs of [Number.POSITIVE_INFINITY, Number.NaN, -5_000]) {
      expect(sharedFailure(failure(ASKED, { retryAfterMs }), REQUEST, atOnce, ASKED + 1, CONFIG)).toBeNull();
    }
  });

  it("each says in its message why this tab sent nothing, for the app's logs", () => {
    const errors = [
      sharedFailure(failure(ASKED), REQUEST, queued, ASKED + 5, CONFIG),
      sharedFailure(failure(ASKED, { code: 'invalid_token' }), REQUEST, queued, ASKED + 5, CONFIG),
      sharedFailure(failure(ASKED - 1_000, { retryAfterMs: 3_000 }), REQUEST, atOnce, ASKED, CONFIG),
    ];
    expect(errors.map((error) => error?.code)).toEqual(['network', 'invalid_token', 'network']);
    for (const error of errors) expect(error?.message).not.toBe('');
  });

  it('not for a forced refresh, nor when callers cut the backoff', () => {
    const retryAfter = failure(ASKED - 1_000, { retryAfterMs: 3_000 });
    expect(sharedFailure(retryAfter, { ...REQUEST, reason: 'forced' }, atOnce, ASKED, CONFIG)).toBeNull();
    expect(sharedFailure(retryAfter, REQUEST, atOnce, ASKED, { ...CONFIG, callersCutBackoff: true })).toBeNull();
  });
});

describe('sessionOfAnswer: the session an answer belongs to', () => {
  const answer = (sessionKey: string | null, userId: string | null = 'u1') => ({ sessionKey, userId });

  it("the request's own session object for a token of its key or of none", () => {
    expect(sessionOfAnswer(REQUEST, answer('s1'), 9_000)).toBe(OURS);
    expect(sessionOfAnswer(REQUEST, answer(null), 9_000)).toBe(OURS);
  });

  it("a new session from the answer's time for another key: the server's rotation", () => {
    expect(sessionOfAnswer(REQUEST, answer('s2', 'u2'), 9_000)).toEqual({ sessionKey: 's2', userId: 'u2', startedAt: 9_000 });
  });

  it("for a rotation's fetch, a new session even under the same key, or none named", () => {
    const rotation: RefreshInput = { ...REQUEST, reason: 'rotated' };
    expect(sessionOfAnswer(rotation, answer('s1'), 9_000)).toEqual({ sessionKey: 's1', userId: 'u1', startedAt: 9_000 });
    expect(sessionOfAnswer(rotation, answer(null, null), 9_000)).toEqual({ sessionKey: 's1', userId: null, startedAt: 9_000 });
  });

  it('for a request of no session: named by the token, else by the time', () => {
    const restore: RefreshInput = { ...REQUEST, session: null, reason: 'restore' };
    expect(sessionOfAnswer(restore, answer('s3'), 9_000)).toEqual({ sessionKey: 's3', userId: 'u1', startedAt: 9_000 });
    expect(sessionOfAnswer(restore, answer(null), 9_000).sessionKey).toBe('session-9000');
  });
});
