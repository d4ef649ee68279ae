import { describe, expect, it } from 'vitest';
import { AuthError, NetworkError } from '../../machines/errors.js';
import { updates } from '../../machines/logic.js';
import { answered, context, failed, heldToken as token, requestOf, session } from './logicFixtures.js';

/** The session machine's context updates, called directly as pure functions of (context, event). */

const reset = { attempt: 0, retryAfterMs: undefined, error: null };
/** Three failed attempts behind, the last with a Retry-After. */
const failing = context({ attempt: 3, retryAfterMs: 9_000, error: new NetworkError(), lastRefreshAt: 500 });

describe('startSession: the first token of a new session object', () => {
  it('from a sign-in: named by the token, with its own refresh token', () => {
    const t = token({ sessionKey: 's2', userId: 'u2', refreshToken: 'r2' });
    const update = updates.startSession({ context: failing, event: { type: 'user.signIn', token: t as never, now: 7_000 } });
    expect(update).toEqual({
      ...reset,
      session: { sessionKey: 's2', userId: 'u2', startedAt: 7_000 },
      token: t,
      refreshToken: 'r2',
      droppedToken: null,
      lastRefreshAt: 500,
    });
  });

  it("from a sign-in without a refresh token never sends the old session's", () => {
    const update = updates.startSession({ context: failing, event: { type: 'user.signIn', token: token() as never, now: 1 } });
    expect(update.refreshToken).toBeUndefined();
  });

  it("from another tab: that tab's session object", () => {
    const theirs = session('s2', 4_000);
    const event = { type: 'tab.token' as const, token: token({ sessionKey: 's2' }) as never, session: theirs, now: 5 };
    expect(updates.startSession({ context: failing, event }).session).toBe(theirs);
  });

  it("from an answer (the server's rotation): the session the request child named, the answer's refresh token and time", () => {
    const event = answered(failing, token({ sessionKey: 's9', refreshToken: 'r9', issuedAt: 7_000 }), 8_000);
    const update = updates.startSession({ context: failing, event });
    expect(update).toMatchObject({ ...reset, refreshToken: 'r9', lastRefreshAt: 8_000 });
    expect(update.session).toBe(event.session);
  });

  it("from an answer sent before a sign-in brought another refresh token: the sign-in's is kept, as refreshTokenAfter rules", () => {
    const sent = context();
    const since = context({ refreshToken: 'r-signed-in' });
    const event = answered(sent, token({ sessionKey: 's9', refreshToken: 'r9' }), 8_000, requestOf(sent));
    expect(updates.startSession({ context: since, event }).refreshToken).toBe('r-signed-in');
  });
});

describe('storeToken: a newer token of the same session', () => {
  it('from an answer: stored, attempts reset, the refresh time recorded', () => {
    const t = token({ accessToken: 'a2', issuedAt: 8_000, expiresAt: 68_000, refreshToken: 'r2' });
    expect(updates.storeToken({ context: failing, event: answered(failing, t, 8_500) })).toEqual({
      ...reset,
      token: t,
      refreshToken: 'r2',
      lastRefreshAt: 8_500,
    });
  });

  it('from an answer older than a token that came meanwhile: the held token stays', () => {
    const held = context({ token: token({ accessToken: 'a-signed-in', issuedAt: 9_000 }) });
    const update = updates.storeToken({ context: held, event: answered(held, token({ accessToken: 'a2', issuedAt: 8_000 })) });
    expect(update.token).toBe(held.token);
  });

  it("from a user's sign-in: its token replaces the held one even when issued earlier (the app's word wins)", () => {
    const older = token({ accessToken: 'a-older', issuedAt: 500, expiresAt: 60_500 });
    const update = updates.storeToken({ context: context(), event: { type: 'user.signIn', token: older as never, now: 2_000 } });
    expect(update.token).toEqual(older);
  });

  it("from another tab: its refresh token, else the held one; the refresh time kept", () => {
    const tab = (refreshToken?: string) => ({
      type: 'tab.token' as const,
      token: token({ accessToken: 'a2', issuedAt: 2_000, refreshToken }) as never,
      session: session(),
      now: 9,
    });
    expect(updates.storeToken({ context: failing, event: tab('r2') })).toMatchObject({ refreshToken: 'r2', lastRefreshAt: 500 });
    expect(updates.storeToken({ context: failing, event: tab() }).refreshToken).toBe('r1');
  });

  it('of the very token string held keeps the times measured when it first came', () => {
    const again = token({ issuedAt: 30_000, expiresAt: 90_000, serverOffsetMs: 42, refreshToken: 'r2' });
    const update = updates.storeToken({ context: context(), event: { type: 'user.signIn', token: again as never, now: 30_000 } });
    expect(update.token).toEqual({ ...again, issuedAt: 1_000, expiresAt: 61_000, serverOffsetMs: null });
  });

  it("of a signed-in token string held keeps where its life starts, which a refresh answer's repeat does not carry", () => {
    const held = context({ token: token({ issuedAt: 1_000, lifeStartsAt: 400, expiresAt: 61_000 }) });
    const again = token({ issuedAt: 30_000, expiresAt: 90_000 });
    const update = updates.storeToken({ context: held, event: { type: 'user.signIn', token: again as never, now: 30_000 } });
    expect(update.token).toMatchObject({ issuedAt: 1_000, lifeStartsAt: 400, expiresAt: 61_000 });
  });
});

describe("refreshTokenAfter: an answer's refresh token replaces the one its request sent, while that one is held", () => {
  const keep = (held = context(), event = answered(held, token({ refreshToken: 'r-answer' }))) =>
    updates.keepRefreshToken({ context: held, event });

  it('replaces it when the request sent the refresh token held', () => {
    expect(keep()).toEqual({ refreshToken: 'r-answer' });
  });

  it('keeps a refresh token that came since the request was sent', () => {
    const sent = context();
    const since = context({ refreshToken: 'r-since' });
    expect(keep(since, answered(sent, token({ refreshToken: 'r-answer' }), 5_000, requestOf(sent)))).toEqual({
      refreshToken: 'r-since',
    });
  });

  it("replaces it when the one held is the one actually sent (another tab's newest, heard of meanwhile)", () => {
    const asked = context();
    const heard = context({ refreshToken: 'r-stored' });
    const event = { ...answered(asked, token({ refreshToken: 'r-answer' })), sent: 'r-stored' };
    expect(keep(heard, event)).toEqual({ refreshToken: 'r-answer' });
  });

  it('keeps the held one when the answer brings none', () => {
    const held = context();
    expect(keep(held, answered(held, token({ refreshToken: undefined })))).toEqual({ refreshToken: 'r1' });
  });
});

describe('dropToken, endSession', () => {
  it('dropToken forgets the access token, keeping it as the dropped one, for a rotation', () => {
    const held = context();
    expect(updates.dropToken({ context: held, event: { type: 'user.rotate', now: 6_000 } })).toEqual({
      reason: 'rotated',
      token: null,
      droppedToken: held.token,
    });
  });

  it('endSession clears the session and keeps the error that ended it, as of its time', () => {
    const error = new AuthError();
    expect(updates.endSession({ context: failing, event: failed(failing, error, 4_000) })).toEqual({
      ...reset,
      error,
      session: null,
      token: null,
      refreshToken: undefined,
      droppedToken: null,
      endedAt: 4_000,
    });
    expect(updates.endSession({ context: failing, event: { type: 'user.signOut', now: 2 } })).toMatchObject({
      error: null,
      endedAt: 2,
    });
  });
});

describe('recordFailure, recordNoNewToken: a failed attempt', () => {
  it("recordFailure counts it and keeps a sane Retry-After", () => {
    const error = new NetworkError(undefined, { retryAfterMs: 4_000 });
    const kept = failing.refreshToken;
    expect(updates.recordFailure({ context: failing, event: failed(failing, error) })).toEqual({
      attempt: 4,
      error,
      retryAfterMs: 4_000,
      refreshToken: kept,
    });
    const auth = new AuthError();
    expect(updates.recordFailure({ context: failing, event: failed(failing, auth) })).toEqual({
      attempt: 4,
      error: auth,
      retryAfterMs: undefined,
      refreshToken: kept,
    });
  });

  it('recordFailure keeps the refresh token a malformed answer still brought, in place of the one sent', () => {
    const event = { ...failed(failing, new NetworkError()), refreshToken: 'r-rotated' };
    expect(updates.recordFailure({ context: failing, event }).refreshToken).toBe('r-rotated');
    // Not when the one held is no longer the one that request sent (a sign-in brought another since).
    const since = context({ ...failing, refreshToken: 'r-signed-in' });
    expect(updates.recordFailure({ context: since, event }).refreshToken).toBe('r-signed-in');
  });

  it('recordFailure caps a Retry-After at an hour and drops one that is not finite and positive', () => {
    const after = (retryAfterMs: number) =>
      updates.recordFailure({ context: failing, event: failed(failing, new NetworkError(undefined, { retryAfterMs })) })
        .retryAfterMs;
    expect(after(10 * 3_600_000)).toBe(3_600_000);
    expect([after(Number.NaN), after(-5), after(0), after(Number.POSITIVE_INFINITY)]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("recordNoNewToken counts it as an InvalidTokenError, no Retry-After, the answer's refresh token kept", () => {
    const update = updates.recordNoNewToken({ context: failing, event: answered(failing, token({ refreshToken: 'r2' })) });
    expect(update).toMatchObject({ attempt: 4, retryAfterMs: undefined, refreshToken: 'r2' });
    expect(update.error?.code).toBe('invalid_token');
  });

  it("recordNoNewToken's error tells the app's logs which token came again: the one held, or the one a rotation dropped", () => {
    const again = updates.recordNoNewToken({ context: failing, event: answered(failing, token()) }).error!;
    const rotated = context({ token: null, droppedToken: token() });
    const dropped = updates.recordNoNewToken({ context: rotated, event: answered(rotated, token()) }).error!;
    expect(again.message).toMatch(/held/);
    expect(dropped.message).toMatch(/dropped/);
  });
});
