/**
 * A token server on 127.0.0.1 for the browser suite. It behaves like the providers the engine targets:
 * short-lived HS256 JWTs (sid, sub, iat, exp, jti), refresh-token rotation, and reuse detection that
 * revokes the whole token family when an already rotated refresh token is replayed. Its clock is
 * injected (the browser runs on a fake clock), and it serves the test page from the same origin.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signJwt } from './tokens.js';

const SECRET = 'browser-suite-secret';

export interface TokenEndpointOptions {
  /** Access token life in seconds. */
  lifeSeconds: number;
  /** The server's clock (ms). */
  now: () => number;
  /** Served at `/` and `/page.js`. */
  page: { html: string; script: string };
}

export interface EndpointStats {
  signIns: number;
  /** Requests that reached POST /token, answered or not. */
  refreshRequests: number;
  /** Refreshes refused because the refresh token had already been rotated (the family is revoked). */
  replayRejections: number;
  /** Refreshes refused for any reason (unknown, revoked or replayed refresh token). */
  refusals: number;
}

export type Verdict =
  | { ok: true; sid: string; sub: string; exp: number }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'unknown' | 'revoked' | 'expired' };

interface Family {
  sid: string;
  sub: string;
  /** The one refresh token that may be used next; every earlier one is a replay. */
  current: string;
  revoked: boolean;
}

export interface TokenEndpoint {
  readonly origin: string;
  readonly stats: Readonly<EndpointStats>;
  /**
   * Holds the next refresh request unanswered and unprocessed (its refresh token is not consumed), as a
   * server that never got to it; resolves with the `x-tab` header of the tab that sent it.
   */
  hangNextRefresh(): Promise<string>;
  /**
   * Processes the next refresh (its refresh token is spent) but holds the answer until `release`, as a slow
   * way back; `arrived` resolves with the `x-tab` header of the tab that sent it once it was processed.
   */
  holdNextAnswer(): { arrived: Promise<string>; release(): void };
  /**
   * Answers the next `count` refreshes with `status` (and a Retry-After in seconds, if given), spending
   * nothing; `holdNextAnswer` holds such an answer too.
   */
  failNextRefreshes(count: number, status: number, retryAfterSeconds?: number): void;
  /** The session behind this sid changes (a password change): the next refresh issues a new sid. */
  rotateSession(sid: string): string;
  /** Whether the server accepts `accessToken` at server time `atMs`. */
  verify(accessToken: string | null, atMs: number): Verdict;
  close(): Promise<void>;
}

const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest();

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(text === '' ? {} : (JSON.parse(text) as Record<string, unknown>));
      } catch (error) {
        reject(error as Error);
      }
    });
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const stats: EndpointStats = { signIns: 0, refreshRequests: 0, replayRejections: 0, refusals: 0 };
  const families = new Map<string, Family>();
  /** Every refresh token ever issued, to its family: a used one is still known, so a replay is seen. */
  const familyOfRefreshToken = new Map<string, Family>();
  const familyOfAccessToken = new Map<string, Family>();
  const hangs: Array<(tab: string) => void> = [];
  const holds: Array<{ arrived: (tab: string) => void; released: Promise<void> }> = [];
  const failures: Array<{ status: number; retryAfterSeconds?: number }> = [];

  const issue = (family: Family) => {
    const iat = Math.floor(options.now() / 1000);
    const accessToken = signJwt(
      { sid: family.sid, sub: family.sub, iat, exp: iat + options.lifeSeconds, jti: randomUUID() },
      SECRET,
    );
    family.current = `rt-${randomUUID()}`;
    familyOfRefreshToken.set(family.current, family);
    familyOfAccessToken.set(accessToken, family);
    return { accessToken, refreshToken: family.current };
  };

  const refresh = (body: Record<string, unknown>) => {
    const family = typeof body.refreshToken === 'string' ? familyOfRefreshToken.get(body.refreshToken) : undefined;
    if (family && !family.revoked && family.current !== body.refreshToken) {
      family.revoked = true;
      stats.replayRejections += 1;
    }
    if (!family || family.revoked) {
      stats.refusals += 1;
      return { status: 401, body: { error: 'invalid_grant' } };
    }
    return { status: 200, body: issue(family) };
  };

  const server = http.createServer((req, res) => {
    const route = `${req.method} ${req.url?.split('?')[0]}`;
    if (route === 'GET /') return send(res, 200, options.page.html, 'text/html');
    if (route === 'GET /page.js') return send(res, 200, options.page.script, 'text/javascript');
    if (route === 'POST /signin') {
      return void readJson(req).then((body) => {
        stats.signIns += 1;
        const sid = `sid-${randomUUID()}`;
        const family: Family = { sid, sub: String(body.sub ?? 'user-1'), current: '', revoked: false };
        families.set(sid, family);
        send(res, 200, issue(family));
      });
    }
    if (route === 'POST /token') {
      stats.refreshRequests += 1;
      const hang = hangs.shift();
      if (hang) {
        // Never answered: the request dies with the connection of the tab that sent it.
        return hang(String(req.headers['x-tab']));
      }
      const failure = failures.shift();
      const hold = holds.shift();
      return void readJson(req).then(async (body) => {
        const answer = failure ? { status: failure.status, body: { error: 'temporarily_unavailable' } } : refresh(body);
        if (failure?.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(failure.retryAfterSeconds));
        if (hold) {
          hold.arrived(String(req.headers['x-tab']));
          await hold.released;
        }
        send(res, answer.status, answer.body);
      });
    }
    send(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    hangNextRefresh: () => new Promise((resolve) => hangs.push(resolve)),
    failNextRefreshes(count, status, retryAfterSeconds) {
      for (let i = 0; i < count; i += 1) failures.push({ status, retryAfterSeconds });
    },
    holdNextAnswer() {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const arrived = new Promise<string>((resolve) => holds.push({ arrived: resolve, released }));
      return { arrived, release };
    },
    rotateSession(sid) {
      const family = families.get(sid);
      if (!family) throw new Error(`no session ${sid}`);
      family.sid = `sid-${randomUUID()}`;
      families.set(family.sid, family);
      return family.sid;
    },
    verify(accessToken, atMs) {
      const parts = accessToken?.split('.') ?? [];
      if (accessToken === null || parts.length !== 3) return { ok: false, reason: 'malformed' };
      const expected = sign(`${parts[0]}.${parts[1]}`);
      const given = Buffer.from(parts[2]!, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { ok: false, reason: 'bad_signature' };
      }
      const family = familyOfAccessToken.get(accessToken);
      if (!family) return { ok: false, reason: 'unknown' };
      if (family.revoked) return { ok: false, reason: 'revoked' };
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
        sid: string;
        sub: string;
        exp: number;
      };
      if (atMs >= claims.exp * 1000) return { ok: false, reason: 'expired' };
      return { ok: true, sid: claims.sid, sub: claims.sub, exp: claims.exp };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
