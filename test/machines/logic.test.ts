import { describe, expect, it } from 'vitest';
import { AuthError, NetworkError } from '../../machines/errors.js';
import { guards, isNewer, requestFor, settlingReason, timeOf } from '../../machines/logic.js';
import { CONFIG } from './machineHarness.js';
import { answered, context, failed, heldToken as token, session } from './logicFixtures.js';

/** The session machine's guards and helpers, called directly as pure functions of (context, event). */

const at = (now: number) => ({ type: 'clock.check' as const, now });

describe('timeOf: the local time an event carries', () => {
  it('reads now, then at, then a time an actor resolved', () => {
    expect(timeOf({ type: 'clock.check', now: 5 })).toBe(5);
    expect(timeOf({ type: 'tab.signOut', sessionKey: 's1', at: 7 })).toBe(7);
    expect(timeOf({ type: 'xstate.done.actor.0.session.stale', output: 9 })).toBe(9);
  });

  it('skips a now or at that is not a number', () => {
    expect(timeOf({ type: 'x', now: undefined, at: 7 } as never)).toBe(7);
    expect(timeOf({ type: 'x', at: 'soon', output: 9 } as never)).toBe(9);
  });

  it('throws a TypeError naming an event without a time', () => {
    expect(() => timeOf({ type: 'env.offline' })).toThrow(TypeError);
    expect(() => timeOf({ type: 'env.offline' })).toThrow(/env\.offline/);
    expect(() => timeOf({ type: 'xstate.done.actor.x', output: { token: token() } })).toThrow(TypeError);
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

describe('requestFor: what a refresh is sent with', () => {
  it("the session object, the refresh token, and satisfied by a token issued after the held one's", () => {
    const held = context();
    expect(requestFor(held, 'stale')).toEqual({ session: held.session, refreshToken: 'r1', reason: 'stale', satisfiedAfter: 1_000 });
    expect(requestFor(held, 'stale').session).toBe(held.session);
    expect(requestFor(context({ token: null }), 'restore').satisfiedAfter).toBe(0);
  });

  it('for a rotation, the rotated session (another tab answers it only with a later one) and nothing held', () => {
    const rotated = context({ token: null });
    const request = requestFor(rotated, 'rotated');
    expect(request).toEqual({ session: rotated.session, refreshToken: 'r1', reason: 'rotated', satisfiedAfter: 0 });
    expect(request.session).toBe(rotated.session);
    // After the token the rotation dropped: a stored token older than that is not the session's newest.
    const dropped = context({ token: null, droppedToken: context({}).token });
    expect(requestFor(dropped, 'rotated').satisfiedAfter).toBe(context({}).token!.issuedAt);
  });
});

describe('settlingReason: why settling sends a refresh', () => {
  it.each([
    ['timer.retryDue', 'retry'],
    ['env.online', 'resume'],
    ['env.wake', 'resume'],
    ['timer.refreshDue', 'expired'],
    ['user.signIn', 'expired'],
    ['request.done', 'expired'],
    ['tab.token', 'expired'],
  ])('after %s: %s', (type, reason) => {
    expect(settlingReason({ type })).toBe(reason);
  });
});

describe('guards on the context', () => {
  it('sharesTabs, isNetworkDown and callersCutBackoff read it', () => {
    expect(guards.sharesTabs({ context: context({ config: { ...CONFIG, shareTabs: true } }), event: at(0) })).toBe(true);
    expect(guards.sharesTabs({ context: context(), event: at(0) })).toBe(false);
    expect(guards.isNetworkDown({ context: context({ online: false }), event: at(0) })).toBe(true);
    expect(guards.isNetworkDown({ context: context(), event: at(0) })).toBe(false);
    const cutting = context({ config: { ...CONFIG, callersCutBackoff: true } });
    expect(guards.callersCutBackoff({ context: cutting, event: at(0) })).toBe(true);
    expect(guards.callersCutBackoff({ context: context(), event: at(0) })).toBe(false);
  });

  it("isHeldFresh and isHeldServable judge the held token by the event's clock", () => {
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
});

describe('guards on an answer', () => {
  it('isSameSession: the same key, or no key at all, within a session', () => {
    const held = context();
    expect(guards.isSameSession({ context: held, event: answered(held, token({ sessionKey: 's1' })) })).toBe(true);
    expect(guards.isSameSession({ context: held, event: answered(held, token({ sessionKey: null })) })).toBe(true);
    expect(guards.isSameSession({ context: held, event: answered(held, token({ sessionKey: 's2' })) })).toBe(false);
    const signedOut = context({ session: null });
    expect(guards.isSameSession({ context: signedOut, event: answered(signedOut, token({ sessionKey: null })) })).toBe(false);
    expect(guards.isSameSession({ context: held, event: { type: 'user.signIn', token: token() as never, now: 0 } })).toBe(true);
  });

  it('isForCurrentSession: sent for the very session object held now', () => {
    const held = context();
    expect(guards.isForCurrentSession({ context: held, event: answered(held, token()) })).toBe(true);
    expect(guards.isForCurrentSession({ context: held, event: failed(held, new NetworkError()) })).toBe(true);
    // A sign-in since made a new session object, even under the same key and start.
    const signedInAgain = context({ session: session() });
    expect(guards.isForCurrentSession({ context: signedInAgain, event: answered(held, token()) })).toBe(false);
  });

  it('isHeldTokenAgain: the access token that was held when the request was sent', () => {
    const held = context();
    expect(guards.isHeldTokenAgain({ context: held, event: answered(held, token({ issuedAt: 9_000 })) })).toBe(true);
    expect(guards.isHeldTokenAgain({ context: held, event: answered(held, token({ accessToken: 'a2' })) })).toBe(false);
    const rotated = context({ token: null });
    expect(guards.isHeldTokenAgain({ context: rotated, event: answered(rotated, token()) })).toBe(false);
  });

  it('isHeldTokenAgain: not for the token another tab handed over after the request was sent', () => {
    const sent = context();
    const handedOver = context({ token: token({ accessToken: 'a2', issuedAt: 2_000 }) });
    const event = answered(sent, token({ accessToken: 'a2', issuedAt: 2_000 }));
    expect(guards.isHeldTokenAgain({ context: handedOver, event })).toBe(false);
  });

  it('isDroppedToken: the access token a rotation dropped', () => {
    const rotated = context({ token: null, droppedToken: token() });
    expect(guards.isDroppedToken({ context: rotated, event: answered(rotated, token({ issuedAt: 9_000 })) })).toBe(true);
    expect(guards.isDroppedToken({ context: rotated, event: answered(rotated, token({ accessToken: 'a2' })) })).toBe(false);
    const none = context({ token: null });
    expect(guards.isDroppedToken({ context: none, event: answered(none, token()) })).toBe(false);
  });
});

describe('guards on a failure', () => {
  it('isAuthFailure only for the auth code', () => {
    expect(guards.isAuthFailure({ context: context(), event: failed(context(), new AuthError()) })).toBe(true);
    expect(guards.isAuthFailure({ context: context(), event: failed(context(), new NetworkError()) })).toBe(false);
    expect(guards.isAuthFailure({ context: context(), event: at(0) })).toBe(false);
  });

  it('isFirmWait for a sane Retry-After, whatever the reason', () => {
    for (const retryAfterMs of [1, 7_000, 10 * 3_600_000]) {
      const error = new NetworkError(undefined, { retryAfterMs });
      expect(guards.isFirmWait({ context: context(), event: failed(context(), error) })).toBe(true);
    }
  });

  it.each([Number.NaN, -1, 0, Number.POSITIVE_INFINITY, undefined])('not for a Retry-After of %s', (retryAfterMs) => {
    const error = new NetworkError(undefined, { retryAfterMs });
    expect(guards.isFirmWait({ context: context(), event: failed(context(), error) })).toBe(false);
  });

  it('isFirmWait when the attempt that failed was started by a signal, an answer of no new token included', () => {
    const resumed = context({ reason: 'resume' });
    expect(guards.isFirmWait({ context: resumed, event: failed(resumed, new NetworkError()) })).toBe(true);
    expect(guards.isFirmWait({ context: resumed, event: answered(resumed, token()) })).toBe(true);
    const retried = context({ reason: 'retry' });
    expect(guards.isFirmWait({ context: retried, event: answered(retried, token()) })).toBe(false);
  });
});

describe("guards on another tab's message", () => {
  const tab = (t = token(), s = session()) => ({ type: 'tab.token' as const, token: t as never, session: s, now: 0 });

  it('isNewerTokenOfSession: the same session instance (key and start), a token issued later', () => {
    expect(guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 2_000 })) })).toBe(true);
    expect(guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 500 })) })).toBe(false);
    // The same key started anew (a sign-in again there, a rotation that kept the key) is another session.
    const restarted = session('s1', 1_500);
    expect(guards.isNewerTokenOfSession({ context: context(), event: tab(token({ issuedAt: 2_000 }), restarted) })).toBe(false);
    expect(guards.isNewerTokenOfSession({ context: context({ session: null }), event: tab() })).toBe(false);
  });

  it('isNewerSession: another instance started later than ours, under any key', () => {
    const ours = context({ session: session('s1', 1_000) });
    expect(guards.isNewerSession({ context: ours, event: tab(token(), session('s2', 1_001)) })).toBe(true);
    expect(guards.isNewerSession({ context: ours, event: tab(token(), session('s1', 2_000)) })).toBe(true);
    expect(guards.isNewerSession({ context: ours, event: tab(token(), session('s2', 1_000)) })).toBe(false);
    expect(guards.isNewerSession({ context: ours, event: tab(token(), session('s1', 1_000)) })).toBe(false);
  });

  it('isNewerSession while signed out: any session, or one started after the sign-out', () => {
    expect(guards.isNewerSession({ context: context({ session: null }), event: tab(token(), session('s1', 1)) })).toBe(true);
    const signedOut = context({ session: null, endedAt: 5_000 });
    expect(guards.isNewerSession({ context: signedOut, event: tab(token(), session('s1', 5_001)) })).toBe(true);
    expect(guards.isNewerSession({ context: signedOut, event: tab(token(), session('s1', 5_000)) })).toBe(false);
  });

  it('isThisSession: a message about our session key', () => {
    const signOut = (sessionKey: string) => ({ type: 'tab.signOut' as const, sessionKey, at: 1 });
    expect(guards.isThisSession({ context: context(), event: signOut('s1') })).toBe(true);
    expect(guards.isThisSession({ context: context(), event: signOut('s2') })).toBe(false);
    expect(guards.isThisSession({ context: context({ session: null }), event: signOut('s1') })).toBe(false);
  });
});
