import { describe, expect, it } from 'vitest';
import { isSessionToken, isStoredFailure, isStoredSession, toTabEvent, toTabMessage } from '../../src/tabs/messages.js';
import type { SessionInfo, SessionToken } from '../../machines/types.js';

/** Messages from other tabs are untrusted input: anything malformed is dropped, never turned into an event. */

const token: SessionToken = {
  accessToken: 'a1',
  refreshToken: 'r1',
  expiresAt: 61_000,
  issuedAt: 1_000,
  serverOffsetMs: -250,
  sessionKey: 's1',
  userId: 'u1',
};
const session: SessionInfo = { sessionKey: 's1', userId: 'u1', startedAt: 1_000 };
const NOW = 5_000;

describe('isSessionToken', () => {
  it('accepts a whole token, with or without the optional and nullable fields', () => {
    expect(isSessionToken(token)).toBe(true);
    const { refreshToken: _, ...withoutRefresh } = token;
    expect(isSessionToken(withoutRefresh)).toBe(true);
    expect(isSessionToken({ ...token, serverOffsetMs: null, userId: null })).toBe(true);
    expect(isSessionToken({ ...token, serverOffsetMs: 0 })).toBe(true);
    expect(isSessionToken({ ...token, lifeStartsAt: 400 })).toBe(true);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'token'],
    ['an empty access token', { ...token, accessToken: '' }],
    ['a numeric access token', { ...token, accessToken: 7 }],
    ['an empty refresh token', { ...token, refreshToken: '' }],
    ['a missing expiry', { ...token, expiresAt: undefined }],
    ['an expiry of 0', { ...token, expiresAt: 0 }],
    ['an infinite expiry', { ...token, expiresAt: Infinity }],
    ['an expiry given as text', { ...token, expiresAt: '61000' }],
    ['a negative issue time', { ...token, issuedAt: -1 }],
    ['an expiry at the issue time', { ...token, expiresAt: 1_000 }],
    ['an expiry before the issue time', { ...token, expiresAt: 999 }],
    ['a life that starts at the issue time', { ...token, lifeStartsAt: 1_000 }],
    ['a life that starts after the issue time', { ...token, lifeStartsAt: 1_001 }],
    ['a life start given as text', { ...token, lifeStartsAt: '400' }],
    ['a life start of 0', { ...token, lifeStartsAt: 0 }],
    ['a missing server offset', { ...token, serverOffsetMs: undefined }],
    ['an infinite server offset', { ...token, serverOffsetMs: Infinity }],
    ['a server offset as text', { ...token, serverOffsetMs: '0' }],
    ['a null session key', { ...token, sessionKey: null }],
    ['an empty session key', { ...token, sessionKey: '' }],
    ['a missing user id', { ...token, userId: undefined }],
    ['a numeric user id', { ...token, userId: 1 }],
  ])('rejects %s', (_, value) => {
    expect(isSessionToken(value)).toBe(false);
  });
});

describe('toTabEvent', () => {
  const tokenMessage = (overrides: Record<string, unknown> = {}) => ({ v: 1, kind: 'token', token, session, ...overrides });

  it("turns another tab's token into tab.token at the receiving tab's time", () => {
    expect(toTabEvent(tokenMessage(), NOW)).toEqual({ type: 'tab.token', token, session, now: NOW });
    expect(toTabEvent(tokenMessage({ session: { ...session, userId: null } }), NOW)).not.toBeNull();
  });

  it.each<[string, Record<string, unknown>]>([
    ['a malformed token', { token: { ...token, expiresAt: 0 } }],
    ['a missing session', { session: undefined }],
    ['a session without a key', { session: { ...session, sessionKey: '' } }],
    ['a session with a numeric user id', { session: { ...session, userId: 3 } }],
    ['a session without a start', { session: { ...session, startedAt: 0 } }],
    ['a token of another session than the one named', { session: { ...session, sessionKey: 's2' } }],
  ])('drops a token message with %s', (_, overrides) => {
    expect(toTabEvent(tokenMessage(overrides), NOW)).toBeNull();
  });

  it('turns sign-out and rotation notices into events at the time the sender saw them', () => {
    expect(toTabEvent({ v: 1, kind: 'signOut', sessionKey: 's1', at: 4_000 }, NOW)).toEqual({
      type: 'tab.signOut',
      sessionKey: 's1',
      at: 4_000,
    });
    expect(toTabEvent({ v: 1, kind: 'rotate', sessionKey: 's1', at: 4_000 }, NOW)).toEqual({
      type: 'tab.rotate',
      sessionKey: 's1',
      at: 4_000,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a sign-out without a session key', { kind: 'signOut', sessionKey: '', at: 4_000 }],
    ['a sign-out without a time', { kind: 'signOut', sessionKey: 's1' }],
    ['a rotation with a time of 0', { kind: 'rotate', sessionKey: 's1', at: 0 }],
    ['a rotation with a numeric session key', { kind: 'rotate', sessionKey: 1, at: 4_000 }],
  ])('drops %s', (_, message) => {
    expect(toTabEvent({ v: 1, ...message }, NOW)).toBeNull();
  });

  const refreshTokenMessage = (overrides: Record<string, unknown> = {}) => ({
    v: 1,
    kind: 'refreshToken',
    session,
    refreshToken: 'r2',
    at: 4_000,
    ...overrides,
  });

  it("turns another tab's refresh token (an answer a rotation withdrew) into tab.refreshToken at the time the sender received it", () => {
    expect(toTabEvent(refreshTokenMessage(), NOW)).toEqual({ type: 'tab.refreshToken', session, refreshToken: 'r2', at: 4_000 });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a missing session', { session: undefined }],
    ['a session without a start', { session: { ...session, startedAt: 0 } }],
    ['an empty refresh token', { refreshToken: '' }],
    ['a numeric refresh token', { refreshToken: 2 }],
    ['no refresh token', { refreshToken: undefined }],
    ['no time', { at: undefined }],
    ['a time of 0', { at: 0 }],
    ['a time given as text', { at: '4000' }],
  ])('drops a refresh token message with %s', (_, overrides) => {
    expect(toTabEvent(refreshTokenMessage(overrides), NOW)).toBeNull();
  });

  it('turns a new tab asking for the session into tab.hello', () => {
    expect(toTabEvent({ v: 1, kind: 'hello' }, NOW)).toEqual({ type: 'tab.hello', now: NOW });
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'hello'],
    ['another version', { v: 2, kind: 'hello' }],
    ['no version', { kind: 'hello' }],
    ['an unknown kind', { v: 1, kind: 'steal' }],
  ])('drops %s', (_, data) => {
    expect(toTabEvent(data, NOW)).toBeNull();
  });
});

describe('toTabMessage', () => {
  it('puts each announcement on the wire as version 1, and each reads back as the matching event', () => {
    const cases = [
      [{ type: 'announce.token', token, session }, { v: 1, kind: 'token', token, session }],
      [{ type: 'announce.signOut', sessionKey: 's1', at: 7 }, { v: 1, kind: 'signOut', sessionKey: 's1', at: 7 }],
      [{ type: 'announce.rotate', sessionKey: 's1', at: 8 }, { v: 1, kind: 'rotate', sessionKey: 's1', at: 8 }],
      [
        { type: 'announce.refreshToken', session, refreshToken: 'r2', at: 9 },
        { v: 1, kind: 'refreshToken', session, refreshToken: 'r2', at: 9 },
      ],
      [{ type: 'announce.hello' }, { v: 1, kind: 'hello' }],
    ] as const;
    for (const [announcement, message] of cases) expect(toTabMessage(announcement)).toEqual(message);
    expect(toTabEvent(toTabMessage({ type: 'announce.rotate', sessionKey: 's1', at: 8 }), NOW)?.type).toBe('tab.rotate');
    expect(toTabEvent(toTabMessage({ type: 'announce.refreshToken', session, refreshToken: 'r2', at: 9 }), NOW)?.type).toBe(
      'tab.refreshToken',
    );
  });
});

/** What another tab (or an earlier start) left in the store is untrusted too: read only when whole. */
describe('isStoredSession', () => {
  it('accepts a session with its token, with a refresh token alone, or with neither', () => {
    expect(isStoredSession({ session, token, refreshToken: 'r1' })).toBe(true);
    expect(isStoredSession({ session, token: null, refreshToken: 'r1' })).toBe(true);
    expect(isStoredSession({ session, token: null })).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a malformed token', { session, token: { ...token, accessToken: '' } }],
    ['a token of another session', { session, token: { ...token, sessionKey: 's2' } }],
    ['no token field at all', { session }],
    ['an empty refresh token', { session, token: null, refreshToken: '' }],
    ['a malformed session', { session: { ...session, startedAt: 0 }, token: null }],
  ])('rejects %s', (_, value) => {
    expect(isStoredSession(value)).toBe(false);
  });
});

describe('isStoredFailure', () => {
  const failure = { at: 2_000, sessionKey: 's1', code: 'network', retryAfterMs: 30_000 };

  it('accepts a failure of a session or of none, either code, with or without a Retry-After', () => {
    expect(isStoredFailure(failure)).toBe(true);
    expect(isStoredFailure({ ...failure, sessionKey: null, code: 'invalid_token', retryAfterMs: undefined })).toBe(true);
  });

  it.each<[string, unknown]>([
    ['an empty session key', { ...failure, sessionKey: '' }],
    ['a numeric session key', { ...failure, sessionKey: 7 }],
    ['another code', { ...failure, code: 'auth' }],
    ['no time', { ...failure, at: undefined }],
    ['a Retry-After of 0', { ...failure, retryAfterMs: 0 }],
  ])('rejects %s', (_, value) => {
    expect(isStoredFailure(value)).toBe(false);
  });
});
