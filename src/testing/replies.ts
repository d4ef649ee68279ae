import { AuthError, InvalidTokenError, NetworkError } from '../errors.js';
import type { TokenSet } from '../types.js';
import type { Fault, Outcome, TokenReply, TokenResponseBody } from './types.js';

/**
 * An outcome as each transport carries it: settled in process as `sessionchart/oauth` would settle it (a token
 * set, or the engine's error classes), or as an HTTP answer with an OAuth 2.0 body.
 */

const GARBAGE = '<!doctype html><title>502 Bad Gateway</title>';

/** What `fetch` rejects with when the connection fails. */
export const connectionFailure = () => new TypeError('fetch failed');

export function tokenResponseOf(set: TokenSet, lifeSeconds: number): TokenResponseBody {
  return {
    access_token: set.accessToken,
    token_type: 'Bearer',
    expires_in: set.expiresIn ?? lifeSeconds,
    ...(set.refreshToken === undefined ? {} : { refresh_token: set.refreshToken }),
  };
}

const isAuthError = (error: unknown) => (error as { code?: unknown } | null)?.code === 'auth';

function faultReply(fault: Exclude<Fault, { kind: 'down' | 'hang' | 'slow' }>): TokenReply {
  if (fault.kind === '5xx') return { status: fault.status ?? 503, body: { error: 'temporarily_unavailable' } };
  if (fault.kind === '429') return { status: 429, body: { error: 'slow_down' }, retryAfterSeconds: fault.retryAfterSeconds };
  return { status: 200, body: GARBAGE };
}

/** The outcome as an HTTP answer; rejects as `fetch` does when the connection fails. */
export function replyOf(outcome: Exclude<Outcome, { kind: 'aborted' }>, lifeSeconds: number): TokenReply {
  switch (outcome.kind) {
    case 'token':
      return { status: 200, body: tokenResponseOf(outcome.set, lifeSeconds) };
    case 'refused':
      return { status: 400, body: { error: 'invalid_grant' } };
    case 'value':
      return { status: 200, body: outcome.value };
    case 'error':
      return isAuthError(outcome.error) ? { status: 400, body: { error: 'invalid_grant' } } : faultReply({ kind: '5xx' });
    case 'fault':
      if (outcome.fault.kind === 'down') throw connectionFailure();
      return faultReply(outcome.fault as Exclude<Fault, { kind: 'down' | 'hang' | 'slow' }>);
  }
}

/** The outcome as the engine's `refresh` settles: the token set, or AuthError / NetworkError / InvalidTokenError. */
export function settleInProcess(outcome: Exclude<Outcome, { kind: 'aborted' }>): TokenSet {
  switch (outcome.kind) {
    case 'token':
      return outcome.set;
    case 'value':
      return outcome.value as TokenSet;
    case 'error':
      throw outcome.error;
    case 'refused':
      throw new AuthError('The token server refused the refresh token (invalid_grant)');
    case 'fault': {
      const { fault } = outcome;
      if (fault.kind === 'down') throw new NetworkError('The token server cannot be reached', { cause: connectionFailure() });
      if (fault.kind === 'garbage') throw new InvalidTokenError('The token server answered with no token response');
      if (fault.kind === '429') {
        throw new NetworkError('The token server answered 429', { retryAfterMs: fault.retryAfterSeconds * 1000 });
      }
      throw new NetworkError(`The token server answered ${fault.kind === '5xx' ? (fault.status ?? 503) : 503}`);
    }
  }
}
