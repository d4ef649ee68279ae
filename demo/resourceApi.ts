/**
 * A bearer API beside sessionchart/testing's token server, as the demo and the fetch tests use it: a request's
 * access token is accepted while the token server verifies it (issued, its session not revoked, not expired on the
 * server's clock) and this API has not revoked it itself. Revoking here (`revoke`, `POST /revoke`) leaves the
 * token server counting the session valid: an access token revoked early (a permission change, a logout
 * elsewhere), answered 401 from then on. The demo's resource is `GET /profile`; the API counts its requests, so
 * the page and the demo test can show a 401, its one refresh and the retry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenServer } from '../src/testing/index.js';

export interface ApiCounts {
  /** Requests for the resource, whatever their answer. */
  requests: number;
  /** Those answered 401. */
  refused: number;
}

/** What `GET /profile` answers: whose token it was, never the token. */
export interface Profile {
  user: string;
  session: string;
}

/** Whose an accepted token is, and which one (`jti`, by which this API revokes it). */
export interface AccessClaims {
  sub: string;
  /** The session key: its `sid`, else its `sub`. */
  session: string;
  jti: string;
}

export interface ResourceApi {
  readonly counts: ApiCounts;
  /** The claims of the request's bearer token when the API accepts it; else null. */
  accepted(request: IncomingMessage): AccessClaims | null;
  /** Stops accepting `accessToken` here; the token server still counts its session valid. */
  revoke(accessToken: string): void;
  /** Serves a request whose URL is relative to where the API is mounted (`/profile`, `/revoke`). */
  handle(request: IncomingMessage, response: ServerResponse): void;
}

export const bearerOf = (request: IncomingMessage): string | null =>
  /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? null;

function answer(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

/** RFC 6750's answer to a missing, expired or revoked token: what makes `createAuthFetch` refresh and retry. */
export const refuse = (response: ServerResponse) =>
  answer(response, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });

export function createResourceApi(tokens: Pick<TokenServer, 'verify'>): ResourceApi {
  /** The `jti` of each access token revoked here; the token server never hears of them. */
  const revoked = new Set<string>();
  const counts: ApiCounts = { requests: 0, refused: 0 };

  function claimsOf(accessToken: string | null): AccessClaims | null {
    const verified = tokens.verify(accessToken);
    if (!verified.ok || revoked.has(verified.jti)) return null;
    return { sub: verified.sub, session: verified.sid ?? verified.sub, jti: verified.jti };
  }

  return {
    get counts() {
      return { ...counts };
    },
    accepted: (request) => claimsOf(bearerOf(request)),
    revoke(accessToken) {
      const claims = claimsOf(accessToken);
      if (claims !== null) revoked.add(claims.jti);
    },
    handle(request, response) {
      const route = request.url?.split('?')[0];
      if (route === '/profile' && request.method === 'GET') {
        counts.requests += 1;
        const claims = claimsOf(bearerOf(request));
        if (claims === null) {
          counts.refused += 1;
          return refuse(response);
        }
        return answer(response, 200, { user: claims.sub, session: claims.session } satisfies Profile);
      }
      if (route === '/revoke' && request.method === 'POST') {
        const claims = claimsOf(bearerOf(request));
        if (claims === null) return refuse(response);
        revoked.add(claims.jti);
        return answer(response, 200, { revoked: true });
      }
      answer(response, 404, { error: 'not_found' });
    },
  };
}
