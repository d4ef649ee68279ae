/**
 * sessionchart/fetch: a `fetch` that sends the engine's token as `Authorization: Bearer` and, when the API
 * answers 401, retries once with a newer token: the one the engine already holds, else a forced refresh. The
 * engine shares one forced refresh between every caller that asks at once, so a burst of 401s for one token
 * costs one refresh; nothing is cached here beside the engine.
 */
import type { SessionEngine } from '../engine/engine.js';
import { AuthError } from '../errors.js';
import { attemptsOf, hasOwnAuthorization, signalOf, untilAborted, type Fetch } from './request.js';

export type { Fetch } from './request.js';

export interface AuthFetchOptions {
  /** Sends each request; default: the global `fetch`, looked up on each call. */
  fetch?: Fetch;
}

/** What the adapter reads from an engine. */
type TokenEngine = Pick<SessionEngine, 'getToken' | 'peekToken'>;

/**
 * A `fetch` with the engine's token. It rejects with `AuthError` and sends nothing when signed out, and as
 * `getToken` does when no token can be had. A request with its own Authorization header is sent as it is.
 * The caller's signal aborts the request, the wait for a token and the retry, never the engine's refresh.
 */
export function createAuthFetch(engine: TokenEngine, options: AuthFetchOptions = {}): Fetch {
  const send: Fetch = options.fetch ?? ((input, init) => fetch(input, init));

  return async function authFetch(input, init) {
    if (hasOwnAuthorization(input, init)) return send(input, init);
    const signal = signalOf(input, init);
    const token = await untilAborted(engine.getToken(), signal);
    if (token === null) throw new AuthError('Signed out: the request was not sent');

    const { first, retry } = attemptsOf(input, init);
    const response = await send(...first(token));
    if (retry === null || !refusesToken(response)) return response;
    // This 401 is never handed back now: release its connection.
    response.body?.cancel().catch(() => undefined);
    const newer = await untilAborted(tokenAfterRefusal(engine, token), signal);
    if (newer === null) throw new AuthError('The session ended before the request could be retried');
    return send(...retry(newer));
  };
}

/**
 * A 401 says the token is not (or no longer) accepted, unless its challenge is `insufficient_scope`
 * (RFC 6750): the token is good, its scope is not, and no refresh changes that.
 */
function refusesToken(response: Response): boolean {
  const challenge = response.headers.get('www-authenticate') ?? '';
  return response.status === 401 && !/\berror\s*=\s*"?insufficient_scope\b/i.test(challenge);
}

/**
 * The token to retry with: the engine's held one when it already differs from the refused one (a refresh
 * answered while this request was out), else one forced refresh, which the engine shares with every
 * concurrent forced call.
 */
function tokenAfterRefusal(engine: TokenEngine, refused: string): Promise<string | null> {
  const held = engine.peekToken();
  return held !== null && held !== refused ? Promise.resolve(held) : engine.getToken({ forceRefresh: true });
}
