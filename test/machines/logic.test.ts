import { describe, expect, it } from 'vitest';
import { endedAt, guards, isNewer, timeOf, updates } from '../../machines/logic.js';
import type { HeldToken, SessionConfig, SessionContext, SessionInfo } from '../../machines/types.js';
import { AuthError, NetworkError } from '../../src/errors.js';

const config: SessionConfig = {
  refreshThresholdMs: 15_000,
  leewayMs: 5_000,
  retry: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: false },
  callersCutBackoff: true,
  shareTabs: false,
};

const token = (overrides: Partial<HeldToken> = {}): HeldToken => ({
  accessToken: 'a1',
  issuedAt: 1_000,
  expiresAt: 61_000,
  serverOffsetMs: null,
  sessionKey: 's1',
  userId: 'u1',
  ...overrides,
});

const session = (sessionKey = 's1', startedAt = 1_000): SessionInfo => ({ sessionKey, userId: 'u1', startedAt });

const context = (overrides: Partial<SessionContext> = {}): SessionContext => ({
  config,
  session: session(),
  token: token(),
  refreshToken: 'r1',
  online: true,
  attempt: 0,
  retryAfterMs: undefined,
  reason: 'expired',
  error: null,
  lastRefreshAt: null,
  rotatedAt: null,
  endedAt: null,
  ...overrides,
});

describe('timeOf: the local time an event carries', () => {
  it('reads now, then at, then the received token', () => {
    expect(timeOf({ type: 'clock.check', now: 5 })).toBe(5);
    expect(timeOf({ type: 'tab.signOut', sessionKey: 's1', at: 7 })).toBe(7);
    expect(timeOf({ type: 'xstate.done.actor.refreshToken', output: token({ issuedAt: 9 }) })).toBe(9);
  });

  it('skips a now or at that is not a number', () => {
    expect(timeOf({ type: 'x', now: undefined, at: 7 } as never)).toBe(7);
    expect(timeOf({ type: 'x', at: 'soon', output: token({ issuedAt: 9 }) } as never)).toBe(9);
  });

  it('throws a TypeError naming an event without a time', () => {
    expect(() => timeOf({ type: 'env.offline' })).toThrow(TypeError);
    expect(() => timeOf({ type: 'env.offline' })).toThrow(/env\.offline/);
  });
});

describe('isNewer: issued later, then expiring later', () => {
  it('is newer than nothing', () => {
    expect(isNewer(token(), null)).toBe(true);
  });

  it('orders by issue time first, whatever the expiry', () => {
    expect(isNewer(token({ issuedAt: 2_000, expiresAt: 10_000 }), token())).toBe(true);
    expect(isNewer(token({ issuedAt: 500, expiresAt: 99_000 }), token())).toBe(false);
  });

  it('orders tokens issued together by expiry, and an equal one is not newer', () => {
    expect(isNewer(token({ expiresAt: 61_001 }), token())).toBe(true);
    expect(isNewer(token({ expiresAt: 60_999 }), token())).toBe(false);
    expect(isNewer(token(), token())).toBe(false);
  });
});

describe('endedAt', () => {
  it("is the event's time when it has one", () => {
    expect(endedAt({ context: context(), event: { type: 'user.signOut', now: 42 } })).toBe(42);
    expect(endedAt({ context: context(), event: { type: 'tab.signOut', sessionKey: 's1', at: 43 } })).toBe(43);
  });

  it("is the session's start for a refused refresh, or 0 without a session", () => {
    const refused = { type: 'xstate.error.actor.refreshToken', error: new AuthError() };
    expect(endedAt({ context: context({ session: session('s1', 1_234) }), event: refused })).toBe(1_234);
    expect(endedAt({ context: context({ session: null }), event: refused })).toBe(0);
  });
});

describe('guards', () => {
  const at = (now: number) => ({ type: 'clock.check' as const, now });

  it('sharesTabs and isNetworkDown read the context', () => {
    expect(guards.sharesTabs({ context: context({ config: { ...config, shareTabs: true } }), event: at(0) })).toBe(true);
    expect(guards.sharesTabs({ context: context(), event: at(0) })).toBe(false);
    expect(guards.isNetworkDown({ context: context({ online: false }), event: at(0) })).toBe(true);
    expect(guards.isNetworkDown({ context: context(), event: at(0) })).toBe(false);
  });

  it("judge the held token by the event's clock", () => {
    // 60 s token from 1 s: refresh due at 46 s, servable until 56 s.
    expect(guards.isHeldFresh({ context: context(), event: at(45_999) })).toBe(true);
    expect(guards.isHeldFresh({ context: context(), event: at(46_000) })).toBe(false);
    expect(guards.isHeldServable({ context: context(), event: at(55_999) })).toBe(true);
    expect(guards.isHeldServable({ context: context(), event: at(56_000) })).toBe(false);
    expect(guards.isHeldServable({ context: context({ token: null }), event: at(0) })).toBe(false);
  });

  it('hasSession', () => {
    expect(guards.hasSession({ context: context(), event: at(0) })).toBe(true);
    expect(guards.hasSession({ context: context({ session: null }), event: at(0) })).toBe(false);
  });

  it('isSameSession: the same key, or no key at all, within a session', () => {
    const signIn = (sessionKey: string | null) => ({ type: 'xstate.done.actor.x', output: token({ sessionKey }) });
    expect(guards.isSameSession({ context: context(), event: signIn('s1') })).toBe(true);
    expect(guards.isSameSession({ context: context(), event: signIn(null) })).toBe(true);
    expect(guards.isSameSession({ context: context(), event: signIn('s2') })).toBe(false);
    expect(guards.isSameSession({ context: context({ session: null }), event: signIn(null) })).toBe(false);
    const signInEvent = { type: 'user.signIn', token: token(), now: 0 };
    expect(guards.isSameSession({ context: context(), event: signInEvent })).toBe(true);
  });

  it('isAuthFailure only for the auth code', () => {
    const failed = (error: unknown) => ({ type: 'xstate.error.actor.x', error });
    expect(guards.isAuthFailure({ context: context(), event: failed(new AuthError()) })).toBe(true);
    expect(guards.isAuthFailure({ context: context(), event: failed(new NetworkError()) })).toBe(false);
    expect(guards.isAuthFailure({ context: context(), event: at(0) })).toBe(false);
  });

  it('isNewerTokenOfSession: this session, issued later', () => {
    const tab = (t: HeldToken) => ({ type: 'tab.token', token: t, session: session(), now: 0 });
    expect(guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 2_000 })) })).toBe(true);
    expect(guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 500 })) })).toBe(false);
    expect(
      guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 2_000, sessionKey: 's2' })) }),
    ).toBe(false);
  });

  it('isNewerSession: another key started later than ours', () => {
    const tab = (s: SessionInfo) => ({ type: 'tab.token', token: token({ sessionKey: s.sessionKey }), session: s, now: 0 });
    const ours = context({ session: session('s1', 1_000) });
    expect(guards.isNewerSession({ context: ours, event: tab(session('s2', 1_001)) })).toBe(true);
    expect(guards.isNewerSession({ context: ours, event: tab(session('s2', 1_000)) })).toBe(false);
    expect(guards.isNewerSession({ context: ours, event: tab(session('s1', 2_000)) })).toBe(false);
  });

  it('isNewerSession while signed out: any session, or one started after the sign-out', () => {
    const tab = (startedAt: number) => ({ type: 'tab.token', token: token(), session: session('s1', startedAt), now: 0 });
    expect(guards.isNewerSession({ context: context({ session: null }), event: tab(1) })).toBe(true);
    const signedOut = context({ session: null, endedAt: 5_000 });
    expect(guards.isNewerSession({ context: signedOut, event: tab(5_001) })).toBe(true);
    expect(guards.isNewerSession({ context: signedOut, event: tab(5_000) })).toBe(false);
  });

  it('isIssuedSinceRotation: strictly after the rotation, or after 0 when there was none', () => {
    const tab = (issuedAt: number) => ({ type: 'tab.token', token: token({ issuedAt }), session: session(), now: 0 });
    const rotated = context({ rotatedAt: 3_000 });
    expect(guards.isIssuedSinceRotation({ context: rotated, event: tab(3_001) })).toBe(true);
    expect(guards.isIssuedSinceRotation({ context: rotated, event: tab(3_000) })).toBe(false);
    expect(guards.isIssuedSinceRotation({ context: context(), event: tab(1) })).toBe(true);
  });

  it('isThisSession: a message about our session key', () => {
    const signOut = (sessionKey: string) => ({ type: 'tab.signOut', sessionKey, at: 1 });
    expect(guards.isThisSession({ context: context(), event: signOut('s1') })).toBe(true);
    expect(guards.isThisSession({ context: context(), event: signOut('s2') })).toBe(false);
    expect(guards.isThisSession({ context: context({ session: null }), event: signOut('s1') })).toBe(false);
  });
});

describe('updates', () => {
  const failed = context({ attempt: 3, retryAfterMs: 9_000, error: new NetworkError() });
  const reset = { attempt: 0, retryAfterMs: undefined, error: null };

  it('startSession from a sign-in: a new session named by the token, keeping its own refresh token', () => {
    const t = token({ sessionKey: 's2', userId: 'u2', refreshToken: 'r2' });
    const update = updates.startSession({ context: failed, event: { type: 'user.signIn', token: t as never, now: 7_000 } });
    expect(update).toEqual({
      ...reset,
      session: { sessionKey: 's2', userId: 'u2', startedAt: 7_000 },
      token: t,
      refreshToken: 'r2',
      rotatedAt: null,
      lastRefreshAt: null,
    });
  });

  it("startSession from a sign-in without a refresh token never sends the old session's", () => {
    const update = updates.startSession({ context: failed, event: { type: 'user.signIn', token: token() as never, now: 1 } });
    expect(update.refreshToken).toBeUndefined();
  });

  it("startSession from another tab adopts that tab's session object", () => {
    const theirs = session('s2', 4_000);
    const t = token({ sessionKey: 's2' });
    const update = updates.startSession({ context: failed, event: { type: 'tab.token', token: t as never, session: theirs, now: 5 } });
    expect(update.session).toBe(theirs);
  });

  it('startSession from a refresh answer keeps the refresh token and records the refresh time', () => {
    const answer = { type: 'xstate.done.actor.refreshToken', output: token({ sessionKey: 's9', issuedAt: 8_000 }) };
    const update = updates.startSession({ context: failed, event: answer });
    expect(update).toMatchObject({ refreshToken: 'r1', lastRefreshAt: 8_000, session: { sessionKey: 's9', startedAt: 8_000 } });
  });

  it("startSession names a keyless token by the current session, else by the time", () => {
    const answer = { type: 'xstate.done.actor.refreshToken', output: token({ sessionKey: null, issuedAt: 8_000 }) };
    expect(updates.startSession({ context: failed, event: answer }).session?.sessionKey).toBe('s1');
    expect(updates.startSession({ context: context({ session: null }), event: answer }).session?.sessionKey).toBe(
      'session-8000',
    );
  });

  it('storeToken keeps the session, resets the attempts, keeps the refresh token unless a new one came', () => {
    const answer = { type: 'xstate.done.actor.refreshToken', output: token({ issuedAt: 8_000 }) };
    expect(updates.storeToken({ context: failed, event: answer })).toEqual({
      ...reset,
      token: answer.output,
      refreshToken: 'r1',
      lastRefreshAt: 8_000,
    });
    const fromTab = { type: 'tab.token', token: token({ refreshToken: 'r2' }), session: session(), now: 9 };
    expect(updates.storeToken({ context: context({ lastRefreshAt: 3 }), event: fromTab })).toMatchObject({
      refreshToken: 'r2',
      lastRefreshAt: 3,
    });
  });

  it('dropToken forgets the access token and records the rotation time', () => {
    expect(updates.dropToken({ context: context(), event: { type: 'user.rotate', now: 6_000 } })).toEqual({
      token: null,
      rotatedAt: 6_000,
    });
  });

  it('endSession clears the session and keeps the error that ended it', () => {
    const error = new AuthError();
    const update = updates.endSession({ context: failed, event: { type: 'xstate.error.actor.x', error } });
    expect(update).toEqual({
      ...reset,
      error,
      session: null,
      token: null,
      refreshToken: undefined,
      rotatedAt: null,
      endedAt: 1_000,
    });
    expect(updates.endSession({ context: failed, event: { type: 'user.signOut', now: 2 } })).toMatchObject({
      error: null,
      endedAt: 2,
    });
  });

  it("recordFailure counts the attempt and keeps the server's Retry-After", () => {
    const error = new NetworkError(undefined, { retryAfterMs: 4_000 });
    expect(updates.recordFailure({ context: failed, event: { type: 'xstate.error.actor.x', error } })).toEqual({
      attempt: 4,
      error,
      retryAfterMs: 4_000,
    });
    // A rejection without a reason is still a failed attempt.
    expect(updates.recordFailure({ context: failed, event: { type: 'xstate.error.actor.x' } })).toEqual({
      attempt: 4,
      error: null,
      retryAfterMs: undefined,
    });
    const plain = new AuthError();
    expect(updates.recordFailure({ context: failed, event: { type: 'xstate.error.actor.x', error: plain } })).toEqual({
      attempt: 4,
      error: plain,
      retryAfterMs: undefined,
    });
  });
});
