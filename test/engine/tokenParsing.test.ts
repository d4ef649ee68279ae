import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SESSION_KEY_CLAIMS,
  parseRefreshAnswer,
  parseSignIn,
  sessionKeyOf,
  type Arrival,
} from '../../src/engine/claims.js';
import { InvalidTokenError } from '../../src/errors.js';
import { signJwt } from '../../src/testing/index.js';

/** What a sign-in or a refresh hands over, checked field by field; the times are in tokenExpiry.test.ts. */

const AT = 1_700_000_000_000; // a whole second
const S = AT / 1000;
const keys = DEFAULT_SESSION_KEY_CLAIMS;
const arrival: Arrival = { at: AT, fromWall: (time) => time, keyClaims: keys };

const parsers = [
  ['parseRefreshAnswer', (set: unknown) => parseRefreshAnswer(set, arrival)],
  ['parseSignIn', (set: unknown) => parseSignIn(set, arrival, null)],
] as const;

function parseError(parse: (set: unknown) => unknown, set: unknown): InvalidTokenError {
  try {
    parse(set);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).code).toBe('invalid_token');
    // Each says what is wrong (the wording is not part of the contract; that there is one is).
    expect((error as InvalidTokenError).message).not.toBe('');
    return error as InvalidTokenError;
  }
  throw new Error('expected the parser to throw');
}

const malformed: Array<[string, unknown]> = [
  ['null', null],
  ['undefined (a refresh that returned nothing)', undefined],
  ['a string', 'token'],
  ['snake-case fields (access_token, expires_in)', { access_token: 'opaque', expires_in: 60 }],
  ['a numeric access token', { accessToken: 5, expiresIn: 60 }],
  ['an empty access token', { accessToken: '', expiresIn: 60 }],
  ['an empty refresh token', { accessToken: 'opaque', expiresIn: 60, refreshToken: '' }],
  ['a numeric refresh token', { accessToken: 'opaque', expiresIn: 60, refreshToken: 1 }],
  ['an empty session key', { accessToken: 'opaque', expiresIn: 60, sessionKey: '' }],
  ['a numeric session key', { accessToken: 'opaque', expiresIn: 60, sessionKey: 1 }],
  ['an expiresIn of 0', { accessToken: 'opaque', expiresIn: 0 }],
  ['an expiresIn given as text', { accessToken: 'opaque', expiresIn: '60' }],
  ['an infinite expiresIn', { accessToken: 'opaque', expiresIn: Infinity }],
  ['a NaN expiresIn', { accessToken: 'opaque', expiresIn: Number.NaN }],
  ['an expiresAt of 0', { accessToken: 'opaque', expiresAt: 0 }],
  ['an expiresAt given as text', { accessToken: 'opaque', expiresAt: String(AT + 60_000) }],
  ['an opaque token without expiry', { accessToken: 'opaque' }],
  ['a JWT with an exp of 0', { accessToken: signJwt({ iat: S, exp: 0 }) }],
  ['a JWT with exp as text', { accessToken: signJwt({ iat: S, exp: String(S + 60) }) }],
  ['a JWT that expires before it was issued', { accessToken: signJwt({ iat: S, exp: S - 60 }) }],
  ['a JWT with no life (exp equal to iat)', { accessToken: signJwt({ iat: S, exp: S }) }],
  ['a JWT whose exp is in milliseconds', { accessToken: signJwt({ iat: S, exp: (S + 60) * 1000 }) }],
  ['a JWT whose iat is in milliseconds', { accessToken: signJwt({ iat: AT, exp: S + 60 }) }],
  ['a JWT-shaped string that does not decode', { accessToken: 'abc.def.ghi' }],
];

describe.each(parsers)('%s: malformed token sets throw invalid_token', (_, parse) => {
  it.each(malformed)('%s', (__, set) => {
    parseError(parse, set);
  });

  it('keeps the decoding failure as the cause, and says the token looks like a JWT that cannot be decoded', () => {
    const error = parseError(parse, { accessToken: 'abc.def.ghi' });
    expect(error.cause).toBeInstanceOf(Error);
    // The app learns why (a dotted opaque token needs its expiry given), not only the decoder's complaint.
    expect(error.message).toMatch(/looks like a JWT/);
    expect(error.message).toContain((error.cause as Error).message);
  });

  it('never puts the token in the message', () => {
    const secret = signJwt({ sid: 's1', iat: S });
    expect(parseError(parse, { accessToken: secret }).message).not.toContain(secret);
  });
});

/** Expired on arrival: no answer to a refresh, but a sign-in that starts its session with one. */
const expiredOnArrival: Array<[string, unknown]> = [
  ['an expiresAt already reached', { accessToken: 'opaque', expiresAt: AT }],
  ['a JWT without iat that expired before it came', { accessToken: signJwt({ exp: S - 1 }) }],
];

describe('tokens expired on arrival', () => {
  it.each(expiredOnArrival)('parseRefreshAnswer refuses %s', (_, set) => {
    parseError((value) => parseRefreshAnswer(value, arrival), set);
  });

  it.each(expiredOnArrival)('parseSignIn takes %s, expired and never servable', (_, set) => {
    const held = parseSignIn(set, arrival, null);
    expect(held.expiresAt).toBeLessThanOrEqual(AT);
    expect(held.issuedAt).toBeLessThan(held.expiresAt);
  });
});

/** A real JWT of session s1, user u1, minted at AT for a minute: what an opaque token might wrap. */
const jwt = signJwt({ sid: 's1', sub: 'u1', iat: S, exp: S + 60 });

describe.each(parsers)('%s: which access tokens are read as JWTs', (_, parse) => {
  it.each([
    ['a JWT after a prefix outside base64url', `v2:${jwt}`],
    ['a JWT before a suffix outside base64url', `${jwt}!`],
    ['four dotted parts', 'aa.bb.cc.dd'],
    ['two dotted parts', 'aa.bb'],
    ['a leading character outside base64url', '!aa.bb.cc'],
    ['a trailing character outside base64url', 'aa.bb.cc!'],
    ['an empty first part', '.bb.cc'],
    ['an empty middle part', 'aa..cc'],
    ['three parts that do not decode, given an expiry', 'abc.def.ghi'],
  ])('%s is opaque: its expiry must be given', (__, accessToken) => {
    expect(parse({ accessToken, expiresIn: 60 })).toMatchObject({ accessToken, sessionKey: null, userId: null });
  });

  it.each([
    ['after a prefix', `v2:${jwt}`],
    ['before a suffix', `${jwt}!`],
  ])('an opaque token with a JWT inside it (%s) is not read as one: without its expiry it is refused', (__, accessToken) => {
    parseError(parse, { accessToken });
  });

  it('a JWT-shaped token that does not decode is opaque when expiresAt alone is given', () => {
    expect(parse({ accessToken: 'abc.def.ghi', expiresAt: AT + 60_000 })).toMatchObject({
      accessToken: 'abc.def.ghi',
      expiresAt: AT + 60_000,
      sessionKey: null,
    });
  });

  it('an unsigned JWT (empty signature) is still read', () => {
    const signed = signJwt({ sid: 's1', iat: S, exp: S + 60 });
    const unsigned = signed.slice(0, signed.lastIndexOf('.') + 1);
    expect((parse({ accessToken: unsigned }) as { sessionKey: string }).sessionKey).toBe('s1');
  });
});

describe.each(parsers)('%s: JWT times are seconds', (_, parse) => {
  it('takes an exp of exactly 1e11 s (the year 5138: a token that never expires) as seconds', () => {
    const forever = signJwt({ iat: S, exp: 1e11 });
    expect((parse({ accessToken: forever }) as { expiresAt: number }).expiresAt).toBe(AT + (1e11 - S) * 1000);
  });
});

describe('the held token', () => {
  it("carries the access and refresh tokens, the session key, the user, and times counted from the request's start", () => {
    const accessToken = signJwt({ sid: 's1', sub: 'u1', iat: S + 3, exp: S + 63 });
    expect(parseRefreshAnswer({ accessToken, refreshToken: 'r1' }, arrival)).toEqual({
      accessToken,
      refreshToken: 'r1',
      expiresAt: AT + 60_000,
      issuedAt: AT,
      serverOffsetMs: 3_000,
      sessionKey: 's1',
      userId: 'u1',
    });
  });

  it('has no refresh token property when none was given', () => {
    expect('refreshToken' in parseRefreshAnswer({ accessToken: 'opaque', expiresIn: 60 }, arrival)).toBe(false);
  });

  it('takes TokenSet.sessionKey over the claims, and a non-string sub is no user', () => {
    const accessToken = signJwt({ sid: 's1', sub: 42, iat: S, exp: S + 60 });
    expect(parseSignIn({ accessToken, sessionKey: 'given' }, arrival, null)).toMatchObject({
      sessionKey: 'given',
      userId: null,
    });
  });

  it('reads the session key from the claims given', () => {
    const accessToken = signJwt({ sid: 's1', sub: 'u1', iat: S, exp: S + 60 });
    expect(parseRefreshAnswer({ accessToken }, { ...arrival, keyClaims: ['sub'] }).sessionKey).toBe('u1');
  });
});

describe('sessionKeyOf: the first usable claim, in the order given', () => {
  it('has no key without claims', () => {
    expect(sessionKeyOf(null, keys)).toBeNull();
  });

  it('takes the first claim in order and skips empty or non-finite ones', () => {
    expect(sessionKeyOf({ sub: 'u1', sid: 's1' }, keys)).toBe('s1');
    expect(sessionKeyOf({ sub: 'u1', sid: 's1' }, ['sub', 'sid'])).toBe('u1');
    expect(sessionKeyOf({ sid: '', sessionId: 'x' }, keys)).toBe('x');
    expect(sessionKeyOf({ sid: Number.NaN, sessionId: 'x' }, keys)).toBe('x');
    expect(sessionKeyOf({ sid: true, sessionId: 'x' }, keys)).toBe('x');
  });

  it('turns a numeric claim into text', () => {
    expect(sessionKeyOf({ refresh_token_id: 123 }, keys)).toBe('123');
    expect(sessionKeyOf({ refresh_token_id: 0 }, keys)).toBe('0');
  });

  it('has no key when no claim is usable', () => {
    expect(sessionKeyOf({ iss: 'x', sid: '' }, keys)).toBeNull();
  });

  it('reads the default claims in the documented order', () => {
    expect(DEFAULT_SESSION_KEY_CLAIMS).toEqual(['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub']);
  });
});
