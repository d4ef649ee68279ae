import { describe, expect, it } from 'vitest';
import {
  AbortError,
  AuthError,
  InvalidTokenError,
  NetworkError,
  SessionError,
  toRefreshFailure,
} from '../../src/errors.js';

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

  it.each([InvalidTokenError, NetworkError, AuthError, AbortError])('%o has a default message', (ErrorClass) => {
    expect(new ErrorClass().message).not.toBe('');
    expect(new ErrorClass('given').message).toBe('given');
  });

  it('keeps a cause only when one is given', () => {
    const cause = new Error('root');
    expect(new AuthError(undefined, { cause }).cause).toBe(cause);
    expect('cause' in new AuthError()).toBe(false);
    expect('cause' in new AuthError('m', {})).toBe(false);
  });

  it("NetworkError keeps the server's Retry-After", () => {
    expect(new NetworkError(undefined, { retryAfterMs: 3_000 }).retryAfterMs).toBe(3_000);
    expect(new NetworkError().retryAfterMs).toBeUndefined();
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
  });
});
