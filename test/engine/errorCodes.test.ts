import { describe, expect, it } from 'vitest';
import {
  AbortError,
  AuthError,
  InvalidTokenError,
  MAX_RETRY_AFTER_MS,
  NetworkError,
  SessionError,
  saneRetryAfterMs,
  scrubTokens,
  toRefreshFailure,
} from '../../src/errors.js';
import { signJwt } from '../../src/testing/index.js';

describe('error classes', () => {
  it.each([
    [SessionError, 'session'],
    [InvalidTokenError, 'invalid_token'],
    [NetworkError, 'network'],
    [AuthError, 'auth'],
    [AbortError, 'aborted'],
  ] as const)('%o carries its code on the class and on each instance, and its name', (ErrorClass, code) => {
    const error = new ErrorClass();
    expect(ErrorClass.code).toBe(code);
    expect(error.code).toBe(code);
    expect(error.name).toBe(ErrorClass.name);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toBeInstanceOf(Error);
  });

  it.each([SessionError, InvalidTokenError, NetworkError, AuthError, AbortError])('%o has a default message', (ErrorClass) => {
    expect(new ErrorClass().message).not.toBe('');
    expect(new ErrorClass('given').message).toBe('given');
  });

  it('keeps a cause only when one is given', () => {
    const cause = new Error('root');
    expect(new AuthError(undefined, { cause }).cause).toBe(cause);
    expect('cause' in new AuthError()).toBe(false);
    expect('cause' in new AuthError('m', {})).toBe(false);
  });

  it("adds the cause's message to its own, once", () => {
    const cause = new TypeError("Cannot read properties of undefined (reading 'access_token')");
    const error = new NetworkError('The refresh function failed', { cause });
    expect(error.message).toContain('The refresh function failed');
    expect(error.message).toContain(cause.message);
    expect(new NetworkError(`failed: ${cause.message}`, { cause }).message).toBe(`failed: ${cause.message}`);
    expect(new AuthError('refused', { cause: 'not an Error' }).message).toBe('refused');
    expect(new AuthError('refused', { cause: new Error('') }).message).toBe('refused');
  });

  it("never copies token text from a cause's message", () => {
    const token = signJwt({ sid: 's1', iat: 1_700_000_000, exp: 1_700_000_060 });
    const error = new InvalidTokenError('The answer was refused', { cause: new Error(`bad token ${token} given`) });
    expect(error.message).not.toContain(token);
    expect(error.message).toContain('bad token');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("NetworkError keeps the server's Retry-After", () => {
    expect(new NetworkError(undefined, { retryAfterMs: 3_000 }).retryAfterMs).toBe(3_000);
    expect(new NetworkError().retryAfterMs).toBeUndefined();
  });
});

describe('scrubTokens', () => {
  it('replaces anything shaped like a JWT and leaves other text alone', () => {
    const token = signJwt({ sub: 'u1' });
    expect(scrubTokens(`Bearer ${token}.`)).toBe('Bearer [token].');
    expect(scrubTokens('v1.2.3 at example.com')).toBe('v1.2.3 at example.com');
  });
});

describe("saneRetryAfterMs: a server's Retry-After, counted only when it makes sense", () => {
  it.each([Number.NaN, Infinity, -Infinity, -1, 0, '5000', undefined, null])('ignores %s', (value) => {
    expect(saneRetryAfterMs(value)).toBeUndefined();
  });

  it('keeps a finite positive wait, capped at one hour', () => {
    expect(saneRetryAfterMs(1_500)).toBe(1_500);
    expect(MAX_RETRY_AFTER_MS).toBe(3_600_000);
    expect(saneRetryAfterMs(86_400_000)).toBe(3_600_000);
  });
});

describe('toRefreshFailure: what a refresh threw, as the failure the machine acts on', () => {
  it.each([new AuthError(), new InvalidTokenError(), new NetworkError()])('keeps a %o as it is', (error) => {
    expect(toRefreshFailure(error)).toBe(error);
  });

  it('recognises the codes of another build of the library, not only its classes', () => {
    const foreign = Object.assign(new Error('refused'), { code: 'auth' });
    expect(toRefreshFailure(foreign)).toBe(foreign);
  });

  it.each<[string, unknown]>([
    ['an AbortError', new AbortError()],
    ['a TypeError', new TypeError('fetch failed')],
    ['an Error with another code', Object.assign(new Error('x'), { code: 'ECONNRESET' })],
    ['a plain object with the auth code', { code: 'auth' }],
    ['a string', 'boom'],
    ['undefined', undefined],
  ])('turns %s into a network fault that keeps it as the cause', (_, thrown) => {
    const failure = toRefreshFailure(thrown);
    expect(failure).toBeInstanceOf(NetworkError);
    expect(failure.code).toBe('network');
    expect(failure.cause).toBe(thrown);
    // What the app's logs show, even when what was thrown has no message of its own.
    expect(failure.message).not.toBe('');
  });

  it("says what the refresh threw: the cause's message is in the fault's", () => {
    expect(toRefreshFailure(new TypeError('fetch failed')).message).toContain('fetch failed');
  });
});
