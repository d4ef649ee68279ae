import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_KEY_CLAIMS, parseTokenSet, sessionKeyOf } from '../../src/engine/claims.js';
import { InvalidTokenError } from '../../src/errors.js';
import { signJwt } from '../support/tokens.js';

/** `parseTokenSet` turns what a sign-in or refresh returned into a token on the local clock. */

const RECEIVED = 1_700_000_000_000; // a whole second
const S = RECEIVED / 1000;
const keys = DEFAULT_SESSION_KEY_CLAIMS;

function parseError(set: unknown, receivedAt = RECEIVED): InvalidTokenError {
  try {
    parseTokenSet(set, receivedAt, keys);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).code).toBe('invalid_token');
    // Each says what is wrong (the wording is not part of the contract; that there is one is).
    expect((error as InvalidTokenError).message).not.toBe('');
    return error as InvalidTokenError;
  }
  throw new Error('expected parseTokenSet to throw');
}

describe('expiry on the local clock', () => {
  it('takes expiresIn (seconds from receipt) first', () => {
    const jwt = signJwt({ iat: S - 100, exp: S + 900 });
    expect(parseTokenSet({ accessToken: jwt, expiresIn: 60, expiresAt: RECEIVED + 5_000 }, RECEIVED, keys).expiresAt).toBe(
      RECEIVED + 60_000,
    );
  });

  it('then expiresAt (local ms)', () => {
    const jwt = signJwt({ iat: S, exp: S + 900 });
    expect(parseTokenSet({ accessToken: jwt, expiresAt: RECEIVED + 5_000 }, RECEIVED, keys).expiresAt).toBe(RECEIVED + 5_000);
  });

  it("then the JWT's life from receipt, whatever the server clock says", () => {
    const skewed = signJwt({ iat: S - 3_600, exp: S - 3_600 + 120 });
    const token = parseTokenSet({ accessToken: skewed }, RECEIVED, keys);
    expect(token).toMatchObject({ expiresAt: RECEIVED + 120_000, issuedAt: RECEIVED, serverOffsetMs: -3_600_000 });
  });

  it('reads exp on the local clock when there is no iat, and records no offset', () => {
    const token = parseTokenSet({ accessToken: signJwt({ exp: S + 30 }) }, RECEIVED, keys);
    expect(token).toMatchObject({ expiresAt: RECEIVED + 30_000, serverOffsetMs: null });
  });

  it('records the server offset of a fast server clock', () => {
    const token = parseTokenSet({ accessToken: signJwt({ iat: S + 2, exp: S + 62 }) }, RECEIVED, keys);
    expect(token.serverOffsetMs).toBe(2_000);
  });

  it('ignores an iat of 0 and reads exp on the local clock', () => {
    const token = parseTokenSet({ accessToken: signJwt({ iat: 0, exp: S + 30 }) }, RECEIVED, keys);
    expect(token).toMatchObject({ expiresAt: RECEIVED + 30_000, serverOffsetMs: null });
  });

  it('accepts a token that expires one millisecond after receipt, not at it', () => {
    expect(parseTokenSet({ accessToken: 'opaque', expiresAt: RECEIVED + 1 }, RECEIVED, keys).expiresAt).toBe(RECEIVED + 1);
    parseError({ accessToken: 'opaque', expiresAt: RECEIVED });
  });
});

describe('malformed token sets throw invalid_token', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['undefined (a refresh that returned nothing)', undefined],
    ['a string', 'token'],
    ['a missing access token', { expiresIn: 60 }],
    ['a numeric access token', { accessToken: 5, expiresIn: 60 }],
    ['an empty access token', { accessToken: '', expiresIn: 60 }],
    ['an empty refresh token', { accessToken: 'opaque', expiresIn: 60, refreshToken: '' }],
    ['a numeric refresh token', { accessToken: 'opaque', expiresIn: 60, refreshToken: 1 }],
    ['an empty session key', { accessToken: 'opaque', expiresIn: 60, sessionKey: '' }],
    ['a numeric session key', { accessToken: 'opaque', expiresIn: 60, sessionKey: 1 }],
    ['an expiresIn of 0', { accessToken: 'opaque', expiresIn: 0 }],
    ['an expiresIn given as text', { accessToken: 'opaque', expiresIn: '60' }],
    ['an infinite expiresIn', { accessToken: 'opaque', expiresIn: Infinity }],
    ['an expiresAt of 0', { accessToken: 'opaque', expiresAt: 0 }],
    ['an expiresAt given as text', { accessToken: 'opaque', expiresAt: String(RECEIVED + 60_000) }],
    ['an opaque token without expiry', { accessToken: 'opaque' }],
    ['a JWT with an exp of 0', { accessToken: signJwt({ iat: S, exp: 0 }) }],
    ['a JWT with exp as text', { accessToken: signJwt({ iat: S, exp: String(S + 60) }) }],
    ['a JWT that expired before receipt', { accessToken: signJwt({ exp: S - 1 }) }],
    ['a JWT-shaped string that does not decode', { accessToken: 'abc.def.ghi' }],
  ])('%s', (_, set) => {
    parseError(set);
  });

  it('keeps the decoding failure as the cause', () => {
    expect(parseError({ accessToken: 'abc.def.ghi' }).cause).toBeDefined();
  });

  it('never puts the token in the message', () => {
    const secret = signJwt({ sid: 's1', iat: S });
    expect(parseError({ accessToken: secret }).message).not.toContain(secret);
  });
});

describe('which access tokens are read as JWTs', () => {
  it.each([
    ['four dotted parts', 'aa.bb.cc.dd'],
    ['two dotted parts', 'aa.bb'],
    ['a leading character outside base64url', '!aa.bb.cc'],
    ['a trailing character outside base64url', 'aa.bb.cc!'],
    ['an empty first part', '.bb.cc'],
    ['an empty middle part', 'aa..cc'],
  ])('%s is opaque: its expiry must be given', (_, accessToken) => {
    expect(parseTokenSet({ accessToken, expiresIn: 60 }, RECEIVED, keys)).toMatchObject({
      sessionKey: null,
      userId: null,
      serverOffsetMs: null,
    });
  });

  it('an unsigned JWT (empty signature) is still read', () => {
    const signed = signJwt({ sid: 's1', iat: S, exp: S + 60 });
    const unsigned = signed.slice(0, signed.lastIndexOf('.') + 1);
    expect(parseTokenSet({ accessToken: unsigned }, RECEIVED, keys).sessionKey).toBe('s1');
  });
});

describe('the held token', () => {
  it('carries the access and refresh tokens, the session key, the user and the receipt time', () => {
    const accessToken = signJwt({ sid: 's1', sub: 'u1', iat: S, exp: S + 60 });
    expect(parseTokenSet({ accessToken, refreshToken: 'r1' }, RECEIVED, keys)).toEqual({
      accessToken,
      refreshToken: 'r1',
      expiresAt: RECEIVED + 60_000,
      issuedAt: RECEIVED,
      serverOffsetMs: 0,
      sessionKey: 's1',
      userId: 'u1',
    });
  });

  it('has no refresh token property when none was given', () => {
    expect('refreshToken' in parseTokenSet({ accessToken: 'opaque', expiresIn: 60 }, RECEIVED, keys)).toBe(false);
  });

  it('takes TokenSet.sessionKey over the claims, and a non-string sub is no user', () => {
    const accessToken = signJwt({ sid: 's1', sub: 42, iat: S, exp: S + 60 });
    expect(parseTokenSet({ accessToken, sessionKey: 'given' }, RECEIVED, keys)).toMatchObject({
      sessionKey: 'given',
      userId: null,
    });
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
