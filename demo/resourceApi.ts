/**
 * The demo's API, beside the token server: one small JSON resource (`GET /profile`) for a bearer access token
 * the token server says is live, and `POST /revoke`, which revokes the presented access token here, at the
 * API, while the token server still counts its session valid (an access token revoked early: a permission
 * change, a logout elsewhere). The API answers 401 to that token from then on. It counts the requests for the
 * resource, so the page and the demo test can show a 401, its one refresh and the retry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessClaims, TokenServer } from './tokenServer.js';

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

export interface ResourceApi {
  readonly counts: ApiCounts;
  /** Serves a request whose URL is relative to where the API is mounted (`/profile`, `/revoke`). */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

const bearerOf = (request: IncomingMessage): string | null =>
  /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? null;

function answer(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

/** RFC 6750's answer to a missing, expired or revoked token: what makes `createAuthFetch` refresh and retry. */
const refuse = (response: ServerResponse) =>
  answer(response, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });

export function createResourceApi(tokens: Pick<TokenServer, 'verifyAccessToken'>): ResourceApi {
  /** The `jti` of each access token revoked here; the token server never hears of them. */
  const revoked = new Set<string>();
  const counts: ApiCounts = { requests: 0, refused: 0 };

  async function liveClaims(request: IncomingMessage): Promise<AccessClaims | null> {
    const token = bearerOf(request);
    const claims = token === null ? null : await tokens.verifyAccessToken(token);
    return claims !== null && !revoked.has(claims.jti) ? claims : null;
  }

  return {
    get counts() {
      return { ...counts };
    },
    async handle(request, response) {
      const route = request.url?.split('?')[0];
      if (route === '/profile' && request.method === 'GET') {
        counts.requests += 1;
        const claims = await liveClaims(request);
        if (claims === null) {
          counts.refused += 1;
          return refuse(response);
        }
        return answer(response, 200, { user: claims.sub, session: claims.sid } satisfies Profile);
      }
      if (route === '/revoke' && request.method === 'POST') {
        const claims = await liveClaims(request);
        if (claims === null) return refuse(response);
        revoked.add(claims.jti);
        return answer(response, 200, { revoked: true });
      }
      answer(response, 404, { error: 'not_found' });
    },
  };
}
